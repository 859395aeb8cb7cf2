//! The PostgreSQL connection pool.
//!
//! The store is synchronous (handlers call it through `spawn_blocking`), so
//! the pool is `r2d2`, the blocking pool from the author of the `postgres`
//! crate: a checkout that waits at most [`Timeouts::checkout`], connections
//! opened lazily and closed after they have been idle a while, and each
//! connection keeping the statements prepared on it. Every connection is
//! opened with a statement timeout, a lock timeout and an idle-in-transaction
//! timeout, so a request never waits without bound; running out of any of
//! them is [`StoreError::Busy`], which the API answers `503` with
//! `Retry-After`.

use std::collections::HashMap;
use std::time::Duration;

use postgres::{Client, Config, NoTls, Statement};

use crate::store::StoreError;

/// How long a request may wait for the database, at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For a connection from the pool.
    pub checkout: Duration,
    /// For one statement to finish.
    pub statement: Duration,
    /// For a lock (a visit's, a case's, a row's).
    pub lock: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            checkout: Duration::from_secs(10),
            statement: Duration::from_secs(30),
            lock: Duration::from_secs(15),
        }
    }
}

/// A connection and the statements prepared on it.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: HashMap<&'static str, Statement>,
}

/// Opens connections for the pool.
pub(super) struct Manager {
    config: Config,
    timeouts: Timeouts,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        let millis = |d: Duration| d.as_millis();
        client.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {};
             SET idle_in_transaction_session_timeout = {};",
            millis(self.timeouts.statement),
            millis(self.timeouts.lock),
            // A transaction is never idle for long: it only waits for this
            // process between statements.
            millis(self.timeouts.statement * 2),
        ))?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.batch_execute("")
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// The pool of a store.
pub(super) type Pool = r2d2::Pool<Manager>;

/// A pool of at most `max` connections with `config`; opens none yet.
pub(super) fn pool(config: Config, max: usize, timeouts: Timeouts) -> Result<Pool, StoreError> {
    let max = u32::try_from(max.max(1)).unwrap_or(u32::MAX);
    r2d2::Pool::builder()
        .max_size(max)
        .min_idle(Some(0))
        .connection_timeout(timeouts.checkout)
        .idle_timeout(Some(Duration::from_secs(300)))
        // A connection that broke is seen at its next statement and dropped
        // (`has_broken`); no round trip on every checkout.
        .test_on_check_out(false)
        .build(Manager { config, timeouts })
        .map_err(|e| StoreError::Database(e.to_string()))
}

/// A connection from `pool`; waiting longer than the checkout timeout is
/// [`StoreError::Busy`].
pub(super) fn checkout(pool: &Pool) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
    pool.get().map_err(|_| StoreError::Busy)
}
