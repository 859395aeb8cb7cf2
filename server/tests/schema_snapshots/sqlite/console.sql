-- The console's tables in the SQLite server store, as every open creates them
-- since 47761aa (schema version 2), whatever the version: not a migration, so no
-- version number of its own. A database "created at version k" for k >= 2 had them;
-- one at version 1 did not (nor one at version 2 from 3d4d2d7, before the console).
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS console_sessions (
    id_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    ended INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_supervisor ON cases (supervisor_id);
CREATE INDEX IF NOT EXISTS visits_by_case ON visits (case_id);
CREATE INDEX IF NOT EXISTS users_by_supervisor ON users (supervisor_id);
