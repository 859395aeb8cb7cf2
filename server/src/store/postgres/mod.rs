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

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::domain::{CaseId, DeviceId, UserId, Visit, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::PublishedPolicy;
use doorstep_core::sync::protocol::{RejectCode, Role};
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, Row, Statement, Transaction};
use uuid::Uuid;

use super::sqlite::reject_from;
use super::{
    AttachmentRef, AuditRecord, CaseRecord, ChainBreak, ChainCheck, ConsoleSessionRecord,
    DeviceRecord, FeedItem, FeedReader, Lock, QuarantinedEntry, SignInAttempt, Store, StoreError,
    StoreTx, StoredEntry, TeamVisit, TokenRecord, UserRecord, VisitRecord,
};

pub use pool::Timeouts;

mod attachments;
mod console;
mod feed;
mod policies;
mod pool;
mod quarantine;
mod sign_in;
mod summaries;

/// The schema version this server writes.
pub const SCHEMA_VERSION: i32 = 9;

/// Key of the advisory lock held while the schema is created or migrated
/// (`"doorstep"` in ASCII, plus one).
const MIGRATE_LOCK: i64 = 0x646f_6f72_7374_6571;

/// Connections a store opens at most, unless told otherwise.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;

/// Migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE users (
    id uuid PRIMARY KEY, username text NOT NULL UNIQUE, password_hash text NOT NULL,
    role text NOT NULL, supervisor_id uuid
);
CREATE TABLE devices (
    id uuid PRIMARY KEY, user_id uuid NOT NULL REFERENCES users(id), active boolean NOT NULL
);
CREATE TABLE tokens (
    token_sha256 text PRIMARY KEY, device_id uuid NOT NULL REFERENCES devices(id),
    user_id uuid NOT NULL REFERENCES users(id), expires_at timestamptz NOT NULL,
    revoked boolean NOT NULL
);
CREATE TABLE cases (
    id uuid PRIMARY KEY, body text NOT NULL, primary_agent uuid NOT NULL, partner uuid,
    supervisor_id uuid
);
CREATE TABLE case_agents_ever (
    case_id uuid NOT NULL, user_id uuid NOT NULL, PRIMARY KEY (case_id, user_id)
);
CREATE TABLE templates (
    key text NOT NULL, version bigint NOT NULL, body text NOT NULL, PRIMARY KEY (key, version)
);
CREATE TABLE visits (id uuid PRIMARY KEY, case_id uuid NOT NULL);
CREATE TABLE visit_entries (
    visit_id uuid NOT NULL, author uuid NOT NULL, seq bigint NOT NULL, op_id uuid NOT NULL,
    body text NOT NULL, rejected text, reassigned boolean NOT NULL,
    PRIMARY KEY (visit_id, author, seq)
);
CREATE TABLE applied_ops (op_id uuid PRIMARY KEY, device_id uuid NOT NULL, rejected text);
CREATE TABLE feed_counter (
    id boolean PRIMARY KEY DEFAULT true CHECK (id), last bigint NOT NULL
);
INSERT INTO feed_counter (id, last) VALUES (true, 0);
CREATE TABLE feed (
    seq bigint PRIMARY KEY, kind text NOT NULL, case_id uuid, visit_id uuid, author uuid,
    entry_seq bigint, template_key text, template_version bigint, removed_from uuid[]
);
CREATE TABLE audit (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL,
    user_id uuid, device_id uuid, action text NOT NULL, target_kind text NOT NULL,
    target_id text NOT NULL
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit log is append-only';
END
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
",
    // 2: which visits refer to which attachment bytes, filled from the
    // `attached` entries admitted so far.
    "
CREATE TABLE IF NOT EXISTS attachment_refs (
    sha256 text NOT NULL, visit_id uuid NOT NULL, size_bytes bigint NOT NULL,
    PRIMARY KEY (sha256, visit_id)
);
INSERT INTO attachment_refs (sha256, visit_id, size_bytes)
    SELECT (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256', visit_id,
           ((body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes')::bigint
    FROM visit_entries
    WHERE rejected IS NULL AND body::jsonb ->> 'kind' = 'attached'
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256' IS NOT NULL
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes' IS NOT NULL
    ON CONFLICT DO NOTHING;
",
    // 3: the console's sessions and a team's lists.
    console::MIGRATION,
    "
-- 4: the latest verification of each visit's stored log.
ALTER TABLE visits ADD COLUMN IF NOT EXISTS chain_checked_at timestamptz,
    ADD COLUMN IF NOT EXISTS chain_entries bigint,
    ADD COLUMN IF NOT EXISTS chain_broken_author uuid,
    ADD COLUMN IF NOT EXISTS chain_broken_seq bigint,
    ADD COLUMN IF NOT EXISTS chain_broken_reason text;
",
    // 5: the sign-in attempts the login limit counts, shared by every replica.
    sign_in::MIGRATION,
    // 6: who declared each attachment, and who sent its bytes.
    attachments::MIGRATION,
    // 7: entries from devices that may not push to their visit, kept apart,
    // and the code of each refused attempt in the audit log.
    quarantine::MIGRATION,
    // 8: the bank's field policy, versioned. From here on both backends
    // share migration numbers.
    policies::MIGRATION,
    // 9: each visit's summary, the fold of its admitted entries.
    summaries::MIGRATION,
];

/// The PostgreSQL store. Holds no state of its own beyond its connections, so
/// any number of stores (in any number of processes) can share one database.
pub struct PostgresStore {
    pool: pool::Pool,
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
        let store = PostgresStore {
            pool: pool::pool(config, max_connections, timeouts)?,
        };
        let mut conn = pool::checkout(&store.pool)?;
        migrate(&mut conn.client)?;
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
        transact(&mut conn, writable, f)
    }
}

fn transact(
    conn: &mut pool::Conn,
    writable: bool,
    f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let pool::Conn { client, statements } = conn;
    let tx = if writable {
        client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(db)?
    } else {
        client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?
    };
    let pg = PgTx {
        tx: RefCell::new(tx),
        statements: RefCell::new(statements),
        feed: RefCell::new(Vec::new()),
    };
    f(&pg)?;
    // The feed's sequence numbers are taken last, just before the commit, so
    // the counter's row lock is held for the commit only.
    pg.flush_feed()?;
    pg.tx.into_inner().commit().map_err(db)
}

/// The advisory lock key of `what`: a kind tag and the id, hashed to 64 bits
/// (a collision only makes two unrelated writers wait for each other).
fn lock_key(what: Lock<'_>) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    match what {
        Lock::Visit(id) => {
            hash.update(b"visit");
            hash.update(id.as_bytes());
        }
        Lock::Case(id) => {
            hash.update(b"case");
            hash.update(id.as_bytes());
        }
        Lock::Device(id) => {
            hash.update(b"device");
            hash.update(id.as_bytes());
        }
        Lock::SignIn(key) => {
            hash.update(b"sign-in");
            hash.update(key.as_bytes());
        }
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Creates the schema or brings it to [`SCHEMA_VERSION`].
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(db)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS doorstep_schema (version integer NOT NULL)")
        .map_err(db)?;
    let version: i32 = match tx
        .query_opt("SELECT version FROM doorstep_schema", &[])
        .map_err(db)?
    {
        Some(row) => row.try_get(0).map_err(db)?,
        None => {
            tx.execute("INSERT INTO doorstep_schema (version) VALUES (0)", &[])
                .map_err(db)?;
            0
        }
    };
    if version > SCHEMA_VERSION {
        return Err(StoreError::Database(format!(
            "schema version {version} is newer than this server ({SCHEMA_VERSION})"
        )));
    }
    let done = usize::try_from(version).map_err(|_| StoreError::Corrupt("doorstep_schema"))?;
    for migration in MIGRATIONS.iter().skip(done) {
        tx.batch_execute(migration).map_err(db)?;
    }
    tx.execute(
        "UPDATE doorstep_schema SET version = $1",
        &[&SCHEMA_VERSION],
    )
    .map_err(db)?;
    tx.commit().map_err(db)
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
}

struct PgTx<'a> {
    tx: RefCell<Transaction<'a>>,
    statements: RefCell<&'a mut HashMap<&'static str, Statement>>,
    /// Feed rows appended, numbered and stored when the transaction commits.
    feed: RefCell<Vec<FeedItem>>,
}

impl PgTx<'_> {
    /// The statement for `sql`, prepared once per connection.
    fn prepared(&self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.borrow_mut().prepare(sql)?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    fn exec(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.prepared(sql)?;
        self.tx.borrow_mut().execute(&statement, params)
    }

    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.prepared(sql)?;
        self.tx.borrow_mut().query(&statement, params)
    }

    fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.prepared(sql)?;
        self.tx.borrow_mut().query_opt(&statement, params)
    }
}

