-- +goose Up
-- The device a dead letter's topic names (calibd/v1/devices/{id}/...), so
-- that the tenants who see the device can read why its messages were
-- refused. NULL when the topic names no device id.
ALTER TABLE dead_letters ADD COLUMN device_id uuid;
UPDATE dead_letters
   SET device_id = lower(substring(topic from '^calibd/v1/devices/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(/|$)'))::uuid
 WHERE topic ~ '^calibd/v1/devices/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(/|$)';
CREATE INDEX dead_letters_device ON dead_letters (device_id, id);

-- +goose Down
DROP INDEX dead_letters_device;
ALTER TABLE dead_letters DROP COLUMN device_id;
