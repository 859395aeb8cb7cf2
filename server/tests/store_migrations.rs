//! A server database created at every shipped schema version opens with
//! today's store and is upgraded, its rows intact and usable; a database from
//! a newer server is refused untouched; and the migrations as shipped never
//! change. On both backends: each check is a test per backend
//! (`on_sqlite::<check>`, `on_postgres::<check>`).
//!
//! `tests/schema_snapshots/{sqlite,postgres}/v{k}.sql` are frozen copies of
//! the SQL each migration brought when it shipped (`v1.sql` is the first
//! schema; see the README there). A database "created at version k" is built
//! from those files alone (v1, then v2, ... then vk), given the version
//! marker as that version kept it (SQLite: `PRAGMA user_version`; PostgreSQL:
//! the one row of `doorstep_schema`) and seeded with rows as that version
//! wrote them, and only then opened by today's store. Everything here goes
//! up to `SCHEMA_VERSION`: shipping version N+1 means adding its two
//! snapshots (and seeding its new tables below if they are worth it).
//!
//! SQLite runs on a file in a temporary folder; PostgreSQL on the database in
//! `DOORSTEP_TEST_DATABASE_URL` (`scripts/test` starts a throwaway cluster
//! for it), each database in a schema of its own. Without that variable the
//! PostgreSQL tests that need a database print SKIPPED, and fail when `CI` is
//! set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::*;
use doorstep_core::checklist::{ChecklistTemplate, home_verification};
use doorstep_core::domain::{Attachment, AttachmentKind, AttachmentLink, Visit, VisitChange};
use doorstep_core::event_log::{BreakReason, LogEntry};
use doorstep_core::policy::{Policy, PublishedPolicy};
use doorstep_core::sync::protocol::{RejectCode, Role};
use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{
    self, AssignmentRecord, AttachmentRef, AuditRecord, CaseRecord, ChainBreak, ChainCheck,
    ConsoleSessionRecord, DeviceRecord, FeedItem, FeedReader, QuarantinedEntry, RefreshRecord,
    SUMMARY_VERSION, SignInAttempt, Store, StoreError, StoredEntry, TeamVisit, TokenRecord,
    UserRecord, VisitRecord,
};
use uuid::Uuid;

// ---- The frozen snapshots ----

fn snapshot_dir(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schema_snapshots")
        .join(backend)
}

/// The frozen file `name` of `backend`'s snapshots.
fn snapshot_file(backend: &str, name: &str) -> String {
    let path = snapshot_dir(backend).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: when shipping a schema version, freeze the SQL its migration \
             brings there (see tests/schema_snapshots/README.md)",
            path.display()
        )
    })
}

/// The frozen SQL of `backend`'s migration to version `k`.
fn snapshot(backend: &str, k: i64) -> String {
    snapshot_file(backend, &format!("v{k}.sql"))
}

/// SQL as compared here: `--` comments (outside quoted text) left out, and
/// every run of whitespace made one space.
fn normalize_sql(sql: &str) -> String {
    let mut kept = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        } else if !quoted && c == '-' && chars.peek() == Some(&'-') {
            for skipped in chars.by_ref() {
                if skipped == '\n' {
                    break;
                }
            }
            kept.push('\n');
            continue;
        }
        kept.push(c);
    }
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---- What each version held ----

/// The schema version at which each part of the store that came after the
/// first schema arrived, on one backend.
struct Since {
    attachment_refs: i64,
    console: i64,
    chain_checks: i64,
    sign_in_attempts: i64,
    /// Attachment references with their author, and the uploads.
    uploads: i64,
    /// The quarantine, and the audit log's refusal codes.
    quarantine: i64,
    policies: i64,
    summaries: i64,
    /// The case assignment history.
    assignments: i64,
}

/// SQLite creates the console's tables on every open (from 47761aa, at
/// version 2), so they have no migration of their own there.
const SQLITE_SINCE: Since = Since {
    attachment_refs: 2,
    console: 2,
    chain_checks: 3,
    sign_in_attempts: 4,
    uploads: 5,
    quarantine: 6,
    policies: 7,
    summaries: 9,
    assignments: 13,
};

const POSTGRES_SINCE: Since = Since {
    attachment_refs: 2,
    console: 3,
    chain_checks: 4,
    sign_in_attempts: 5,
    uploads: 6,
    quarantine: 7,
    policies: 8,
    summaries: 9,
    assignments: 13,
};

/// The rows an old database is seeded with, as the store reads them back.
struct Seed {
    supervisor: UserRecord,
    agent: UserRecord,
    /// An agent the case was taken away from.
    former_agent: UserRecord,
    device: DeviceRecord,
    token: TokenRecord,
    case: CaseRecord,
    template: ChecklistTemplate,
    visit: VisitRecord,
    /// The device's chain for the visit: `planned`, then `attached`.
    phone: Phone,
    attachment: AttachmentRef,
    /// Appended in this order: sequences 1, 2, ...
    feed: Vec<FeedItem>,
    /// The audit row every version has.
    audit: AuditRecord,
    /// The audit row of the case stored by an admin command, before the
    /// push's.
    case_stored: AuditRecord,
    /// The case's assignment history: seeded from the assignments' version
    /// on, and filled by their migration from the case and `case_stored`'s
    /// time before it.
    assignment: AssignmentRecord,
    /// The audit row of a refused push, with its code (from the quarantine's
    /// version on).
    refused: AuditRecord,
    chain_check: ChainCheck,
    sign_in_key: String,
    console_session: ConsoleSessionRecord,
    quarantined: QuarantinedEntry,
    policy: PublishedPolicy,
    summary: Visit,
}

fn user(name: &str, role: Role, supervisor: Option<Uuid>) -> UserRecord {
    UserRecord {
        id: Uuid::now_v7(),
        username: name.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$placeholder-of-{name}"),
        role,
        supervisor,
        active: true,
    }
}

