-- Every search the contract allows is served by an index, and its `total`
-- is counted from the index alone (issue 11): the page indexes carry the
-- columns the status and validAt filters read (cancelled_at, valid_from,
-- valid_until), so neither the count nor the walk to the page's offset
-- visits a row that is not on the page. They replace the narrower indexes
-- of the same prefix.
DROP INDEX guest_passes_created;
DROP INDEX guest_passes_chain_created;
DROP INDEX guest_passes_location_created;
CREATE INDEX guest_passes_page
    ON guest_passes (created_at DESC, id, cancelled_at, valid_from, valid_until);
CREATE INDEX guest_passes_chain_page
    ON guest_passes (chain_id, created_at DESC, id, cancelled_at, valid_from, valid_until);
CREATE INDEX guest_passes_location_page
    ON guest_passes (location_id, created_at DESC, id, cancelled_at, valid_from, valid_until);

-- Search by email without a location (chain-wide, or every chain for a
-- client): the location + email index cannot serve it.
CREATE INDEX guest_passes_email
    ON guest_passes (email_key, chain_id, created_at DESC, id, cancelled_at, valid_from, valid_until);

-- Location + email (the 422 overlap check, and search) with status or
-- validAt: the period's end and the cancellation too, so the check and the
-- count read the index alone.
DROP INDEX guest_passes_location_email;
CREATE INDEX guest_passes_location_email
    ON guest_passes (location_id, email_key, valid_from, valid_until, cancelled_at);

-- Fixed planner statistics for the new indexes, on the same assumptions as
-- 2026-11-23-000002 (1M passes, ~100 chains, ~1000 locations, a handful of
-- passes per person), until ANALYZE or PRAGMA optimize replaces them. A
-- database analyzed before keeps its numbers for the unchanged indexes.
DELETE FROM sqlite_stat1 WHERE tbl = 'guest_passes' AND idx IN (
    'guest_passes_created', 'guest_passes_chain_created',
    'guest_passes_location_created', 'guest_passes_location_email');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('guest_passes', 'guest_passes_page', '1000000 2 1 1 1 1'),
    ('guest_passes', 'guest_passes_chain_page', '1000000 10000 2 1 1 1 1'),
    ('guest_passes', 'guest_passes_location_page', '1000000 1000 2 1 1 1 1'),
    ('guest_passes', 'guest_passes_email', '1000000 2 2 1 1 1 1 1'),
    ('guest_passes', 'guest_passes_location_email', '1000000 1000 2 1 1 1');
