-- Idempotency-Key (contract §8): the answer (status, exact body bytes and the
-- Location header of a create) first given to a keyed request, stored in the
-- same transaction as the write it answered. Keys belong to a principal
-- (`kind:id`) and an operation; `request_hash` is the SHA-256 of the
-- request's body in canonical JSON.
CREATE TABLE idempotency_keys (
    principal TEXT COLLATE "C" NOT NULL,
    operation TEXT COLLATE "C" NOT NULL,
    idempotency_key TEXT COLLATE "C" NOT NULL,
    request_hash TEXT COLLATE "C" NOT NULL,
    status INTEGER NOT NULL,
    body BYTEA NOT NULL,
    location TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, operation, idempotency_key)
);
-- Expiry deletes the oldest keys in batches.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