fn seed() -> Seed {
    let supervisor = user("sup", Role::Supervisor, None);
    let agent = user("ana", Role::Agent, Some(supervisor.id));
    let former_agent = user("bo", Role::Agent, Some(supervisor.id));
    let device = DeviceRecord {
        id: Uuid::now_v7(),
        user: agent.id,
        active: true,
    };
    let token = TokenRecord {
        token_sha256: "a1".repeat(32),
        device: device.id,
        user: agent.id,
        expires_at: t0() + Duration::days(30),
        revoked: false,
    };
    let case = CaseRecord {
        case: sample_case(agent.id, None),
        supervisor: Some(supervisor.id),
    };
    let template = home_verification();
    let visit = VisitRecord {
        id: Uuid::now_v7(),
        case_id: case.case.id,
    };
    let attachment = Attachment {
        id: Uuid::now_v7(),
        kind: AttachmentKind::Photo,
        mime_type: "image/jpeg".into(),
        sha256: "5e".repeat(32),
        size_bytes: 2_048,
        link: AttachmentLink::Visit,
        taken_at: t0(),
    };
    let mut phone = Phone::new(device.id, visit.id);
    let planned_change = planned(&case.case);
    phone.act(&planned_change);
    phone.act(&VisitChange::Attached {
        attachment: attachment.clone(),
    });
    let feed = vec![
        FeedItem::Template {
            key: template.key().to_owned(),
            version: template.version(),
        },
        FeedItem::Case {
            case_id: case.case.id,
        },
        FeedItem::CaseRemoved {
            case_id: case.case.id,
            from: vec![former_agent.id],
        },
        FeedItem::VisitEntry {
            case_id: case.case.id,
            visit_id: visit.id,
            author: device.id,
            seq: 1,
        },
        FeedItem::VisitEntry {
            case_id: case.case.id,
            visit_id: visit.id,
            author: device.id,
            seq: 2,
        },
    ];
    let audit = AuditRecord {
        at: t0(),
        user: Some(agent.id),
        device: Some(device.id),
        action: "push".into(),
        target_kind: "visit".into(),
        target_id: visit.id.to_string(),
        code: None,
    };
    let case_stored = AuditRecord {
        at: t0() - Duration::hours(1),
        user: None,
        device: None,
        action: "put_case".into(),
        target_kind: "case".into(),
        target_id: case.case.id.to_string(),
        code: None,
    };
    let assignment = AssignmentRecord {
        case_id: case.case.id,
        at: case_stored.at,
        primary: agent.id,
        partner: None,
        supervisor: Some(supervisor.id),
        by: None,
    };
    let refused = AuditRecord {
        at: t0() + Duration::minutes(1),
        code: Some(RejectCode::NotAssigned.code().to_owned()),
        ..audit.clone()
    };
    // An entry pushed by another agent's phone to a visit not theirs.
    let mut stranger = Phone::new(Uuid::now_v7(), Uuid::now_v7());
    let quarantined = QuarantinedEntry {
        entry: stranger.act(&planned_change),
        user: former_agent.id,
        device: stranger.device,
        case_id: Some(case.case.id),
        code: RejectCode::NotAssigned,
        at: t0() + Duration::minutes(2),
    };
    let summary = Visit::planned(visit.id, &planned_change).unwrap();
    Seed {
        chain_check: ChainCheck {
            checked_at: t0() + Duration::minutes(3),
            entries: 2,
            broken: Some(ChainBreak {
                author: device.id,
                seq: Some(2),
                reason: BreakReason::HashMismatch,
            }),
        },
        sign_in_key: format!("user:{}", "b2".repeat(32)),
        console_session: ConsoleSessionRecord {
            id_sha256: "c3".repeat(32),
            user: supervisor.id,
            csrf_token: "csrf-of-the-seeded-session".into(),
            created_at: t0(),
            expires_at: t0() + Duration::hours(8),
            ended: false,
        },
        policy: PublishedPolicy {
            version: 1,
            policy: Policy::default(),
        },
        attachment: AttachmentRef {
            sha256: attachment.sha256.clone(),
            visit_id: visit.id,
            size_bytes: attachment.size_bytes,
            author: device.id,
        },
        supervisor,
        agent,
        former_agent,
        device,
        token,
        case,
        template,
        visit,
        phone,
        feed,
        audit,
        case_stored,
        assignment,
        refused,
        quarantined,
        summary,
    }
}

/// The seeded entries as the store keeps them: admitted, not reassigned.
fn stored(entries: &[LogEntry]) -> Vec<StoredEntry> {
    entries
        .iter()
        .map(|entry| StoredEntry {
            entry: entry.clone(),
            rejected: None,
            reassigned: false,
        })
        .collect()
}

/// The columns of a feed row: kind, case, visit, author, entry seq, template
/// key and version, the agents a case was removed from.
type FeedColumns = (
    &'static str,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<Vec<Uuid>>,
);

fn feed_columns(item: &FeedItem) -> FeedColumns {
    match item {
        FeedItem::Case { case_id } => ("case", Some(*case_id), None, None, None, None, None, None),
        FeedItem::CaseRemoved { case_id, from } => (
            "case_removed",
            Some(*case_id),
            None,
            None,
            None,
            None,
            None,
            Some(from.clone()),
        ),
        FeedItem::Template { key, version } => (
            "template",
            None,
            None,
            None,
            None,
            Some(key.clone()),
            Some(i64::from(*version)),
            None,
        ),
        FeedItem::VisitEntry {
            case_id,
            visit_id,
            author,
            seq,
        } => (
            "visit_entry",
            Some(*case_id),
            Some(*visit_id),
            Some(*author),
            Some(i64::try_from(*seq).unwrap()),
            None,
            None,
            None,
        ),
    }
}

// ---- The backends ----

/// One backend's databases, as the checks need them.
trait Backend {
    /// The folder of its snapshots.
    const NAME: &'static str;
    /// A database: where it is, and how to reach it.
    type Db;

    fn schema_version() -> i64;
    fn migration_sql(version: i64) -> Option<&'static str>;
    fn since() -> Since;

    /// A database as version `k` left it: the snapshots up to `k` run on an
    /// empty database, its version marker, and `seed`'s rows as `k` wrote
    /// them; nothing of today's store has touched it.
    fn create_at(&self, k: i64, seed: &Seed) -> Self::Db;
    /// A new database, created by today's store.
    fn fresh(&self) -> Self::Db;
    /// Today's store on `db`.
    fn open(&self, db: &Self::Db) -> Result<Arc<dyn Store>, StoreError>;
    /// Every table, column, index, constraint and trigger of `db`, one line
    /// each, sorted.
    fn schema(&self, db: &Self::Db) -> Vec<String>;
    /// The version marker.
    fn version(&self, db: &Self::Db) -> i64;
    fn set_version(&self, db: &Self::Db, version: i64);
    /// Everything `db` holds, to tell whether it changed.
    fn contents(&self, db: &Self::Db) -> Vec<u8>;
}

struct Sqlite;

/// A SQLite database: `doorstep-server.db` in a folder of its own.
struct SqliteDb {
    dir: tempfile::TempDir,
}

impl SqliteDb {
    fn file(&self) -> PathBuf {
        self.dir.path().join("doorstep-server.db")
    }

