//! The SQLite store's connections: how each is opened and configured.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::config::DbConfig;

use super::rows::db;
use crate::store::StoreError;

/// Prepared statements kept per connection: more than the store uses.
const STATEMENT_CACHE: usize = 128;

/// How long a statement waits for a lock another connection holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens (creating if needed) the database file at `path`, configured.
pub(super) fn open_file(path: &Path) -> Result<Connection, StoreError> {
    configure(Connection::open(path).map_err(db)?)
}

/// Opens a private in-memory database, configured.
pub(super) fn open_memory() -> Result<Connection, StoreError> {
    configure(Connection::open_in_memory().map_err(db)?)
}

/// Sets the pragmas and the statement cache every connection of the store has.
fn configure(conn: Connection) -> Result<Connection, StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    // Every statement is prepared once per connection and kept (the store
    // has a few dozen), and its plan does not depend on the values bound:
    // without the stability guarantee SQLite prepares a cached statement
    // again when a new value is bound to a parameter its planner looked
    // at, which a profile of pushes showed for every chain-head read.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
    Ok(conn)
}
