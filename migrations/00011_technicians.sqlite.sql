-- +goose Up
-- An institute's technicians. Retiring one records when (retired_at) and
-- keeps the row: visits name who went.
CREATE TABLE technicians (
    id           text PRIMARY KEY,
    institute_id text NOT NULL REFERENCES organizations (id),
    name         text NOT NULL,
    email        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    retired_at   datetime,
    version      integer NOT NULL DEFAULT 1,
    created_at   datetime NOT NULL,
    updated_at   datetime NOT NULL
);
CREATE INDEX technicians_institute_id ON technicians (institute_id, id);

-- Who goes on a visit. The institute replaces the set as a whole;
-- re-planning moves a visit with its id, so the set follows it.
CREATE TABLE visit_technicians (
    visit_id      text NOT NULL REFERENCES visits (id),
    technician_id text NOT NULL REFERENCES technicians (id),
    PRIMARY KEY (visit_id, technician_id)
);
CREATE INDEX visit_technicians_technician_id ON visit_technicians (technician_id, visit_id);

-- A feed may list one technician's visits. SQLite cannot alter a CHECK
-- constraint, so the table is rebuilt (no table refers to it).
CREATE TABLE calendar_feeds_new (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    kind        text NOT NULL CHECK (kind IN ('institute', 'venue', 'technician')),
    subject_id  text NOT NULL,
    name        text NOT NULL,
    secret_hash text NOT NULL UNIQUE,
    created_at  datetime NOT NULL,
    created_by  text,
    revoked_at  datetime
);
INSERT INTO calendar_feeds_new (id, org_id, kind, subject_id, name, secret_hash, created_at, created_by, revoked_at)
    SELECT id, org_id, kind, subject_id, name, secret_hash, created_at, created_by, revoked_at FROM calendar_feeds;
DROP TABLE calendar_feeds;
ALTER TABLE calendar_feeds_new RENAME TO calendar_feeds;
CREATE INDEX calendar_feeds_org_id ON calendar_feeds (org_id, id);

-- +goose Down
CREATE TABLE calendar_feeds_old (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    kind        text NOT NULL CHECK (kind IN ('institute', 'venue')),
    subject_id  text NOT NULL,
    name        text NOT NULL,
    secret_hash text NOT NULL UNIQUE,
    created_at  datetime NOT NULL,
    created_by  text,
    revoked_at  datetime
);
INSERT INTO calendar_feeds_old (id, org_id, kind, subject_id, name, secret_hash, created_at, created_by, revoked_at)
    SELECT id, org_id, kind, subject_id, name, secret_hash, created_at, created_by, revoked_at FROM calendar_feeds
    WHERE kind <> 'technician';
DROP TABLE calendar_feeds;
ALTER TABLE calendar_feeds_old RENAME TO calendar_feeds;
CREATE INDEX calendar_feeds_org_id ON calendar_feeds (org_id, id);
DROP TABLE visit_technicians;
DROP TABLE technicians;