    fn connect(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.file()).unwrap()
    }
}

impl Backend for Sqlite {
    const NAME: &'static str = "sqlite";
    type Db = SqliteDb;

    fn schema_version() -> i64 {
        doorstep_server::store::sqlite::SCHEMA_VERSION
    }

    fn migration_sql(version: i64) -> Option<&'static str> {
        doorstep_server::store::sqlite::migration_sql(version)
    }

    fn since() -> Since {
        SQLITE_SINCE
    }

    fn create_at(&self, k: i64, seed: &Seed) -> SqliteDb {
        let db = SqliteDb {
            dir: tempfile::tempdir().unwrap(),
        };
        let mut conn = db.connect();
        // Every version kept its file in WAL mode.
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let tx = conn.transaction().unwrap();
        for version in 1..=k {
            tx.execute_batch(&snapshot(Self::NAME, version)).unwrap();
        }
        // From version 2 on, every open created the console's tables.
        if k >= SQLITE_SINCE.console {
            tx.execute_batch(&snapshot_file(Self::NAME, "console.sql"))
                .unwrap();
        }
        tx.pragma_update(None, "user_version", k).unwrap();
        seed_sqlite(&tx, k, seed);
        tx.commit().unwrap();
        db
    }

    fn fresh(&self) -> SqliteDb {
        let db = SqliteDb {
            dir: tempfile::tempdir().unwrap(),
        };
        drop(SqliteStore::open_dir(db.dir.path()).unwrap());
        db
    }

    fn open(&self, db: &SqliteDb) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(SqliteStore::open_dir(db.dir.path())?))
    }

    fn schema(&self, db: &SqliteDb) -> Vec<String> {
        let conn = db.connect();
        let mut stmt = conn
            .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
            .unwrap();
        stmt.query_map([], |r| {
            let sql: Option<String> = r.get(3)?;
            Ok(format!(
                "{} {} on {}: {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                sql.map_or_else(|| "-".to_owned(), |s| normalize_sql(&s))
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn version(&self, db: &SqliteDb) -> i64 {
        db.connect()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    fn set_version(&self, db: &SqliteDb, version: i64) {
        db.connect()
            .pragma_update(None, "user_version", version)
            .unwrap();
    }

    fn contents(&self, db: &SqliteDb) -> Vec<u8> {
        std::fs::read(db.file()).unwrap()
    }
}

/// Writes `seed`'s rows into a SQLite database at version `k`, as that
/// version wrote them.
fn seed_sqlite(conn: &rusqlite::Connection, k: i64, seed: &Seed) {
    use rusqlite::params;
    let since = SQLITE_SINCE;
    let text = |id: Uuid| id.to_string();
    let time = |at: DateTime<Utc>| at.to_rfc3339();
    for user in [&seed.supervisor, &seed.agent, &seed.former_agent] {
        conn.execute(
            "INSERT INTO users (id, username, password_hash, role, supervisor_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                text(user.id),
                user.username,
                user.password_hash,
                user.role.code(),
                user.supervisor.map(text)
            ],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO devices (id, user_id, active) VALUES (?1, ?2, ?3)",
        params![
            text(seed.device.id),
            text(seed.device.user),
            seed.device.active
        ],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO tokens (token_sha256, device_id, user_id, expires_at, revoked)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            seed.token.token_sha256,
            text(seed.token.device),
            text(seed.token.user),
            time(seed.token.expires_at),
            seed.token.revoked
        ],
    )
    .unwrap();
    let case = &seed.case.case;
    conn.execute(
        "INSERT INTO cases (id, body, primary_agent, partner, supervisor_id)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            text(case.id),
            serde_json::to_string(case).unwrap(),
            text(case.assigned.primary),
            case.assigned.partner.map(text),
            seed.case.supervisor.map(text)
        ],
    )
    .unwrap();
    for agent in [seed.agent.id, seed.former_agent.id] {
        conn.execute(
            "INSERT INTO case_agents_ever (case_id, user_id) VALUES (?1, ?2)",
            params![text(case.id), text(agent)],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO templates (key, version, body) VALUES (?1, ?2, ?3)",
        params![
            seed.template.key(),
            seed.template.version(),
            seed.template.to_json()
        ],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO visits (id, case_id) VALUES (?1, ?2)",
        params![text(seed.visit.id), text(seed.visit.case_id)],
    )
    .unwrap();
    for entry in &seed.phone.entries {
        conn.execute(
            "INSERT INTO visit_entries (visit_id, author, seq, op_id, body, rejected, reassigned)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, 0)",
            params![
                text(entry.visit_id),
                text(entry.author),
                i64::try_from(entry.seq).unwrap(),
                text(entry.op_id),
                serde_json::to_string(entry).unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO applied_ops (op_id, device_id, rejected) VALUES (?1, ?2, NULL)",
            params![text(entry.op_id), text(entry.author)],
        )
        .unwrap();
    }
    for item in &seed.feed {
        let (kind, case_id, visit_id, author, entry_seq, key, version, from) = feed_columns(item);
        let from = from.map(|ids| ids.into_iter().map(text).collect::<Vec<_>>().join(","));
        conn.execute(
            "INSERT INTO feed (kind, case_id, visit_id, author, entry_seq, template_key,
                 template_version, removed_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                kind,
                case_id.map(text),
                visit_id.map(text),
                author.map(text),
                entry_seq,
                key,
                version,
                from
            ],
        )
        .unwrap();
    }
    for audit in [&seed.audit, &seed.case_stored] {
        conn.execute(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                time(audit.at),
                audit.user.map(text),
                audit.device.map(text),
                audit.action,
                audit.target_kind,
                audit.target_id
            ],
        )
        .unwrap();
    }
    let attachment = &seed.attachment;
    if k >= since.uploads {
        conn.execute(
            "INSERT INTO attachment_refs (sha256, visit_id, author, size_bytes)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                attachment.sha256,
                text(attachment.visit_id),
                text(attachment.author),
                i64::try_from(attachment.size_bytes).unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO attachment_uploads (sha256, device_id) VALUES (?1, ?2)",
            params![attachment.sha256, text(attachment.author)],
        )
        .unwrap();
    } else if k >= since.attachment_refs {
        conn.execute(
            "INSERT INTO attachment_refs (sha256, visit_id, size_bytes) VALUES (?1, ?2, ?3)",
            params![
                attachment.sha256,
                text(attachment.visit_id),
                i64::try_from(attachment.size_bytes).unwrap()
            ],
        )
        .unwrap();
    }
    if k >= since.chain_checks {
        let check = &seed.chain_check;
        let broken = check.broken.as_ref();
        conn.execute(
            "UPDATE visits SET chain_checked_at = ?2, chain_entries = ?3,
                 chain_broken_author = ?4, chain_broken_seq = ?5, chain_broken_reason = ?6
             WHERE id = ?1",
            params![
                text(seed.visit.id),
                time(check.checked_at),
                i64::try_from(check.entries).unwrap(),
                broken.map(|b| text(b.author)),
                broken
                    .and_then(|b| b.seq)
                    .map(|s| i64::try_from(s).unwrap()),
                broken.map(|b| b.reason.code())
            ],
        )
        .unwrap();
    }
    if k >= since.sign_in_attempts {
        conn.execute(
            "INSERT INTO sign_in_attempts (limit_key, at_ms, in_progress) VALUES (?1, ?2, 0)",
            params![seed.sign_in_key, t0().timestamp_millis()],
        )
        .unwrap();
    }
    if k >= since.console {
        let session = &seed.console_session;
        conn.execute(
            "INSERT INTO console_sessions
                 (id_sha256, user_id, csrf_token, created_at, expires_at, ended)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                session.id_sha256,
                text(session.user),
                session.csrf_token,
                time(session.created_at),
                time(session.expires_at),
                session.ended
            ],
        )
        .unwrap();
    }
    if k >= since.quarantine {
        let kept = &seed.quarantined;
        conn.execute(
            "INSERT INTO quarantine (op_id, visit_id, case_id, user_id, device_id, code, at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                text(kept.entry.op_id),
                text(kept.entry.visit_id),
                kept.case_id.map(text),
                text(kept.user),
                text(kept.device),
                kept.code.code(),
                time(kept.at),
                serde_json::to_string(&kept.entry).unwrap()
            ],
        )
        .unwrap();
        let refused = &seed.refused;
        conn.execute(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id, code)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                time(refused.at),
                refused.user.map(text),
                refused.device.map(text),
                refused.action,
                refused.target_kind,
                refused.target_id,
                refused.code
            ],
        )
        .unwrap();
    }
    if k >= since.policies {
        conn.execute(
            "INSERT INTO policies (version, body, published_at) VALUES (?1, ?2, ?3)",
            params![
                seed.policy.version,
                serde_json::to_string(&seed.policy.policy).unwrap(),
                time(t0())
            ],
        )
        .unwrap();
    }
    if k >= since.summaries {
        conn.execute(
            "INSERT INTO visit_summaries (visit_id, version, state, body) VALUES (?1, ?2, ?3, ?4)",
            params![
                text(seed.summary.id),
                SUMMARY_VERSION,
                seed.summary.state.code(),
                serde_json::to_string(&seed.summary).unwrap()
            ],
        )
        .unwrap();
    }
    if k >= since.assignments {
        let a = &seed.assignment;
        conn.execute(
            "INSERT INTO case_assignments
                 (case_id, assigned_at, primary_agent, partner, supervisor_id, assigned_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                text(a.case_id),
                time(a.at),
                text(a.primary),
                a.partner.map(text),
                a.supervisor.map(text),
                a.by.map(text)
            ],
        )
        .unwrap();
    }
}

