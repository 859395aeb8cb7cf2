//! Multi-device convergence: a two-person visit worked on both partners' phones
//! while offline, each phone syncing through its own faulty network (dropped
//! requests, lost and duplicated responses, resets), with the supervisor
//! returning or approving whenever the server holds a submitted visit. Once
//! everybody has synced until nothing moves, every phone shows exactly what the
//! server folds from the entries it admitted, no note typed anywhere is lost
//! (it is on the server and on every phone, or its op was refused and is listed
//! on its phone), and no op is stored twice.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::{FixedClock, Hlc};
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, ReviewDecision, VisitChange, VisitHistory, VisitId, VisitState,
};
use doorstep_core::event_log::LogEntry;
use doorstep_core::{Doorstep, VisitReport};
use doorstep_tests::fault_proxy::FaultMix;
use doorstep_tests::fleet::{Fleet, Phone, settle};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use uuid::Uuid;

/// What one phone does offline.
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// Types an interview note.
    Note(u8),
    /// Answers (or changes) one of a few checklist items.
    Answer(u8, u8),
    /// The next step of the visit's life on this phone: check in, complete the
    /// checklist, record the outcome, check out, submit (a returned visit gets
    /// a note first, which reopens it).
    Progress,
    /// Checks out now, if the phone allows it.
    CheckOut,
    /// Submits now, if the phone allows it.
    Submit,
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Phone `0` (primary) or `1` (partner) edits offline.
    Edit(usize, Edit),
    /// A phone syncs once (through its faults; it may fail).
    Sync(usize),
    /// The supervisor approves (`true`) or returns a submitted visit.
    Review(bool),
    /// Time passes on both phones.
    Wait(i64),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => any::<u8>().prop_map(Edit::Note),
        3 => (0u8..4, any::<u8>()).prop_map(|(i, v)| Edit::Answer(i, v)),
        8 => Just(Edit::Progress),
        1 => Just(Edit::CheckOut),
        1 => Just(Edit::Submit),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0usize..2, edit()).prop_map(|(d, e)| Step::Edit(d, e)),
        5 => (0usize..2).prop_map(Step::Sync),
        2 => any::<bool>().prop_map(Step::Review),
        1 => (1i64..15).prop_map(Step::Wait),
    ]
}

/// The faults each phone's network has: about one request in three goes wrong.
fn faults() -> FaultMix {
    FaultMix {
        delay: 2,
        drop_request: 6,
        drop_response: 8,
        duplicate: 8,
        truncate: 4,
        reset: 4,
    }
}

/// A few checklist items with values both partners may disagree on.
fn answer(item: u8, value: u8) -> (&'static str, AnswerValue) {
    match item % 4 {
        0 => (
            "ability_to_repay",
            AnswerValue::Integer(i64::from(value % 5) + 1),
        ),
        1 => (
            "willingness_to_repay",
            AnswerValue::Integer(i64::from(value % 5) + 1),
        ),
        2 => (
            "household_situation",
            AnswerValue::Text(format!("家庭情况记录第 {value} 版")),
        ),
        _ => (
            "identity_confirmed",
            AnswerValue::YesNo(value.is_multiple_of(2)),
        ),
    }
}

/// Answers every required item and attaches a photo; tolerant of a phone that
/// refuses (wrong state, photo limit reached).
fn fill_checklist(doorstep: &Doorstep, visit: VisitId) {
    for (item, value) in complete_answers() {
        let _ = doorstep.answer(visit, item, value);
    }
    let _ = doorstep.attach(
        visit,
        AttachmentKind::Photo,
        "image/jpeg",
        &[0xff, 0xd8, 0xff, 0xe0, 9, 8, 7],
        AttachmentLink::ChecklistItem {
            item_id: "premises_photos".into(),
        },
    );
}

