//! Benchmarks of the encrypted device store, each measured in the same run as a
//! baseline that shows what the store adds on top of SQLCipher itself.
//!
//! * `answer`: one agent action (`Doorstep::answer`: header check, template check,
//!   the event-log entry appended to the outbox, in one transaction, committed
//!   with `synchronous = FULL`) against a bare one-row insert transaction of the
//!   same JSON text into the same encrypted file, committed with NORMAL and
//!   with FULL.
//! * `list_cases`: the first page of the case list with 10,000 cases on the
//!   device, against the raw SQL of the same page without decoding;
//!   `list_cases_text_scan`: a text filter that matches almost nothing, so the
//!   whole table is read.
//! * `open`: opening an existing database and reading the first page, with a raw
//!   32-byte key against a passphrase (which pays SQLCipher's PBKDF2).
//!
//! Run with `cargo bench -p doorstep-core --bench store`; results are written in
//! `docs/BENCHMARKS.md`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{KEY, fix_at_home, morning, raw_connection, sample_case};

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Span;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::{FixedClock, WallClock};
use doorstep_core::domain::{Case, CaseStatus, Notice, NoticeChannel, VisitChange, VisitId};
use doorstep_core::policy::Policy;
use doorstep_core::{CaseQuery, DatabaseKey, Doorstep, ServerSnapshot};
use rusqlite::{Connection, TransactionBehavior, params};
use tempfile::TempDir;
use uuid::Uuid;

/// The raw key of the benchmark databases.
/// The passphrase of the passphrase-keyed copy.
const PASSPHRASE: &str = "correct horse battery staple";
/// Cases on the device for the list and open benchmarks.
const CASES: usize = 10_000;
/// Cases per snapshot when loading them.
const CHUNK: usize = 1_000;
/// Visits the answer benchmark rotates over, so no single visit log grows to
/// tens of thousands of entries.
const VISITS: usize = 64;
/// The text answered in the answer benchmark (about 90 characters, as an agent
/// would type for the household situation).
const ANSWER_TEXT: &str = "夫妻二人，一个孩子上小学。丈夫在朋友的饭馆帮工，月收入约六千元；妻子在家照顾孩子。\
                           房租每月两千五百元，另有一笔消费贷款每月还款八百元。";
/// A realistic case from the tests' fixtures, with statuses mixed as on a
/// working device: 70 % new, 20 % in progress, 10 % returned.
fn varied_case(agent: Uuid, i: usize) -> Case {
    let mut case = sample_case(agent, i);
    case.status = match i % 10 {
        0 | 1 => CaseStatus::InProgress,
        2 => CaseStatus::Returned,
        _ => CaseStatus::New,
    };
    case
}

/// A fresh encrypted device at `path` with `cases` cases for one agent, loaded
/// through `apply_snapshot` in chunks. Returns the device, its clock and the
/// case ids.
fn device(path: &Path, cases: usize) -> (Doorstep, Arc<FixedClock>, Vec<Uuid>) {
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep = Doorstep::open_with_clock(path, &KEY, Policy::default(), clock.clone()).unwrap();
    doorstep.set_device_utc_offset(480).unwrap();
    let agent = Uuid::now_v7();
    let mut ids = Vec::with_capacity(cases);
    for start in (0..cases).step_by(CHUNK) {
        let chunk: Vec<Case> = (start..cases.min(start + CHUNK))
            .map(|i| varied_case(agent, i))
            .collect();
        ids.extend(chunk.iter().map(|c| c.id));
        doorstep
            .apply_snapshot(&ServerSnapshot {
                agent,
                templates: vec![home_verification()],
                cases: chunk,
            })
            .unwrap();
    }
    (doorstep, clock, ids)
}

/// A second connection to a store file, set up as the store sets up its own
/// (raw key, WAL, synchronous NORMAL, foreign keys, busy timeout, temp store in
/// memory).
fn bare_connection(path: &Path, synchronous: &str) -> Connection {
    let conn = raw_connection(path);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {synchronous};
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA temp_store = MEMORY;"
    ))
    .unwrap();
    conn
}

/// A device with `VISITS` visits checked in, ready for answers.
struct AnswerSetup {
    _dir: TempDir,
    path: PathBuf,
    doorstep: Doorstep,
    visits: Vec<VisitId>,
}

