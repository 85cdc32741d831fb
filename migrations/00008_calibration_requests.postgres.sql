-- +goose Up
-- A venue operator asks an institute to calibrate some of its
-- thermometers within a preferred window; the institute accepts (the
-- thermometers get venue_request tasks, which the visits job places),
-- proposes another window, or declines with a reason.
CREATE TABLE calibration_requests (
    id              uuid PRIMARY KEY,
    operator_org_id uuid NOT NULL REFERENCES organizations (id),
    venue_id        uuid NOT NULL REFERENCES venues (id),
    institute_id    uuid NOT NULL REFERENCES organizations (id),
    thermometer_ids text NOT NULL,
    reason          text NOT NULL,
    window_from     date NOT NULL,
    window_to       date NOT NULL,
    state           text NOT NULL CHECK (state IN ('requested', 'proposed', 'accepted', 'declined', 'withdrawn')),
    proposed_from   date,
    proposed_to     date,
    answer          text NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (window_from <= window_to)
);
CREATE INDEX calibration_requests_operator_id ON calibration_requests (operator_org_id, id);
CREATE INDEX calibration_requests_institute_id ON calibration_requests (institute_id, id);
CREATE INDEX calibration_requests_venue_id ON calibration_requests (venue_id, id);

ALTER TABLE calibration_tasks ADD COLUMN request_id uuid REFERENCES calibration_requests (id);

-- +goose Down
ALTER TABLE calibration_tasks DROP COLUMN request_id;
DROP TABLE calibration_requests;
