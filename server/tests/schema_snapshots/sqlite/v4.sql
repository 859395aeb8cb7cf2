-- Schema version 4 (SQLite): the sign-in attempts the login limit counts.
-- Shipped in 20af531.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS sign_in_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, limit_key TEXT NOT NULL, at_ms INTEGER NOT NULL,
    in_progress INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_key ON sign_in_attempts (limit_key, at_ms);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_time ON sign_in_attempts (at_ms);