struct Postgres {
    url: String,
}

/// A PostgreSQL database: a schema of its own in the test database, and a
/// config whose connections use it.
struct PostgresDb {
    schema: String,
    config: postgres::Config,
}

impl PostgresDb {
    fn connect(&self) -> postgres::Client {
        self.config.connect(postgres::NoTls).unwrap()
    }
}

impl Postgres {
    /// A new, empty schema in the test database.
    fn empty(&self) -> PostgresDb {
        let schema = format!("t_{}", Uuid::now_v7().simple());
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        let mut config: postgres::Config = self.url.parse().unwrap();
        config.options(&format!("-c search_path={schema}"));
        PostgresDb { schema, config }
    }
}

impl Backend for Postgres {
    const NAME: &'static str = "postgres";
    type Db = PostgresDb;

    fn schema_version() -> i64 {
        i64::from(doorstep_server::store::postgres::SCHEMA_VERSION)
    }

    fn migration_sql(version: i64) -> Option<&'static str> {
        doorstep_server::store::postgres::migration_sql(i32::try_from(version).ok()?)
    }

    fn since() -> Since {
        POSTGRES_SINCE
    }

    fn create_at(&self, k: i64, seed: &Seed) -> PostgresDb {
        let db = self.empty();
        let mut client = db.connect();
        let mut tx = client.transaction().unwrap();
        for version in 1..=k {
            tx.batch_execute(&snapshot(Self::NAME, version)).unwrap();
        }
        // Created by the server before its first migration, in every version.
        tx.batch_execute("CREATE TABLE doorstep_schema (version integer NOT NULL)")
            .unwrap();
        tx.execute(
            "INSERT INTO doorstep_schema (version) VALUES ($1)",
            &[&i32::try_from(k).unwrap()],
        )
        .unwrap();
        seed_postgres(&mut tx, k, seed);
        tx.commit().unwrap();
        db
    }

    fn fresh(&self) -> PostgresDb {
        let db = self.empty();
        drop(PostgresStore::connect(db.config.clone(), 2).unwrap());
        db
    }

    fn open(&self, db: &PostgresDb) -> Result<Arc<dyn Store>, StoreError> {
        Ok(Arc::new(PostgresStore::connect(db.config.clone(), 2)?))
    }

    fn schema(&self, db: &PostgresDb) -> Vec<String> {
        let rows = db
            .connect()
            .query(
                "SELECT 'column ' || table_name::text || '.' || column_name::text || ' '
                     || data_type::text || ' ' || udt_name::text
                     || ' nullable=' || is_nullable::text
                     || ' default=' || coalesce(column_default::text, '-')
                     || ' identity=' || is_identity::text
                     || coalesce(' ' || identity_generation::text, '')
                 FROM information_schema.columns WHERE table_schema = $1
                 UNION ALL
                 SELECT 'index ' || tablename::text || '.' || indexname::text || ': '
                     || indexdef
                 FROM pg_indexes WHERE schemaname = $1
                 UNION ALL
                 SELECT 'constraint ' || cl.relname::text || '.' || co.conname::text || ' '
                     || co.contype::text || ': ' || pg_get_constraintdef(co.oid)
                 FROM pg_constraint co
                     JOIN pg_class cl ON cl.oid = co.conrelid
                     JOIN pg_namespace n ON n.oid = cl.relnamespace
                 WHERE n.nspname = $1
                 UNION ALL
                 SELECT 'trigger ' || cl.relname::text || '.' || t.tgname::text || ': '
                     || pg_get_triggerdef(t.oid)
                 FROM pg_trigger t
                     JOIN pg_class cl ON cl.oid = t.tgrelid
                     JOIN pg_namespace n ON n.oid = cl.relnamespace
                 WHERE n.nspname = $1 AND NOT t.tgisinternal
                 UNION ALL
                 SELECT 'function ' || p.proname::text || '('
                     || pg_get_function_arguments(p.oid) || ') '
                     || pg_get_function_result(p.oid) || ': ' || p.prosrc
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = $1
                 ORDER BY 1",
                &[&db.schema],
            )
            .unwrap();
        // Each database is in a schema of its own: leave its name out.
        let qualified = format!("{}.", db.schema);
        rows.iter()
            .map(|row| row.get::<_, String>(0).replace(&qualified, ""))
            .collect()
    }

    fn version(&self, db: &PostgresDb) -> i64 {
        let version: i32 = db
            .connect()
            .query_one("SELECT version FROM doorstep_schema", &[])
            .unwrap()
            .get(0);
        i64::from(version)
    }

    fn set_version(&self, db: &PostgresDb, version: i64) {
        db.connect()
            .execute(
                "UPDATE doorstep_schema SET version = $1",
                &[&i32::try_from(version).unwrap()],
            )
            .unwrap();
    }

    fn contents(&self, db: &PostgresDb) -> Vec<u8> {
        let mut client = db.connect();
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = $1 ORDER BY 1",
                &[&db.schema],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut out = self.schema(db).join("\n");
        for table in tables {
            let rows: Option<String> = client
                .query_one(
                    &format!("SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM {table} t"),
                    &[],
                )
                .unwrap()
                .get(0);
            out.push_str(&format!("\n-- {table}\n{}", rows.unwrap_or_default()));
        }
        out.into_bytes()
    }
}

