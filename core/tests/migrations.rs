//! A database created at every earlier schema version opens and upgrades, with its
//! data intact and usable; a database from a newer build is refused untouched; and
//! the migrations that shipped never change.
//!
//! `tests/schema_snapshots/v{k}.sql` are frozen copies of the schema as shipped at
//! version `k`. A database "created at version k" is built from those files alone
//! (v1 then v2 ... then vk), seeded with rows as that version wrote them, and only
//! then opened by today's code. Shipping version k+1 means adding its snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::checklist::home_verification;
use doorstep_core::clock::{FixedClock, Hlc};
use doorstep_core::domain::{Case, Visit, VisitChange, VisitState};
use doorstep_core::event_log::{self, EntryDraft, LogEntry};
use doorstep_core::policy::Policy;
use doorstep_core::report::LogVerification;
use doorstep_core::store::schema::VERSION;
use doorstep_core::{CaseQuery, Doorstep, DoorstepError};
use rusqlite::{Connection, params};
use uuid::Uuid;

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema_snapshots")
}

/// The frozen schema of version `k` (the migration from k-1 to k).
fn snapshot(k: u32) -> String {
    let path = snapshot_dir().join(format!("v{k}.sql"));
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: when shipping schema version {k}, freeze a copy of \
             src/store/sql/v{k}.sql there",
            path.display()
        )
    })
}

/// The migration as it is in the source tree today.
fn shipped(k: u32) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/store/sql/v{k}.sql"));
    std::fs::read_to_string(&path).unwrap()
}