/// Reads column `i` of `row`, a type mismatch being a corrupt row of `table`.
fn col<'r, T: postgres::types::FromSql<'r>>(
    row: &'r Row,
    i: usize,
    table: &'static str,
) -> Result<T, StoreError> {
    row.try_get(i).map_err(|_| StoreError::Corrupt(table))
}

fn role_code(role: Role) -> &'static str {
    match role {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

fn role_from(code: &str) -> Result<Role, StoreError> {
    match code {
        "agent" => Ok(Role::Agent),
        "supervisor" => Ok(Role::Supervisor),
        "admin" => Ok(Role::Admin),
        _ => Err(StoreError::Corrupt("users")),
    }
}

fn opt_reject(code: Option<String>, table: &'static str) -> Result<Option<RejectCode>, StoreError> {
    code.map(|c| reject_from(&c).ok_or(StoreError::Corrupt(table)))
        .transpose()
}

fn seq_param(seq: u64, table: &'static str) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(table))
}

fn user_from(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: col(row, 0, "users")?,
        username: col(row, 1, "users")?,
        password_hash: col(row, 2, "users")?,
        role: role_from(col(row, 3, "users")?)?,
        supervisor: col(row, 4, "users")?,
    })
}

fn stored_entry(row: &Row) -> Result<StoredEntry, StoreError> {
    let body: &str = col(row, 0, "visit_entries")?;
    Ok(StoredEntry {
        entry: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("visit_entries"))?,
        rejected: opt_reject(col(row, 1, "visit_entries")?, "visit_entries")?,
        reassigned: col(row, 2, "visit_entries")?,
    })
}