/// One edit on one phone; refusals by the phone itself (wrong state, policy)
/// are part of the game and ignored.
fn play(phone: &Phone, visit: VisitId, edit: Edit, serial: usize) {
    let d = &phone.doorstep;
    let now = phone.clock.now_utc();
    match edit {
        Edit::Note(n) => {
            let _ = d.add_note(
                visit,
                &format!("入户访谈记录 {serial}-{n}：客户表示近期收入不稳定。"),
            );
        }
        Edit::Answer(item, value) => {
            let (item, value) = answer(item, value);
            let _ = d.answer(visit, item, value);
        }
        Edit::CheckOut => {
            let _ = d.check_out(visit, fix_at_home(now));
        }
        Edit::Submit => {
            let _ = d.submit(visit);
        }
        Edit::Progress => {
            let report = d.visit_report(visit).unwrap();
            let v = &report.visit;
            match v.state {
                VisitState::Planned | VisitState::Notified => {
                    let _ = d.check_in(visit, fix_at_home(now));
                }
                VisitState::CheckedIn if !report.checklist_problems.is_empty() => {
                    fill_checklist(d, visit);
                }
                VisitState::CheckedIn if v.outcome.is_none() => {
                    let _ = d.set_outcome(visit, promise_outcome());
                }
                VisitState::CheckedIn => {
                    let _ = d.check_out(visit, fix_at_home(now));
                }
                VisitState::CheckedOut | VisitState::Reopened => {
                    if !report.checklist_problems.is_empty() {
                        fill_checklist(d, visit);
                    } else if v.outcome.is_none() {
                        let _ = d.set_outcome(visit, promise_outcome());
                    } else {
                        let _ = d.submit(visit);
                    }
                }
                VisitState::Returned => {
                    let _ = d.add_note(visit, &format!("已按退回意见补充材料 {serial}。"));
                }
                _ => {}
            }
        }
    }
}

/// Every note this phone typed, by the op that carries it.
fn typed_notes(phone: &Phone, visit: VisitId) -> Vec<(Uuid, Uuid)> {
    let me = phone.doorstep.device_id();
    phone
        .doorstep
        .visit_log(visit)
        .unwrap()
        .into_iter()
        .filter(|e| e.author == me)
        .filter_map(|e| match serde_json::from_str::<VisitChange>(&e.payload) {
            Ok(VisitChange::NoteAdded { note }) => Some((e.op_id, note.id)),
            _ => None,
        })
        .collect()
}

fn answers_of_report(report: &VisitReport) -> BTreeMap<String, (AnswerValue, Hlc)> {
    report
        .answers
        .iter()
        .map(|a| (a.item_id.clone(), (a.value.clone(), a.stamp)))
        .collect()
}

fn answers_of_history(history: &VisitHistory) -> BTreeMap<String, (AnswerValue, Hlc)> {
    history
        .answers
        .iter()
        .map(|(item, a)| (item.clone(), (a.value.clone(), a.stamp)))
        .collect()
}

/// What went wrong in one run, as readable lines: `(always, strict)`. The
/// first list must be empty in every run: no op stored twice, every note typed
/// is on the server or listed as refused on its phone, and on the phone that
/// typed it. The second list is the full convergence of every phone to the
/// server's fold, which currently only holds when no op was refused (see the
/// ignored tests below for the two bugs).
fn check_converged(fleet: &Fleet, phones: &[&Phone], visit: VisitId) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut strict = Vec::new();
    let stored = fleet.stored(visit);

    // Zero ops applied twice.
    let mut by_op: HashMap<Uuid, usize> = HashMap::new();
    for s in &stored {
        *by_op.entry(s.entry.op_id).or_default() += 1;
    }
    for (op, n) in &by_op {
        if *n != 1 {
            problems.push(format!("op {op} stored {n} times on the server"));
        }
    }
    let admitted: Vec<LogEntry> = stored
        .iter()
        .filter(|s| s.rejected.is_none())
        .map(|s| s.entry.clone())
        .collect();
    let admitted_ops: HashSet<Uuid> = admitted.iter().map(|e| e.op_id).collect();
    let server = VisitHistory::fold(visit, &admitted).unwrap();

    // Every phone shows the server's fold.
    for (i, phone) in phones.iter().enumerate() {
        let report = phone.doorstep.visit_report(visit).unwrap();
        if report.visit != server.visit {
            strict.push(format!(
                "phone {i}: visit header differs: phone {:?} server {:?}",
                report.visit.state, server.visit.state
            ));
        }
        if answers_of_report(&report) != answers_of_history(&server) {
            strict.push(format!("phone {i}: answers differ"));
        }
        if report.notes != server.notes {
            strict.push(format!(
                "phone {i}: notes differ: phone has {}, server {}",
                report.notes.len(),
                server.notes.len()
            ));
        }
        if report.attachments != server.attachments {
            strict.push(format!("phone {i}: attachments differ"));
        }
    }

    // Zero lost notes.
    for (i, phone) in phones.iter().enumerate() {
        let rejected: HashSet<Uuid> = phone
            .doorstep
            .rejected_ops()
            .unwrap()
            .into_iter()
            .map(|r| r.op_id)
            .collect();
        for (op, note) in typed_notes(phone, visit) {
            if admitted_ops.contains(&op) {
                if !server.notes.iter().any(|n| n.id == note) {
                    problems.push(format!("phone {i}: note {note} admitted but not folded"));
                }
                for (j, other) in phones.iter().enumerate() {
                    let report = other.doorstep.visit_report(visit).unwrap();
                    if !report.notes.iter().any(|n| n.id == note) {
                        let line = format!("note {note} typed on phone {i} missing on phone {j}");
                        if i == j {
                            problems.push(line);
                        } else {
                            strict.push(line);
                        }
                    }
                }
            } else if !rejected.contains(&op) {
                problems.push(format!(
                    "phone {i}: note {note} neither on the server nor listed as rejected"
                ));
            }
        }
    }
    (problems, strict)
}

