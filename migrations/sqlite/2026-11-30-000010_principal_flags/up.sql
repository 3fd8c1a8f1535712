-- Principals an operator can switch off without deleting them (`admin
-- disable`): a disabled one authenticates as unknown. Seconds since the epoch.
ALTER TABLE chains ADD COLUMN disabled_at BIGINT;
ALTER TABLE locations ADD COLUMN disabled_at BIGINT;
ALTER TABLE clients ADD COLUMN disabled_at BIGINT;

-- The demo's principals (their secrets are public): they authenticate only
-- while the server runs with --demo. The demo ids are reserved, so the rows
-- an older `serve --demo` created are the demo's own.
ALTER TABLE chains ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE locations ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE chains SET demo = TRUE WHERE id = 'demo-chain';
UPDATE locations SET demo = TRUE WHERE id = 'demo-gym';
UPDATE clients SET demo = TRUE WHERE id = 'demo-client';
