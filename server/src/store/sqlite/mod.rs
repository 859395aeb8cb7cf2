//! The embedded SQLite backend: one file in the data directory, in WAL mode,
//! written by one connection and read by a few others.
//!
//! # One writer, many readers
//!
//! SQLite lets one transaction write at a time, and in WAL mode any number
//! read beside it, each from the snapshot committed when it began. The store
//! follows that: [`Store::write`] runs on the writer connection, behind a
//! mutex (writers of this process queue there rather than spin on SQLite's
//! lock) and in a `BEGIN IMMEDIATE` transaction, which takes the write lock
//! up front, so a write never fails half-way because another process (an
//! admin command on the same file) wrote first: it waits for it up to the
//! busy timeout, then is [`StoreError::Busy`]. Holding the write lock for the
//! whole transaction is also what [`StoreTx::lock`] relies on: on SQLite it
//! has nothing left to do. [`Store::read`] runs on a reader connection from a
//! small pool (`pool`), in a deferred transaction that only reads: it never
//! waits for the writer, and the writer never waits for it, so a supervisor
//! loading the console dashboard and the phones pushing no longer queue
//! behind one another. A reader sees every transaction committed before its
//! own began and nothing of one still open; since feed rows are numbered by
//! the single writer in commit order, a reader that sees feed row `n` sees
//! every row below it. Readers are `query_only`: a write attempted in a read
//! transaction fails, as it does on PostgreSQL.
//!
//! The writer opens the file, sets WAL mode and migrates the schema (once,
//! in one write transaction) before any reader is opened, so readers only
//! ever see the current schema.
//!
//! An in-memory store ([`SqliteStore::open_in_memory`], for tests) has one
//! connection: a private in-memory database cannot be shared between
//! connections, and a shared-cache one locks whole tables, so readers would
//! wait for the writer anyway. Its reads and writes take turns on that
//! connection, reads still `query_only`. A file that cannot be put in WAL
//! mode (a file system without shared memory) is served the same way.
//!
//! # Files
//!
//! The backend is split by concern: `schema` (the schema and its
//! migrations), `rows` (mapping rows to records), `pool` (opening
//! connections, the readers' pool), `tx` (the [`StoreTx`] of one
//! transaction), and one file for each group of row-level operations (the
//! feed and audit log, the audit log's filtered reads, the console, sign-in
//! attempts, attachments, policies, the quarantine, visit summaries).

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, TransactionBehavior};

use super::{Store, StoreError, StoreTx};
use rows::db;
use tx::SqliteTx;

mod accounts;
mod assignments;
mod attachments;
mod audit;
mod console;
mod feed;
mod plans;
mod policies;
mod pool;
mod quarantine;
mod refresh;
mod rows;
mod schema;
mod sign_in;
mod summaries;
mod templates;
mod tx;

pub use rows::reject_from;
pub use schema::{SCHEMA_VERSION, migration_sql};

/// The SQLite store.
pub struct SqliteStore {
    /// The one connection that writes (and, without readers, also reads).
    writer: Mutex<Connection>,
    /// The readers of a database file in WAL mode; `None` for an in-memory
    /// database, whose reads run on the writer.
    readers: Option<pool::Readers>,
    /// How often a write waited for the writer.
    waits: crate::store::LockWaits,
}

impl SqliteStore {
    /// Opens (creating if needed) `doorstep-server.db` in `dir`: its writer,
    /// which migrates it, then its readers.
    pub fn open_dir(dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.to_string()))?;
        let path = dir.join("doorstep-server.db");
        let writer = pool::open_writer(&path)?;
        schema::migrate(&writer)?;
        let readers = if pool::is_wal(&writer)? {
            Some(pool::Readers::open(&path, pool::READERS, pool::CHECKOUT)?)
        } else {
            tracing::warn!(
                "the server database could not be put in WAL mode: reads wait for writes"
            );
            None
        };
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers,
            waits: crate::store::LockWaits::default(),
        })
    }

    /// An in-memory store, for tests: one connection, reads and writes
    /// taking turns on it.
    pub fn open_in_memory() -> Result<SqliteStore, StoreError> {
        let writer = pool::open_memory()?;
        schema::migrate(&writer)?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: None,
            waits: crate::store::LockWaits::default(),
        })
    }

    /// The writer. A panic in a transaction leaves it usable (the
    /// transaction was rolled back when it unwound), so a poisoned lock is
    /// taken all the same.
    fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer for a write, counting whether it had to wait for it.
    fn writer_for_write(&self) -> MutexGuard<'_, Connection> {
        match self.writer.try_lock() {
            Ok(conn) => {
                self.waits.record(None);
                conn
            }
            Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                self.waits.record(None);
                poisoned.into_inner()
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                let started = std::time::Instant::now();
                let conn = self.writer();
                self.waits.record(Some(started.elapsed()));
                conn
            }
        }
    }
}

/// Runs `f` in a transaction on `conn`, committed if it returns `Ok`, rolled
/// back otherwise.
fn transact(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(behavior).map_err(db)?;
    f(&SqliteTx(&tx))?;
    tx.commit().map_err(db)
}

/// The writer, made `query_only` for a read until this is dropped (also when
/// the read panics).
struct QueryOnly<'a>(MutexGuard<'a, Connection>);

impl<'a> QueryOnly<'a> {
    fn new(conn: MutexGuard<'a, Connection>) -> Result<QueryOnly<'a>, StoreError> {
        conn.pragma_update(None, "query_only", true).map_err(db)?;
        Ok(QueryOnly(conn))
    }
}

impl Drop for QueryOnly<'_> {
    fn drop(&mut self) {
        // Setting a connection's flag cannot fail once the connection is
        // open; were it to, the next write would fail, not write wrongly.
        let _ = self.0.pragma_update(None, "query_only", false);
    }
}

impl Store for SqliteStore {
    fn read(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if let Some(readers) = &self.readers {
            let mut reader = readers.take()?;
            return transact(&mut reader, TransactionBehavior::Deferred, f);
        }
        // One connection: the read takes its turn on the writer, which only
        // reads meanwhile.
        let mut conn = QueryOnly::new(self.writer())?;
        transact(&mut conn.0, TransactionBehavior::Deferred, f)
    }

    fn write(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        transact(
            &mut self.writer_for_write(),
            TransactionBehavior::Immediate,
            f,
        )
    }

    fn lock_waits(&self) -> Option<&crate::store::LockWaits> {
        Some(&self.waits)
    }
}
