-- Schema version 3 (PostgreSQL): the console's sessions and the indexes of a
-- team's lists. Shipped in 47761aa (which, by mistake, still recorded version 2
-- after running it; 4e596cc recorded 4; the migration is idempotent, so a database
-- from 47761aa migrates all the same).
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS console_sessions (
    id_sha256 text PRIMARY KEY, user_id uuid NOT NULL REFERENCES users(id),
    csrf_token text NOT NULL, created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL, ended boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_supervisor ON cases (supervisor_id);
CREATE INDEX IF NOT EXISTS visits_by_case ON visits (case_id);
CREATE INDEX IF NOT EXISTS users_by_supervisor ON users (supervisor_id);
