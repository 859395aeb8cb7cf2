//! The device schema: an ordered list of migrations tracked in `PRAGMA user_version`.
//!
//! A new database runs every migration; an existing one runs those after its
//! version, all in one transaction. Each shipped version's SQL stays in `sql/`
//! unchanged forever, and the tests open a database created at every earlier
//! version.

use rusqlite::Transaction;

use crate::error::{Error, Result};

/// The migrations, in order: index `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("sql/v1.sql"),
    include_str!("sql/v2.sql"),
    include_str!("sql/v3.sql"),
    include_str!("sql/v4.sql"),
    include_str!("sql/v5.sql"),
    include_str!("sql/v6.sql"),
];

/// The schema version this build writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the schema to [`VERSION`]. Refuses a database from a newer build.
pub(crate) fn upgrade(tx: &Transaction<'_>) -> Result<()> {
    let found: u32 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    upgrade_to(tx, found, VERSION)
}

/// Runs the migrations from `from` up to `to`.
pub(crate) fn upgrade_to(tx: &Transaction<'_>, from: u32, to: u32) -> Result<()> {
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(to as usize)
        .skip(from as usize)
    {
        tracing::info!(from = index, to = index + 1, "upgrading device schema");
        tx.execute_batch(sql)?;
    }
    if from != to {
        tx.pragma_update(None, "user_version", to)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn every_migration_applies_in_order_on_an_empty_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        for version in 0..VERSION {
            let tx = conn.transaction().unwrap();
            upgrade_to(&tx, version, version + 1).unwrap();
            tx.commit().unwrap();
            let now: u32 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(now, version + 1);
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        let tx = conn.transaction().unwrap();
        assert!(matches!(upgrade(&tx), Err(Error::SchemaTooNew { .. })));
    }
}
