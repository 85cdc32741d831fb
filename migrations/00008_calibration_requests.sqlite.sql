-- +goose Up
-- A venue operator asks an institute to calibrate some of its
-- thermometers within a preferred window; the institute accepts (the
-- thermometers get venue_request tasks, which the visits job places),
-- proposes another window, or declines with a reason.
CREATE TABLE calibration_requests (
    id              text PRIMARY KEY,
    operator_org_id text NOT NULL REFERENCES organizations (id),
    venue_id        text NOT NULL REFERENCES venues (id),
    institute_id    text NOT NULL REFERENCES organizations (id),
    thermometer_ids text NOT NULL,
    reason          text NOT NULL,
    window_from     text NOT NULL,
    window_to       text NOT NULL,
    state           text NOT NULL CHECK (state IN ('requested', 'proposed', 'accepted', 'declined', 'withdrawn')),
    proposed_from   text,
    proposed_to     text,
    answer          text NOT NULL DEFAULT '',
    version         integer NOT NULL DEFAULT 1,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL,
    CHECK (window_from <= window_to)
);
CREATE INDEX calibration_requests_operator_id ON calibration_requests (operator_org_id, id);
CREATE INDEX calibration_requests_institute_id ON calibration_requests (institute_id, id);
CREATE INDEX calibration_requests_venue_id ON calibration_requests (venue_id, id);

ALTER TABLE calibration_tasks ADD COLUMN request_id text REFERENCES calibration_requests (id);

-- +goose Down
ALTER TABLE calibration_tasks DROP COLUMN request_id;
DROP TABLE calibration_requests;
