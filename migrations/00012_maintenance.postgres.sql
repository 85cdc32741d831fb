-- +goose Up
-- Lift maintenance (issue 4): contracts between a lift's venue operator
-- and a maintenance firm, and the firm's extended-cycle agreements with
-- the operator. Records are kept; nothing here is ever deleted.
CREATE TABLE maintenance_contracts (
    id                uuid PRIMARY KEY,
    elevator_id       uuid NOT NULL REFERENCES elevators (id),
    venue_id          uuid NOT NULL REFERENCES venues (id),
    operator_org_id   uuid NOT NULL REFERENCES organizations (id),
    firm_org_id       uuid NOT NULL REFERENCES organizations (id),
    starts_on         date NOT NULL,
    ends_on           date,
    onsite_cycle_days integer NOT NULL CHECK (onsite_cycle_days BETWEEN 1 AND 15),
    ended_reason      text NOT NULL DEFAULT '',
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
CREATE INDEX maintenance_contracts_elevator ON maintenance_contracts (elevator_id, starts_on);
CREATE INDEX maintenance_contracts_firm_id ON maintenance_contracts (firm_org_id, id);
CREATE INDEX maintenance_contracts_operator_id ON maintenance_contracts (operator_org_id, id);

CREATE TABLE cycle_agreements (
    id                   uuid PRIMARY KEY,
    contract_id          uuid NOT NULL REFERENCES maintenance_contracts (id),
    elevator_id          uuid NOT NULL REFERENCES elevators (id),
    venue_id             uuid NOT NULL REFERENCES venues (id),
    operator_org_id      uuid NOT NULL REFERENCES organizations (id),
    firm_org_id          uuid NOT NULL REFERENCES organizations (id),
    onsite_cycle_days    integer NOT NULL CHECK (onsite_cycle_days > 0),
    remote_interval_days integer NOT NULL CHECK (remote_interval_days > 0),
    valid_from           date NOT NULL,
    valid_to             date NOT NULL,
    reason               text NOT NULL,
    state                text NOT NULL CHECK (state IN ('proposed', 'accepted', 'rejected', 'revoked', 'expired', 'suspended')),
    state_reason         text NOT NULL DEFAULT '',
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CHECK (valid_from <= valid_to)
);
CREATE INDEX cycle_agreements_elevator ON cycle_agreements (elevator_id, valid_from);
CREATE INDEX cycle_agreements_contract ON cycle_agreements (contract_id, id);
CREATE INDEX cycle_agreements_firm_id ON cycle_agreements (firm_org_id, id);
CREATE INDEX cycle_agreements_operator_id ON cycle_agreements (operator_org_id, id);
CREATE INDEX cycle_agreements_live ON cycle_agreements (valid_to) WHERE state IN ('proposed', 'accepted', 'suspended');

-- +goose Down
DROP TABLE cycle_agreements;
DROP TABLE maintenance_contracts;
