-- +goose Up
-- The drift detectors' target error μ0 (DOMAIN.md §3.2): the error the
-- thermometer's last passing calibration left it with near 37 °C. NULL
-- before any calibration: the detectors aim at 0.
ALTER TABLE drift_states ADD COLUMN mu0_c real;

-- +goose Down
ALTER TABLE drift_states DROP COLUMN mu0_c;