/// Writes `seed`'s rows into a PostgreSQL database at version `k`, as that
/// version wrote them.
fn seed_postgres(tx: &mut postgres::Transaction<'_>, k: i64, seed: &Seed) {
    let since = POSTGRES_SINCE;
    for user in [&seed.supervisor, &seed.agent, &seed.former_agent] {
        tx.execute(
            "INSERT INTO users (id, username, password_hash, role, supervisor_id)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &user.id,
                &user.username,
                &user.password_hash,
                &user.role.code(),
                &user.supervisor,
            ],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO devices (id, user_id, active) VALUES ($1, $2, $3)",
        &[&seed.device.id, &seed.device.user, &seed.device.active],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO tokens (token_sha256, device_id, user_id, expires_at, revoked)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &seed.token.token_sha256,
            &seed.token.device,
            &seed.token.user,
            &seed.token.expires_at,
            &seed.token.revoked,
        ],
    )
    .unwrap();
    let case = &seed.case.case;
    tx.execute(
        "INSERT INTO cases (id, body, primary_agent, partner, supervisor_id)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &case.id,
            &serde_json::to_string(case).unwrap(),
            &case.assigned.primary,
            &case.assigned.partner,
            &seed.case.supervisor,
        ],
    )
    .unwrap();
    for agent in [seed.agent.id, seed.former_agent.id] {
        tx.execute(
            "INSERT INTO case_agents_ever (case_id, user_id) VALUES ($1, $2)",
            &[&case.id, &agent],
        )
        .unwrap();
    }
    tx.execute(
        "INSERT INTO templates (key, version, body) VALUES ($1, $2, $3)",
        &[
            &seed.template.key(),
            &i64::from(seed.template.version()),
            &seed.template.to_json(),
        ],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO visits (id, case_id) VALUES ($1, $2)",
        &[&seed.visit.id, &seed.visit.case_id],
    )
    .unwrap();
    for entry in &seed.phone.entries {
        tx.execute(
            "INSERT INTO visit_entries (visit_id, author, seq, op_id, body, rejected, reassigned)
             VALUES ($1, $2, $3, $4, $5, NULL, false)",
            &[
                &entry.visit_id,
                &entry.author,
                &i64::try_from(entry.seq).unwrap(),
                &entry.op_id,
                &serde_json::to_string(entry).unwrap(),
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO applied_ops (op_id, device_id, rejected) VALUES ($1, $2, NULL)",
            &[&entry.op_id, &entry.author],
        )
        .unwrap();
    }
    for item in &seed.feed {
        let (kind, case_id, visit_id, author, entry_seq, key, version, from) = feed_columns(item);
        // Numbered by the single-row counter, as every version did.
        let seq: i64 = tx
            .query_one(
                "UPDATE feed_counter SET last = last + 1 RETURNING last",
                &[],
            )
            .unwrap()
            .get(0);
        tx.execute(
            "INSERT INTO feed (seq, kind, case_id, visit_id, author, entry_seq, template_key,
                 template_version, removed_from) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &seq, &kind, &case_id, &visit_id, &author, &entry_seq, &key, &version, &from,
            ],
        )
        .unwrap();
    }
    for audit in [&seed.audit, &seed.case_stored] {
        tx.execute(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &audit.at,
                &audit.user,
                &audit.device,
                &audit.action,
                &audit.target_kind,
                &audit.target_id,
            ],
        )
        .unwrap();
    }
    let attachment = &seed.attachment;
    let size = i64::try_from(attachment.size_bytes).unwrap();
    if k >= since.uploads {
        tx.execute(
            "INSERT INTO attachment_refs (sha256, visit_id, author, size_bytes)
             VALUES ($1, $2, $3, $4)",
            &[
                &attachment.sha256,
                &attachment.visit_id,
                &attachment.author,
                &size,
            ],
        )
        .unwrap();
        tx.execute(
            "INSERT INTO attachment_uploads (sha256, device_id) VALUES ($1, $2)",
            &[&attachment.sha256, &attachment.author],
        )
        .unwrap();
    } else if k >= since.attachment_refs {
        tx.execute(
            "INSERT INTO attachment_refs (sha256, visit_id, size_bytes) VALUES ($1, $2, $3)",
            &[&attachment.sha256, &attachment.visit_id, &size],
        )
        .unwrap();
    }
    if k >= since.chain_checks {
        let check = &seed.chain_check;
        let broken = check.broken.as_ref();
        tx.execute(
            "UPDATE visits SET chain_checked_at = $2, chain_entries = $3,
                 chain_broken_author = $4, chain_broken_seq = $5, chain_broken_reason = $6
             WHERE id = $1",
            &[
                &seed.visit.id,
                &check.checked_at,
                &i64::try_from(check.entries).unwrap(),
                &broken.map(|b| b.author),
                &broken
                    .and_then(|b| b.seq)
                    .map(|s| i64::try_from(s).unwrap()),
                &broken.map(|b| b.reason.code()),
            ],
        )
        .unwrap();
    }
    if k >= since.sign_in_attempts {
        tx.execute(
            "INSERT INTO sign_in_attempts (limit_key, at, in_progress) VALUES ($1, $2, false)",
            &[&seed.sign_in_key, &t0()],
        )
        .unwrap();
    }
    if k >= since.console {
        let session = &seed.console_session;
        tx.execute(
            "INSERT INTO console_sessions
                 (id_sha256, user_id, csrf_token, created_at, expires_at, ended)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &session.id_sha256,
                &session.user,
                &session.csrf_token,
                &session.created_at,
                &session.expires_at,
                &session.ended,
            ],
        )
        .unwrap();
    }
    if k >= since.quarantine {
        let kept = &seed.quarantined;
        tx.execute(
            "INSERT INTO quarantine (op_id, visit_id, case_id, user_id, device_id, code, at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &kept.entry.op_id,
                &kept.entry.visit_id,
                &kept.case_id,
                &kept.user,
                &kept.device,
                &kept.code.code(),
                &kept.at,
                &serde_json::to_string(&kept.entry).unwrap(),
            ],
        )
        .unwrap();
        let refused = &seed.refused;
        tx.execute(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id, code)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &refused.at,
                &refused.user,
                &refused.device,
                &refused.action,
                &refused.target_kind,
                &refused.target_id,
                &refused.code,
            ],
        )
        .unwrap();
    }
    if k >= since.policies {
        tx.execute(
            "INSERT INTO policies (version, body, published_at) VALUES ($1, $2, $3)",
            &[
                &i64::from(seed.policy.version),
                &serde_json::to_string(&seed.policy.policy).unwrap(),
                &t0(),
            ],
        )
        .unwrap();
    }
    if k >= since.summaries {
        tx.execute(
            "INSERT INTO visit_summaries (visit_id, version, state, body) VALUES ($1, $2, $3, $4)",
            &[
                &seed.summary.id,
                &i64::from(SUMMARY_VERSION),
                &seed.summary.state.code(),
                &serde_json::to_string(&seed.summary).unwrap(),
            ],
        )
        .unwrap();
    }
    if k >= since.assignments {
        let a = &seed.assignment;
        tx.execute(
            "INSERT INTO case_assignments
                 (case_id, assigned_at, primary_agent, partner, supervisor_id, assigned_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &a.case_id,
                &a.at,
                &a.primary,
                &a.partner,
                &a.supervisor,
                &a.by,
            ],
        )
        .unwrap();
    }
}

