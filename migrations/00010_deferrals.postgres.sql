-- +goose Up
-- Emergency deferrals the regulator declares: in-scope thermometers whose
-- due date falls in the window are due extend_days after its end instead.
-- A deferred thermometer keeps its normal due date in normal_due_at and
-- names the deferral that holds it; lifting the deferral puts the normal
-- date back. Tasks the deferral cancelled name it too, so lifting can
-- reopen them.
CREATE TABLE deferrals (
    id                 uuid PRIMARY KEY,
    declared_by_org_id uuid NOT NULL REFERENCES organizations (id),
    name               text NOT NULL,
    reason             text NOT NULL,
    types              text NOT NULL DEFAULT '',
    region_codes       text NOT NULL DEFAULT '',
    window_from        date NOT NULL,
    window_to          date NOT NULL,
    extend_days        integer NOT NULL CHECK (extend_days BETWEEN 0 AND 366),
    state              text NOT NULL CHECK (state IN ('active', 'lifted')),
    lifted_at          timestamptz,
    lift_reason        text NOT NULL DEFAULT '',
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (window_from <= window_to)
);
CREATE INDEX deferrals_state_id ON deferrals (state, id);

CREATE TABLE deferral_venues (
    deferral_id uuid NOT NULL REFERENCES deferrals (id),
    venue_id    uuid NOT NULL REFERENCES venues (id),
    PRIMARY KEY (deferral_id, venue_id)
);
CREATE INDEX deferral_venues_venue_id ON deferral_venues (venue_id);

ALTER TABLE thermometers ADD COLUMN deferral_id uuid REFERENCES deferrals (id);
ALTER TABLE thermometers ADD COLUMN normal_due_at timestamptz;
CREATE INDEX thermometers_deferral_id ON thermometers (deferral_id) WHERE deferral_id IS NOT NULL;

ALTER TABLE calibration_tasks ADD COLUMN deferral_id uuid REFERENCES deferrals (id);
CREATE INDEX calibration_tasks_deferral_id ON calibration_tasks (deferral_id) WHERE deferral_id IS NOT NULL;

-- +goose Down
DROP INDEX calibration_tasks_deferral_id;
ALTER TABLE calibration_tasks DROP COLUMN deferral_id;
DROP INDEX thermometers_deferral_id;
ALTER TABLE thermometers DROP COLUMN normal_due_at;
ALTER TABLE thermometers DROP COLUMN deferral_id;
DROP TABLE deferral_venues;
DROP TABLE deferrals;
