-- +goose Up
-- Per-device MQTT credentials (issue 5): the username is the device id
-- (a thermometer or a lift), the password a random secret stored as its
-- SHA-256. Issuing again rotates it; revoking ends it.
CREATE TABLE device_credentials (
    device_id       uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('thermometer', 'elevator')),
    venue_id        uuid NOT NULL REFERENCES venues (id),
    operator_org_id uuid NOT NULL REFERENCES organizations (id),
    secret_hash     text NOT NULL,
    -- The secret in Mosquitto's password-file format (PBKDF2-SHA512),
    -- for `calibd broker export`.
    broker_hash     text NOT NULL DEFAULT '',
    issued_at       timestamptz NOT NULL,
    revoked_at      timestamptz,
    rotations       integer NOT NULL DEFAULT 0,
    version         integer NOT NULL DEFAULT 1
);
CREATE INDEX device_credentials_operator ON device_credentials (operator_org_id, device_id);

-- +goose Down
DROP TABLE device_credentials;
