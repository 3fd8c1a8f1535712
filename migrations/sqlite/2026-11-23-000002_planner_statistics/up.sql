-- Fixed planner statistics until the first real ANALYZE. Without any, SQLite
-- guesses that `chain_id = ?` is as selective as `location_id = ? AND
-- email_key = ?` and walks a whole chain (in created_at order, to skip a sort)
-- instead of using the location/email index: 100x slower at 10k passes.
-- These describe a large deployment (1M passes, ~100 chains, ~1000 locations,
-- a handful of passes per person); ANALYZE or PRAGMA optimize replaces them.
ANALYZE sqlite_schema;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('guest_passes', 'guest_passes_location_email', '1000000 1000 2 1'),
    ('guest_passes', 'guest_passes_checkin_code', '1000000 1'),
    ('guest_passes', 'guest_passes_created', '1000000 2 1'),
    ('guest_passes', 'guest_passes_chain_created', '1000000 10000 2 1'),
    ('guest_passes', 'guest_passes_location_created', '1000000 1000 2 1'),
    ('guest_passes', 'guest_passes_valid_until', '1000000 10'),
    ('checkins', 'checkins_guest_pass', '1000000 5 2 1');
