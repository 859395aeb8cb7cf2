//! A power cut on the phone: the device store commits with `synchronous =
//! NORMAL` in WAL mode, so a battery that dies can roll the database back to
//! its last sync to disk while the server already holds what came after. The
//! phone must not wedge: its next push meets the server's copy of its chain,
//! it restores what it lost from the server, re-bases what the agent did
//! since, and the visit submits with every acknowledged action on the server
//! once and nothing refused.
//!
//! The cut is emulated on the files: the database and its WAL are copied at a
//! point where everything is written out, more work happens and is pushed, and
//! the copies are put back before the app opens the database again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{VisitId, VisitState};
use doorstep_core::event_log::verify_chain;
use doorstep_core::policy::Policy;
use doorstep_core::report::LogVerification;
use doorstep_core::{Doorstep, Money};
use doorstep_server::admin;
use doorstep_tests::fleet::{Fleet, Phone};

/// The files of a SQLite database in WAL mode.
fn database_files(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| PathBuf::from(format!("{}{suffix}", path.display())))
        .collect()
}

/// Copies the database's files aside, as the disk holds them now.
fn snapshot(path: &Path, into: &Path) {
    for (n, file) in database_files(path).iter().enumerate() {
        let copy = into.join(n.to_string());
        if file.exists() {
            std::fs::copy(file, &copy).unwrap();
        } else if copy.exists() {
            std::fs::remove_file(&copy).unwrap();
        }
    }
}

/// Puts the copied files back: the database is as it was at the snapshot.
fn power_cut(path: &Path, from: &Path) {
    for (n, file) in database_files(path).iter().enumerate() {
        let copy = from.join(n.to_string());
        if copy.exists() {
            std::fs::copy(&copy, file).unwrap();
        } else if file.exists() {
            std::fs::remove_file(file).unwrap();
        }
    }
}

fn reopen(path: &Path, clock: &Arc<FixedClock>) -> Doorstep {
    let doorstep = Doorstep::open_with_clock(path, &KEY, Policy::default(), clock.clone()).unwrap();
    doorstep.set_device_utc_offset(480).unwrap();
    doorstep
}

struct Day {
    _dir: tempfile::TempDir,
    fleet: Fleet,
    phone: Phone,
    path: PathBuf,
    visit: VisitId,
}

/// A phone that synced its cases, planned and noticed a visit, checked in and
/// answered half the checklist, and synced all of it.
fn checked_in_and_synced() -> Day {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let agent = fleet.agent("wang.agent");
    let case = sample_case(agent, 1);
    admin::import_cases(
        fleet.store(),
        std::slice::from_ref(&case),
        chrono::Utc::now(),
    )
    .unwrap();
    let path = dir.path().join("phone.db");
    let clock = Arc::new(FixedClock::new(morning()));
    let phone = Phone::open(
        &fleet,
        &path,
        &KEY,
        clock.clone(),
        "wang.agent",
        agent,
        None,
    );
    phone.sync().unwrap();
    let doorstep = &phone.doorstep;
    let now = clock.now_utc();
    let visit = doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    doorstep.record_notice(visit, phone_notice(now)).unwrap();
    clock.advance(Duration::hours(2));
    doorstep
        .check_in(visit, fix_at_home(clock.now_utc()))
        .unwrap();
    for (item, value) in complete_answers().into_iter().take(5) {
        doorstep.answer(visit, item, value).unwrap();
    }
    phone.sync().unwrap();
    assert_eq!(doorstep.pending_outbox_count().unwrap(), 0);
    Day {
        _dir: dir,
        fleet,
        phone,
        path,
        visit,
    }
}

