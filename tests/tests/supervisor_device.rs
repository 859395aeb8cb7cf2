//! The supervisor's own device: the team's visits waiting for review, and
//! decisions sent through the core (no review request written by hand, no
//! sign-in per decision), in the visit at once and on the agent's phone after
//! its next sync. Also what the agent's screens ask the core: the actions a
//! visit allows now and the checklist items shown.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{ReviewDecision, VisitAction, VisitState};
use doorstep_core::{Doorstep, DoorstepError};
use doorstep_server::admin;
use doorstep_tests::fleet::{Fleet, Phone, SUPERVISOR};

#[test]
fn a_supervisor_decides_from_their_device_and_the_agent_receives_it() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let agent = fleet.agent("wang.agent");
    let case = sample_case(agent, 3);
    admin::import_cases(
        fleet.store(),
        std::slice::from_ref(&case),
        chrono::Utc::now(),
    )
    .unwrap();
    let open = |name: &str, user| {
        Phone::open(
            &fleet,
            &dir.path().join(format!("{name}.db")),
            &KEY,
            Arc::new(FixedClock::new(morning())),
            name,
            user,
            None,
        )
    };
    let phone = open("wang.agent", agent);
    let lead = doorstep_server::store::read(fleet.store(), |tx| tx.user_by_name(SUPERVISOR))
        .unwrap()
        .unwrap();
    let tablet = open(SUPERVISOR, lead.id);
    phone.sync().unwrap();

    // What the agent's screens may offer, as the visit goes.
    let doorstep: &Doorstep = &phone.doorstep;
    let now = phone.clock.now_utc();
    let visit = doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    assert_eq!(
        doorstep.allowed_actions(visit).unwrap(),
        [
            VisitAction::RecordNotice,
            VisitAction::CheckIn,
            VisitAction::Cancel
        ]
    );
    doorstep.record_notice(visit, phone_notice(now)).unwrap();
    phone.clock.advance(Duration::hours(2));
    doorstep
        .check_in(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    assert_eq!(
        doorstep.allowed_actions(visit).unwrap(),
        [VisitAction::Edit, VisitAction::CheckOut]
    );
    // The checklist's conditions, evaluated by the core: an item shown only
    // for some answers appears once they are given.
    let shown = |d: &Doorstep| -> Vec<String> {
        d.visible_items(visit)
            .unwrap()
            .into_iter()
            .map(|item| item.id)
            .collect()
    };
    let before = shown(doorstep);
    for (item, value) in complete_answers() {
        doorstep.answer(visit, item, value).unwrap();
    }
    doorstep
        .answer(visit, "contact_details_updated", AnswerValue::YesNo(true))
        .unwrap();
    let after = shown(doorstep);
    assert!(before.iter().all(|item| after.contains(item)));
    assert!(after.len() > before.len(), "{before:?} -> {after:?}");
    doorstep
        .answer(visit, "contact_details_updated", AnswerValue::YesNo(false))
        .unwrap();
    assert_eq!(shown(doorstep), before);
    photo_of_premises(doorstep, visit);
    doorstep.set_outcome(visit, promise_outcome()).unwrap();
    doorstep
        .check_out(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    doorstep.submit(visit).unwrap();
    assert!(doorstep.allowed_actions(visit).unwrap().is_empty());
    phone.sync().unwrap();

    // The supervisor's device holds the team's queue and decides through
    // the core.
    tablet.sync().unwrap();
    let queue = tablet.doorstep.review_queue().unwrap();
    assert_eq!(queue.iter().map(|v| v.id).collect::<Vec<_>>(), [visit]);
    let incomplete = tablet.review(
        visit,
        ReviewDecision::Return {
            reason_code: "missing_photos".into(),
            comment: " ".into(),
        },
    );
    assert!(
        matches!(incomplete, Err(DoorstepError::InvalidInput { ref field, .. }) if field == "review"),
        "{incomplete:?}"
    );
    tablet.review(visit, ReviewDecision::Approve).unwrap();
    assert_eq!(
        tablet.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Approved,
        "in the visit at once"
    );
    assert!(tablet.doorstep.review_queue().unwrap().is_empty());
    let again = tablet.review(visit, ReviewDecision::Approve).unwrap_err();
    match again {
        DoorstepError::SyncFailed { code, reason } => {
            assert_eq!(code, "refused");
            assert!(reason.contains("visit_not_submitted"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fleet.visit(visit).unwrap().visit.state,
        VisitState::Approved
    );
    phone.sync().unwrap();
    assert_eq!(
        phone.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Approved
    );
}
