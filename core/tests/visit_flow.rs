//! A visit from plan to submission through the facade, and the refusals on the way.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use doorstep_core::domain::VisitState;
use doorstep_core::report::LogVerification;

#[test]
fn a_complete_visit_is_submitted_with_its_whole_report() {
    let field = field();
    let case = field.cases[0].id;
    let visit = play_complete_visit(&field, case);
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.state, VisitState::Submitted);
    assert!(
        report.checklist_problems.is_empty(),
        "{:?}",
        report.checklist_problems
    );
    assert_eq!(report.answers.len(), 10);
    assert_eq!(report.notes.len(), 1);
    assert_eq!(report.attachments.len(), 1);
    assert!(matches!(report.log, LogVerification::Intact { .. }));
    assert_eq!(report.timeline.first().unwrap().kind, "planned");
    assert_eq!(report.timeline.last().unwrap().kind, "submitted");
    assert_eq!(report.unsynced_entries as usize, report.timeline.len());
}

use chrono::Duration;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::domain::{CaseStatus, Outcome, OutcomeCode};
use doorstep_core::policy::{CheckInFlag, GeoPoint};
use doorstep_core::{CaseQuery, DoorstepError};

fn policy_code(error: DoorstepError) -> String {
    match error {
        DoorstepError::PolicyViolation { code, .. } => code,
        other => panic!("expected a policy violation, got {other:?}"),
    }
}

#[test]
fn check_in_needs_a_notice_given_early_enough() {
    let field = field();
    let now = field.clock.now_utc();
    let visit = field.doorstep.plan_visit(field.cases[0].id, now).unwrap();
    let refused = field
        .doorstep
        .check_in(visit, fix_at_home(now))
        .unwrap_err();
    assert_eq!(policy_code(refused), "notice_missing");

    field
        .doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    field.clock.advance(Duration::minutes(10));
    let refused = field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap_err();
    assert_eq!(policy_code(refused), "notice_too_late");
    assert_eq!(
        field.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Notified
    );

    field.clock.advance(Duration::minutes(20));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
}

#[test]
fn check_in_is_refused_outside_contact_hours_in_the_case_local_time() {
    let field = field();
    let visit = planned_and_notified(&field, field.cases[0].id);
    // 09:00 Beijing + 12 h = 21:00 Beijing: the window is closed.
    field.clock.advance(Duration::hours(12));
    let refused = field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap_err();
    assert_eq!(policy_code(refused), "outside_contact_hours");
    // Next morning at 08:00 it opens again.
    field.clock.advance(Duration::hours(11));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
}

#[test]
fn a_doubtful_check_in_is_allowed_but_flagged_for_the_supervisor() {
    let field = field();
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    let mut fix = fix_at_home(field.clock.now_utc());
    fix.point = GeoPoint {
        latitude: HOME.latitude + 0.01, // about 1.1 km north
        longitude: HOME.longitude,
    };
    fix.accuracy_m = 250.0;
    fix.mocked = true;
    let check = field.doorstep.check_in(visit, fix).unwrap();
    assert!(check.distance_m.unwrap() > 1_000.0);
    for flag in [
        CheckInFlag::FarFromAddress,
        CheckInFlag::PoorGpsAccuracy,
        CheckInFlag::MockedLocation,
    ] {
        assert!(
            check.flags.contains(&flag),
            "{flag:?} missing from {:?}",
            check.flags
        );
    }
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.check_in.unwrap().flags, check.flags);
}

