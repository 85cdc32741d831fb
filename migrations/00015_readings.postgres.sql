-- +goose Up
-- What devices send over MQTT (issue 5). (device_id, seq) identifies a
-- message across its topics, so a redelivered message is stored once.
-- Refused messages go to a bounded dead-letter table.
CREATE TABLE readings (
    device_id   uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 0),
    kind        text NOT NULL CHECK (kind IN ('checks', 'telemetry', 'events')),
    ts          timestamptz NOT NULL,
    reference_c double precision,
    value_c     double precision,
    mode        text,
    metrics     text,
    code        text,
    severity    text,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX readings_device_ts ON readings (device_id, ts);

CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL,
    payload     bytea NOT NULL,
    received_at timestamptz NOT NULL
);
CREATE INDEX dead_letters_reason ON dead_letters (reason, id);

-- +goose Down
DROP TABLE dead_letters;
DROP TABLE readings;