// ---- The checks ----

/// Every version from the first to today's: today's is an open without
/// an upgrade, so it also checks the snapshots together make today's schema.
fn shipped_versions<B: Backend>() -> std::ops::RangeInclusive<i64> {
    1..=B::schema_version()
}

fn every_shipped_version_upgrades_to_the_schema_of_a_new_database<B: Backend>(backend: &B) {
    let fresh = backend.fresh();
    assert_eq!(backend.version(&fresh), B::schema_version());
    let new_schema = backend.schema(&fresh);
    for k in shipped_versions::<B>() {
        let db = backend.create_at(k, &seed());
        assert_eq!(backend.version(&db), k);
        let store = backend
            .open(&db)
            .unwrap_or_else(|e| panic!("a version {k} database does not open: {e}"));
        drop(store);
        assert_eq!(
            backend.version(&db),
            B::schema_version(),
            "version {k}: not upgraded"
        );
        let upgraded = backend.schema(&db);
        if upgraded != new_schema {
            let missing: Vec<_> = new_schema
                .iter()
                .filter(|line| !upgraded.contains(line))
                .collect();
            let extra: Vec<_> = upgraded
                .iter()
                .filter(|line| !new_schema.contains(line))
                .collect();
            panic!(
                "a version {k} database upgraded to another schema than a new one's\n\
                 only in the new one: {missing:#?}\nonly in the upgraded one: {extra:#?}"
            );
        }
    }
}

