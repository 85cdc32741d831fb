-- +goose Up
CREATE TABLE organizations (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('regulator', 'metrology_institute', 'maintenance_firm', 'venue_operator')),
    region_code   text NOT NULL DEFAULT '',
    contact_email text NOT NULL DEFAULT '',
    retired       boolean NOT NULL DEFAULT 0,
    version       integer NOT NULL DEFAULT 1,
    created_at    datetime NOT NULL,
    updated_at    datetime NOT NULL,
    retired_at    datetime
);
CREATE INDEX organizations_kind_id ON organizations (kind, id);

CREATE TABLE api_tokens (
    id          text PRIMARY KEY,
    org_id      text NOT NULL REFERENCES organizations (id),
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('admin', 'member')),
    secret_hash text NOT NULL UNIQUE,
    expires_at  datetime,
    revoked_at  datetime,
    created_at  datetime NOT NULL,
    created_by  text
);
CREATE INDEX api_tokens_org_id ON api_tokens (org_id, id);

CREATE TABLE tolerance_profiles (
    code                  text PRIMARY KEY,
    title                 text NOT NULL,
    document              text NOT NULL,
    types                 text NOT NULL,
    range_min_c           real NOT NULL,
    range_max_c           real NOT NULL,
    mpe_c                 real NOT NULL CHECK (mpe_c > 0),
    default_interval_days integer NOT NULL,
    source                text NOT NULL
);

CREATE TABLE venues (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('airport', 'railway_station', 'bus_station', 'mall', 'supermarket', 'hospital', 'school', 'other')),
    address         text NOT NULL DEFAULT '',
    region_code     text NOT NULL,
    lat             real,
    lon             real,
    time_zone       text NOT NULL,
    operator_org_id text NOT NULL REFERENCES organizations (id),
    contact_name    text NOT NULL DEFAULT '',
    contact_phone   text NOT NULL DEFAULT '',
    contact_email   text NOT NULL DEFAULT '',
    retired         boolean NOT NULL DEFAULT 0,
    version         integer NOT NULL DEFAULT 1,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL,
    retired_at      datetime
);
CREATE INDEX venues_operator_id ON venues (operator_org_id, id);
CREATE INDEX venues_region_id ON venues (region_code, id);

CREATE TABLE thermometers (
    id                  text PRIMARY KEY,
    venue_id            text NOT NULL REFERENCES venues (id),
    operator_org_id     text NOT NULL REFERENCES organizations (id),
    type                text NOT NULL CHECK (type IN ('ir_ear', 'ir_forehead', 'ir_screening_thermograph', 'medical_electronic')),
    manufacturer        text NOT NULL,
    model               text NOT NULL,
    serial              text NOT NULL,
    location_note       text NOT NULL DEFAULT '',
    range_min_c         real NOT NULL,
    range_max_c         real NOT NULL,
    tolerance_profile   text NOT NULL REFERENCES tolerance_profiles (code),
    mpe_c               real NOT NULL,
    mpe_override_c      real,
    mpe_override_reason text NOT NULL DEFAULT '',
    modes               text NOT NULL,
    institute_id        text REFERENCES organizations (id),
    status              text NOT NULL CHECK (status IN ('in_service', 'out_of_tolerance', 'quarantined', 'retired')),
    interval_days       integer NOT NULL CHECK (interval_days BETWEEN 1 AND 1825),
    last_calibrated_at  datetime,
    next_due_at         datetime NOT NULL,
    version             integer NOT NULL DEFAULT 1,
    created_at          datetime NOT NULL,
    updated_at          datetime NOT NULL,
    retired_at          datetime,
    CONSTRAINT thermometers_serial_unique UNIQUE (manufacturer, model, serial)
);
CREATE INDEX thermometers_venue_status_id ON thermometers (venue_id, status, id);
CREATE INDEX thermometers_venue_id ON thermometers (venue_id, id);
CREATE INDEX thermometers_operator_id ON thermometers (operator_org_id, id);
CREATE INDEX thermometers_institute_id ON thermometers (institute_id, id);
CREATE INDEX thermometers_status_id ON thermometers (status, id);
CREATE INDEX thermometers_next_due ON thermometers (next_due_at) WHERE status <> 'retired';

CREATE TABLE elevators (
    id                  text PRIMARY KEY,
    registration_code   text NOT NULL UNIQUE,
    venue_id            text NOT NULL REFERENCES venues (id),
    operator_org_id     text NOT NULL REFERENCES organizations (id),
    maintenance_firm_id text REFERENCES organizations (id),
    manufacturer        text NOT NULL,
    model               text NOT NULL DEFAULT '',
    commissioning_date  date,
    status              text NOT NULL CHECK (status IN ('in_service', 'out_of_service', 'under_repair', 'retired')),
    version             integer NOT NULL DEFAULT 1,
    created_at          datetime NOT NULL,
    updated_at          datetime NOT NULL,
    retired_at          datetime
);
CREATE INDEX elevators_venue_status_id ON elevators (venue_id, status, id);
CREATE INDEX elevators_operator_id ON elevators (operator_org_id, id);
CREATE INDEX elevators_firm_id ON elevators (maintenance_firm_id, id);

CREATE TABLE audit_events (
    id          text PRIMARY KEY,
    at          datetime NOT NULL,
    org_id      text,
    token_id    text,
    action      text NOT NULL,
    resource    text NOT NULL,
    resource_id text NOT NULL,
    changes     text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_org_id ON audit_events (org_id, id);
CREATE INDEX audit_events_resource ON audit_events (resource, resource_id, id);

-- The audit log is append-only, whoever connects.
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_events;
DROP TABLE elevators;
DROP TABLE thermometers;
DROP TABLE venues;
DROP TABLE tolerance_profiles;
DROP TABLE api_tokens;
DROP TABLE organizations;
