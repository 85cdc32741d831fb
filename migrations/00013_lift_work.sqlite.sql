-- +goose Up
-- Lift maintenance work (issue 4): the on-site, remote-inspection and
-- urgent on-site tasks the scheduler creates, the firm's reports with
-- their checklist results and video evidence, and lift events. Reports
-- are kept (at least four years; never deleted) and immutable once filed,
-- except for the venue operator's countersignature.
CREATE TABLE maintenance_tasks (
    id              text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('onsite', 'remote', 'urgent_onsite')),
    contract_id     text NOT NULL REFERENCES maintenance_contracts (id),
    elevator_id     text NOT NULL REFERENCES elevators (id),
    venue_id        text NOT NULL REFERENCES venues (id),
    operator_org_id text NOT NULL REFERENCES organizations (id),
    firm_org_id     text NOT NULL REFERENCES organizations (id),
    agreement_id    text REFERENCES cycle_agreements (id),
    category        text NOT NULL CHECK (category IN ('half_monthly', 'quarterly', 'semi_annual', 'annual')),
    due_on          text NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'completed', 'cancelled', 'missed')),
    why             text NOT NULL,
    carried_items   text NOT NULL DEFAULT '',
    source_report_id text,
    overdue_since   datetime,
    version         integer NOT NULL DEFAULT 1,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL,
    CONSTRAINT maintenance_tasks_cycle UNIQUE (kind, elevator_id, due_on)
);
CREATE INDEX maintenance_tasks_firm_id ON maintenance_tasks (firm_org_id, id);
CREATE INDEX maintenance_tasks_operator_id ON maintenance_tasks (operator_org_id, id);
CREATE INDEX maintenance_tasks_elevator_id ON maintenance_tasks (elevator_id, id);
CREATE INDEX maintenance_tasks_open ON maintenance_tasks (due_on) WHERE state = 'open';

CREATE TABLE maintenance_reports (
    id               text PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('remote', 'onsite')),
    task_id          text REFERENCES maintenance_tasks (id),
    contract_id      text NOT NULL REFERENCES maintenance_contracts (id),
    elevator_id      text NOT NULL REFERENCES elevators (id),
    venue_id         text NOT NULL REFERENCES venues (id),
    operator_org_id  text NOT NULL REFERENCES organizations (id),
    firm_org_id      text NOT NULL REFERENCES organizations (id),
    agreement_id     text REFERENCES cycle_agreements (id),
    category         text NOT NULL,
    performed_at     datetime NOT NULL,
    technician       text NOT NULL,
    venue_person     text NOT NULL DEFAULT '',
    notes            text NOT NULL DEFAULT '',
    submitted_at     datetime NOT NULL,
    submitted_by     text NOT NULL,
    countersigned_at datetime,
    countersigned_by text,
    countersign_note text NOT NULL DEFAULT '',
    urgent_task_id   text REFERENCES maintenance_tasks (id),
    carried_over     text NOT NULL DEFAULT '',
    version          integer NOT NULL DEFAULT 1
);
CREATE INDEX maintenance_reports_elevator ON maintenance_reports (elevator_id, performed_at);
CREATE INDEX maintenance_reports_firm_id ON maintenance_reports (firm_org_id, id);
CREATE INDEX maintenance_reports_operator_id ON maintenance_reports (operator_org_id, id);

CREATE TABLE maintenance_report_items (
    report_id text NOT NULL REFERENCES maintenance_reports (id),
    ordinal   integer NOT NULL,
    code      text NOT NULL,
    result    text NOT NULL CHECK (result IN ('ok', 'not_ok', 'not_checkable_remotely')),
    note      text NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, ordinal)
);

CREATE TABLE maintenance_evidence (
    report_id   text NOT NULL REFERENCES maintenance_reports (id),
    ordinal     integer NOT NULL,
    url         text NOT NULL,
    sha256      text NOT NULL CHECK (length(sha256) = 64),
    duration_s  integer NOT NULL,
    captured_at datetime NOT NULL,
    PRIMARY KEY (report_id, ordinal)
);

-- Lift events next to the calibration ones: SQLite cannot alter a CHECK
-- constraint, so the table is rebuilt with its indexes and triggers.
CREATE TABLE events_new (
    id              text PRIMARY KEY,
    at              datetime NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('task_overdue', 'device_overdue',
        'maintenance_overdue', 'remote_inspection_missed', 'lift_check_failed', 'agreement_suspended', 'inspection_due')),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    operator_org_id text REFERENCES organizations (id),
    institute_id    text REFERENCES organizations (id),
    venue_id        text REFERENCES venues (id),
    resource        text NOT NULL,
    resource_id     text NOT NULL,
    message         text NOT NULL,
    dedup_key       text NOT NULL UNIQUE
);
INSERT INTO events_new SELECT id, at, kind, severity, operator_org_id, institute_id, venue_id, resource, resource_id, message, dedup_key FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_operator_id ON events (operator_org_id, id);
CREATE INDEX events_institute_id ON events (institute_id, id);
CREATE INDEX events_venue_id ON events (venue_id, id);
CREATE INDEX events_kind_id ON events (kind, id);
-- +goose StatementBegin
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE maintenance_evidence;
DROP TABLE maintenance_report_items;
DROP TABLE maintenance_reports;
DROP TABLE maintenance_tasks;