/// SQL without comments, with every run of whitespace made one space.
fn normalize_sql(sql: &str) -> String {
    let without_comments: Vec<&str> = sql
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect();
    without_comments
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The schema of a database: every table, index and trigger with its SQL.
fn schema_of(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut statement = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    statement
        .query_map([], |row| {
            let sql: Option<String> = row.get(3)?;
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                sql.map(|s| normalize_sql(&s)),
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn user_version(conn: &Connection) -> u32 {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap()
}

/// What a database at an old version was seeded with.
struct Seeded {
    device: Uuid,
    agent: Uuid,
    /// The first case has a planned visit; the second has none.
    cases: Vec<Case>,
    visit: Uuid,
    entry: LogEntry,
}

/// The case-list search text as the app wrote it: name, reference, phones (also as
/// bare digits) and addresses, lower-cased.
fn search_text(case: &Case) -> String {
    let mut parts = vec![case.customer.name.clone(), case.external_ref.clone()];
    for phone in &case.customer.phones {
        parts.push(phone.number.clone());
        parts.push(phone.number.chars().filter(char::is_ascii_digit).collect());
    }
    parts.extend(case.customer.addresses.iter().map(|a| a.text.clone()));
    parts.join("\u{1f}").to_lowercase()
}

/// Writes rows as a device at schema version `k` held them: this device's id, the
/// signed-in agent, the template, two cases, a planned visit with its first log
/// entry (kept in visit_log at version 1, in the outbox from version 2 on).
fn seed(conn: &Connection, k: u32) -> Seeded {
    let device = Uuid::now_v7();
    let agent = Uuid::now_v7();
    let mut cases = vec![sample_case(agent, 0), sample_case(agent, 1)];
    cases[0].status = doorstep_core::domain::CaseStatus::InProgress;
    let visit_id = Uuid::now_v7();
    let template = home_verification();

    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('device_id', ?1), ('agent_id', ?2)",
        params![device.to_string(), agent.to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO templates (key, version, content_hash, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            template.key(),
            template.version(),
            template.content_hash(),
            template.to_json()
        ],
    )
    .unwrap();
    for case in &cases {
        conn.execute(
            "INSERT INTO cases (id, external_ref, status, bucket, priority, due_date, search_text, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                case.id.as_bytes(),
                case.external_ref,
                case.status.code(),
                case.bucket().code(),
                case.priority,
                case.due_date.to_string(),
                search_text(case),
                serde_json::to_string(case).unwrap(),
            ],
        )
        .unwrap();
    }

    let planned_at = morning() - Duration::days(1);
    let change = VisitChange::Planned {
        case_id: cases[0].id,
        agent,
        partner: None,
        template_key: template.key().to_owned(),
        template_version: template.version(),
        planned_for: planned_at + Duration::hours(2),
    };
    let visit = Visit::planned(visit_id, &change).unwrap();
    conn.execute(
        "INSERT INTO visits (id, case_id, state, body) VALUES (?1, ?2, ?3, ?4)",
        params![
            visit_id.as_bytes(),
            cases[0].id.as_bytes(),
            visit.state.code(),
            serde_json::to_string(&visit).unwrap()
        ],
    )
    .unwrap();
    let entry = event_log::append(
        None,
        EntryDraft {
            visit_id,
            author: device,
            op_id: Uuid::now_v7(),
            kind: "planned".into(),
            payload: serde_json::to_string(&change).unwrap(),
            hlc: Hlc {
                millis: u64::try_from(planned_at.timestamp_millis()).unwrap(),
                counter: 0,
                node: device,
            },
            device_time: planned_at,
            utc_offset_minutes: 480,
        },
    )
    .unwrap();
    // Version 1 kept every entry in visit_log; from version 2 on, an entry not
    // yet pushed lives in the outbox.
    let table = if k >= 2 { "outbox" } else { "visit_log" };
    conn.execute(
        &format!(
            "INSERT INTO {table} (visit_id, author, seq, op_id, kind, payload, hlc, device_time_ms,
                                  utc_offset_minutes, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ),
        params![
            visit_id.as_bytes(),
            device.as_bytes(),
            entry.seq as i64,
            entry.op_id.as_bytes(),
            entry.kind,
            entry.payload,
            entry.hlc.to_string(),
            entry.device_time.timestamp_millis(),
            entry.utc_offset_minutes,
            entry.prev_hash,
            entry.hash,
        ],
    )
    .unwrap();
    Seeded {
        device,
        agent,
        cases,
        visit: visit_id,
        entry,
    }
}

/// Creates an encrypted database at `path` from the frozen snapshots v1..vk alone.
fn create_at_version(path: &Path, k: u32) -> Seeded {
    let mut conn = raw_connection(path);
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let tx = conn.transaction().unwrap();
    for version in 1..=k {
        tx.execute_batch(&snapshot(version)).unwrap();
    }
    tx.pragma_update(None, "user_version", k).unwrap();
    let seeded = seed(&tx, k);
    tx.commit().unwrap();
    assert_eq!(user_version(&conn), k);
    seeded
}

/// The schema of a database created by today's code.
fn fresh_schema() -> Vec<(String, String, String, Option<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    drop(Doorstep::open(&path, &KEY, Policy::default()).unwrap());
    let conn = raw_connection(&path);
    assert_eq!(user_version(&conn), VERSION);
    schema_of(&conn)
}

#[test]
fn a_database_created_at_every_earlier_version_opens_and_upgrades() {
    let fresh = fresh_schema();
    // 1..VERSION are the upgrades; VERSION itself is an open without upgrade.
    for k in 1..=VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("created-at-v{k}.db"));
        let seeded = create_at_version(&path, k);

        let clock = Arc::new(FixedClock::new(morning()));
        let doorstep = Doorstep::open_with_clock(&path, &KEY, Policy::default(), clock.clone())
            .unwrap_or_else(|e| panic!("a v{k} database does not open: {e:?}"));
        {
            let conn = raw_connection(&path);
            assert_eq!(user_version(&conn), VERSION, "v{k} not upgraded");
            assert_eq!(
                schema_of(&conn),
                fresh,
                "v{k} upgraded to another schema than a new database"
            );
        }

        // The old data is all there, as the agent left it.
        assert_eq!(doorstep.device_id(), seeded.device, "v{k}");
        assert_eq!(
            doorstep.signed_in_agent().unwrap(),
            Some(seeded.agent),
            "v{k}"
        );
        let listed = all_cases(&doorstep);
        let mut listed_ids: Vec<Uuid> = listed.iter().map(|c| c.id).collect();
        let mut seeded_ids: Vec<Uuid> = seeded.cases.iter().map(|c| c.id).collect();
        listed_ids.sort();
        seeded_ids.sort();
        assert_eq!(listed_ids, seeded_ids, "v{k}");
        let found = doorstep
            .list_cases(&CaseQuery {
                text: Some("李建国1".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1, "v{k}: search finds the old case by name");
        assert_eq!(found[0].id, seeded.cases[1].id);
        let detail = doorstep.case_detail(seeded.cases[0].id).unwrap();
        assert_eq!(detail.case, seeded.cases[0], "v{k}");
        assert_eq!(
            detail.visits,
            vec![(seeded.visit, VisitState::Planned)],
            "v{k}"
        );
        let report = doorstep.visit_report(seeded.visit).unwrap();
        assert_eq!(report.visit.state, VisitState::Planned);
        assert!(
            matches!(report.log, LogVerification::Intact { .. }),
            "v{k}: {:?}",
            report.log
        );
        assert_eq!(
            doorstep.visit_log(seeded.visit).unwrap(),
            vec![seeded.entry.clone()]
        );

        // New actions work on the old visit: its chain simply grows.
        let pending_before = doorstep.pending_outbox_count().unwrap();
        doorstep.set_device_utc_offset(480).unwrap();
        doorstep
            .record_notice(seeded.visit, phone_notice(clock.now_utc()))
            .unwrap();
        let log = doorstep.visit_log(seeded.visit).unwrap();
        assert_eq!(log.len(), 2, "v{k}");
        assert_eq!(log[1].prev_hash, seeded.entry.hash);
        assert_eq!(log[1].author, seeded.device);
        assert!(
            log[1].hlc > seeded.entry.hlc,
            "v{k}: the clock went backwards"
        );
        let report = doorstep.visit_report(seeded.visit).unwrap();
        assert!(
            matches!(report.log, LogVerification::Intact { .. }),
            "v{k}: {:?}",
            report.log
        );
        assert_eq!(report.visit.state, VisitState::Notified);
        assert_eq!(doorstep.pending_outbox_count().unwrap(), pending_before + 1);

        // ...and a whole new visit on the other old case.
        let field = Field {
            dir,
            path,
            clock,
            doorstep,
            agent: seeded.agent,
            cases: seeded.cases.clone(),
        };
        let visit = play_complete_visit(&field, seeded.cases[1].id);
        let report = field.doorstep.visit_report(visit).unwrap();
        assert_eq!(report.visit.state, VisitState::Submitted, "v{k}");
        assert!(report.checklist_problems.is_empty(), "v{k}");
        assert!(matches!(report.log, LogVerification::Intact { .. }), "v{k}");

        // The queue, the old entries with the new, goes out whole and in order.
        let queued: Vec<Uuid> = field
            .doorstep
            .pending_ops(1_000)
            .unwrap()
            .iter()
            .map(|op| op.entry.op_id)
            .collect();
        if k >= 2 {
            assert!(
                queued.contains(&seeded.entry.op_id),
                "v{k}: the old entry is queued"
            );
        }
        let server = fake_server::FakeServer::new(seeded.agent);
        let synced = fake_server::sync(&field, &server).unwrap();
        assert_eq!(synced.applied as usize, queued.len(), "v{k}");
        assert_eq!(server.applied_ids(), queued, "v{k}: pushed in order");
        assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0, "v{k}");
    }
}

#[test]
fn a_database_from_a_newer_build_is_refused_and_left_untouched() {
    let mut field = field();
    let visit = play_complete_visit(&field, field.cases[0].id);
    let report = field.doorstep.visit_report(visit).unwrap();
    let placeholder =
        Doorstep::open(&field.dir.path().join("other.db"), &KEY, Policy::default()).unwrap();
    drop(std::mem::replace(&mut field.doorstep, placeholder));
    {
        // A newer build bumped the version (and would have changed the schema).
        let conn = raw_connection(&field.path);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
    }
    let before = std::fs::read(&field.path).unwrap();

    let error = Doorstep::open(&field.path, &KEY, Policy::default()).unwrap_err();
    let DoorstepError::Storage { reason } = &error else {
        panic!("expected a storage error, got {error:?}");
    };
    assert_eq!(error.code(), "storage");
    assert!(
        reason.contains(&(VERSION + 1).to_string()) && reason.contains(&VERSION.to_string()),
        "{reason}"
    );
    assert!(
        std::fs::read(&field.path).unwrap() == before,
        "the refused file was modified"
    );
    assert_eq!(user_version(&raw_connection(&field.path)), VERSION + 1);

    // Put back at this build's version, everything is still there.
    raw_connection(&field.path)
        .pragma_update(None, "user_version", VERSION)
        .unwrap();
    field.reopen();
    assert_eq!(field.doorstep.visit_report(visit).unwrap(), report);
}

#[test]
fn a_new_database_has_exactly_the_schema_of_the_frozen_snapshots() {
    let conn = Connection::open_in_memory().unwrap();
    for k in 1..=VERSION {
        conn.execute_batch(&snapshot(k)).unwrap();
    }
    assert_eq!(
        fresh_schema(),
        schema_of(&conn),
        "the migrations no longer produce the shipped schema"
    );
}

#[test]
fn shipped_migrations_never_change() {
    for k in 1..=VERSION {
        assert_eq!(
            normalize_sql(&shipped(k)),
            normalize_sql(&snapshot(k)),
            "src/store/sql/v{k}.sql differs from the version that shipped; \
             add a new migration instead of editing v{k}"
        );
    }
    // Every snapshot is for a version this build knows: a snapshot without its
    // migration means the migration list lost an entry.
    let extra = snapshot_dir().join(format!("v{}.sql", VERSION + 1));
    assert!(
        !extra.exists(),
        "{} exists but VERSION is {VERSION}",
        extra.display()
    );
}

#[test]
fn attachments_of_a_version_4_device_wait_to_be_uploaded_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("created-at-v4.db");
    let seeded = create_at_version(&path, 4);
    // At version 4 the device kept the bytes of an acknowledged photo, and of
    // one whose entry was still in the outbox; none was ever uploaded.
    let acknowledged = b"\xff\xd8\xff\xe0 acknowledged photo".to_vec();
    let queued = b"\xff\xd8\xff\xe0 queued photo".to_vec();
    {
        let conn = raw_connection(&path);
        for (bytes, table, seq) in [(&acknowledged, "visit_log", 1i64), (&queued, "outbox", 2)] {
            let attachment = doorstep_core::domain::attachment::Attachment::describe(
                Uuid::now_v7(),
                doorstep_core::domain::attachment::AttachmentKind::Photo,
                "image/jpeg",
                bytes,
                doorstep_core::domain::attachment::AttachmentLink::Visit,
                morning(),
            )
            .unwrap();
            conn.execute(
                "INSERT INTO attachment_blobs (sha256, bytes) VALUES (?1, ?2)",
                params![attachment.sha256, bytes],
            )
            .unwrap();
            let payload = serde_json::to_string(&VisitChange::Attached { attachment }).unwrap();
            conn.execute(
                &format!(
                    "INSERT INTO {table} (visit_id, author, seq, op_id, kind, payload, hlc,
                         device_time_ms, utc_offset_minutes, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, 'attached', ?5, ?6, ?7, 480, ?8, ?8)"
                ),
                params![
                    seeded.visit.as_bytes(),
                    seeded.device.as_bytes(),
                    seq,
                    Uuid::now_v7().as_bytes(),
                    payload,
                    seeded.entry.hlc.to_string(),
                    morning().timestamp_millis(),
                    "0".repeat(64),
                ],
            )
            .unwrap();
        }
    }
    let doorstep = Doorstep::open(&path, &KEY, Policy::default()).unwrap();
    assert_eq!(user_version(&raw_connection(&path)), VERSION);
    // Only the acknowledged one can go to the server now; both are kept.
    assert_eq!(doorstep.sync_status().unwrap().pending_uploads, 1);
    for bytes in [&acknowledged, &queued] {
        let sha = doorstep_core::domain::attachment::sha256_hex(bytes);
        assert_eq!(&doorstep.attachment_bytes(&sha).unwrap(), bytes);
    }
}
