//! The encrypted device store.
//!
//! One SQLCipher database in WAL mode, committed with `synchronous = FULL`
//! (an action is on disk when it returns), with one writer and one reader
//! connection, each behind a mutex. Raw connections never leave this module: callers go through
//! [`DeviceStore::read`] and [`DeviceStore::write`], and `write` commits only if
//! its closure returns `Ok`, so an action and its outbox entry land together or
//! not at all. The query functions of each table live in their own file and take
//! a `&Connection` (readers) or a `&Transaction` (writers).

pub mod blobs;
pub mod cases;
mod key;
pub mod meta;
pub mod outbox;
pub mod own_chain;
pub mod parked;
pub mod purge;
pub mod rejections;
pub mod schema;
pub mod templates;
pub mod visits;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::Result;
pub use key::DatabaseKey;

/// Page cache of the reader connection, in KiB (negative, as SQLite takes it).
const READER_CACHE_KIB: i64 = -32 * 1024;

/// The device database.
#[derive(Debug)]
pub struct DeviceStore {
    // Fields drop in order: the reader closes first, so that the writer, closing
    // last, checkpoints the WAL into the database file.
    reader: Mutex<Connection>,
    writer: Mutex<Connection>,
}

impl DeviceStore {
    /// Opens (creating if needed) the database at `path` with `key`, and brings its
    /// schema up to date. A wrong key fails without touching the file.
    pub fn open(path: &Path, key: &DatabaseKey) -> Result<DeviceStore> {
        let mut writer = connect(path, key, OpenFlags::default())?;
        // FULL: every commit syncs the WAL to disk before it returns, so an
        // action the app showed as saved survives a power cut, not only a
        // crash. With NORMAL a dead battery could roll the database back to
        // its last checkpoint and take the agent's unsynced work with it;
        // one sync per tap is cheap (docs/BENCHMARKS.md §1). What was pushed
        // is also recoverable from the server (`sync::repair`).
        writer.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;",
        )?;
        let tx = writer.transaction_with_behavior(TransactionBehavior::Immediate)?;
        schema::upgrade(&tx)?;
        tx.commit()?;
        let reader = connect(
            path,
            key,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Every page read is decrypted; a larger cache keeps the case list's
        // pages decrypted between screens (a text search reads the whole table).
        reader.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
        Ok(DeviceStore {
            reader: Mutex::new(reader),
            writer: Mutex::new(writer),
        })
    }

    /// Runs `f` with the reader connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&lock(&self.reader))
    }

    /// Runs `f` in one immediate write transaction, committed if `f` returns `Ok`
    /// and rolled back otherwise.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.write_then(f, |_| ())
    }

    /// Like [`DeviceStore::write`], then, once the transaction has committed
    /// and while the writer is still held, runs `committed` with its value.
    ///
    /// State kept in memory beside the database (the facade's chain heads)
    /// is changed there, so it changes in the same order as the database and
    /// the next writer never sees it behind what is committed.
    pub fn write_then<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
        committed: impl FnOnce(&T),
    ) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        committed(&value);
        Ok(value)
    }
}

fn connect(path: &Path, key: &DatabaseKey, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    key.unlock(&conn)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    // Plans do not depend on the values bound, so a cached statement is not
    // prepared again each time a new value is bound to a parameter the planner
    // compared with an index expression (`visit_log_attachments`).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// A poisoned mutex only means a panic happened while it was held; SQLite has
/// already rolled back the transaction in flight, so the connection is sound.
fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads a UUID stored as a 16-byte blob.
pub(crate) fn uuid_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<uuid::Uuid> {
    let bytes: [u8; 16] = row.get(index)?;
    Ok(uuid::Uuid::from_bytes(bytes))
}