fn answer_setup() -> AnswerSetup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answer.db");
    let (doorstep, clock, cases) = device(&path, 200);
    let now = clock.now();
    // Cases with index 3..9 (mod 10) are "new"; plan visits on those.
    let visits: Vec<VisitId> = cases
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 >= 3)
        .take(VISITS)
        .map(|(_, case)| {
            let visit = doorstep.plan_visit(*case, now + Span::hours(2)).unwrap();
            doorstep
                .record_notice(
                    visit,
                    Notice {
                        channel: NoticeChannel::PhoneCall,
                        given_at: now,
                        planned_visit_at: now + Span::hours(2),
                        purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
                        acknowledged: true,
                    },
                )
                .unwrap();
            visit
        })
        .collect();
    clock.advance(Span::hours(2));
    for visit in &visits {
        doorstep.check_in(*visit, fix_at_home(clock.now())).unwrap();
    }
    AnswerSetup {
        _dir: dir,
        path,
        doorstep,
        visits,
    }
}

fn answer_value() -> AnswerValue {
    AnswerValue::Text(ANSWER_TEXT.to_owned())
}

/// The JSON text an answer carries in its log entry.
fn answer_json() -> String {
    serde_json::to_string(&VisitChange::Answered {
        item_id: "household_situation".into(),
        value: answer_value(),
    })
    .unwrap()
}

/// One action against a bare insert of the same JSON into the same file.
fn bench_answer(c: &mut Criterion) {
    let setup = answer_setup();
    let mut bare = bare_connection(&setup.path, "NORMAL");
    let mut bare_full = bare_connection(&setup.path, "FULL");
    bare.execute_batch("CREATE TABLE bench_bare (id INTEGER PRIMARY KEY, body TEXT)")
        .unwrap();
    let body = answer_json();

    // Evidence for the write cost: WAL frames (encrypted pages) each commit writes.
    let frames = |run: &mut dyn FnMut()| {
        bare.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        for _ in 0..100 {
            run();
        }
        let log: i64 = bare
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        log as f64 / 100.0
    };
    let mut turn = 0usize;
    let action_frames = frames(&mut || {
        let visit = setup.visits[turn % setup.visits.len()];
        turn += 1;
        setup
            .doorstep
            .answer(visit, "household_situation", answer_value())
            .unwrap();
    });
    let bare_frames = frames(&mut || {
        bare.execute("INSERT INTO bench_bare (body) VALUES (?1)", [&body])
            .unwrap();
    });
    eprintln!("WAL frames per commit: answer {action_frames:.2}, bare insert {bare_frames:.2}");

    let mut group = c.benchmark_group("answer");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(6));
    // As an agent works: answer after answer in the visit in front of them.
    group.bench_function("doorstep_answer", |b| {
        b.iter(|| {
            setup
                .doorstep
                .answer(setup.visits[0], "household_situation", answer_value())
                .unwrap();
        })
    });
    // The worst case for finding the chain head: consecutive answers go to 64
    // different visits, so the newest entry of each is 64 outbox rows back.
    let mut turn = 0usize;
    group.bench_function("doorstep_answer_across_64_visits", |b| {
        b.iter(|| {
            let visit = setup.visits[turn % setup.visits.len()];
            turn += 1;
            setup
                .doorstep
                .answer(visit, "household_situation", answer_value())
                .unwrap();
        })
    });
    // The baseline at both durabilities: what syncing the WAL on every
    // commit (the store's FULL) costs a bare insert.
    for (name, conn) in [
        ("bare_insert", &mut bare),
        ("bare_insert_synchronous_full", &mut bare_full),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .unwrap();
                tx.prepare_cached("INSERT INTO bench_bare (body) VALUES (?1)")
                    .unwrap()
                    .execute([black_box(&body)])
                    .unwrap();
                tx.commit().unwrap();
            })
        });
    }
    group.finish();
}

/// The case database shared by the list and open benchmarks, loaded once.
struct CaseDb {
    _dir: TempDir,
    raw_path: PathBuf,
    passphrase_path: PathBuf,
}

fn case_db() -> CaseDb {
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("cases-raw.db");
    let passphrase_path = dir.path().join("cases-passphrase.db");
    let started = std::time::Instant::now();
    let (doorstep, _, _) = device(&raw_path, CASES);
    drop(doorstep);
    eprintln!("loaded {CASES} cases in {:.1?}", started.elapsed());
    // The same content under a passphrase, copied with SQLCipher's export.
    let conn = bare_connection(&raw_path, "NORMAL");
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.execute(
        "ATTACH DATABASE ?1 AS pass KEY ?2",
        params![passphrase_path.to_str().unwrap(), PASSPHRASE],
    )
    .unwrap();
    conn.query_row("SELECT sqlcipher_export('pass')", [], |_| Ok(()))
        .unwrap();
    conn.pragma_update(Some("pass"), "user_version", version)
        .unwrap();
    conn.execute_batch("DETACH DATABASE pass").unwrap();
    CaseDb {
        _dir: dir,
        raw_path,
        passphrase_path,
    }
}

