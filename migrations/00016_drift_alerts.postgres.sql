-- +goose Up
-- Drift detection (issue 5): each thermometer's detector state, a pure
-- function of its calibration-mode checks since the last reset applied in
-- (ts, seq) order (through_* is the last one applied), and the alerts it
-- raised: one open alert per device and kind, updated as evidence grows.
CREATE TABLE drift_states (
    device_id   uuid PRIMARY KEY,
    state       text NOT NULL,
    through_ts  timestamptz,
    through_seq bigint,
    reset_at    timestamptz,
    replays     integer NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE alerts (
    id              uuid PRIMARY KEY,
    device_id       uuid NOT NULL,
    device_kind     text NOT NULL CHECK (device_kind IN ('thermometer', 'elevator')),
    venue_id        uuid NOT NULL REFERENCES venues (id),
    operator_org_id uuid NOT NULL REFERENCES organizations (id),
    institute_id    uuid REFERENCES organizations (id),
    kind            text NOT NULL CHECK (kind IN ('out_of_tolerance', 'drift', 'predicted_drift', 'silent', 'fault', 'threshold')),
    state           text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    evidence        integer NOT NULL DEFAULT 1,
    detail          text NOT NULL,
    resolved_reason text NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (device_id, kind) WHERE state <> 'resolved';
CREATE INDEX alerts_operator_id ON alerts (operator_org_id, id);
CREATE INDEX alerts_institute_id ON alerts (institute_id, id);
CREATE INDEX alerts_device_id ON alerts (device_id, id);

-- +goose Down
DROP TABLE alerts;
DROP TABLE drift_states;
