-- +goose Up
-- The facts version moves from the drift state to the thermometer row.
-- 00021's trigger wrote the drift state from every thermometer update, so
-- a transaction changing several thermometers (an import, a deferral)
-- took drift-state locks in its own order against the ingest's device
-- order, and the two could deadlock. A BEFORE UPDATE trigger changes only
-- the row being updated and takes no other lock; the ingest's
-- compare-and-set reads the thermometer's version instead.
DROP TRIGGER thermometers_drift_facts ON thermometers;
DROP FUNCTION drift_facts_changed;
ALTER TABLE drift_states DROP COLUMN facts_version;
ALTER TABLE thermometers ADD COLUMN facts_version bigint NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE FUNCTION thermometers_next_facts_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.facts_version := OLD.facts_version + 1;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER thermometers_facts_version BEFORE UPDATE ON thermometers
    FOR EACH ROW EXECUTE FUNCTION thermometers_next_facts_version();

-- +goose Down
DROP TRIGGER thermometers_facts_version ON thermometers;
DROP FUNCTION thermometers_next_facts_version;
ALTER TABLE thermometers DROP COLUMN facts_version;
ALTER TABLE drift_states ADD COLUMN facts_version bigint NOT NULL DEFAULT 0;
-- +goose StatementBegin
CREATE FUNCTION drift_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE drift_states SET facts_version = facts_version + 1 WHERE device_id = NEW.id;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER thermometers_drift_facts AFTER UPDATE ON thermometers
    FOR EACH ROW EXECUTE FUNCTION drift_facts_changed();
