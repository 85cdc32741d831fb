-- +goose Up
-- The facts version moves from the drift state to the thermometer row (see
-- the PostgreSQL variant). SQLite reads thermometers afresh in each batch
-- and never compares it, so it only keeps the column, for the schema.
DROP TRIGGER thermometers_drift_facts;
ALTER TABLE drift_states DROP COLUMN facts_version;
ALTER TABLE thermometers ADD COLUMN facts_version integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE thermometers DROP COLUMN facts_version;
ALTER TABLE drift_states ADD COLUMN facts_version integer NOT NULL DEFAULT 0;
-- +goose StatementBegin
CREATE TRIGGER thermometers_drift_facts AFTER UPDATE ON thermometers
BEGIN
    UPDATE drift_states SET facts_version = facts_version + 1 WHERE device_id = NEW.id;
END;
-- +goose StatementEnd