/// What one run saw, for the summary.
#[derive(Debug, Default)]
struct Outcome {
    problems: Vec<String>,
    strict: Vec<String>,
    rejected: usize,
    faults: usize,
    reviews: usize,
    final_state: Option<VisitState>,
}

/// Plays one schedule against a fresh server and two fresh phones.
fn run(seed: u64, steps: &[Step]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let primary = fleet.agent("wang.agent");
    let partner = fleet.agent("li.partner");
    let mut case = sample_case(primary, 0);
    case.assigned.partner = Some(partner);
    // A second case, the primary's alone, that nobody touches: it must not get
    // in the way (nor reach the partner).
    let alone = sample_case(primary, 1);
    doorstep_server::admin::import_cases(fleet.store(), &[case.clone(), alone], chrono::Utc::now())
        .unwrap();
    let open = |name: &str, agent, n: u64| {
        Phone::open(
            &fleet,
            &dir.path().join(format!("{name}.db")),
            &KEY,
            Arc::new(FixedClock::new(morning())),
            name,
            agent,
            Some((faults(), seed.wrapping_mul(31).wrapping_add(n), 120)),
        )
    };
    let phones = [
        open("wang.agent", primary, 1),
        open("li.partner", partner, 2),
    ];

    // Morning: both phones get their cases; the primary plans and notifies,
    // and the partner pulls the visit.
    let cases_on = |n: usize| move |d: &Doorstep| all_cases(d).len() == n;
    assert!(phones[0].sync_until(40, cases_on(2)));
    assert!(phones[1].sync_until(40, cases_on(1)));
    let now = phones[0].clock.now_utc();
    let visit = phones[0]
        .doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    phones[0]
        .doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    assert!(phones[0].sync_until(40, |d| d.pending_outbox_count().unwrap() == 0));
    assert!(phones[1].sync_until(40, |d| {
        d.visit_report(visit)
            .is_ok_and(|r| r.visit.state == VisitState::Notified)
    }));
    for phone in &phones {
        phone.clock.advance(Duration::hours(2));
    }

    let mut outcome = Outcome::default();
    for (serial, step) in steps.iter().enumerate() {
        match *step {
            Step::Edit(d, edit) => play(&phones[d], visit, edit, serial),
            Step::Sync(d) => {
                let _ = phones[d].sync();
            }
            Step::Review(approve) => {
                if fleet.visit(visit).map(|h| h.visit.state) == Some(VisitState::Submitted) {
                    let decision = if approve {
                        ReviewDecision::Approve
                    } else {
                        ReviewDecision::Return {
                            reason_code: "missing_photos".into(),
                            comment: "请补充说明".into(),
                        }
                    };
                    let body = serde_json::json!({ "decision": decision }).to_string();
                    assert_eq!(fleet.review(visit, body), 200);
                    outcome.reviews += 1;
                }
            }
            Step::Wait(minutes) => {
                for phone in &phones {
                    phone.clock.advance(Duration::minutes(minutes));
                }
            }
        }
    }

    // Epilogue, so every run reaches the supervisor: everybody syncs, the
    // primary takes the visit as far as submission, and the supervisor decides.
    let refs: Vec<&Phone> = phones.iter().collect();
    if settle(&refs, 8) {
        for _ in 0..6 {
            play(&phones[0], visit, Edit::Progress, steps.len());
        }
        if settle(&refs, 8)
            && fleet.visit(visit).map(|h| h.visit.state) == Some(VisitState::Submitted)
        {
            let decision = if seed.is_multiple_of(3) {
                ReviewDecision::Return {
                    reason_code: "inconsistent_outcome".into(),
                    comment: "结果与备注不一致".into(),
                }
            } else {
                ReviewDecision::Approve
            };
            let body = serde_json::json!({ "decision": decision }).to_string();
            assert_eq!(fleet.review(visit, body), 200);
            outcome.reviews += 1;
        }
    }
    if !settle(&refs, 8) {
        outcome.problems.push("the phones did not get quiet".into());
        return outcome;
    }
    (outcome.problems, outcome.strict) = check_converged(&fleet, &refs, visit);
    outcome.rejected = phones
        .iter()
        .map(|p| p.doorstep.rejected_ops().unwrap().len())
        .sum();
    for (i, phone) in phones.iter().enumerate() {
        for op in phone.doorstep.rejected_ops().unwrap() {
            outcome
                .strict
                .push(format!("(phone {i} refused op: {} {})", op.kind, op.code));
        }
    }
    if outcome.rejected == 0 || outcome.strict.len() == outcome.rejected {
        // Only the refusal lines: nothing diverged.
        outcome.strict.clear();
    }
    outcome.faults = phones.iter().map(Phone::faults_injected).sum();
    outcome.final_state = fleet.visit(visit).map(|h| h.visit.state);
    // The partner never sees the primary's other case.
    assert_eq!(all_cases(&phones[1].doorstep).len(), 1);
    outcome
}

