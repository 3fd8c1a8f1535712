ALTER TABLE clients DROP COLUMN demo;
ALTER TABLE locations DROP COLUMN demo;
ALTER TABLE chains DROP COLUMN demo;
ALTER TABLE clients DROP COLUMN disabled_at;
ALTER TABLE locations DROP COLUMN disabled_at;
ALTER TABLE chains DROP COLUMN disabled_at;
