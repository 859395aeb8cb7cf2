//! Phone clocks are wrong. A phone whose clock runs behind works normally: its
//! own actions keep their order (the hybrid logical clock, not the wall clock,
//! orders them), the supervisor's decisions land after everything they decide
//! on, and the contact-hours and notice rules judge by the phone's own
//! (wrong) clock, as `Policy::assess_check_in` documents. A phone whose clock
//! runs far ahead cannot make its stamps win: the server refuses its entries
//! as `clock_ahead` (beyond `MAX_CLOCK_SKEW_HOURS` of the server's own clock),
//! lists them on the phone with what they held, and once the phone's clock is
//! right again its clock is set back and its new work is accepted.
//!
//! (Before the server compared stamps with its own clock, a phone seven days
//! ahead won every concurrent edit of a scalar field for seven days, even
//! edits made later in real time, and a partner that had seen its stamps went
//! on from them.)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{ReviewDecision, VisitHistory, VisitId, VisitState};
use doorstep_core::event_log::LogEntry;
use doorstep_core::{Doorstep, DoorstepError};
use doorstep_server::service::SERVER_NODE;
use doorstep_tests::fleet::{Fleet, Phone};
use uuid::Uuid;

fn approve() -> String {
    serde_json::json!({ "decision": ReviewDecision::Approve }).to_string()
}

fn send_back() -> String {
    serde_json::json!({ "decision": ReviewDecision::Return {
        reason_code: "missing_photos".into(),
        comment: "请补充门牌号照片".into(),
    }})
    .to_string()
}

fn policy_code(result: Result<impl std::fmt::Debug, DoorstepError>) -> String {
    match result {
        Err(DoorstepError::PolicyViolation { code, .. }) => code,
        other => panic!("expected a policy refusal, got {other:?}"),
    }
}

/// Every phone shows exactly the server's fold of its admitted entries.
fn assert_converged(fleet: &Fleet, phones: &[&Phone], visit: VisitId) -> VisitHistory {
    let server = fleet.visit(visit).unwrap();
    for (i, phone) in phones.iter().enumerate() {
        assert!(
            phone.doorstep.rejected_ops().unwrap().is_empty(),
            "phone {i}"
        );
        let report = phone.doorstep.visit_report(visit).unwrap();
        assert_eq!(report.visit, server.visit, "phone {i}: header");
        assert_eq!(report.notes, server.notes, "phone {i}: notes");
        assert_eq!(
            report.attachments, server.attachments,
            "phone {i}: attachments"
        );
        let answers: Vec<_> = report
            .answers
            .iter()
            .map(|a| (a.item_id.clone(), a.value.clone(), a.stamp))
            .collect();
        let expected: Vec<_> = report
            .answers
            .iter()
            .filter_map(|a| {
                server
                    .answers
                    .get(&a.item_id)
                    .map(|s| (a.item_id.clone(), s.value.clone(), s.stamp))
            })
            .collect();
        assert_eq!(answers, expected, "phone {i}: answers");
        assert_eq!(report.answers.len(), server.answers.len(), "phone {i}");
    }
    server
}

/// Each author's chain on the server carries strictly increasing stamps: the
/// order in which a phone did things is the order its stamps give, whatever its
/// wall clock did. Returns the chains.
fn assert_own_order_kept(entries: &[LogEntry]) -> HashMap<Uuid, Vec<LogEntry>> {
    let mut chains: HashMap<Uuid, Vec<LogEntry>> = HashMap::new();
    for entry in entries {
        chains.entry(entry.author).or_default().push(entry.clone());
    }
    for (author, chain) in &mut chains {
        chain.sort_by_key(|e| e.seq);
        for pair in chain.windows(2) {
            assert!(
                pair[0].hlc < pair[1].hlc,
                "{author}: seq {} stamped {} is not before seq {} stamped {}",
                pair[0].seq,
                pair[0].hlc,
                pair[1].seq,
                pair[1].hlc
            );
        }
    }
    chains
}

/// The supervisor decides; the server's review entry is stamped after every
/// entry the visit held when the decision was made, so it folds last.
fn review(fleet: &Fleet, visit: VisitId, decision: String) {
    let before = fleet.admitted(visit);
    assert_eq!(fleet.review(visit, decision), 200);
    let after = fleet.admitted(visit);
    assert_eq!(after.len(), before.len() + 1);
    let entry = after
        .iter()
        .find(|e| !before.iter().any(|b| b.op_id == e.op_id))
        .unwrap();
    assert_eq!(
        (entry.author, entry.kind.as_str()),
        (SERVER_NODE, "reviewed")
    );
    let latest = before.iter().map(|e| e.hlc).max().unwrap();
    assert!(entry.hlc > latest, "review {} !> {}", entry.hlc, latest);
}

struct Skewed {
    _dir: tempfile::TempDir,
    fleet: Fleet,
    fast: Phone,
    slow: Phone,
    case: doorstep_core::domain::Case,
}

