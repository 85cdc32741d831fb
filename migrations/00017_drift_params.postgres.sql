-- +goose Up
-- Per-device drift parameters (issue 5): the repeatability σ and the
-- expanded uncertainty U of the thermometer's last passing calibration
-- (NULL: the configured default for its tolerance profile applies), and the
-- date a predicted_drift alert forecasts.
ALTER TABLE drift_states ADD COLUMN sigma_c double precision;
ALTER TABLE drift_states ADD COLUMN u_c double precision;
ALTER TABLE drift_states ADD COLUMN params_source text NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN predicted_at timestamptz;

-- +goose Down
ALTER TABLE alerts DROP COLUMN predicted_at;
ALTER TABLE drift_states DROP COLUMN params_source;
ALTER TABLE drift_states DROP COLUMN u_c;
ALTER TABLE drift_states DROP COLUMN sigma_c;