#[test]
fn submitting_an_incomplete_checklist_lists_every_problem_and_changes_nothing() {
    let field = field();
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    field
        .doorstep
        .answer(visit, "identity_confirmed", AnswerValue::YesNo(true))
        .unwrap();
    field
        .doorstep
        .answer(visit, "overdue_reason", AnswerValue::Choice("other".into()))
        .unwrap();
    field
        .doorstep
        .set_outcome(visit, promise_outcome())
        .unwrap();
    field
        .doorstep
        .check_out(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    let pending = field.doorstep.pending_outbox_count().unwrap();

    let DoorstepError::IncompleteChecklist { problems } = field.doorstep.submit(visit).unwrap_err()
    else {
        panic!("expected an incomplete checklist");
    };
    let items: Vec<&str> = problems.iter().map(|p| p.item_id.as_str()).collect();
    for expected in [
        "address_confirmed",
        "overdue_reason_other",
        "household_situation",
        "premises_photos",
    ] {
        assert!(items.contains(&expected), "{expected} not in {items:?}");
    }
    assert!(!items.contains(&"identity_confirmed"));
    assert!(
        !items.contains(&"new_phone"),
        "hidden items are not required"
    );
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending);
    assert_eq!(
        field.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::CheckedOut
    );

    complete_checklist(&field.doorstep, visit);
    field
        .doorstep
        .answer(
            visit,
            "overdue_reason_other",
            AnswerValue::Text("家人生病住院".into()),
        )
        .unwrap();
    field.doorstep.submit(visit).unwrap();
}

