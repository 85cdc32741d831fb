-- +goose Up
-- facts_version counts changes of the thermometer a drift state belongs to.
-- A replica that keeps a thermometer's row (MPE, status, owners, due date)
-- next to its cached drift state writes the state back only while
-- facts_version is the one it read after the state, so a thermometer
-- changed meanwhile (by the API, a calibration or another replica) is
-- read again instead of judged by old facts.
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

-- +goose Down
DROP TRIGGER thermometers_drift_facts ON thermometers;
DROP FUNCTION drift_facts_changed;
ALTER TABLE drift_states DROP COLUMN facts_version;
