-- Idempotency-Key (contract §8): the answer (status, exact body bytes and the
-- Location header of a create) first given to a keyed request, stored in the
-- same transaction as the write it answered. Keys belong to a principal
-- (`kind:id`) and an operation; `request_hash` is the SHA-256 of the
-- request's body in canonical JSON.
CREATE TABLE idempotency_keys (
    principal TEXT NOT NULL,
    operation TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    location TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, operation, idempotency_key)
);
-- Expiry deletes the oldest keys in batches.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('idempotency_keys', 'sqlite_autoindex_idempotency_keys_1', '100000 1000 1000 1'),
    ('idempotency_keys', 'idempotency_keys_created', '100000 2');