/// 09:00 in Beijing (01:00 UTC) on the server's day, shifted by `days`: the
/// server compares stamps with its real clock, so the phones' clocks are set
/// relative to it.
fn nine_am(days: i64) -> chrono::DateTime<chrono::Utc> {
    let today = chrono::Utc::now().date_naive() + Duration::days(days);
    today.and_hms_opt(1, 0, 0).unwrap().and_utc()
}

/// A two-person case; the primary's phone runs seven days ahead of the
/// server, the partner's seven days behind (both at 09:00 Beijing on their
/// own clocks).
fn skewed_pair() -> Skewed {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let primary = fleet.agent("wang.agent");
    let partner = fleet.agent("li.partner");
    let mut case = sample_case(primary, 0);
    case.assigned.partner = Some(partner);
    doorstep_server::admin::import_cases(fleet.store(), &[case.clone()], chrono::Utc::now())
        .unwrap();
    let open = |name: &str, agent, skew_days: i64| {
        Phone::open(
            &fleet,
            &dir.path().join(format!("{name}.db")),
            &KEY,
            Arc::new(FixedClock::new(nine_am(skew_days))),
            name,
            agent,
            None,
        )
    };
    let fast = open("wang.agent", primary, 7);
    let slow = open("li.partner", partner, -7);
    for phone in [&fast, &slow] {
        assert!(phone.sync_until(3, |d: &Doorstep| all_cases(d).len() == 1));
    }
    Skewed {
        _dir: dir,
        fleet,
        fast,
        slow,
        case,
    }
}

#[test]
fn a_clock_far_ahead_wins_nothing_and_a_slow_one_still_lands_after_reviews() {
    // `_dir` is bound so the server's directory (and its blobs) lives on.
    let Skewed {
        _dir,
        fleet,
        fast,
        slow,
        case,
    } = skewed_pair();
    // The partner, a week behind, plans the visit, gives notice and checks
    // in two hours later by its clock.
    let now = slow.clock.now_utc();
    let visit = slow
        .doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    slow.doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    slow.clock.advance(Duration::hours(2));
    slow.doorstep
        .check_in(visit, fix_at_home(slow.clock.now_utc()))
        .unwrap();
    slow.sync().unwrap();
    fast.sync().unwrap();
    assert_eq!(
        fast.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::CheckedIn
    );

    // The primary's phone, a week ahead, answers and writes a note; the
    // server refuses both, and the phone lists them with what they held.
    fast.doorstep
        .answer(visit, "ability_to_repay", AnswerValue::Integer(2))
        .unwrap();
    let fast_note = fast
        .doorstep
        .add_note(visit, "客户称下月起有固定工资。")
        .unwrap();
    fast.sync().unwrap();
    let refused = fast.doorstep.rejected_ops().unwrap();
    assert_eq!(
        refused.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        ["clock_ahead", "clock_ahead"]
    );
    assert!(refused.iter().any(|r| matches!(
        &r.change,
        Some(doorstep_core::domain::VisitChange::NoteAdded { note }) if note.id == fast_note
    )));
    // The partner's later answer stands: the week-ahead stamp did not win.
    slow.doorstep
        .answer(visit, "ability_to_repay", AnswerValue::Integer(5))
        .unwrap();
    slow.sync().unwrap();
    let server = fleet.visit(visit).unwrap();
    assert_eq!(
        server.answers["ability_to_repay"].value,
        AnswerValue::Integer(5)
    );
    assert!(server.notes.is_empty());

    // The primary's clock is put right (network time): its clock was set back
    // after the refusal, so the note it writes again is accepted.
    fast.clock.set(nine_am(0) + Duration::hours(2));
    let again = fast
        .doorstep
        .add_note(visit, "客户称下月起有固定工资。")
        .unwrap();
    fast.sync().unwrap();
    assert_eq!(fast.doorstep.rejected_ops().unwrap().len(), 2);
    let server = fleet.visit(visit).unwrap();
    assert_eq!(
        server.notes.iter().map(|n| n.id).collect::<Vec<_>>(),
        [again]
    );

    // The partner receives that note, completes and submits; the supervisor
    // returns it.
    slow.sync().unwrap();
    fill_rest(&slow.doorstep, visit);
    photo_of_premises(&slow.doorstep, visit);
    slow.doorstep.set_outcome(visit, promise_outcome()).unwrap();
    slow.clock.advance(Duration::minutes(40));
    slow.doorstep
        .check_out(visit, fix_at_home(slow.clock.now_utc()))
        .unwrap();
    slow.doorstep.submit(visit).unwrap();
    slow.sync().unwrap();
    assert!(
        slow.doorstep.rejected_ops().unwrap().is_empty(),
        "{:?}",
        slow.doorstep.rejected_ops().unwrap()
    );
    review(&fleet, visit, send_back());

    // The slow phone gets the return, fixes the report and resubmits: its
    // actions come after the review although its clock is a week behind.
    slow.sync().unwrap();
    assert_eq!(
        slow.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Returned
    );
    slow.doorstep
        .add_note(visit, "门牌号照片已由主办人补拍。")
        .unwrap();
    slow.doorstep.submit(visit).unwrap();
    slow.sync().unwrap();
    assert!(slow.doorstep.rejected_ops().unwrap().is_empty());
    assert_eq!(
        fleet.visit(visit).unwrap().visit.state,
        VisitState::Submitted
    );
    review(&fleet, visit, approve());
    for phone in [&fast, &slow, &fast] {
        phone.sync().unwrap();
    }

    let server = fleet.visit(visit).unwrap();
    assert_eq!(server.visit.state, VisitState::Approved);
    assert_eq!(server.visit.reviews.len(), 2);
    assert_eq!(server.visit.submissions, 2);
    assert_eq!(server.skipped, 0, "no change was skipped in the fold");
    for phone in [&fast, &slow] {
        let report = phone.doorstep.visit_report(visit).unwrap();
        assert_eq!(report.visit, server.visit);
        assert_eq!(report.notes, server.notes);
    }
    let admitted = fleet.admitted(visit);
    assert!(admitted.iter().all(|e| e.hlc.millis
        <= u64::try_from((chrono::Utc::now() + Duration::hours(4)).timestamp_millis()).unwrap()));
    assert_own_order_kept(&admitted);
    assert_eq!(server.notes.len(), 2);
}

