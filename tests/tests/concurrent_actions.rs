//! Two taps at once: the apps run each core call on a background pool, so
//! actions on one visit, actions on other visits and syncs reach one device
//! core from many threads at the same time. Whatever the interleaving, every
//! action the core acknowledged is on the device once, in an intact chain, and
//! on the server once; the outbox holds exactly what the server lacks.
//!
//! The bounded run is part of `scripts/test`; a longer soak is
//! `DOORSTEP_SOAK_ROUNDS=2000 cargo test -p doorstep-tests --test concurrent_actions`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use common::*;
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{NoteId, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::Policy;
use doorstep_core::report::LogVerification;
use doorstep_core::sync::protocol::Role;
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, NoProgress};
use doorstep_server::admin;
use doorstep_server::store::{self, Store};
use doorstep_tests::server::TestServer;

const PASSWORD: &str = "s3cret-field-pass";
/// Threads adding notes and answers to the one shared visit.
const SHARED_VISIT_THREADS: usize = 4;

fn rounds() -> usize {
    std::env::var("DOORSTEP_SOAK_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60)
}

/// What one action thread did and the core acknowledged.
#[derive(Default)]
struct Done {
    notes: Vec<(VisitId, NoteId, String)>,
    answers: usize,
}

/// Adds `rounds` notes and as many answers to `visit`, each text naming the
/// thread and round so that every note is told apart.
fn work(doorstep: &Doorstep, visit: VisitId, thread: usize, rounds: usize) -> Done {
    let mut done = Done::default();
    for round in 0..rounds {
        let text = format!("线程{thread}第{round}条：客户称下月发工资后还款");
        let note = doorstep.add_note(visit, &text).unwrap();
        done.notes.push((visit, note, text));
        let value = AnswerValue::Integer(1 + (round % 5) as i64);
        doorstep.answer(visit, "ability_to_repay", value).unwrap();
        done.answers += 1;
    }
    done
}

/// The device's own chain of `visit`, checked: each position once, from 0 up
/// with no gap, each entry linked to the one before.
fn own_chain(doorstep: &Doorstep, visit: VisitId) -> Vec<LogEntry> {
    let me = doorstep.device_id();
    let chain: Vec<LogEntry> = doorstep
        .visit_log(visit)
        .unwrap()
        .into_iter()
        .filter(|e| e.author == me)
        .collect();
    for (n, entry) in chain.iter().enumerate() {
        assert_eq!(
            entry.seq, n as u64,
            "chain position stored twice or skipped"
        );
        if n > 0 {
            assert_eq!(entry.prev_hash, chain[n - 1].hash, "chain forked at {n}");
        }
    }
    chain
}

#[test]
fn actions_from_many_threads_on_one_visit_while_syncing_lose_nothing() {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path()).unwrap();
    let store: &dyn Store = server.store();
    let now = Utc::now();
    admin::create_user(store, "lin.lead", PASSWORD, Role::Supervisor, None, now).unwrap();
    let agent = admin::create_user(
        store,
        "wang.agent",
        PASSWORD,
        Role::Agent,
        Some("lin.lead"),
        now,
    )
    .unwrap();
    admin::publish_template(store, &home_verification(), now).unwrap();
    let cases: Vec<_> = (0..3).map(|i| sample_case(agent, i)).collect();
    admin::import_cases(store, &cases, now).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep = Doorstep::open_with_clock(
        &dir.path().join("device.db"),
        &KEY,
        Policy::default(),
        clock.clone(),
    )
    .unwrap();
    doorstep.set_device_utc_offset(480).unwrap();
    admin::create_device(store, "wang.agent", doorstep.device_id(), now).unwrap();
    let transport = UreqTransport::new(&server.url(), Duration::from_secs(10));
    doorstep
        .sign_in(&transport, "wang.agent", PASSWORD)
        .unwrap();
    doorstep.sync_now(&transport, &NoProgress).unwrap();

    // Three visits checked in: one shared by several threads, two each worked
    // by a thread of its own.
    let field = Field {
        dir,
        path: data.path().join("unused"),
        clock,
        doorstep,
        agent,
        cases: cases.clone(),
    };
    let visits: Vec<VisitId> = cases
        .iter()
        .map(|case| planned_and_notified(&field, case.id))
        .collect();
    field.clock.advance(chrono::Duration::hours(2));
    for visit in &visits {
        field
            .doorstep
            .check_in(*visit, fix_at_home(field.clock.now_utc()))
            .unwrap();
    }

    let rounds = rounds();
    let acting = AtomicBool::new(true);
    let doorstep = &field.doorstep;
    let (done, sync_failures) = std::thread::scope(|scope| {
        let syncing = scope.spawn(|| {
            let mut failures = Vec::new();
            let mut syncs = 0;
            // At least one sync overlaps the actions; then as many as fit.
            while syncs == 0 || acting.load(Ordering::Acquire) {
                if let Err(e) = doorstep.sync_now(&transport, &NoProgress) {
                    failures.push(e.to_string());
                }
                syncs += 1;
            }
            failures
        });
        let mut workers = Vec::new();
        for thread in 0..SHARED_VISIT_THREADS {
            let shared = visits[0];
            workers.push(scope.spawn(move || work(doorstep, shared, thread, rounds)));
        }
        for (n, visit) in visits[1..].iter().enumerate() {
            let visit = *visit;
            workers.push(scope.spawn(move || work(doorstep, visit, 100 + n, rounds)));
        }
        let done: Vec<Done> = workers.into_iter().map(|w| w.join().unwrap()).collect();
        acting.store(false, Ordering::Release);
        (done, syncing.join().unwrap())
    });
    assert!(
        sync_failures.is_empty(),
        "syncs failed while the agent worked: {sync_failures:?}"
    );

    // The outbox holds exactly the device's entries the server does not have.
    let server_ops: HashSet<uuid::Uuid> = visits
        .iter()
        .flat_map(|visit| {
            store::read(store, |tx| tx.visit_entries(*visit))
                .unwrap()
                .into_iter()
                .map(|stored| stored.entry.op_id)
        })
        .collect();
    let queued: HashSet<uuid::Uuid> = field
        .doorstep
        .pending_ops(10_000)
        .unwrap()
        .into_iter()
        .map(|op| op.entry.op_id)
        .collect();
    let own_missing_on_server: HashSet<uuid::Uuid> = visits
        .iter()
        .flat_map(|visit| own_chain(&field.doorstep, *visit))
        .map(|entry| entry.op_id)
        .filter(|op| !server_ops.contains(op))
        .collect();
    assert_eq!(queued, own_missing_on_server);

    // A last sync drains it; nothing was refused.
    field.doorstep.sync_now(&transport, &NoProgress).unwrap();
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert!(field.doorstep.rejected_ops().unwrap().is_empty());

    let notes: Vec<&(VisitId, NoteId, String)> = done.iter().flat_map(|d| &d.notes).collect();
    let answers: usize = done.iter().map(|d| d.answers).sum();
    assert_eq!(notes.len(), (SHARED_VISIT_THREADS + 2) * rounds);
    let mut entries_per_visit: HashMap<VisitId, usize> = HashMap::new();
    for visit in &visits {
        let chain = own_chain(&field.doorstep, *visit);
        entries_per_visit.insert(*visit, chain.len());
        let report = field.doorstep.visit_report(*visit).unwrap();
        assert!(
            matches!(report.log, LogVerification::Intact { .. }),
            "{:?}",
            report.log
        );
        // The server holds the same chain, each entry once.
        let mut on_server: Vec<LogEntry> = store::read(store, |tx| tx.visit_entries(*visit))
            .unwrap()
            .into_iter()
            .inspect(|stored| assert!(stored.rejected.is_none()))
            .map(|stored| stored.entry)
            .collect();
        on_server.sort_by_key(|e| e.seq);
        assert_eq!(on_server, chain);
        // Every note the agent saw saved is there once, on both sides.
        let server_history = doorstep_core::domain::VisitHistory::fold(*visit, &on_server).unwrap();
        for (note_visit, id, text) in notes.iter().filter(|(v, _, _)| v == visit) {
            assert_eq!(note_visit, visit);
            let here: Vec<_> = report.notes.iter().filter(|n| n.id == *id).collect();
            assert_eq!(here.len(), 1, "note {id} on the device");
            assert_eq!(&here[0].text, text);
            let there = server_history.notes.iter().filter(|n| n.id == *id).count();
            assert_eq!(there, 1, "note {id} on the server");
        }
    }
    // Plan, notice and check-in, then each thread's notes and answers.
    let expected_shared = 3 + 2 * SHARED_VISIT_THREADS * rounds;
    assert_eq!(entries_per_visit[&visits[0]], expected_shared);
    assert_eq!(
        entries_per_visit.values().sum::<usize>(),
        3 * 3 + notes.len() + answers
    );
}