/// Runs `cases` random schedules; `strict` demands full convergence even
/// after refused ops.
fn property(cases: u32, strict: bool) {
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 0,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (any::<u64>(), proptest::collection::vec(step(), 12..28));
    let summary = std::cell::RefCell::new(Vec::new());
    let result = runner.run(&strategy, |(seed, steps)| {
        let outcome = run(seed, &steps);
        summary.borrow_mut().push(format!(
            "{:?}: {} faults, {} reviews, {} rejected, {}+{} problems",
            outcome.final_state,
            outcome.faults,
            outcome.reviews,
            outcome.rejected,
            outcome.problems.len(),
            outcome.strict.len(),
        ));
        prop_assert!(
            outcome.problems.is_empty(),
            "lost or duplicated work: {:#?}\nschedule: {:?}",
            outcome.problems,
            steps
        );
        if strict || outcome.rejected == 0 {
            prop_assert!(
                outcome.strict.is_empty(),
                "did not converge: {:#?}\nschedule: {:?}",
                outcome.strict,
                steps
            );
        }
        Ok(())
    });
    eprintln!("{}", summary.borrow().join("\n"));
    result.unwrap();
}

#[test]
fn partners_working_one_visit_offline_converge_with_the_server() {
    property(12, false);
}

/// The full property: also after an op was refused, every phone shows what the
/// server shows. Fails today; see the two regression tests below.
#[test]
fn partners_converge_even_after_a_refused_op() {
    property(12, true);
}

/// A server, a two-person case and both partners' phones (no faults, so the
/// regression tests below are deterministic), with the visit planned and
/// notified by the primary and pulled by the partner; both clocks then stand
/// two hours later, when the check-in may happen.
struct Pair {
    _dir: tempfile::TempDir,
    fleet: Fleet,
    phones: [Phone; 2],
    visit: VisitId,
}

fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let primary = fleet.agent("wang.agent");
    let partner = fleet.agent("li.partner");
    let mut case = sample_case(primary, 0);
    case.assigned.partner = Some(partner);
    doorstep_server::admin::import_cases(fleet.store(), &[case.clone()], chrono::Utc::now())
        .unwrap();
    let open = |name: &str, agent| {
        Phone::open(
            &fleet,
            &dir.path().join(format!("{name}.db")),
            &KEY,
            Arc::new(FixedClock::new(morning())),
            name,
            agent,
            None,
        )
    };
    let phones = [open("wang.agent", primary), open("li.partner", partner)];
    for phone in &phones {
        assert!(phone.sync_until(3, |d| all_cases(d).len() == 1));
    }
    let now = phones[0].clock.now_utc();
    let visit = phones[0]
        .doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    phones[0]
        .doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    phones[0].sync().unwrap();
    phones[1].sync().unwrap();
    assert_eq!(
        phones[1].doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Notified
    );
    for phone in &phones {
        phone.clock.advance(Duration::hours(2));
    }
    Pair {
        _dir: dir,
        fleet,
        phones,
        visit,
    }
}

