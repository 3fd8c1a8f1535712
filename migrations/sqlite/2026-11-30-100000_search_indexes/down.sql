DROP INDEX guest_passes_location_email;
CREATE INDEX guest_passes_location_email ON guest_passes (location_id, email_key, valid_from);
DROP INDEX guest_passes_email;
DROP INDEX guest_passes_location_page;
DROP INDEX guest_passes_chain_page;
DROP INDEX guest_passes_page;
CREATE INDEX guest_passes_created ON guest_passes (created_at DESC, id);
CREATE INDEX guest_passes_chain_created ON guest_passes (chain_id, created_at DESC, id);
CREATE INDEX guest_passes_location_created ON guest_passes (location_id, created_at DESC, id);
DELETE FROM sqlite_stat1 WHERE tbl = 'guest_passes' AND idx IN (
    'guest_passes_page', 'guest_passes_chain_page', 'guest_passes_location_page',
    'guest_passes_email', 'guest_passes_location_email');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('guest_passes', 'guest_passes_location_email', '1000000 1000 2 1'),
    ('guest_passes', 'guest_passes_created', '1000000 2 1'),
    ('guest_passes', 'guest_passes_chain_created', '1000000 10000 2 1'),
    ('guest_passes', 'guest_passes_location_created', '1000000 1000 2 1');
