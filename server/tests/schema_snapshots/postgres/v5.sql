-- Schema version 5 (PostgreSQL): the sign-in attempts the login limit counts,
-- shared by every replica. Shipped in 20af531.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS sign_in_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, limit_key text NOT NULL,
    at timestamptz NOT NULL, in_progress boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_key ON sign_in_attempts (limit_key, at);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_time ON sign_in_attempts (at);
