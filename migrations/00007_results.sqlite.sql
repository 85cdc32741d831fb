-- +goose Up
-- Reference standards: an institute's working blackbodies, each with its own
-- calibration certificate and due date (DOMAIN.md §2.4). Results against an
-- overdue or out-of-tolerance standard are refused.
CREATE TABLE reference_standards (
    id             text PRIMARY KEY,
    institute_id   text NOT NULL REFERENCES organizations (id),
    name           text NOT NULL,
    serial         text NOT NULL,
    certificate_no text NOT NULL,
    calibrated_at  datetime NOT NULL,
    due_at         datetime NOT NULL,
    status         text NOT NULL CHECK (status IN ('in_service', 'out_of_tolerance', 'retired')),
    version        integer NOT NULL DEFAULT 1,
    created_at     datetime NOT NULL,
    updated_at     datetime NOT NULL,
    CONSTRAINT reference_standards_serial UNIQUE (institute_id, serial),
    CONSTRAINT reference_standards_dates CHECK (due_at > calibrated_at)
);
CREATE INDEX reference_standards_institute_id ON reference_standards (institute_id, id);

-- Calibration results (ISO/IEC 17025 §7.8; DOMAIN.md §2.2). A result is
-- never changed: a correction is a new row with revision + 1 that names the
-- row it replaces (at most one correction per row). prior_* is the
-- thermometer before the result and device_status .. next_due_at the
-- thermometer as the result leaves it (applied = whether it was applied:
-- a correction of an older result changes nothing on the device).
CREATE TABLE calibration_results (
    id                       text PRIMARY KEY,
    task_id                  text REFERENCES calibration_tasks (id),
    thermometer_id           text NOT NULL REFERENCES thermometers (id),
    venue_id                 text NOT NULL REFERENCES venues (id),
    operator_org_id          text NOT NULL REFERENCES organizations (id),
    institute_id             text NOT NULL REFERENCES organizations (id),
    standard_id              text NOT NULL REFERENCES reference_standards (id),
    standard_certificate_no  text NOT NULL,
    standard_due_at          datetime NOT NULL,
    revision                 integer NOT NULL CHECK (revision >= 1),
    replaces_id              text UNIQUE REFERENCES calibration_results (id),
    certificate_no           text NOT NULL UNIQUE,
    mode                     text NOT NULL CHECK (mode IN ('calibration', 'body')),
    rule                     text NOT NULL CHECK (rule IN ('simple_acceptance', 'guard_band', 'jjf1094')),
    mpe_c                    real NOT NULL CHECK (mpe_c > 0),
    data                     text NOT NULL,
    as_found_verdict         text NOT NULL CHECK (as_found_verdict IN ('pass', 'fail', 'indeterminate')),
    verdict                  text NOT NULL CHECK (verdict IN ('pass', 'fail', 'indeterminate')),
    performed_at             datetime NOT NULL,
    issued_at                datetime NOT NULL,
    issued_by_org            text NOT NULL REFERENCES organizations (id),
    issued_by_token          text,
    method_doc               text NOT NULL,
    prior_status             text NOT NULL,
    prior_interval_days      integer NOT NULL,
    prior_interval_reason    text NOT NULL,
    prior_last_calibrated_at datetime,
    prior_next_due_at        datetime NOT NULL,
    applied                  boolean NOT NULL,
    device_status            text NOT NULL,
    interval_days            integer NOT NULL CHECK (interval_days BETWEEN 1 AND 1825),
    interval_reason          text NOT NULL,
    last_calibrated_at       datetime,
    next_due_at              datetime NOT NULL,
    correction_reason        text NOT NULL DEFAULT '',
    CONSTRAINT calibration_results_revision CHECK ((revision = 1) = (replaces_id IS NULL))
);
CREATE INDEX calibration_results_thermometer ON calibration_results (thermometer_id, performed_at);
CREATE INDEX calibration_results_standard ON calibration_results (standard_id, performed_at);
CREATE INDEX calibration_results_institute_id ON calibration_results (institute_id, id);
CREATE INDEX calibration_results_operator_id ON calibration_results (operator_org_id, id);
CREATE INDEX calibration_results_task ON calibration_results (task_id);

-- Results are append-only, whoever connects.
-- +goose StatementBegin
CREATE TRIGGER calibration_results_no_update BEFORE UPDATE ON calibration_results
BEGIN
    SELECT RAISE(ABORT, 'calibration_results is append-only: record a correction instead');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER calibration_results_no_delete BEFORE DELETE ON calibration_results
BEGIN
    SELECT RAISE(ABORT, 'calibration_results is append-only: record a correction instead');
END;
-- +goose StatementEnd

-- Reverse traceability: a result that used a standard later found out of
-- tolerance is flagged here, beside the immutable result.
CREATE TABLE result_flags (
    result_id   text NOT NULL REFERENCES calibration_results (id),
    standard_id text NOT NULL REFERENCES reference_standards (id),
    reason      text NOT NULL,
    flagged_at  datetime NOT NULL,
    PRIMARY KEY (result_id, standard_id)
);
CREATE INDEX result_flags_standard ON result_flags (standard_id);

-- Gap-free certificate numbers per institute and year: next is the number
-- the next certificate gets; it is taken in the result's transaction.
CREATE TABLE certificate_counters (
    institute_id text NOT NULL REFERENCES organizations (id),
    year         integer NOT NULL,
    next         integer NOT NULL CHECK (next >= 1),
    PRIMARY KEY (institute_id, year)
);

-- The thermometer's interval policy (JSON of devices.IntervalPolicy; ''
-- means devices.DefaultIntervalPolicy) and why its interval last changed.
ALTER TABLE thermometers ADD COLUMN interval_policy text NOT NULL DEFAULT '';
ALTER TABLE thermometers ADD COLUMN interval_reason text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE thermometers DROP COLUMN interval_reason;
ALTER TABLE thermometers DROP COLUMN interval_policy;
DROP TABLE certificate_counters;
DROP TABLE result_flags;
DROP TABLE calibration_results;
DROP TABLE reference_standards;