/// The seeded rows, read back through the store as the service reads them.
fn assert_seed_readable(store: &dyn Store, seed: &Seed, since: &Since, k: i64) {
    let has = |version: i64| k >= version;
    let entries = &seed.phone.entries;
    store::read(store, |tx| {
        assert_eq!(tx.user_by_name("ana")?, Some(seed.agent.clone()), "v{k}");
        assert_eq!(tx.user(seed.supervisor.id)?, Some(seed.supervisor.clone()));
        assert_eq!(tx.device(seed.device.id)?, Some(seed.device), "v{k}");
        assert_eq!(
            tx.token(&seed.token.token_sha256)?,
            Some(seed.token.clone())
        );
        assert_eq!(tx.case(seed.case.case.id)?, Some(seed.case.clone()), "v{k}");
        assert_eq!(
            tx.case_assignments(seed.case.case.id)?,
            vec![seed.assignment],
            "v{k}"
        );
        assert!(tx.was_assigned(seed.case.case.id, seed.former_agent.id)?);
        assert_eq!(
            tx.template(seed.template.key(), seed.template.version())?,
            Some(seed.template.clone()),
            "v{k}"
        );
        assert_eq!(tx.visit(seed.visit.id)?, Some(seed.visit), "v{k}");
        assert_eq!(tx.visit_entries(seed.visit.id)?, stored(entries), "v{k}");
        assert_eq!(
            tx.chain_head(seed.visit.id, seed.device.id)?.as_ref(),
            entries.last()
        );
        for entry in entries {
            assert_eq!(tx.op_outcome(entry.op_id)?, Some(None), "v{k}");
        }
        // The feed pages, whole and as the agent's phone pulls them (its
        // own entries left out).
        let numbered: Vec<(u64, FeedItem)> = (1..).zip(seed.feed.iter().cloned()).collect();
        assert_eq!(tx.feed_last()?, 5, "v{k}");
        assert_eq!(tx.feed_after(0, 100)?, numbered, "v{k}");
        assert_eq!(tx.feed_after(2, 2)?, numbered[2..4].to_vec(), "v{k}");
        let reader = FeedReader {
            agent: Some(seed.agent.id),
            supervisor: None,
            device: seed.device.id,
        };
        assert_eq!(tx.feed_for(&reader, 0, 5, 100)?, numbered[..3].to_vec());
        let supervisor = FeedReader {
            agent: None,
            supervisor: Some(seed.supervisor.id),
            device: Uuid::now_v7(),
        };
        assert_eq!(tx.feed_for(&supervisor, 0, 5, 100)?, numbered, "v{k}");
        let mut audit = vec![seed.audit.clone(), seed.case_stored.clone()];
        if has(since.quarantine) {
            audit.push(seed.refused.clone());
        }
        assert_eq!(tx.audit_log()?, audit, "v{k}");
        // Filled by the migrations from the `attached` entry where the
        // version had no such rows yet.
        assert_eq!(
            tx.attachment_refs(&seed.attachment.sha256)?,
            vec![seed.attachment.clone()],
            "v{k}"
        );
        assert_eq!(
            tx.uploaders(&seed.attachment.sha256)?,
            vec![seed.device.id],
            "v{k}"
        );
        assert_eq!(
            tx.chain_check(seed.visit.id)?,
            has(since.chain_checks).then(|| seed.chain_check.clone()),
            "v{k}"
        );
        let attempts = tx.sign_in_attempts(&seed.sign_in_key, t0() - Duration::minutes(15))?;
        let expected: Vec<SignInAttempt> = if has(since.sign_in_attempts) {
            vec![SignInAttempt {
                id: 1,
                at: t0(),
                in_progress: false,
            }]
        } else {
            Vec::new()
        };
        assert_eq!(attempts, expected, "v{k}");
        assert_eq!(
            tx.console_session(&seed.console_session.id_sha256)?,
            has(since.console).then(|| seed.console_session.clone()),
            "v{k}"
        );
        let quarantined: Vec<QuarantinedEntry> = if has(since.quarantine) {
            vec![seed.quarantined.clone()]
        } else {
            Vec::new()
        };
        assert_eq!(tx.quarantined(10)?, quarantined, "v{k}");
        assert_eq!(
            tx.policy(seed.policy.version)?,
            has(since.policies).then(|| seed.policy.clone()),
            "v{k}"
        );
        assert_eq!(
            tx.team_visit_summaries(seed.supervisor.id)?,
            vec![TeamVisit {
                record: seed.visit,
                case: seed.case.clone(),
                summary: has(since.summaries).then(|| seed.summary.clone()),
            }],
            "v{k}"
        );
        assert_eq!(
            tx.team_members(seed.supervisor.id)?,
            vec![seed.agent.clone(), seed.former_agent.clone()],
            "v{k}"
        );
        assert_eq!(tx.team_cases(seed.supervisor.id)?, vec![seed.case.clone()]);
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

/// New rows of every kind go in after the seeded ones, and read back.
fn assert_writable(store: &dyn Store, seed: &mut Seed, k: i64) {
    // The case goes to the former agent, with a partner, by the supervisor.
    let reassigned = AssignmentRecord {
        at: t0() + Duration::hours(2),
        primary: seed.former_agent.id,
        partner: Some(seed.agent.id),
        by: Some(seed.supervisor.id),
        ..seed.assignment
    };
    let newcomer = user("cy", Role::Agent, Some(seed.supervisor.id));
    let phone = DeviceRecord {
        id: Uuid::now_v7(),
        user: newcomer.id,
        active: true,
    };
    let next = seed
        .phone
        .act(&note(seed.agent.id, "customer asked to come back"));
    let item = FeedItem::VisitEntry {
        case_id: seed.case.case.id,
        visit_id: seed.visit.id,
        author: seed.device.id,
        seq: next.seq,
    };
    let audit = AuditRecord {
        at: t0() + Duration::hours(1),
        code: Some(RejectCode::NotAssigned.code().to_owned()),
        ..seed.audit.clone()
    };
    let photo = AttachmentRef {
        sha256: "7f".repeat(32),
        ..seed.attachment.clone()
    };
    let check = ChainCheck {
        checked_at: t0() + Duration::hours(1),
        entries: 3,
        broken: None,
    };
    let session = ConsoleSessionRecord {
        id_sha256: "d4".repeat(32),
        ..seed.console_session.clone()
    };
    let policy = PublishedPolicy {
        version: seed.policy.version + 1,
        policy: Policy::default(),
    };
    let mut summary = seed.summary.clone();
    summary.state = doorstep_core::domain::VisitState::Notified;
    let refresh = RefreshRecord {
        credential_sha256: "e5".repeat(32),
        device: phone.id,
        user: newcomer.id,
        issued_at: t0(),
        expires_at: t0() + Duration::days(30),
        replaced_by: None,
        revoked: false,
    };
    let attempt = store::write(store, |tx| {
        tx.insert_user(&newcomer)?;
        tx.insert_device(&phone)?;
        tx.insert_refresh(&refresh)?;
        tx.insert_entry(&StoredEntry {
            entry: next.clone(),
            rejected: None,
            reassigned: false,
        })?;
        tx.record_op(next.op_id, seed.device.id, None)?;
        tx.append_feed(&item)?;
        tx.append_audit(&audit)?;
        tx.record_attachment(&photo)?;
        tx.record_upload(&photo.sha256, seed.device.id)?;
        tx.set_chain_check(seed.visit.id, &check)?;
        tx.insert_console_session(&session)?;
        assert!(tx.insert_policy(&policy, t0() + Duration::hours(1))?);
        tx.put_visit_summary(&summary)?;
        tx.append_assignment(&reassigned)?;
        tx.insert_sign_in_attempt(
            &seed.sign_in_key,
            &seed.sign_in_key,
            t0() + Duration::minutes(5),
        )
    })
    .unwrap_or_else(|e| panic!("version {k}: writing after the upgrade failed: {e}"));
    store::read(store, |tx| {
        assert_eq!(tx.user_by_name("cy")?, Some(newcomer.clone()), "v{k}");
        assert_eq!(tx.device(phone.id)?, Some(phone), "v{k}");
        assert_eq!(
            tx.refresh(&refresh.credential_sha256)?,
            Some(refresh.clone()),
            "v{k}"
        );
        assert_eq!(
            tx.visit_entries(seed.visit.id)?,
            stored(&seed.phone.entries),
            "v{k}"
        );
        assert_eq!(tx.op_outcome(next.op_id)?, Some(None), "v{k}");
        // Numbered after the old rows, without a gap.
        assert_eq!(tx.feed_after(5, 10)?, vec![(6, item.clone())], "v{k}");
        assert_eq!(tx.audit_log()?.last(), Some(&audit), "v{k}");
        assert_eq!(
            tx.case_assignments(seed.case.case.id)?,
            vec![seed.assignment, reassigned],
            "v{k}"
        );
        assert_eq!(tx.attachment_refs(&photo.sha256)?, vec![photo.clone()]);
        assert_eq!(tx.uploaders(&photo.sha256)?, vec![seed.device.id]);
        assert_eq!(tx.chain_check(seed.visit.id)?, Some(check.clone()), "v{k}");
        assert_eq!(
            tx.console_session(&session.id_sha256)?,
            Some(session.clone())
        );
        assert_eq!(tx.policy(policy.version)?, Some(policy.clone()), "v{k}");
        let kept = tx.team_visit_summaries(seed.supervisor.id)?;
        assert_eq!(kept.len(), 1, "v{k}");
        assert_eq!(kept[0].summary.as_ref(), Some(&summary), "v{k}");
        let attempts = tx.sign_in_attempts(&seed.sign_in_key, t0() - Duration::minutes(15))?;
        assert_eq!(attempts.last().map(|a| a.id), Some(attempt), "v{k}");
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn every_shipped_version_keeps_its_rows_readable_and_writable<B: Backend>(backend: &B) {
    for k in shipped_versions::<B>() {
        let mut seed = seed();
        let db = backend.create_at(k, &seed);
        let store = backend
            .open(&db)
            .unwrap_or_else(|e| panic!("a version {k} database does not open: {e}"));
        assert_seed_readable(store.as_ref(), &seed, &B::since(), k);
        assert_writable(store.as_ref(), &mut seed, k);
        drop(store);
        // Opened again, there is nothing left to migrate, and nothing lost.
        let schema = backend.schema(&db);
        let store = backend.open(&db).unwrap();
        let entries = store::read(store.as_ref(), |tx| tx.visit_entries(seed.visit.id)).unwrap();
        assert_eq!(entries, stored(&seed.phone.entries), "v{k}");
        drop(store);
        assert_eq!(
            backend.schema(&db),
            schema,
            "v{k}: a second open changed the schema"
        );
        assert_eq!(backend.version(&db), B::schema_version(), "v{k}");
    }
}

fn a_database_from_a_newer_server_is_refused_untouched<B: Backend>(backend: &B) {
    let newest = B::schema_version();
    let seed = seed();
    let db = backend.create_at(newest, &seed);
    // A newer server bumped the version (and would have changed the schema).
    backend.set_version(&db, newest + 1);
    let before = backend.contents(&db);
    let Err(error) = backend.open(&db) else {
        panic!("a database at version {} was opened", newest + 1);
    };
    assert!(
        matches!(error, StoreError::NewerSchema { found, supported }
            if found == newest + 1 && supported == newest),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "schema version {} is newer than this server ({newest})",
            newest + 1
        )
    );
    assert!(
        backend.contents(&db) == before,
        "the refused database was modified"
    );
    assert_eq!(backend.version(&db), newest + 1);
    // Put back at this server's version, it opens with everything in it.
    backend.set_version(&db, newest);
    let store = backend.open(&db).unwrap();
    assert_seed_readable(store.as_ref(), &seed, &B::since(), newest);
}

/// The frozen snapshots are the migrations this build runs, word for word
/// (comments and layout aside), one for each version up to today's and no
/// more. Needs no database.
fn the_shipped_migrations_never_change<B: Backend>() {
    for k in shipped_versions::<B>() {
        let source = B::migration_sql(k)
            .unwrap_or_else(|| panic!("{}: no migration to version {k}", B::NAME));
        assert_eq!(
            normalize_sql(source),
            normalize_sql(&snapshot(B::NAME, k)),
            "{}: the migration to version {k} differs from the one that shipped \
             (tests/schema_snapshots/{}/v{k}.sql): add a new migration instead of \
             editing it",
            B::NAME,
            B::NAME
        );
    }
    let next = B::schema_version() + 1;
    assert_eq!(
        B::migration_sql(next),
        None,
        "{}: a migration to version {next}, but SCHEMA_VERSION is {}",
        B::NAME,
        next - 1
    );
    assert_eq!(B::migration_sql(0), None);
    let extra = snapshot_dir(B::NAME).join(format!("v{next}.sql"));
    assert!(
        !extra.exists(),
        "{} exists but SCHEMA_VERSION is {}",
        extra.display(),
        next - 1
    );
}

// ---- The tests ----

/// The test database's URL; `None` (after saying so) when PostgreSQL tests are
/// skipped. Panics when they would be skipped on CI.
fn pg_url(test: &str) -> Option<String> {
    match std::env::var("DOORSTEP_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let on_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
            assert!(
                !on_ci,
                "{test}: DOORSTEP_TEST_DATABASE_URL is not set, and CI must run the \
                 PostgreSQL tests (scripts/test starts a cluster for them)"
            );
            // Straight to stderr, past the test harness's capture, so the skip
            // shows in every run.
            let line = format!(
                "SKIPPED {test}: DOORSTEP_TEST_DATABASE_URL is not set \
                 (run scripts/test, or scripts/postgres start DIR and export its URL)\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            None
        }
    }
}

/// Makes an `on_sqlite::<check>` and an `on_postgres::<check>` test of each
/// check on databases, and of each check on the source and snapshot files.
macro_rules! on_both_backends {
    (databases: [$($check:ident),* $(,)?], files: [$($file_check:ident),* $(,)?] $(,)?) => {
        mod on_sqlite {
            $(
                #[test]
                fn $check() {
                    super::$check(&super::Sqlite);
                }
            )*
            $(
                #[test]
                fn $file_check() {
                    super::$file_check::<super::Sqlite>();
                }
            )*
        }
        mod on_postgres {
            $(
                #[test]
                fn $check() {
                    let test = concat!("on_postgres::", stringify!($check));
                    if let Some(url) = super::pg_url(test) {
                        super::$check(&super::Postgres { url });
                    }
                }
            )*
            $(
                #[test]
                fn $file_check() {
                    super::$file_check::<super::Postgres>();
                }
            )*
        }
    };
}

on_both_backends!(
    databases: [
        every_shipped_version_upgrades_to_the_schema_of_a_new_database,
        every_shipped_version_keeps_its_rows_readable_and_writable,
        a_database_from_a_newer_server_is_refused_untouched,
    ],
    files: [the_shipped_migrations_never_change],
);

#[test]
fn both_backends_are_at_the_same_schema_version_and_have_snapshots_for_it() {
    assert_eq!(Sqlite::schema_version(), Postgres::schema_version());
    for backend in [Sqlite::NAME, Postgres::NAME] {
        for k in 1..=Sqlite::schema_version() {
            assert!(
                snapshot_dir(backend).join(format!("v{k}.sql")).exists(),
                "{backend}: no snapshot of version {k}"
            );
        }
    }
}