fn page(status: Option<CaseStatus>, text: Option<&str>) -> CaseQuery {
    CaseQuery {
        status,
        text: text.map(str::to_owned),
        limit: 50,
        ..CaseQuery::default()
    }
}

/// The first page of the case list with 10,000 cases.
fn bench_list_cases(c: &mut Criterion, db: &CaseDb) {
    let doorstep = Doorstep::open(&db.raw_path, &KEY, Policy::default()).unwrap();
    let conn = bare_connection(&db.raw_path, "NORMAL");
    let queries = [
        ("first_page", page(None, None)),
        (
            "status_in_progress",
            page(Some(CaseStatus::InProgress), None),
        ),
        // Matches about one case in ten.
        ("text_common", page(None, Some("建国1"))),
    ];
    for (_, query) in &queries {
        assert!(!doorstep.list_cases(query).unwrap().is_empty());
    }

    let mut group = c.benchmark_group("list_cases");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("raw_sql_first_page", |b| {
        b.iter(|| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT body FROM cases ORDER BY priority DESC, due_date, id LIMIT 50",
                )
                .unwrap();
            let bodies: Vec<String> = statement
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(bodies.len(), 50);
            bodies
        })
    });
    for (name, query) in &queries {
        group.bench_function(*name, |b| {
            b.iter(|| doorstep.list_cases(black_box(query)).unwrap())
        });
    }
    group.finish();

    // A text that matches 11 of the 10,000 cases: the whole table is read.
    let rare = page(None, Some(RARE_TEXT));
    assert_eq!(doorstep.list_cases(&rare).unwrap().len(), 11);
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {TEXT_SQL}"))
        .unwrap()
        .query_map([format!("%{RARE_TEXT}%")], |r| r.get(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    eprintln!("database pages: {pages} (4 KiB each); text query plan: {plan:?}");
    let big_cache = bare_connection(&db.raw_path, "NORMAL");
    big_cache
        .pragma_update(None, "cache_size", -65_536)
        .unwrap();
    let raw_text = |conn: &Connection| {
        let mut statement = conn.prepare_cached(TEXT_SQL).unwrap();
        let bodies: Vec<String> = statement
            .query_map([format!("%{RARE_TEXT}%")], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(bodies.len(), 11);
        bodies
    };
    let mut group = c.benchmark_group("list_cases_text_scan");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4));
    group.bench_function("text_rare", |b| {
        b.iter(|| doorstep.list_cases(black_box(&rare)).unwrap())
    });
    group.bench_function("raw_sql_text_rare", |b| b.iter(|| raw_text(&conn)));
    group.bench_function("raw_sql_text_rare_64mb_cache", |b| {
        b.iter(|| raw_text(&big_cache))
    });
    group.finish();
}

/// A customer-name fragment that 11 of the 10,000 cases contain.
const RARE_TEXT: &str = "建国123";
/// The SQL `list_cases` runs for a text filter, without the decoding.
const TEXT_SQL: &str = "SELECT body FROM cases WHERE search_text LIKE ?1 ESCAPE '\\'
                        ORDER BY priority DESC, due_date, id LIMIT 50";

/// Opening an existing database with 10,000 cases and reading the first page.
fn bench_open(c: &mut Criterion, db: &CaseDb) {
    let first_page = page(None, None);
    let mut group = c.benchmark_group("open_and_first_page");
    // One passphrase open takes a few hundred milliseconds: one iteration per sample.
    group
        .sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("raw_key", |b| {
        b.iter(|| {
            let doorstep = Doorstep::open(&db.raw_path, &KEY, Policy::default()).unwrap();
            doorstep.list_cases(&first_page).unwrap()
        })
    });
    let passphrase = DatabaseKey::Passphrase(PASSPHRASE.into());
    group.bench_function("passphrase", |b| {
        b.iter(|| {
            let doorstep =
                Doorstep::open(&db.passphrase_path, &passphrase, Policy::default()).unwrap();
            doorstep.list_cases(&first_page).unwrap()
        })
    });
    group.finish();
}

fn bench_cases(c: &mut Criterion) {
    let db = case_db();
    bench_list_cases(c, &db);
    bench_open(c, &db);
}

fn settings() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = settings();
    targets = bench_answer, bench_cases
}
criterion_main!(benches);
