//! The SQLite store's connections: the writer, and the pool of readers of a
//! database file.
//!
//! Every connection waits up to [`BUSY_TIMEOUT`] for a lock another
//! connection (of this process or another) holds, keeps its prepared
//! statements, and plans them once whatever the values bound. The writer
//! also puts the file in WAL mode and enforces foreign keys; a reader is
//! `query_only`, so a write attempted in a read transaction fails instead of
//! taking the write lock behind the writer's back.
//!
//! The readers are a small fixed pool of our own rather than `r2d2`:
//! `r2d2_sqlite` does not support the rusqlite this workspace uses, and for
//! connections that never break (a SQLite connection is a file handle, not a
//! socket) all a pool must do is hand one out, wait for one with a deadline,
//! and take it back. It runs no helper threads, opens a reader only when every
//! open one is in use, and never closes an idle one (which would throw away
//! its prepared statements).

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::rows::db;
use crate::store::StoreError;

/// Prepared statements kept per connection: more than the store uses.
const STATEMENT_CACHE: usize = 128;

/// How long a statement waits for a lock another connection holds before it
/// fails as [`StoreError::Busy`].
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Reader connections a store opens at most: reads beyond these wait for one
/// to be free. A handful is plenty: a read takes milliseconds, and the
/// server has few cores.
pub(super) const READERS: usize = 4;

/// How long a read waits for a reader connection before it fails as
/// [`StoreError::Busy`] (as long as PostgreSQL's checkout waits).
pub(super) const CHECKOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the database file at `path` for writing, in
/// WAL mode.
pub(super) fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    writer(Connection::open(path).map_err(db)?)
}

/// Opens a private in-memory database for writing. Its journal stays in
/// memory: SQLite has no WAL for it.
pub(super) fn open_memory() -> Result<Connection, StoreError> {
    writer(Connection::open_in_memory().map_err(db)?)
}

/// Whether `conn`'s database is in WAL mode, so readers on other connections
/// read beside its writer without waiting.
pub(super) fn is_wal(conn: &Connection) -> Result<bool, StoreError> {
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .map_err(db)?;
    Ok(mode.eq_ignore_ascii_case("wal"))
}

fn writer(conn: Connection) -> Result<Connection, StoreError> {
    let conn = configure(conn)?;
    // WAL is kept in the file: every later connection to it uses it.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(db)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
    Ok(conn)
}

/// Opens a reader of the existing database file at `path`. Read-write at
/// the file level, `query_only` at the SQL level: a connection opened
/// read-only could not recover the WAL index nor, as the last to close,
/// checkpoint the WAL into the database.
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = configure(Connection::open_with_flags(path, flags).map_err(db)?)?;
    conn.pragma_update(None, "query_only", true).map_err(db)?;
    Ok(conn)
}

