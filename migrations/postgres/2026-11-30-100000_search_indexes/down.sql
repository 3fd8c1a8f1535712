DROP INDEX guest_passes_location_email;
CREATE INDEX guest_passes_location_email ON guest_passes (location_id, email_key, valid_from);
DROP INDEX guest_passes_email;
DROP INDEX guest_passes_location_page;
DROP INDEX guest_passes_chain_page;
DROP INDEX guest_passes_page;
CREATE INDEX guest_passes_created ON guest_passes (created_at DESC, id);
CREATE INDEX guest_passes_chain_created ON guest_passes (chain_id, created_at DESC, id);
CREATE INDEX guest_passes_location_created ON guest_passes (location_id, created_at DESC, id);
