//! The SQLite store's schema and its migrations, kept in `PRAGMA user_version`.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::rows::db;
use super::{
    accounts, assignments, attachments, audit, console, feed, plans, policies, quarantine, refresh,
    sign_in, summaries, templates,
};
use crate::store::StoreError;

/// Schema version kept in `PRAGMA user_version`; the PostgreSQL backend's
/// schema has the same version (see migration 8).
pub const SCHEMA_VERSION: i64 = 17;

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
    // 8: nothing, on purpose. PostgreSQL counted one migration more (its
    // console tables were its migration 3; SQLite creates them on every
    // open), so it reached the field policy at 8 where SQLite reached it at
    // 7. From here on both backends share migration numbers: the next
    // migration is 9 on both, and brings the same change to both.
    "",
    // 9: each visit's summary, the fold of its admitted entries.
    summaries::MIGRATION,
    // 10: indexes a reader's feed page is found through.
    feed::MIGRATION,
    // 11: the bank's decisions on cases, and repayments by account.
    plans::MIGRATION,
    // 12: indexes the audit log is read through.
    audit::MIGRATION,
    // 13: who each case was assigned to, and when.
    assignments::MIGRATION,
    // 14: refresh credentials, bound to a device and rotated on use.
    refresh::MIGRATION,
    // 15: whether each user is active, and what the server knows of each
    // device (registration, last sync, deactivation, the wipe confirmed).
    accounts::MIGRATION,
    // 16: when a checklist template version was retired.
    templates::MIGRATION,
    // 17: the app version each device last named.
    accounts::APP_VERSION_MIGRATION,
];

// One migration per version after the first, checked when compiling.
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION - 1);

/// The SQL that brought the schema to `version`, exactly as this build runs
/// it: version 1 is the first schema, and `None` is a version this build has
/// no migration for. (The console's tables are not a migration: they are
/// created on every open.) Frozen copies of these texts, as each version
/// shipped, are kept in `server/tests/schema_snapshots/sqlite/`; the test
/// there checks this build still runs exactly those.
pub fn migration_sql(version: i64) -> Option<&'static str> {
    match version {
        1 => Some(SCHEMA),
        _ => MIGRATIONS
            .get(usize::try_from(version.checked_sub(2)?).ok()?)
            .copied(),
    }
}

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

/// Creates the schema or brings it to [`SCHEMA_VERSION`], in one write
/// transaction taken before the version is read, so two processes opening
/// the same file migrate it once; a database newer than this server is
/// refused.
pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(db)?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Every table, index and trigger, as created (without where it is kept).
    fn shape(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn user_version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    /// A database as `version` shipped: the first schema, the migrations up
    /// to that version, and from version 2 the console's tables.
    fn shipped(version: i64) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        let migrations = usize::try_from(version - 1).unwrap();
        for migration in MIGRATIONS.iter().take(migrations) {
            conn.execute_batch(migration).unwrap();
        }
        if version >= 2 {
            conn.execute_batch(console::SCHEMA).unwrap();
        }
        conn.pragma_update(None, "user_version", version).unwrap();
        conn
    }

    #[test]
    fn every_shipped_version_migrates_to_the_schema_of_a_new_database_keeping_its_rows() {
        let new = Connection::open_in_memory().unwrap();
        migrate(&new).unwrap();
        assert_eq!(user_version(&new), SCHEMA_VERSION);
        for version in 1..=SCHEMA_VERSION {
            let conn = shipped(version);
            conn.execute("INSERT INTO visits (id, case_id) VALUES ('v', 'c')", [])
                .unwrap();
            migrate(&conn).unwrap();
            assert_eq!(shape(&conn), shape(&new), "from version {version}");
            assert_eq!(user_version(&conn), SCHEMA_VERSION, "from {version}");
            let kept: String = conn
                .query_row("SELECT case_id FROM visits WHERE id = 'v'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(kept, "c", "from version {version}");
        }
    }

    #[test]
    fn migrating_again_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        let once = shape(&conn);
        migrate(&conn).unwrap();
        assert_eq!(shape(&conn), once);
    }

    #[test]
    fn a_database_newer_than_the_server_is_refused_untouched() {
        let conn = shipped(SCHEMA_VERSION);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&conn),
            Err(StoreError::NewerSchema { found, supported })
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
        ));
        assert_eq!(user_version(&conn), SCHEMA_VERSION + 1);
        assert!(conn.is_autocommit());
    }

    #[test]
    fn both_backends_are_at_the_same_schema_version() {
        // From version 8 on, a migration has the same number on both.
        assert_eq!(
            SCHEMA_VERSION,
            i64::from(crate::store::postgres::SCHEMA_VERSION)
        );
    }
}
