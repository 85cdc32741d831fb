-- +goose Up
-- Lift maintenance work (issue 4): the on-site, remote-inspection and
-- urgent on-site tasks the scheduler creates, the firm's reports with
-- their checklist results and video evidence, and lift events. Reports
-- are kept (at least four years; never deleted) and immutable once filed,
-- except for the venue operator's countersignature.
CREATE TABLE maintenance_tasks (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('onsite', 'remote', 'urgent_onsite')),
    contract_id     uuid NOT NULL REFERENCES maintenance_contracts (id),
    elevator_id     uuid NOT NULL REFERENCES elevators (id),
    venue_id        uuid NOT NULL REFERENCES venues (id),
    operator_org_id uuid NOT NULL REFERENCES organizations (id),
    firm_org_id     uuid NOT NULL REFERENCES organizations (id),
    agreement_id    uuid REFERENCES cycle_agreements (id),
    category        text NOT NULL CHECK (category IN ('half_monthly', 'quarterly', 'semi_annual', 'annual')),
    due_on          date NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'completed', 'cancelled', 'missed')),
    why             text NOT NULL,
    carried_items   text NOT NULL DEFAULT '',
    source_report_id uuid,
    overdue_since   timestamptz,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT maintenance_tasks_cycle UNIQUE (kind, elevator_id, due_on)
);
CREATE INDEX maintenance_tasks_firm_id ON maintenance_tasks (firm_org_id, id);
CREATE INDEX maintenance_tasks_operator_id ON maintenance_tasks (operator_org_id, id);
CREATE INDEX maintenance_tasks_elevator_id ON maintenance_tasks (elevator_id, id);
CREATE INDEX maintenance_tasks_open ON maintenance_tasks (due_on) WHERE state = 'open';

CREATE TABLE maintenance_reports (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('remote', 'onsite')),
    task_id          uuid REFERENCES maintenance_tasks (id),
    contract_id      uuid NOT NULL REFERENCES maintenance_contracts (id),
    elevator_id      uuid NOT NULL REFERENCES elevators (id),
    venue_id         uuid NOT NULL REFERENCES venues (id),
    operator_org_id  uuid NOT NULL REFERENCES organizations (id),
    firm_org_id      uuid NOT NULL REFERENCES organizations (id),
    agreement_id     uuid REFERENCES cycle_agreements (id),
    category         text NOT NULL,
    performed_at     timestamptz NOT NULL,
    technician       text NOT NULL,
    venue_person     text NOT NULL DEFAULT '',
    notes            text NOT NULL DEFAULT '',
    submitted_at     timestamptz NOT NULL,
    submitted_by     uuid NOT NULL,
    countersigned_at timestamptz,
    countersigned_by uuid,
    countersign_note text NOT NULL DEFAULT '',
    urgent_task_id   uuid REFERENCES maintenance_tasks (id),
    carried_over     text NOT NULL DEFAULT '',
    version          integer NOT NULL DEFAULT 1
);
CREATE INDEX maintenance_reports_elevator ON maintenance_reports (elevator_id, performed_at);
CREATE INDEX maintenance_reports_firm_id ON maintenance_reports (firm_org_id, id);
CREATE INDEX maintenance_reports_operator_id ON maintenance_reports (operator_org_id, id);

CREATE TABLE maintenance_report_items (
    report_id uuid NOT NULL REFERENCES maintenance_reports (id),
    ordinal   integer NOT NULL,
    code      text NOT NULL,
    result    text NOT NULL CHECK (result IN ('ok', 'not_ok', 'not_checkable_remotely')),
    note      text NOT NULL DEFAULT '',
    PRIMARY KEY (report_id, ordinal)
);

CREATE TABLE maintenance_evidence (
    report_id   uuid NOT NULL REFERENCES maintenance_reports (id),
    ordinal     integer NOT NULL,
    url         text NOT NULL,
    sha256      text NOT NULL CHECK (length(sha256) = 64),
    duration_s  integer NOT NULL,
    captured_at timestamptz NOT NULL,
    PRIMARY KEY (report_id, ordinal)
);

-- Lift events next to the calibration ones.
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('task_overdue', 'device_overdue',
    'maintenance_overdue', 'remote_inspection_missed', 'lift_check_failed', 'agreement_suspended', 'inspection_due'));

-- +goose Down
ALTER TABLE events DROP CONSTRAINT events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check CHECK (kind IN ('task_overdue', 'device_overdue'));
DROP TABLE maintenance_evidence;
DROP TABLE maintenance_report_items;
DROP TABLE maintenance_reports;
DROP TABLE maintenance_tasks;