/// Answers every required item the skewed test has not answered, and attaches
/// the premises photo.
fn fill_rest(doorstep: &Doorstep, visit: VisitId) {
    // The test answered the ability to repay itself.
    let rest = complete_answers()
        .into_iter()
        .filter(|(item, _)| *item != "ability_to_repay");
    for (item, value) in rest {
        doorstep.answer(visit, item, value).unwrap();
    }
}

#[test]
fn a_clock_jumping_back_mid_visit_keeps_the_agents_order() {
    let Skewed {
        _dir,
        fleet,
        fast: phone,
        case,
        ..
    } = skewed_pair();
    // This phone starts right (the skew is removed) and then misbehaves.
    phone.clock.set(morning());
    let now = phone.clock.now_utc();
    let visit = phone
        .doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    phone
        .doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();

    // 11:00 in Beijing, then the clock jumps back to 07:30: contact hours are
    // judged by the phone's clock, so the check-in is refused.
    phone.clock.advance(Duration::hours(2));
    phone.clock.advance(Duration::minutes(-210));
    let refused = phone
        .doorstep
        .check_in(visit, fix_at_home(phone.clock.now_utc()));
    assert_eq!(policy_code(refused), "outside_contact_hours");
    // Corrected to 11:05, the agent checks in and types a note.
    phone.clock.set(morning() + Duration::minutes(125));
    let checked_in = phone
        .doorstep
        .check_in(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    let first = phone.doorstep.add_note(visit, "第一条记录。").unwrap();
    phone
        .doorstep
        .answer(visit, "ability_to_repay", AnswerValue::Integer(1))
        .unwrap();
    // Mid-visit the clock jumps back an hour and a half (the network "fixed" it).
    phone.clock.advance(Duration::minutes(-90));
    let second = phone.doorstep.add_note(visit, "第二条记录。").unwrap();
    phone
        .doorstep
        .answer(visit, "ability_to_repay", AnswerValue::Integer(3))
        .unwrap();
    fill_rest(&phone.doorstep, visit);
    photo_of_premises(&phone.doorstep, visit);
    phone
        .doorstep
        .set_outcome(visit, promise_outcome())
        .unwrap();
    let checked_out = phone
        .doorstep
        .check_out(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    phone.doorstep.submit(visit).unwrap();
    // Wall time says the agent left before arriving; the stamps say otherwise.
    assert!(checked_out.at < checked_in.at);

    let report = phone.doorstep.visit_report(visit).unwrap();
    let kinds: Vec<&str> = report.timeline.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"planned"));
    assert_eq!(kinds.last(), Some(&"submitted"));
    let position = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(position("checked_in") < position("checked_out"));
    // The second note is written "earlier" by wall time but stays second.
    let notes: Vec<Uuid> = report.notes.iter().map(|n| n.id).collect();
    assert_eq!(notes, vec![first, second]);
    assert!(report.notes[1].written_at < report.notes[0].written_at);
    // The later answer wins although its wall time is earlier.
    let ability = report
        .answers
        .iter()
        .find(|a| a.item_id == "ability_to_repay")
        .unwrap();
    assert_eq!(ability.value, AnswerValue::Integer(3));

    assert!(phone.sync_until(3, |d| d.pending_outbox_count().unwrap() == 0));
    review(&fleet, visit, approve());
    phone.sync().unwrap();
    let server = assert_converged(&fleet, &[&phone], visit);
    assert_eq!(server.visit.state, VisitState::Approved);
    assert_eq!(server.skipped, 0);
    let admitted = fleet.admitted(visit);
    assert_own_order_kept(&admitted);
}
