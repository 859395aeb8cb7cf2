//! An agent moved to another team by an admin (issue 14 §1): the review queue
//! on each supervisor's real device follows on its next sync. The old
//! supervisor's device lets go of the agent's submitted visit, the new one's
//! holds it and decides on it. The admin acts through the same service
//! function as the console's teams page.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{ReviewDecision, VisitState};
use doorstep_core::sync::protocol::Role;
use doorstep_server::admin;
use doorstep_server::service::teams;
use doorstep_server::service::users::Actor;
use doorstep_server::store;
use doorstep_tests::fleet::{Fleet, PASSWORD, Phone, SUPERVISOR};

#[test]
fn moving_an_agent_moves_their_submitted_visit_between_the_supervisors_devices() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let wang = fleet.agent("wang.agent");
    let now = chrono::Utc::now();
    let zhou = admin::create_user(
        fleet.store(),
        "zhou.supervisor",
        PASSWORD,
        Role::Supervisor,
        None,
        now,
    )
    .unwrap();
    let root = admin::create_user(fleet.store(), "root", PASSWORD, Role::Admin, None, now).unwrap();
    let root = store::read(fleet.store(), |tx| tx.user(root))
        .unwrap()
        .unwrap();
    let lin = store::read(fleet.store(), |tx| tx.user_by_name(SUPERVISOR))
        .unwrap()
        .unwrap();
    let case = sample_case(wang, 5);
    admin::import_cases(fleet.store(), std::slice::from_ref(&case), now).unwrap();
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
    let phone = open("wang.agent", wang);
    let lin_tablet = open(SUPERVISOR, lin.id);
    let zhou_tablet = open("zhou.supervisor", zhou);

    // Wang submits a visit.
    phone.sync().unwrap();
    let start = phone.clock.now_utc();
    let visit = phone
        .doorstep
        .plan_visit(case.id, start + Duration::hours(2))
        .unwrap();
    phone
        .doorstep
        .record_notice(visit, phone_notice(start))
        .unwrap();
    phone.clock.advance(Duration::hours(2));
    phone
        .doorstep
        .check_in(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    complete_checklist(&phone.doorstep, visit);
    phone
        .doorstep
        .set_outcome(visit, promise_outcome())
        .unwrap();
    phone
        .doorstep
        .check_out(visit, fix_at_home(phone.clock.now_utc()))
        .unwrap();
    phone.doorstep.submit(visit).unwrap();
    phone.sync().unwrap();

    let queue = |tablet: &Phone| -> Vec<_> {
        tablet.sync().unwrap();
        tablet
            .doorstep
            .review_queue()
            .unwrap()
            .into_iter()
            .map(|v| v.id)
            .collect()
    };
    assert_eq!(queue(&lin_tablet), [visit]);
    assert!(queue(&zhou_tablet).is_empty());

    // The admin moves Wang to Zhou's team.
    let moved = teams::move_agent(
        fleet.store(),
        Actor::User(&root),
        wang,
        Some(zhou),
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(moved, 1);

    assert!(queue(&lin_tablet).is_empty(), "gone from Lin's device");
    assert!(lin_tablet.doorstep.case_detail(case.id).is_err());
    assert_eq!(queue(&zhou_tablet), [visit], "on Zhou's device");
    zhou_tablet.review(visit, ReviewDecision::Approve).unwrap();
    assert_eq!(
        fleet.visit(visit).unwrap().visit.state,
        VisitState::Approved
    );
}
