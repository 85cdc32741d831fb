-- +goose Up
-- A create sent with an Idempotency-Key header is remembered here, in the
-- same transaction as what it created, so that a retry of the same request
-- answers with the first result instead of creating a second object.
CREATE TABLE idempotency_keys (
    org_id        uuid NOT NULL REFERENCES organizations (id),
    key           text NOT NULL,
    request_hash  text NOT NULL,
    resource      text NOT NULL,
    resource_id   text NOT NULL,
    created_count integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
