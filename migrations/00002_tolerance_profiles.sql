-- Tolerance profiles from DOMAIN.md §1.2. "source" names the DOMAIN.md
-- source keys, or says "unverified" where the figure is recalled rather
-- than read: confirm those against the purchased standard before relying
-- on them for a conformity statement. Ranges are the ranges the MPE holds
-- over; a device's measuring range defaults to its profile's.

-- +goose Up
INSERT INTO tolerance_profiles (code, title, document, types, range_min_c, range_max_c, mpe_c, default_interval_days, source) VALUES
('jjg1164_ear', 'IR ear thermometer, 35-42 °C', 'JJG 1164-2019 / JJF 1107-2003', 'ir_ear', 35.0, 42.0, 0.2, 365, 'S1,S4'),
('jjg1164_ear_outside', 'IR ear thermometer, display range outside 35-42 °C', 'JJG 1164-2019 / JJF 1107-2003', 'ir_ear', 32.0, 43.0, 0.3, 365, 'unverified'),
('jjf1107_forehead', 'IR forehead / skin thermometer', 'JJF 1107-2003', 'ir_forehead', 35.0, 42.0, 0.3, 365, 'S1'),
('jjf1107_screening', 'IR rapid screening instrument', 'JJF 1107-2003 / GB/T 19146-2010', 'ir_screening_thermograph', 35.0, 42.0, 0.4, 365, 'S1'),
('iso80601_2_56', 'Clinical thermometer, rated output range', 'ISO 80601-2-56', 'ir_ear,ir_forehead,medical_electronic', 35.0, 42.0, 0.3, 365, 'S10'),
('iso80601_2_56_extended', 'Clinical thermometer, extended range', 'ISO 80601-2-56', 'ir_ear,ir_forehead,medical_electronic', 32.0, 43.0, 0.4, 365, 'S10'),
('astm_e1965_ear', 'IR ear thermometer, 36-39 °C', 'ASTM E1965', 'ir_ear', 36.0, 39.0, 0.2, 365, 'unverified'),
('astm_e1965_skin', 'IR skin thermometer', 'ASTM E1965', 'ir_forehead', 35.0, 42.0, 0.3, 365, 'unverified'),
('iec80601_2_59', 'Screening thermograph system incl. reference source, 34-39 °C', 'IEC 80601-2-59:2017', 'ir_screening_thermograph', 34.0, 39.0, 0.5, 365, 'unverified'),
('jjg1162_contact', 'Medical electronic (contact) thermometer, 35.5-42 °C', 'JJG 1162-2019 / GB/T 21416-2008', 'medical_electronic', 35.5, 42.0, 0.1, 365, 'unverified');

-- +goose Down
DELETE FROM tolerance_profiles;
