-- +goose Up
-- Calibration work for metrology institutes. The plan job creates one
-- on_site_calibration task per thermometer and due cycle: the unique key
-- (kind, thermometer_id, due_on) makes a repeated or concurrent plan, on
-- any number of replicas, create each task once.
CREATE TABLE calibration_tasks (
    id              text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('on_site_calibration', 'venue_request', 'recheck')),
    thermometer_id  text NOT NULL REFERENCES thermometers (id),
    venue_id        text NOT NULL REFERENCES venues (id),
    operator_org_id text NOT NULL REFERENCES organizations (id),
    institute_id    text REFERENCES organizations (id),
    due_at          datetime NOT NULL,
    due_on          text NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'scheduled', 'in_progress', 'completed', 'cancelled')),
    priority        integer NOT NULL,
    priority_reason text NOT NULL,
    cancel_reason   text NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 1,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL,
    CONSTRAINT calibration_tasks_cycle UNIQUE (kind, thermometer_id, due_on)
);
CREATE INDEX calibration_tasks_institute_id ON calibration_tasks (institute_id, id);
CREATE INDEX calibration_tasks_operator_id ON calibration_tasks (operator_org_id, id);
CREATE INDEX calibration_tasks_venue_id ON calibration_tasks (venue_id, id);
CREATE INDEX calibration_tasks_state_id ON calibration_tasks (state, id);
CREATE INDEX calibration_tasks_active ON calibration_tasks (thermometer_id)
    WHERE state IN ('open', 'scheduled', 'in_progress');

-- +goose Down
DROP TABLE calibration_tasks;
