-- btree_gist lets the exclusion constraint compare text with `=`; it is a
-- trusted extension (PostgreSQL 13+), so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Every text column compares bytewise (COLLATE "C"), as SQLite's BINARY does:
-- ids and keys sort the same on both backends, and index and exclusion
-- checks compare with memcmp instead of the locale's strcoll (the overlap
-- constraint's GiST checks spent most of a create in collation code).

-- Dates are whole seconds since the Unix epoch (UTC): the API has second
-- precision, integers compare and index the same way on both backends.
CREATE TABLE chains (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    secret_salt TEXT COLLATE "C" NOT NULL,
    secret_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE locations (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    chain_id TEXT COLLATE "C" NOT NULL REFERENCES chains (id),
    name TEXT COLLATE "C" NOT NULL,
    secret_salt TEXT COLLATE "C" NOT NULL,
    secret_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX locations_chain ON locations (chain_id);

CREATE TABLE clients (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    secret_salt TEXT COLLATE "C" NOT NULL,
    secret_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE guest_passes (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    chain_id TEXT COLLATE "C" NOT NULL REFERENCES chains (id),
    location_id TEXT COLLATE "C" NOT NULL REFERENCES locations (id),
    first_name TEXT COLLATE "C" NOT NULL,
    last_name TEXT COLLATE "C" NOT NULL,
    email TEXT COLLATE "C" NOT NULL,
    -- lower-cased email: the 422 rule and search compare addresses case-insensitively
    email_key TEXT COLLATE "C" NOT NULL,
    phone TEXT COLLATE "C",
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    checkin_code TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT COLLATE "C",
    cancelled_at BIGINT,
    cancelled_by TEXT COLLATE "C",
    CHECK (valid_from < valid_until),
    -- The 422 rule, enforced by the database itself so that it holds across
    -- any number of server instances sharing this database.
    CONSTRAINT guest_passes_no_overlap EXCLUDE USING gist (
        location_id WITH =,
        email_key WITH =,
        int8range(valid_from, valid_until) WITH &&
    ) WHERE (cancelled_at IS NULL)
);
-- The 422 overlap check and search by location + email.
CREATE INDEX guest_passes_location_email ON guest_passes (location_id, email_key, valid_from);
-- Check-in and search by code; uniqueness across the deployment.
CREATE UNIQUE INDEX guest_passes_checkin_code ON guest_passes (checkin_code);
-- Search pages, newest first, per scope.
CREATE INDEX guest_passes_created ON guest_passes (created_at DESC, id);
CREATE INDEX guest_passes_chain_created ON guest_passes (chain_id, created_at DESC, id);
CREATE INDEX guest_passes_location_created ON guest_passes (location_id, created_at DESC, id);
-- Retention (prune) finds expired passes by end date.
CREATE INDEX guest_passes_valid_until ON guest_passes (valid_until);

CREATE TABLE checkins (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    guest_pass_id TEXT COLLATE "C" NOT NULL REFERENCES guest_passes (id) ON DELETE CASCADE,
    location_id TEXT COLLATE "C" NOT NULL,
    checked_in_at BIGINT NOT NULL
);
-- Visit history of one pass, oldest first.
CREATE INDEX checkins_guest_pass ON checkins (guest_pass_id, checked_in_at, id);
