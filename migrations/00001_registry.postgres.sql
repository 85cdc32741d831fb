-- +goose Up
CREATE TABLE organizations (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('regulator', 'metrology_institute', 'maintenance_firm', 'venue_operator')),
    region_code   text NOT NULL DEFAULT '',
    contact_email text NOT NULL DEFAULT '',
    retired       boolean NOT NULL DEFAULT false,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    retired_at    timestamptz
);
CREATE INDEX organizations_kind_id ON organizations (kind, id);

CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id),
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'member')),
    secret_hash text NOT NULL UNIQUE,
    expires_at  timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL,
    created_by  uuid
);
CREATE INDEX api_tokens_org_id ON api_tokens (org_id, id);

CREATE TABLE tolerance_profiles (
    code                  text PRIMARY KEY,
    title                 text NOT NULL,
    document              text NOT NULL,
    types                 text NOT NULL,
    range_min_c           double precision NOT NULL,
    range_max_c           double precision NOT NULL,
    mpe_c                 double precision NOT NULL CHECK (mpe_c > 0),
    default_interval_days integer NOT NULL,
    source                text NOT NULL
);

CREATE TABLE venues (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('airport', 'railway_station', 'bus_station', 'mall', 'supermarket', 'hospital', 'school', 'other')),
    address         text NOT NULL DEFAULT '',
    region_code     text NOT NULL,
    lat             double precision,
    lon             double precision,
    time_zone       text NOT NULL,
    operator_org_id uuid NOT NULL REFERENCES organizations (id),
    contact_name    text NOT NULL DEFAULT '',
    contact_phone   text NOT NULL DEFAULT '',
    contact_email   text NOT NULL DEFAULT '',
    retired         boolean NOT NULL DEFAULT false,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    retired_at      timestamptz
);
CREATE INDEX venues_operator_id ON venues (operator_org_id, id);
CREATE INDEX venues_region_id ON venues (region_code, id);

CREATE TABLE thermometers (
    id                  uuid PRIMARY KEY,
    venue_id            uuid NOT NULL REFERENCES venues (id),
    operator_org_id     uuid NOT NULL REFERENCES organizations (id),
    type                text NOT NULL CHECK (type IN ('ir_ear', 'ir_forehead', 'ir_screening_thermograph', 'medical_electronic')),
    manufacturer        text NOT NULL,
    model               text NOT NULL,
    serial              text NOT NULL,
    location_note       text NOT NULL DEFAULT '',
    range_min_c         double precision NOT NULL,
    range_max_c         double precision NOT NULL,
    tolerance_profile   text NOT NULL REFERENCES tolerance_profiles (code),
    mpe_c               double precision NOT NULL,
    mpe_override_c      double precision,
    mpe_override_reason text NOT NULL DEFAULT '',
    modes               text NOT NULL,
    institute_id        uuid REFERENCES organizations (id),
    status              text NOT NULL CHECK (status IN ('in_service', 'out_of_tolerance', 'quarantined', 'retired')),
    interval_days       integer NOT NULL CHECK (interval_days BETWEEN 1 AND 1825),
    last_calibrated_at  timestamptz,
    next_due_at         timestamptz NOT NULL,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    retired_at          timestamptz,
    CONSTRAINT thermometers_serial_unique UNIQUE (manufacturer, model, serial)
);
CREATE INDEX thermometers_venue_status_id ON thermometers (venue_id, status, id);
CREATE INDEX thermometers_venue_id ON thermometers (venue_id, id);
CREATE INDEX thermometers_operator_id ON thermometers (operator_org_id, id);
CREATE INDEX thermometers_institute_id ON thermometers (institute_id, id);
CREATE INDEX thermometers_status_id ON thermometers (status, id);
CREATE INDEX thermometers_next_due ON thermometers (next_due_at) WHERE status <> 'retired';

CREATE TABLE elevators (
    id                  uuid PRIMARY KEY,
    registration_code   text NOT NULL UNIQUE,
    venue_id            uuid NOT NULL REFERENCES venues (id),
    operator_org_id     uuid NOT NULL REFERENCES organizations (id),
    maintenance_firm_id uuid REFERENCES organizations (id),
    manufacturer        text NOT NULL,
    model               text NOT NULL DEFAULT '',
    commissioning_date  date,
    status              text NOT NULL CHECK (status IN ('in_service', 'out_of_service', 'under_repair', 'retired')),
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    retired_at          timestamptz
);
CREATE INDEX elevators_venue_status_id ON elevators (venue_id, status, id);
CREATE INDEX elevators_operator_id ON elevators (operator_org_id, id);
CREATE INDEX elevators_firm_id ON elevators (maintenance_firm_id, id);

CREATE TABLE audit_events (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL,
    org_id      uuid,
    token_id    uuid,
    action      text NOT NULL,
    resource    text NOT NULL,
    resource_id text NOT NULL,
    changes     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org_id ON audit_events (org_id, id);
CREATE INDEX audit_events_resource ON audit_events (resource, resource_id, id);

-- The audit log is append-only, whoever connects.
-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only;
DROP TABLE elevators;
DROP TABLE thermometers;
DROP TABLE venues;
DROP TABLE tolerance_profiles;
DROP TABLE api_tokens;
DROP TABLE organizations;
