//! A lost phone deactivated by an admin (issue 14 §1): on its next sync the
//! real device core sends the visit it still held, wipes its customer data
//! and confirms the wipe, and the admin's phones list (what the console's
//! phones page shows) says when. The admin acts through the same service
//! function as the console's form.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::clock::FixedClock;
use doorstep_core::sync::protocol::Role;
use doorstep_server::admin;
use doorstep_server::service::devices::{self, ListedDevice};
use doorstep_server::service::users::Actor;
use doorstep_server::store;
use doorstep_tests::fleet::{Fleet, PASSWORD, Phone};
use uuid::Uuid;

fn listed(fleet: &Fleet, admin: &store::UserRecord, device: Uuid) -> ListedDevice {
    devices::list_devices(fleet.store(), Actor::User(admin), None)
        .unwrap()
        .into_iter()
        .find(|d| d.activity.device.id == device)
        .unwrap()
}

#[test]
fn a_deactivated_phone_sends_what_it_holds_wipes_and_the_admin_sees_the_wipe_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let wang = fleet.agent("wang.agent");
    let root = admin::create_user(
        fleet.store(),
        "root",
        PASSWORD,
        Role::Admin,
        None,
        chrono::Utc::now(),
    )
    .unwrap();
    let root = store::read(fleet.store(), |tx| tx.user(root))
        .unwrap()
        .unwrap();
    let case = sample_case(wang, 3);
    admin::import_cases(
        fleet.store(),
        std::slice::from_ref(&case),
        chrono::Utc::now(),
    )
    .unwrap();
    let phone = Phone::open(
        &fleet,
        &dir.path().join("wang.db"),
        &KEY,
        Arc::new(FixedClock::new(morning())),
        "wang.agent",
        wang,
        None,
    );
    let device = phone.doorstep.device_id();
    phone.sync().unwrap();
    assert!(phone.doorstep.case_detail(case.id).is_ok());
    let seen = listed(&fleet, &root, device);
    assert!(seen.activity.registered_at.is_some());
    assert!(seen.activity.last_pull_at.is_some());
    assert_eq!(
        seen.activity.protocol_version,
        Some(doorstep_core::sync::protocol::PROTOCOL_VERSION)
    );

    // Offline, the agent plans a visit and gives notice: not yet sent.
    let now = phone.clock.now_utc();
    let visit = phone
        .doorstep
        .plan_visit(case.id, now + Duration::hours(2))
        .unwrap();
    phone
        .doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    assert!(phone.doorstep.pending_outbox_count().unwrap() > 0);

    // The phone is lost: the admin deactivates it.
    devices::deactivate_device_as(
        fleet.store(),
        Actor::User(&root),
        device,
        chrono::Utc::now(),
    )
    .unwrap();
    let waiting = listed(&fleet, &root, device);
    assert!(!waiting.activity.device.active);
    assert!(waiting.activity.deactivated_at.is_some());
    assert_eq!(waiting.activity.wipe_confirmed_at, None);

    // Its next sync sends what it held, wipes, and confirms.
    let report = phone.sync().unwrap();
    assert!(report.wiped);
    assert_eq!(
        fleet.admitted(visit).len(),
        2,
        "planned and notice reached the server"
    );
    assert!(
        phone.doorstep.case_detail(case.id).is_err(),
        "customer data wiped"
    );
    assert!(
        phone
            .doorstep
            .visit_log(visit)
            .unwrap_or_default()
            .is_empty()
    );
    let confirmed = listed(&fleet, &root, device);
    assert!(confirmed.activity.wipe_confirmed_at.is_some());
    let log = store::read(fleet.store(), |tx| tx.audit_log()).unwrap();
    assert!(log.iter().any(|r| r.action == "deactivate_device"
        && r.user == Some(root.id)
        && r.target_id == device.to_string()));
    assert!(
        log.iter()
            .any(|r| r.action == "confirm_wipe" && r.device == Some(device))
    );

    // A later sync has nothing more to confirm, and the confirmation stays.
    let again = phone.sync();
    assert!(again.is_ok(), "{again:?}");
    let still = listed(&fleet, &root, device);
    assert_eq!(
        still.activity.wipe_confirmed_at,
        confirmed.activity.wipe_confirmed_at
    );
}