#[test]
fn nobody_home_needs_an_outcome_but_no_checklist() {
    let field = field();
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    field
        .doorstep
        .check_out(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    let refused = field.doorstep.submit(visit).unwrap_err();
    assert_eq!(refused.code(), "missing_outcome", "{refused:?}");
    let not_home = Outcome {
        code: OutcomeCode::NotHome,
        promise: None,
        plan: None,
        ability_to_repay: None,
        willingness_to_repay: None,
        summary: "敲门无人应答，邻居称白天上班".into(),
    };
    field.doorstep.set_outcome(visit, not_home).unwrap();
    field.doorstep.submit(visit).unwrap();
    // The attempt is in review; another attempt can be planned.
    field
        .doorstep
        .plan_visit(field.cases[0].id, field.clock.now_utc())
        .unwrap();
}

#[test]
fn actions_out_of_order_are_illegal_transitions() {
    let field = field();
    let visit = field
        .doorstep
        .plan_visit(field.cases[0].id, field.clock.now_utc())
        .unwrap();
    let illegal = |e: DoorstepError| match e {
        DoorstepError::IllegalTransition { state, action } => (state, action),
        other => panic!("expected an illegal transition, got {other:?}"),
    };
    let e = field
        .doorstep
        .answer(visit, "identity_confirmed", AnswerValue::YesNo(true))
        .unwrap_err();
    assert_eq!(illegal(e), ("planned".into(), "edit".into()));
    let e = field
        .doorstep
        .check_out(visit, fix_at_home(field.clock.now_utc()))
        .unwrap_err();
    assert_eq!(illegal(e), ("planned".into(), "check_out".into()));
    let e = field.doorstep.submit(visit).unwrap_err();
    assert_eq!(illegal(e), ("planned".into(), "submit".into()));
    field.doorstep.cancel(visit, "客户来电改约").unwrap();
    let e = field
        .doorstep
        .record_notice(visit, phone_notice(field.clock.now_utc()))
        .unwrap_err();
    assert_eq!(illegal(e), ("cancelled".into(), "record_notice".into()));

    let submitted = play_complete_visit(&field, field.cases[1].id);
    let e = field.doorstep.add_note(submitted, "补充说明").unwrap_err();
    assert_eq!(illegal(e), ("submitted".into(), "edit".into()));
}

#[test]
fn a_case_has_one_visit_in_the_agent_hands_and_only_assigned_cases_can_be_visited() {
    let field = field();
    let case = field.cases[0].id;
    field
        .doorstep
        .plan_visit(case, field.clock.now_utc())
        .unwrap();
    let twice = field
        .doorstep
        .plan_visit(case, field.clock.now_utc())
        .unwrap_err();
    assert_eq!(twice.code(), "not_allowed");

    let mut foreign = sample_case(uuid::Uuid::now_v7(), 99);
    foreign.external_ref = "CC-OTHER".into();
    let snapshot = doorstep_core::ServerSnapshot {
        agent: field.agent,
        templates: vec![],
        cases: vec![foreign.clone()],
    };
    field.doorstep.apply_snapshot(&snapshot).unwrap();
    let refused = field
        .doorstep
        .plan_visit(foreign.id, field.clock.now_utc())
        .unwrap_err();
    assert_eq!(refused.code(), "not_allowed");
}

#[test]
fn the_case_list_sorts_by_priority_then_due_date_and_filters() {
    let field = field_with(40);
    let page = |query: CaseQuery| field.doorstep.list_cases(&query).unwrap();
    let all = page(CaseQuery {
        limit: 200,
        ..CaseQuery::default()
    });
    assert_eq!(all.len(), 40);
    for pair in all.windows(2) {
        let key = |c: &doorstep_core::CaseSummary| (std::cmp::Reverse(c.priority), c.due_date);
        assert!(key(&pair[0]) <= key(&pair[1]), "out of order: {pair:?}");
    }
    let first = page(CaseQuery {
        limit: 15,
        ..CaseQuery::default()
    });
    let second = page(CaseQuery {
        limit: 15,
        offset: 15,
        ..CaseQuery::default()
    });
    assert_eq!([first.clone(), second].concat(), all[..30].to_vec());

    let case = &field.cases[7];
    field
        .doorstep
        .plan_visit(case.id, field.clock.now_utc())
        .unwrap();
    let in_progress = page(CaseQuery {
        status: Some(CaseStatus::InProgress),
        limit: 50,
        ..CaseQuery::default()
    });
    assert_eq!(
        in_progress.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![case.id]
    );

    let by_name = page(CaseQuery {
        text: Some(case.customer.name.clone()),
        limit: 50,
        ..CaseQuery::default()
    });
    assert!(by_name.iter().any(|c| c.id == case.id));
    let digits: String = case.customer.phones[0]
        .number
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let by_phone = page(CaseQuery {
        text: Some(digits[digits.len() - 6..].to_owned()),
        limit: 50,
        ..CaseQuery::default()
    });
    assert!(by_phone.iter().any(|c| c.id == case.id));
    let bucket = case.bucket();
    let by_bucket = page(CaseQuery {
        bucket: Some(bucket),
        limit: 50,
        ..CaseQuery::default()
    });
    assert!(!by_bucket.is_empty() && by_bucket.iter().all(|c| c.bucket == bucket));
}

#[test]
fn after_a_restart_the_chain_and_the_clock_continue_even_if_the_wall_clock_went_back() {
    let mut field = field();
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    let device = field.doorstep.device_id();
    let before = field.doorstep.visit_log(visit).unwrap();

    field.reopen();
    assert_eq!(field.doorstep.device_id(), device);
    assert_eq!(
        field.doorstep.pending_outbox_count().unwrap(),
        before.len() as u64
    );
    // The phone's clock is set back three days, into the night: answers still
    // record (no hours rule for edits) and order after everything before.
    field.clock.advance(Duration::days(-3));
    field
        .doorstep
        .answer(visit, "identity_confirmed", AnswerValue::YesNo(true))
        .unwrap();
    let after = field.doorstep.visit_log(visit).unwrap();
    assert_eq!(after.len(), before.len() + 1);
    let newest = after.last().unwrap();
    assert!(before.iter().all(|e| e.hlc < newest.hlc));
    assert_eq!(newest.prev_hash, before.last().unwrap().hash);
    assert!(matches!(
        field.doorstep.visit_report(visit).unwrap().log,
        LogVerification::Intact { .. }
    ));
}

#[test]
fn a_two_person_visit_names_the_partner() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(doorstep_core::clock::FixedClock::new(morning()));
    let doorstep = doorstep_core::Doorstep::open_with_clock(
        &dir.path().join("pair.db"),
        &KEY,
        doorstep_core::policy::Policy::default(),
        clock,
    )
    .unwrap();
    let (me, partner) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let mut case = sample_case(partner, 1);
    case.assigned.partner = Some(me);
    doorstep
        .apply_snapshot(&doorstep_core::ServerSnapshot {
            agent: me,
            templates: vec![doorstep_core::checklist::home_verification()],
            cases: vec![case.clone()],
        })
        .unwrap();
    let visit = doorstep.plan_visit(case.id, morning()).unwrap();
    let report = doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.agent, me);
    assert_eq!(report.visit.partner, Some(partner));
}