/// What every connection has: a busy timeout and the statement cache.
fn configure(conn: Connection) -> Result<Connection, StoreError> {
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

/// The reader connections of one database file.
pub(super) struct Readers {
    path: PathBuf,
    max: usize,
    checkout: Duration,
    state: Mutex<Idle>,
    /// Signalled when a reader is handed back (or one failed to open).
    freed: Condvar,
}

/// The readers not in use, and how many are open in all.
struct Idle {
    idle: Vec<Connection>,
    open: usize,
}

impl Readers {
    /// Readers of the file at `path`, at most `max`, a read waiting at most
    /// `checkout` for one. Opens the first now, so a file readers cannot open
    /// is refused when the store opens; the rest when first needed.
    pub(super) fn open(path: &Path, max: usize, checkout: Duration) -> Result<Readers, StoreError> {
        let first = open_reader(path)?;
        Ok(Readers {
            path: path.to_owned(),
            max: max.max(1),
            checkout,
            state: Mutex::new(Idle {
                idle: vec![first],
                open: 1,
            }),
            freed: Condvar::new(),
        })
    }

    /// A reader not in use, opened if none is idle and fewer than the most
    /// are open; waiting longer than the checkout time for one to be handed
    /// back is [`StoreError::Busy`].
    pub(super) fn take(&self) -> Result<Reader<'_>, StoreError> {
        let deadline = Instant::now() + self.checkout;
        let mut state = self.state();
        loop {
            // The most recently used first: its pages and statements are warm.
            if let Some(conn) = state.idle.pop() {
                return Ok(self.reader(conn));
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match open_reader(&self.path) {
                    Ok(conn) => Ok(self.reader(conn)),
                    Err(err) => {
                        self.state().open -= 1;
                        self.freed.notify_one();
                        Err(err)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy);
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn reader(&self, conn: Connection) -> Reader<'_> {
        Reader {
            conn: Some(conn),
            readers: self,
        }
    }

    /// The pool's state. It is only ever changed in a few lines that cannot
    /// panic half-way, so a poisoned lock still guards a consistent state.
    fn state(&self) -> MutexGuard<'_, Idle> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A reader connection in use; handed back to its pool when dropped.
pub(super) struct Reader<'a> {
    conn: Option<Connection>,
    readers: &'a Readers,
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A transaction that could not be rolled back would make every later
        // read on this connection fail: close it instead (closing rolls it
        // back), and let the next read that needs one open another.
        let mut state = self.readers.state();
        if conn.is_autocommit() {
            state.idle.push(conn);
            drop(state);
        } else {
            state.open -= 1;
            drop(state);
            drop(conn);
        }
        self.readers.freed.notify_one();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Marks a connection (its page cache size is its own setting).
    fn mark(conn: &Connection, n: i64) {
        conn.pragma_update(None, "cache_size", n).unwrap();
    }

    fn marked(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "cache_size", |r| r.get(0))
            .unwrap()
    }

    fn file() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = open_writer(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        (dir, path)
    }

    #[test]
    fn a_reader_is_handed_back_and_used_again() {
        let (_dir, path) = file();
        let readers = Readers::open(&path, 1, Duration::from_millis(50)).unwrap();
        let first = readers.take().unwrap();
        mark(&first, 7);
        // The only reader is in use: a second read waits, then is busy.
        assert!(matches!(readers.take(), Err(StoreError::Busy)));
        drop(first);
        let again = readers.take().unwrap();
        assert_eq!(marked(&again), 7);
    }

    #[test]
    fn a_read_waits_for_a_reader_to_be_handed_back() {
        let (_dir, path) = file();
        let readers = Readers::open(&path, 1, Duration::from_secs(60)).unwrap();
        let held = readers.take().unwrap();
        let (waiting, waits) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                waiting.send(()).unwrap();
                readers.take().map(|r| r.is_autocommit())
            });
            waits.recv().unwrap();
            drop(held);
            assert!(reader.join().unwrap().unwrap());
        });
    }

    #[test]
    fn readers_are_opened_up_to_the_most_and_refuse_writes() {
        let (_dir, path) = file();
        let readers = Readers::open(&path, 2, Duration::from_millis(50)).unwrap();
        let one = readers.take().unwrap();
        mark(&one, 7);
        let two = readers.take().unwrap();
        assert_ne!(marked(&two), 7);
        assert!(matches!(readers.take(), Err(StoreError::Busy)));
        assert!(one.execute("INSERT INTO t (x) VALUES (1)", []).is_err());
        let count: i64 = two
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0);
    }

    #[test]
    fn a_reader_left_in_a_transaction_is_closed_not_reused() {
        let (_dir, path) = file();
        let readers = Readers::open(&path, 1, Duration::from_millis(50)).unwrap();
        let stuck = readers.take().unwrap();
        mark(&stuck, 7);
        stuck.execute_batch("BEGIN").unwrap();
        drop(stuck);
        let fresh = readers.take().unwrap();
        assert_ne!(marked(&fresh), 7);
        assert!(fresh.is_autocommit());
    }
}
