-- +goose Up
-- The overdue job marks a calibration task overdue once (overdue_since is
-- when it first found the task past its due date in the venue's zone) and
-- raises events for the venue operator, the institute and the regulator.
ALTER TABLE calibration_tasks ADD COLUMN overdue_since datetime;
-- The tasks the overdue job still has to look at, by due date.
CREATE INDEX calibration_tasks_overdue_watch ON calibration_tasks (due_on)
    WHERE overdue_since IS NULL AND state IN ('open', 'scheduled', 'in_progress');

-- Events are raised by jobs and read through the API. dedup_key names the
-- occurrence (a task, or a device and its due date), so a repeated or
-- concurrent job raises each event once.
CREATE TABLE events (
    id              text PRIMARY KEY,
    at              datetime NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('task_overdue', 'device_overdue')),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    operator_org_id text REFERENCES organizations (id),
    institute_id    text REFERENCES organizations (id),
    venue_id        text REFERENCES venues (id),
    resource        text NOT NULL,
    resource_id     text NOT NULL,
    message         text NOT NULL,
    dedup_key       text NOT NULL UNIQUE
);
CREATE INDEX events_operator_id ON events (operator_org_id, id);
CREATE INDEX events_institute_id ON events (institute_id, id);
CREATE INDEX events_venue_id ON events (venue_id, id);
CREATE INDEX events_kind_id ON events (kind, id);

-- Events are append-only, whoever connects.
-- +goose StatementBegin
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE events;
DROP INDEX calibration_tasks_overdue_watch;
ALTER TABLE calibration_tasks DROP COLUMN overdue_since;
