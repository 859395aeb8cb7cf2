//! A case reassigned while its visit is half synced: the visit's first
//! entries reached the server before the case went from one agent to another,
//! the rest arrive after. Whatever order the new agent's phone pulls in (not
//! at all until the end, or before, between and after each step), it ends up
//! holding the whole visit, as the server does; so does the supervisor's
//! device; and the first agent's phone lets go of the customer once nothing of
//! it is left to push.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::VisitId;
use doorstep_core::event_log::LogEntry;
use doorstep_server::admin;
use doorstep_tests::fleet::{Fleet, Phone, SUPERVISOR};
use uuid::Uuid;

/// When each phone pulls, as a bit set over the four moments: before the
/// first push, after it, after the reassignment, after the second push.
#[derive(Debug, Clone, Copy)]
struct Order {
    new_agent_pulls: u8,
    old_agent_pulls_after_reassignment: bool,
}

fn phone(fleet: &Fleet, dir: &std::path::Path, name: &str, user: Uuid) -> Phone {
    Phone::open(
        fleet,
        &dir.join(format!("{name}-{}.db", Uuid::now_v7())),
        &KEY,
        Arc::new(FixedClock::new(morning())),
        name,
        user,
        None,
    )
}

/// The whole log of a visit on a phone, each chain in order.
fn log(phone: &Phone, visit: VisitId) -> Vec<LogEntry> {
    let mut log = phone.doorstep.visit_log(visit).unwrap_or_default();
    log.sort_by_key(|e| (e.author, e.seq));
    log
}

fn server_log(fleet: &Fleet, visit: VisitId) -> Vec<LogEntry> {
    let mut log: Vec<LogEntry> = fleet.stored(visit).into_iter().map(|s| s.entry).collect();
    log.sort_by_key(|e| (e.author, e.seq));
    log
}

fn play(fleet: &Fleet, dir: &std::path::Path, users: (Uuid, Uuid), order: Order) {
    let (wang, li) = users;
    let case = sample_case(wang, 7);
    admin::import_cases(
        fleet.store(),
        std::slice::from_ref(&case),
        chrono::Utc::now(),
    )
    .unwrap();
    let old = phone(fleet, dir, "wang.agent", wang);
    let new = phone(fleet, dir, "li.agent", li);
    let lead = doorstep_server::store::read(fleet.store(), |tx| tx.user_by_name(SUPERVISOR))
        .unwrap()
        .unwrap();
    let supervisor = phone(fleet, dir, SUPERVISOR, lead.id);
    old.sync().unwrap();
    let pull_new = |moment: u8| {
        if order.new_agent_pulls & (1 << moment) != 0 {
            new.sync().unwrap();
        }
    };

    // Wang plans, gives notice and checks in, and that much reaches the server.
    pull_new(0);
    let now = old.clock.now_utc();
    let visit = old
        .doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    old.doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    old.clock.advance(Duration::hours(2));
    old.doorstep
        .check_in(visit, fix_at_home(old.clock.now_utc()))
        .unwrap();
    old.sync().unwrap();
    pull_new(1);

    // Offline, Wang finishes the visit; meanwhile the case goes to Li.
    for (item, value) in complete_answers() {
        old.doorstep.answer(visit, item, value).unwrap();
    }
    old.doorstep
        .add_note(visit, "客户称配偶下月起有固定收入。")
        .unwrap();
    old.doorstep.set_outcome(visit, promise_outcome()).unwrap();
    photo_of_premises(&old.doorstep, visit);
    old.doorstep
        .check_out(visit, fix_at_home(old.clock.now_utc()))
        .unwrap();
    old.doorstep.submit(visit).unwrap();
    admin::reassign_case(fleet.store(), case.id, "li.agent", chrono::Utc::now()).unwrap();
    if order.old_agent_pulls_after_reassignment {
        // Wang's phone hears the case left; it keeps it until it has pushed.
        old.sync().unwrap();
    }
    pull_new(2);
    old.sync().unwrap();
    assert_eq!(old.doorstep.pending_outbox_count().unwrap(), 0);
    pull_new(3);

    // In the end Li's phone and the supervisor's hold the whole visit.
    new.sync().unwrap();
    supervisor.sync().unwrap();
    let on_server = server_log(fleet, visit);
    assert!(on_server.len() > 15, "{order:?}");
    assert_eq!(log(&new, visit), on_server, "{order:?}: the new agent");
    assert_eq!(
        log(&supervisor, visit),
        on_server,
        "{order:?}: the supervisor"
    );
    let history = fleet.visit(visit).unwrap();
    let report = new.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit, history.visit, "{order:?}");
    assert_eq!(report.notes, history.notes, "{order:?}");
    // Wang's phone let go of the customer once everything was pushed.
    old.sync().unwrap();
    assert!(
        old.doorstep.case_detail(case.id).is_err(),
        "{order:?}: the old agent's phone still holds the case"
    );
}

#[test]
fn a_visit_half_synced_when_its_case_is_reassigned_reaches_the_new_agent_in_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let wang = fleet.agent("wang.agent");
    let li = fleet.agent("li.agent");
    for new_agent_pulls in 0..16u8 {
        for old_agent_pulls_after_reassignment in [false, true] {
            play(
                &fleet,
                dir.path(),
                (wang, li),
                Order {
                    new_agent_pulls,
                    old_agent_pulls_after_reassignment,
                },
            );
        }
    }
}
