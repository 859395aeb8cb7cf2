-- Schema version 1 of the SQLite server store: the first schema (users, devices,
-- tokens, cases, the agents a case ever had, templates, visits and their entries,
-- applied op ids, the change feed, the audit log and its append-only triggers).
-- Shipped in 2d515ba. The version is kept in PRAGMA user_version.
-- Frozen: never edit this file (see README.md).

CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    role TEXT NOT NULL, supervisor_id TEXT
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), active INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(id),
    user_id TEXT NOT NULL REFERENCES users(id), expires_at TEXT NOT NULL, revoked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, primary_agent TEXT NOT NULL, partner TEXT,
    supervisor_id TEXT
);
CREATE TABLE IF NOT EXISTS case_agents_ever (
    case_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (case_id, user_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS templates (
    key TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (key, version)
);
CREATE TABLE IF NOT EXISTS visits (id TEXT PRIMARY KEY, case_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visit_entries (
    visit_id TEXT NOT NULL, author TEXT NOT NULL, seq INTEGER NOT NULL, op_id TEXT NOT NULL,
    body TEXT NOT NULL, rejected TEXT, reassigned INTEGER NOT NULL,
    PRIMARY KEY (visit_id, author, seq)
);
CREATE TABLE IF NOT EXISTS applied_ops (
    op_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, rejected TEXT
);
CREATE TABLE IF NOT EXISTS feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, case_id TEXT, visit_id TEXT,
    author TEXT, entry_seq INTEGER, template_key TEXT, template_version INTEGER, removed_from TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_id TEXT, device_id TEXT,
    action TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
