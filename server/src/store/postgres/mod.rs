//! The PostgreSQL backend, for a bank's deployment: several stateless server
//! replicas behind a load balancer share one database.
//!
//! # Client and pool
//!
//! [`Store`] is synchronous (handlers call it through `spawn_blocking`), so this
//! backend uses the synchronous `postgres` crate (a blocking wrapper over
//! `tokio-postgres` that owns a small runtime per connection) and the blocking
//! `r2d2` pool ([`pool`]): checkouts, statements and locks wait a bounded
//! time ([`Timeouts`]), and running out is [`StoreError::Busy`] (`503` with
//! `Retry-After`). Each connection keeps the statements prepared on it.
//!
//! # Transactions
//!
//! * `read` runs in a `REPEATABLE READ, READ ONLY` transaction: one consistent
//!   snapshot, like SQLite's read transaction.
//! * `write` runs in a `READ COMMITTED` transaction. Writers run side by side
//!   across every replica; what must not interleave is named by the service
//!   with [`StoreTx::lock`], a transaction-scoped advisory lock per visit (a
//!   push, a review: one visit's chains and fold), per case (an assignment),
//!   per device (a registration) and per sign-in limit key. Under such a lock
//!   each statement sees everything committed before it, so the service's
//!   "check, then insert" (an op id's outcome, a chain head, a visit) holds
//!   as it does with SQLite's single writer. A push to visit A never waits
//!   for a push to visit B. The unique constraints stay as the last line of
//!   defence and map to [`StoreError::Conflict`]. It commits when the
//!   closure returns `Ok` and rolls back otherwise.
//!
//! # The change feed
//!
//! Pull cursors must never skip a row: a reader that has seen sequence `n`
//! must already be able to see every sequence below `n`. A plain `SERIAL`
//! column does not give that (a transaction can take 7, another 8 and commit
//! first; a reader at 8 then never sees 7). So sequences come from a
//! single-row counter, `feed_counter`, and are taken in the last step of a
//! write transaction, just before its commit: the rows it appended wait in
//! memory, then one `UPDATE … RETURNING` moves the counter past them and one
//! `INSERT … SELECT FROM UNNEST` stores them. The counter's row lock is held
//! from that update to the commit, so the transaction that took `n` commits
//! (or rolls back, and `n` is reused) before any other can take `n + 1`:
//! sequences become visible in order, without gaps, while everything else
//! the transactions do runs in parallel.
//!
//! # Idempotency and audit
//!
//! Op ids are the primary key of `applied_ops`. The audit table refuses
//! `UPDATE`, `DELETE` and `TRUNCATE` through triggers.
//!
//! # Schema
//!
//! Created and migrated on open, under an advisory lock so replicas starting
//! together do not race; the version is kept in `doorstep_schema`. A database
//! from a newer server is refused. Connections use no TLS: run the database on
//! loopback or a private network.
//!
//! # Layout
//!
//! This file opens the store and maps errors; `schema` holds the tables and
//! their migrations, `pool` the connections, `tx` the transactions and the
//! [`StoreTx`] implementation, `rows` the mapping between rows and records;
//! `batch` the operations on many rows at once that a push uses;
//! `feed`, `console`, `sign_in`, `attachments`, `policies` and `quarantine`
//! hold what each of those concerns needs of the database, and `audit` the
//! audit log's filtered reads.

use std::time::Duration;

use postgres::Config;

use super::{Store, StoreError, StoreTx};

pub use pool::Timeouts;
pub use schema::{SCHEMA_VERSION, migration_sql};

mod accounts;
mod assignments;
mod attachments;
mod audit;
mod batch;
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

/// Connections a store opens at most, unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// The PostgreSQL store. Holds no state of its own beyond its connections, so
/// any number of stores (in any number of processes) can share one database.
pub struct PostgresStore {
    pool: pool::Pool,
    /// How often a per-visit (case, device, sign-in) lock was held by
    /// another transaction, here or on another replica, and waited for.
    waits: crate::store::LockWaits,
}

/// Maps a database error to a [`StoreError`] without the row values some
/// PostgreSQL messages carry in their detail.
fn db(err: postgres::Error) -> StoreError {
    match err.as_db_error() {
        // A NUL character in a text parameter: the client's input.
        Some(e)
            if *e.code() == postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || *e.code() == postgres::error::SqlState::UNTRANSLATABLE_CHARACTER =>
        {
            StoreError::Unstorable
        }
        // A statement or lock timeout (`pool::Timeouts`): come back later.
        Some(e)
            if *e.code() == postgres::error::SqlState::QUERY_CANCELED
                || *e.code() == postgres::error::SqlState::LOCK_NOT_AVAILABLE =>
        {
            StoreError::Busy
        }
        Some(e) => StoreError::Database(format!("{}: {}", e.code().code(), e.message())),
        // Connection and protocol errors: the kind, then the cause ("error
        // connecting to server: Connection refused").
        None => match std::error::Error::source(&err) {
            Some(cause) => StoreError::Database(format!("{err}: {cause}")),
            None => StoreError::Database(err.to_string()),
        },
    }
}

/// Like [`db`], but an integrity violation (unique, foreign key, check) is a
/// [`StoreError::Conflict`] on `what`, as in the SQLite backend.
fn conflict(err: postgres::Error, what: &'static str) -> StoreError {
    match err.code() {
        Some(code) if code.code().starts_with("23") => StoreError::Conflict(what),
        _ => db(err),
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db` or a
    /// key=value string), creating or migrating the schema.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let config: Config = url
            .parse()
            .map_err(|_| StoreError::Database("the database URL is not valid".into()))?;
        PostgresStore::connect(config, DEFAULT_MAX_CONNECTIONS)
    }

    /// Connects with `config`, keeping at most `max_connections` (at least 1)
    /// connections open, and creates or migrates the schema.
    pub fn connect(config: Config, max_connections: usize) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(config, max_connections, Timeouts::default())
    }

    /// Like [`PostgresStore::connect`], with the waits bounded by `timeouts`.
    pub fn connect_with(
        mut config: Config,
        max_connections: usize,
        timeouts: Timeouts,
    ) -> Result<PostgresStore, StoreError> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("doorstep-server");
        }
        let connect = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(Duration::from_secs(10));
        let store = PostgresStore {
            pool: pool::pool(config, max_connections, timeouts)?,
            waits: crate::store::LockWaits::default(),
        };
        // Opening the first connection may take longer than a request may
        // wait for one (a busy database at start): it gets the connect
        // timeout, not the checkout timeout.
        let mut conn = store
            .pool
            .get_timeout(connect)
            .map_err(|_| StoreError::Busy)?;
        schema::migrate(&mut conn.client)?;
        Ok(store)
    }

    fn run(
        &self,
        writable: bool,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = pool::checkout(&self.pool)?;
        // A failed statement leaves the connection usable once the transaction
        // is rolled back (dropping it does); a closed one is dropped by the
        // pool.
        tx::transact(&mut conn, writable, &self.waits, f)
    }
}

impl Store for PostgresStore {
    fn read(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.run(false, f)
    }

    fn write(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.run(true, f)
    }

    fn lock_waits(&self) -> Option<&crate::store::LockWaits> {
        Some(&self.waits)
    }
}
