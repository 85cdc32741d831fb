-- +goose Up
-- Drift detection (issue 5): each thermometer's detector state, a pure
-- function of its calibration-mode checks since the last reset applied in
-- (ts, seq) order (through_* is the last one applied), and the alerts it
-- raised: one open alert per device and kind, updated as evidence grows.
CREATE TABLE drift_states (
    device_id   text PRIMARY KEY,
    state       text NOT NULL,
    through_ts  datetime,
    through_seq integer,
    reset_at    datetime,
    replays     integer NOT NULL DEFAULT 0,
    updated_at  datetime NOT NULL
);

CREATE TABLE alerts (
    id              text PRIMARY KEY,
    device_id       text NOT NULL,
    device_kind     text NOT NULL CHECK (device_kind IN ('thermometer', 'elevator')),
    venue_id        text NOT NULL REFERENCES venues (id),
    operator_org_id text NOT NULL REFERENCES organizations (id),
    institute_id    text REFERENCES organizations (id),
    kind            text NOT NULL CHECK (kind IN ('out_of_tolerance', 'drift', 'predicted_drift', 'silent', 'fault', 'threshold')),
    state           text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    first_at        datetime NOT NULL,
    last_at         datetime NOT NULL,
    evidence        integer NOT NULL DEFAULT 1,
    detail          text NOT NULL,
    resolved_reason text NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 1,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (device_id, kind) WHERE state <> 'resolved';
CREATE INDEX alerts_operator_id ON alerts (operator_org_id, id);
CREATE INDEX alerts_institute_id ON alerts (institute_id, id);
CREATE INDEX alerts_device_id ON alerts (device_id, id);

-- +goose Down
DROP TABLE alerts;
DROP TABLE drift_states;
