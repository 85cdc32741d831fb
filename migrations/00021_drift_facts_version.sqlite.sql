-- +goose Up
-- facts_version counts changes of the thermometer a drift state belongs to.
-- A replica that keeps a thermometer's row (MPE, status, owners, due date)
-- next to its cached drift state writes the state back only while
-- facts_version is the one it read after the state, so a thermometer
-- changed meanwhile is read again instead of judged by old facts. (SQLite
-- reads both afresh in each batch; the trigger keeps the schemas alike.)
ALTER TABLE drift_states ADD COLUMN facts_version integer NOT NULL DEFAULT 0;

-- +goose StatementBegin
CREATE TRIGGER thermometers_drift_facts AFTER UPDATE ON thermometers
BEGIN
    UPDATE drift_states SET facts_version = facts_version + 1 WHERE device_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER thermometers_drift_facts;
ALTER TABLE drift_states DROP COLUMN facts_version;
