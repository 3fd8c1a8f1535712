-- Readiness proves the writer can still write, and that the disk can still
-- take new pages: it rewrites this one row's 32 KB filler (a full disk or an
-- I/O error then fails the probe, and readiness with it, until it passes again).
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY NOT NULL,
    filler BLOB NOT NULL,
    written_at BIGINT NOT NULL
);
