ALTER TABLE guest_passes DROP CONSTRAINT guest_passes_no_overlap;
ALTER TABLE guest_passes ADD CONSTRAINT guest_passes_no_overlap EXCLUDE USING gist (
    location_id WITH =,
    email_key WITH =,
    int8range(valid_from, valid_until) WITH &&
) WHERE (cancelled_at IS NULL);
