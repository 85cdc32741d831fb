-- +goose Up
-- An institute's capacity for on-site work; institutes without a row use
-- devices.DefaultInstituteCalendar.
CREATE TABLE institute_calendars (
    institute_id                  uuid PRIMARY KEY REFERENCES organizations (id),
    time_zone                     text NOT NULL,
    technicians                   integer NOT NULL CHECK (technicians > 0),
    visits_per_technician_per_day integer NOT NULL CHECK (visits_per_technician_per_day > 0),
    working_days                  text NOT NULL,
    holidays                      text NOT NULL,
    version                       integer NOT NULL DEFAULT 1,
    updated_at                    timestamptz NOT NULL
);

-- A visit is one institute's day at one venue, carrying that venue's
-- tasks. The visits job places planned visits; the institute confirms,
-- starts and completes them. Re-planning moves only planned visits and
-- keeps their ids (calendar UIDs).
CREATE TABLE visits (
    id              uuid PRIMARY KEY,
    institute_id    uuid NOT NULL REFERENCES organizations (id),
    venue_id        uuid NOT NULL REFERENCES venues (id),
    operator_org_id uuid NOT NULL REFERENCES organizations (id),
    day             date NOT NULL,
    state           text NOT NULL CHECK (state IN ('planned', 'confirmed', 'in_progress', 'completed', 'cancelled')),
    priority        integer NOT NULL,
    why             text NOT NULL,
    cancel_reason   text NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX visits_institute_day ON visits (institute_id, day, id);
CREATE INDEX visits_operator_id ON visits (operator_org_id, id);
CREATE INDEX visits_venue_id ON visits (venue_id, id);
-- At most one movable visit per institute and venue: a concurrent planner
-- cannot create a second one.
CREATE UNIQUE INDEX visits_one_planned ON visits (institute_id, venue_id) WHERE state = 'planned';

ALTER TABLE calibration_tasks ADD COLUMN visit_id uuid REFERENCES visits (id);
CREATE INDEX calibration_tasks_visit ON calibration_tasks (visit_id);

-- +goose Down
DROP INDEX calibration_tasks_visit;
ALTER TABLE calibration_tasks DROP COLUMN visit_id;
DROP TABLE visits;
DROP TABLE institute_calendars;
