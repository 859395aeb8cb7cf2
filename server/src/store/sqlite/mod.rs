//! The embedded SQLite backend: one file in the data directory, WAL mode, one
//! connection behind a mutex (SQLite has one writer at a time anyway).
//!
//! The backend is split by concern: `schema` (the schema and its
//! migrations), `rows` (mapping rows to records), `pool` (opening
//! connections), `tx` (the [`StoreTx`] of one transaction), and one file for
//! each group of row-level operations (the feed and audit log, the console,
//! sign-in attempts, attachments, policies, the quarantine).

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

use super::{Store, StoreError, StoreTx};
use rows::db;
use tx::SqliteTx;

mod attachments;
mod console;
mod feed;
mod policies;
mod pool;
mod quarantine;
mod rows;
mod schema;
mod sign_in;
mod tx;

pub use rows::reject_from;
pub use schema::SCHEMA_VERSION;

/// The SQLite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) `doorstep-server.db` in `dir`.
    pub fn open_dir(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.to_string()))?;
        SqliteStore::init(pool::open_file(&dir.join("doorstep-server.db"))?)
    }

    /// An in-memory store, for tests.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        SqliteStore::init(pool::open_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        schema::migrate(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn run(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction().map_err(db)?;
        f(&SqliteTx(&tx))?;
        tx.commit().map_err(db)
    }
}

impl Store for SqliteStore {
    fn read(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.run(f)
    }

    fn write(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.run(f)
    }
}
