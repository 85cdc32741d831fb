-- +goose Up
-- An institute's technicians. Retiring one records when (retired_at) and
-- keeps the row: visits name who went.
CREATE TABLE technicians (
    id           uuid PRIMARY KEY,
    institute_id uuid NOT NULL REFERENCES organizations (id),
    name         text NOT NULL,
    email        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    retired_at   timestamptz,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX technicians_institute_id ON technicians (institute_id, id);

-- Who goes on a visit. The institute replaces the set as a whole;
-- re-planning moves a visit with its id, so the set follows it.
CREATE TABLE visit_technicians (
    visit_id      uuid NOT NULL REFERENCES visits (id),
    technician_id uuid NOT NULL REFERENCES technicians (id),
    PRIMARY KEY (visit_id, technician_id)
);
CREATE INDEX visit_technicians_technician_id ON visit_technicians (technician_id, visit_id);

-- A feed may list one technician's visits.
ALTER TABLE calendar_feeds DROP CONSTRAINT calendar_feeds_kind_check;
ALTER TABLE calendar_feeds ADD CONSTRAINT calendar_feeds_kind_check CHECK (kind IN ('institute', 'venue', 'technician'));

-- +goose Down
DELETE FROM calendar_feeds WHERE kind = 'technician';
ALTER TABLE calendar_feeds DROP CONSTRAINT calendar_feeds_kind_check;
ALTER TABLE calendar_feeds ADD CONSTRAINT calendar_feeds_kind_check CHECK (kind IN ('institute', 'venue'));
DROP TABLE visit_technicians;
DROP TABLE technicians;