#[test]
fn work_acknowledged_before_a_power_cut_is_restored_and_the_visit_submits() {
    let Day {
        _dir,
        fleet,
        mut phone,
        path,
        visit,
    } = checked_in_and_synced();
    let disk = tempfile::tempdir().unwrap();
    snapshot(&path, disk.path());

    // After the last write-out: a note, a corrected income, the premises
    // photo; all pushed, uploaded and acknowledged.
    let doorstep = &phone.doorstep;
    let lost_note = doorstep
        .add_note(visit, "客户称配偶下月起有固定收入。")
        .unwrap();
    doorstep
        .answer(
            visit,
            "monthly_income",
            AnswerValue::Money(Money::new(720_000, "CNY").unwrap()),
        )
        .unwrap();
    photo_of_premises(doorstep, visit);
    let report = phone.sync().unwrap();
    assert_eq!(report.applied, 3);
    assert_eq!(doorstep.pending_outbox_count().unwrap(), 0);
    let acknowledged: Vec<_> = doorstep.visit_log(visit).unwrap();

    // The battery dies: the database comes back as it was written out.
    let placeholder = reopen(&disk.path().join("placeholder.db"), &phone.clock);
    drop(std::mem::replace(&mut phone.doorstep, placeholder));
    power_cut(&path, disk.path());
    phone.doorstep = reopen(&path, &phone.clock);
    let doorstep = &phone.doorstep;
    assert!(
        doorstep.visit_log(visit).unwrap().len() < acknowledged.len(),
        "the cut lost the acknowledged entries on the phone"
    );

    // The agent, unaware, finishes the visit and syncs.
    phone.clock.advance(Duration::minutes(20));
    let new_note = doorstep
        .add_note(visit, "客户同意先还五千元，其余申请分期。")
        .unwrap();
    for (item, value) in complete_answers().into_iter().skip(5) {
        doorstep.answer(visit, item, value).unwrap();
    }
    let income_now = AnswerValue::Money(Money::new(680_000, "CNY").unwrap());
    doorstep
        .answer(visit, "monthly_income", income_now.clone())
        .unwrap();
    doorstep.set_outcome(visit, promise_outcome()).unwrap();
    phone.clock.advance(Duration::minutes(20));
    doorstep
        .check_out(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    // The phone does not know of the photo yet, so the checklist lacks it;
    // the agent takes it again.
    photo_of_premises(doorstep, visit);
    doorstep.submit(visit).unwrap();
    let report = phone.sync().unwrap();

    assert_eq!(report.repaired_visits, 1, "{report:?}");
    assert!(
        doorstep.rejected_ops().unwrap().is_empty(),
        "{:?}",
        doorstep.rejected_ops().unwrap()
    );
    assert_eq!(doorstep.pending_outbox_count().unwrap(), 0);

    // The server holds every acknowledged action once, and the new ones.
    let server = fleet.stored(visit);
    assert!(server.iter().all(|stored| stored.rejected.is_none()));
    let server_ops: HashSet<_> = server.iter().map(|s| s.entry.op_id).collect();
    assert_eq!(server_ops.len(), server.len(), "an op stored twice");
    for entry in &acknowledged {
        let same = server
            .iter()
            .filter(|s| {
                s.entry.hlc == entry.hlc
                    && s.entry.kind == entry.kind
                    && s.entry.payload == entry.payload
            })
            .count();
        assert_eq!(same, 1, "acknowledged {} at {}", entry.kind, entry.seq);
    }
    let mut chain: Vec<_> = server.iter().map(|s| s.entry.clone()).collect();
    chain.sort_by_key(|e| e.seq);
    assert!(verify_chain(&chain).is_ok());
    let history = fleet.visit(visit).unwrap();
    assert_eq!(history.visit.state, VisitState::Submitted);
    let notes: Vec<_> = history.notes.iter().map(|n| n.id).collect();
    assert!(notes.contains(&lost_note) && notes.contains(&new_note));
    assert_eq!(
        history.answers.get("monthly_income").map(|a| &a.value),
        Some(&income_now),
        "the answer given after the cut is the one that stands"
    );

    // The phone shows what the server holds, its log intact.
    let here = doorstep.visit_report(visit).unwrap();
    assert!(matches!(here.log, LogVerification::Intact { .. }));
    assert_eq!(here.visit, history.visit);
    assert_eq!(here.notes, history.notes);
    assert_eq!(doorstep.visit_log(visit).unwrap(), chain);
}