impl StoreTx for PgTx<'_> {
    fn lock(&self, what: Lock<'_>) -> Result<(), StoreError> {
        self.exec("SELECT pg_advisory_xact_lock($1)", &[&lock_key(what)])
            .map_err(db)?;
        Ok(())
    }

    fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO users (id, username, password_hash, role, supervisor_id)
                 VALUES ($1, $2, $3, $4, $5)",
            &[
                &user.id,
                &user.username,
                &user.password_hash,
                &role_code(user.role),
                &user.supervisor,
            ],
        )
        .map_err(|e| conflict(e, "user"))?;
        Ok(())
    }

    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        if username.contains('\0') {
            // No stored name holds one (PostgreSQL cannot), so nobody has it,
            // as SQLite answers.
            return Ok(None);
        }
        self.query_opt(
            "SELECT id, username, password_hash, role, supervisor_id FROM users WHERE username = $1",
            &[&username],
        )
        .map_err(db)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.query_opt(
            "SELECT id, username, password_hash, role, supervisor_id FROM users WHERE id = $1",
            &[&id],
        )
        .map_err(db)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    fn insert_device(&self, device: &DeviceRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO devices (id, user_id, active) VALUES ($1, $2, $3)",
            &[&device.id, &device.user, &device.active],
        )
        .map_err(|e| conflict(e, "device"))?;
        Ok(())
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
        self.query_opt("SELECT user_id, active FROM devices WHERE id = $1", &[&id])
            .map_err(db)?
            .map(|row| {
                Ok(DeviceRecord {
                    id,
                    user: col(&row, 0, "devices")?,
                    active: col(&row, 1, "devices")?,
                })
            })
            .transpose()
    }

    fn set_device_active(&self, id: DeviceId, active: bool) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE devices SET active = $2 WHERE id = $1",
                &[&id, &active],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO tokens (token_sha256, device_id, user_id, expires_at, revoked)
                 VALUES ($1, $2, $3, $4, $5)",
            &[
                &token.token_sha256,
                &token.device,
                &token.user,
                &token.expires_at,
                &token.revoked,
            ],
        )
        .map_err(|e| conflict(e, "token"))?;
        Ok(())
    }

    fn token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.query_opt(
            "SELECT device_id, user_id, expires_at, revoked FROM tokens WHERE token_sha256 = $1",
            &[&token_sha256],
        )
        .map_err(db)?
        .map(|row| {
            let expires_at: DateTime<Utc> = col(&row, 2, "tokens")?;
            Ok(TokenRecord {
                token_sha256: token_sha256.to_owned(),
                device: col(&row, 0, "tokens")?,
                user: col(&row, 1, "tokens")?,
                expires_at,
                revoked: col(&row, 3, "tokens")?,
            })
        })
        .transpose()
    }

    fn revoke_token(&self, token_sha256: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE tokens SET revoked = true WHERE token_sha256 = $1",
                &[&token_sha256],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn upsert_case(&self, record: &CaseRecord) -> Result<(), StoreError> {
        let case = &record.case;
        let body = serde_json::to_string(case).map_err(|_| StoreError::Corrupt("cases"))?;
        self.exec(
            "INSERT INTO cases (id, body, primary_agent, partner, supervisor_id)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET body = $2, primary_agent = $3, partner = $4,
                     supervisor_id = $5",
            &[
                &case.id,
                &body,
                &case.assigned.primary,
                &case.assigned.partner,
                &record.supervisor,
            ],
        )
        .map_err(db)?;
        for agent in std::iter::once(case.assigned.primary).chain(case.assigned.partner) {
            self.exec(
                "INSERT INTO case_agents_ever (case_id, user_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                &[&case.id, &agent],
            )
            .map_err(db)?;
        }
        Ok(())
    }

    fn case(&self, id: CaseId) -> Result<Option<CaseRecord>, StoreError> {
        self.query_opt(
            "SELECT body, supervisor_id FROM cases WHERE id = $1",
            &[&id],
        )
        .map_err(db)?
        .map(|row| {
            let body: &str = col(&row, 0, "cases")?;
            Ok(CaseRecord {
                case: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: col(&row, 1, "cases")?,
            })
        })
        .transpose()
    }

    fn was_assigned(&self, case: CaseId, user: UserId) -> Result<bool, StoreError> {
        let row = self
            .query_opt(
                "SELECT 1 FROM case_agents_ever WHERE case_id = $1 AND user_id = $2",
                &[&case, &user],
            )
            .map_err(db)?;
        Ok(row.is_some())
    }

    fn insert_template(&self, template: &ChecklistTemplate) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO templates (key, version, body) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                &[
                    &template.key(),
                    &i64::from(template.version()),
                    &template.to_json(),
                ],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn template(&self, key: &str, version: u32) -> Result<Option<ChecklistTemplate>, StoreError> {
        if key.contains('\0') {
            // No stored key holds one: no such template, as SQLite answers.
            return Ok(None);
        }
        self.query_opt(
            "SELECT body FROM templates WHERE key = $1 AND version = $2",
            &[&key, &i64::from(version)],
        )
        .map_err(db)?
        .map(|row| {
            let body: &str = col(&row, 0, "templates")?;
            ChecklistTemplate::from_json(body).map_err(|_| StoreError::Corrupt("templates"))
        })
        .transpose()
    }

    fn insert_visit(&self, visit: &VisitRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO visits (id, case_id) VALUES ($1, $2)",
            &[&visit.id, &visit.case_id],
        )
        .map_err(|e| conflict(e, "visit"))?;
        Ok(())
    }

    fn visit(&self, id: VisitId) -> Result<Option<VisitRecord>, StoreError> {
        self.query_opt("SELECT case_id FROM visits WHERE id = $1", &[&id])
            .map_err(db)?
            .map(|row| {
                Ok(VisitRecord {
                    id,
                    case_id: col(&row, 0, "visits")?,
                })
            })
            .transpose()
    }

    fn set_chain_check(&self, visit: VisitId, check: &ChainCheck) -> Result<(), StoreError> {
        let broken = check.broken.as_ref();
        let seq = broken
            .and_then(|b| b.seq)
            .map(|seq| seq_param(seq, "visits"))
            .transpose()?;
        let entries = seq_param(check.entries, "visits")?;
        self.exec(
            "UPDATE visits SET chain_checked_at = $2, chain_entries = $3, chain_broken_author = $4,
                 chain_broken_seq = $5, chain_broken_reason = $6 WHERE id = $1",
            &[
                &visit,
                &check.checked_at,
                &entries,
                &broken.map(|b| b.author),
                &seq,
                &broken.map(|b| b.reason.code()),
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    fn chain_check(&self, visit: VisitId) -> Result<Option<ChainCheck>, StoreError> {
        let Some(row) = self
            .query_opt(
                "SELECT chain_checked_at, chain_entries, chain_broken_author, chain_broken_seq,
                     chain_broken_reason FROM visits WHERE id = $1",
                &[&visit],
            )
            .map_err(db)?
        else {
            return Ok(None);
        };
        let Some(checked_at) = col::<Option<DateTime<Utc>>>(&row, 0, "visits")? else {
            return Ok(None);
        };
        let corrupt = || StoreError::Corrupt("visits");
        let entries: Option<i64> = col(&row, 1, "visits")?;
        let author: Option<Uuid> = col(&row, 2, "visits")?;
        let seq: Option<i64> = col(&row, 3, "visits")?;
        let reason: Option<&str> = col(&row, 4, "visits")?;
        let broken = match (author, reason) {
            (Some(author), Some(reason)) => Some(ChainBreak {
                author,
                seq: seq
                    .map(|s| u64::try_from(s).map_err(|_| corrupt()))
                    .transpose()?,
                reason: doorstep_core::event_log::BreakReason::from_code(reason)
                    .ok_or_else(corrupt)?,
            }),
            (None, None) => None,
            _ => return Err(corrupt()),
        };
        Ok(Some(ChainCheck {
            checked_at,
            entries: u64::try_from(entries.ok_or_else(corrupt)?).map_err(|_| corrupt())?,
            broken,
        }))
    }

    fn visit_entries(&self, visit: VisitId) -> Result<Vec<StoredEntry>, StoreError> {
        self.query(
            "SELECT body, rejected, reassigned FROM visit_entries WHERE visit_id = $1
                 ORDER BY author, seq",
            &[&visit],
        )
        .map_err(db)?
        .iter()
        .map(stored_entry)
        .collect()
    }

    fn chain_head(&self, visit: VisitId, author: DeviceId) -> Result<Option<LogEntry>, StoreError> {
        self.query_opt(
            "SELECT body FROM visit_entries WHERE visit_id = $1 AND author = $2
                 ORDER BY seq DESC LIMIT 1",
            &[&visit, &author],
        )
        .map_err(db)?
        .map(|row| {
            let body: &str = col(&row, 0, "visit_entries")?;
            serde_json::from_str(body).map_err(|_| StoreError::Corrupt("visit_entries"))
        })
        .transpose()
    }

    fn entry(
        &self,
        visit: VisitId,
        author: DeviceId,
        seq: u64,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let seq = seq_param(seq, "visit_entries")?;
        self.query_opt(
            "SELECT body, rejected, reassigned FROM visit_entries
                 WHERE visit_id = $1 AND author = $2 AND seq = $3",
            &[&visit, &author, &seq],
        )
        .map_err(db)?
        .as_ref()
        .map(stored_entry)
        .transpose()
    }

    fn insert_entry(&self, stored: &StoredEntry) -> Result<(), StoreError> {
        let entry = &stored.entry;
        let seq = seq_param(entry.seq, "visit_entries")?;
        let body =
            serde_json::to_string(entry).map_err(|_| StoreError::Corrupt("visit_entries"))?;
        self.exec(
            "INSERT INTO visit_entries (visit_id, author, seq, op_id, body, rejected, reassigned)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &entry.visit_id,
                &entry.author,
                &seq,
                &entry.op_id,
                &body,
                &stored.rejected.map(RejectCode::code),
                &stored.reassigned,
            ],
        )
        .map_err(|e| conflict(e, "visit entry"))?;
        Ok(())
    }

    fn op_outcome(&self, op_id: Uuid) -> Result<Option<Option<RejectCode>>, StoreError> {
        self.query_opt(
            "SELECT rejected FROM applied_ops WHERE op_id = $1",
            &[&op_id],
        )
        .map_err(db)?
        .map(|row| opt_reject(col(&row, 0, "applied_ops")?, "applied_ops"))
        .transpose()
    }

    fn record_op(
        &self,
        op_id: Uuid,
        device: DeviceId,
        rejected: Option<RejectCode>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO applied_ops (op_id, device_id, rejected) VALUES ($1, $2, $3)",
            &[&op_id, &device, &rejected.map(RejectCode::code)],
        )
        .map_err(|e| conflict(e, "op"))?;
        Ok(())
    }

    fn append_feed(&self, item: &FeedItem) -> Result<(), StoreError> {
        self.feed.borrow_mut().push(item.clone());
        Ok(())
    }

    fn feed_after(&self, cursor: u64, limit: u32) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        self.feed_page(cursor, limit)
    }

    fn feed_for(
        &self,
        reader: &FeedReader,
        cursor: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        self.feed_page_for(reader, cursor, through, limit)
    }

    fn feed_last(&self) -> Result<u64, StoreError> {
        self.feed_newest()
    }

    fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.audit_append(record)
    }

    fn audit_log(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_all()
    }

    fn record_attachment(&self, reference: &AttachmentRef) -> Result<(), StoreError> {
        self.attachment_record(reference)
    }

    fn attachment_refs(&self, sha256: &str) -> Result<Vec<AttachmentRef>, StoreError> {
        self.attachment_refs_of(sha256)
    }

    fn record_upload(&self, sha256: &str, device: DeviceId) -> Result<(), StoreError> {
        self.upload_record(sha256, device)
    }

    fn uploaders(&self, sha256: &str) -> Result<Vec<DeviceId>, StoreError> {
        self.uploaders_of(sha256)
    }

    fn insert_policy(
        &self,
        policy: &PublishedPolicy,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.policy_insert(policy, at)
    }

    fn policy(&self, version: u32) -> Result<Option<PublishedPolicy>, StoreError> {
        self.policy_of(version)
    }

    fn policies(&self, limit: u32) -> Result<Vec<(PublishedPolicy, DateTime<Utc>)>, StoreError> {
        self.policies_newest(limit)
    }

    fn quarantine(&self, entry: &QuarantinedEntry) -> Result<(), StoreError> {
        self.quarantine_insert(entry)
    }

    fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedEntry>, StoreError> {
        self.quarantine_newest(limit)
    }

    fn insert_console_session(&self, session: &ConsoleSessionRecord) -> Result<(), StoreError> {
        self.console_session_insert(session)
    }

    fn console_session(&self, id_sha256: &str) -> Result<Option<ConsoleSessionRecord>, StoreError> {
        self.console_session_get(id_sha256)
    }

    fn end_console_session(&self, id_sha256: &str) -> Result<bool, StoreError> {
        self.console_session_end(id_sha256)
    }

    fn team_members(&self, supervisor: UserId) -> Result<Vec<UserRecord>, StoreError> {
        self.team_members_of(supervisor)
    }

    fn team_visits(&self, supervisor: UserId) -> Result<Vec<VisitRecord>, StoreError> {
        self.team_visits_of(supervisor)
    }

    fn team_cases(&self, supervisor: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        self.team_cases_of(supervisor)
    }

    fn case_visits(&self, case: CaseId) -> Result<Vec<VisitRecord>, StoreError> {
        self.case_visits_of(case)
    }

    fn supervisors(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.supervisors_all()
    }

    fn put_visit_summary(&self, visit: &Visit) -> Result<(), StoreError> {
        self.summary_put(visit)
    }

    fn team_visit_summaries(&self, supervisor: UserId) -> Result<Vec<TeamVisit>, StoreError> {
        self.team_summaries(supervisor)
    }

    fn visits_without_summary(
        &self,
        after: Option<VisitId>,
        limit: u32,
    ) -> Result<Vec<VisitId>, StoreError> {
        self.unsummarised(after, limit)
    }

    fn sign_in_attempts(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SignInAttempt>, StoreError> {
        self.sign_in_attempts_of(key, since)
    }

    fn insert_sign_in_attempt(&self, key: &str, at: DateTime<Utc>) -> Result<u64, StoreError> {
        self.sign_in_attempt_insert(key, at)
    }

    fn fail_sign_in_attempt(&self, id: u64) -> Result<bool, StoreError> {
        self.sign_in_attempt_fail(id)
    }

    fn delete_sign_in_attempt(&self, id: u64) -> Result<bool, StoreError> {
        self.sign_in_attempt_delete(id)
    }

    fn clear_sign_in_attempts(&self, key: &str, in_progress_too: bool) -> Result<u64, StoreError> {
        self.sign_in_attempts_clear(key, in_progress_too)
    }

    fn forget_sign_in_attempts(&self, before: DateTime<Utc>, keep: u64) -> Result<u64, StoreError> {
        self.sign_in_attempts_forget(before, keep)
    }
}
