-- +goose Up
-- iCalendar feeds: a secret URL per feed (stored hashed) that calendar
-- clients poll without an API token. An institute's feed lists its visits;
-- a venue's feed lists the visits planned to it.
CREATE TABLE calendar_feeds (
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
CREATE INDEX calendar_feeds_org_id ON calendar_feeds (org_id, id);

-- +goose Down
DROP TABLE calendar_feeds;
