//! The SQLite store's schema and its migrations, kept in `PRAGMA user_version`.

use rusqlite::Connection;

use super::rows::db;
use super::{attachments, console, policies, quarantine, sign_in};
use crate::store::StoreError;

/// Schema version kept in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 7;

/// Migrations after [`SCHEMA`] (version 1), in order: migration `i` brings the
/// schema to version `i + 2`.
const MIGRATIONS: &[&str] = &[
    ATTACHMENT_REFS,
    // 3: the latest verification of each visit's stored log.
    "ALTER TABLE visits ADD COLUMN chain_checked_at TEXT;
     ALTER TABLE visits ADD COLUMN chain_entries INTEGER;
     ALTER TABLE visits ADD COLUMN chain_broken_author TEXT;
     ALTER TABLE visits ADD COLUMN chain_broken_seq INTEGER;
     ALTER TABLE visits ADD COLUMN chain_broken_reason TEXT;",
    // 4: the sign-in attempts the login limit counts.
    sign_in::MIGRATION,
    // 5: who declared each attachment, and who sent its bytes.
    attachments::MIGRATION,
    // 6: entries from devices that may not push to their visit, kept apart,
    // and the code of each refused attempt in the audit log.
    quarantine::MIGRATION,
    // 7: the bank's field policy, versioned.
    policies::MIGRATION,
];

const SCHEMA: &str = "
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
";

/// Schema version 2: which visits refer to which attachment bytes, filled from
/// the `attached` entries admitted so far.
const ATTACHMENT_REFS: &str = "
CREATE TABLE IF NOT EXISTS attachment_refs (
    sha256 TEXT NOT NULL, visit_id TEXT NOT NULL, size_bytes INTEGER NOT NULL,
    PRIMARY KEY (sha256, visit_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO attachment_refs (sha256, visit_id, size_bytes)
    SELECT json_extract(json_extract(body, '$.payload'), '$.attachment.sha256'), visit_id,
           json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes')
    FROM visit_entries
    WHERE rejected IS NULL AND json_extract(body, '$.kind') = 'attached'
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.sha256') IS NOT NULL
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes') IS NOT NULL;
";

/// Creates the schema or brings it to [`SCHEMA_VERSION`], in one transaction;
/// a database newer than this server is refused.
pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Database(format!(
            "schema version {version} is newer than this server ({SCHEMA_VERSION})"
        )));
    }
    let tx = conn.unchecked_transaction().map_err(db)?;
    tx.execute_batch(SCHEMA).map_err(db)?;
    let done = usize::try_from(version.max(1) - 1).unwrap_or(0);
    for migration in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(migration).map_err(db)?;
    }
    // The console's tables are created on open, whatever the version.
    tx.execute_batch(console::SCHEMA).map_err(db)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(db)?;
    tx.commit().map_err(db)
}