/// Both partners check in, the partner offline after the primary: the
/// partner's check-in is late (kept, moving nothing: the primary's moved the
/// visit on), never refused, and the note the partner typed after it reaches
/// the primary's phone. (Once, a refused check-in here cut the partner's
/// chain on the primary's phone, and every later note of the partner was
/// skipped there.)
#[test]
fn a_partners_late_check_in_is_kept_and_its_note_reaches_the_primary() {
    // `_dir` is bound so the server's directory (and its blobs) lives on.
    let Pair {
        _dir,
        fleet,
        phones,
        visit,
    } = pair();
    let [primary, partner] = &phones;
    let now = primary.clock.now_utc();
    primary.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    primary.sync().unwrap();
    // The partner, offline, checks in too, then types a note.
    partner.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    let note = partner
        .doorstep
        .add_note(visit, "邻居证实客户仍在此居住。")
        .unwrap();
    partner.sync().unwrap();
    assert!(partner.doorstep.rejected_ops().unwrap().is_empty());
    let server = fleet.visit(visit).unwrap();
    assert_eq!(server.visit.state, VisitState::CheckedIn);
    let late: Vec<&str> = server.late.iter().map(|l| l.change.kind()).collect();
    assert_eq!(late, ["checked_in"], "the partner's check-in, kept late");
    assert!(
        server.notes.iter().any(|n| n.id == note),
        "the server has it"
    );

    let report = primary.sync().unwrap();
    assert_eq!(report.skipped_entries, 0, "the primary skipped entries");
    let notes = primary.doorstep.visit_report(visit).unwrap().notes;
    assert!(
        notes.iter().any(|n| n.id == note),
        "the partner's note never reached the primary's phone"
    );
}

/// An approved visit stays as approved: the partner's note typed after an
/// approval its phone had not seen (its clock an hour slow, so stamped before
/// the submission) is refused, listed on the partner's phone with its text to
/// redo, and not shown in the approved report there. (Once, a phone folded its
/// refused ops into its report and showed a note the supervisor never saw.)
#[test]
fn a_refused_note_is_not_shown_as_part_of_the_approved_visit() {
    // `_dir` is bound so the server's directory (and its blobs) lives on.
    let Pair {
        _dir,
        fleet,
        phones,
        visit,
    } = pair();
    let [primary, partner] = &phones;
    // The partner's clock is an hour slow: its note is stamped before the
    // primary's submission although it was typed after it.
    partner.clock.advance(Duration::hours(-1));
    let now = primary.clock.now_utc();
    primary.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    primary.sync().unwrap();
    partner.sync().unwrap();
    fill_checklist(&primary.doorstep, visit);
    primary
        .doorstep
        .set_outcome(visit, promise_outcome())
        .unwrap();
    primary.clock.advance(Duration::minutes(30));
    primary
        .doorstep
        .check_out(visit, fix_at_home(primary.clock.now_utc()))
        .unwrap();
    primary.doorstep.submit(visit).unwrap();
    primary.sync().unwrap();
    let approve = serde_json::json!({ "decision": ReviewDecision::Approve }).to_string();
    assert_eq!(fleet.review(visit, approve), 200);

    let note = partner
        .doorstep
        .add_note(visit, "补充：客户配偶在场。")
        .unwrap();
    partner.sync().unwrap();
    let refused = partner.doorstep.rejected_ops().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    // What the partner typed is still in their hands, to show and redo.
    match &refused[0].change {
        Some(VisitChange::NoteAdded { note: refused_note }) => {
            assert_eq!(
                (refused_note.id, refused_note.text.as_str()),
                (note, "补充：客户配偶在场。")
            );
        }
        other => panic!("the refused op does not carry its note: {other:?}"),
    }
    let server = fleet.visit(visit).unwrap();
    assert_eq!(server.visit.state, VisitState::Approved);
    assert!(!server.notes.iter().any(|n| n.id == note));
    let report = partner.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.state, VisitState::Approved);
    assert_eq!(
        report.notes, server.notes,
        "the partner's phone shows a refused note in the approved visit"
    );
}

/// After a late check-in and a sync, the partner's next notes still link to
/// its chain and reach the server. (Once, the head of a phone's chain was
/// taken from its outbox even when newer entries were acknowledged, and
/// everything after a refused op was refused as `chain_broken`.)
#[test]
fn work_after_a_late_op_and_a_sync_still_links() {
    // `_dir` is bound so the server's directory (and its blobs) lives on.
    let Pair {
        _dir,
        fleet,
        phones,
        visit,
    } = pair();
    let [primary, partner] = &phones;
    let now = primary.clock.now_utc();
    primary.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    primary.sync().unwrap();
    partner.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    partner.doorstep.add_note(visit, "第一条。").unwrap();
    partner.sync().unwrap();

    let note = partner.doorstep.add_note(visit, "第二条。").unwrap();
    partner.sync().unwrap();
    assert!(partner.doorstep.rejected_ops().unwrap().is_empty());
    let server = fleet.visit(visit).unwrap();
    assert_eq!(server.notes.len(), 2);
    assert!(server.notes.iter().any(|n| n.id == note));
}
