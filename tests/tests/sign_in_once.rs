//! The password is asked once (issue 13 §5): a real device core against a
//! real server on loopback signs in with the agent's password, then renews
//! its sign-in with the refresh credential it keeps in its encrypted database,
//! rotated on every use. An admin revokes the device's sign-in: the next sync
//! asks for the password, the queue waits untouched, and once the agent has
//! signed in again it drains, every action on the server once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use doorstep_core::checklist::home_verification;
use doorstep_core::clock::FixedClock;
use doorstep_core::policy::Policy;
use doorstep_core::sync::protocol::Role;
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, DoorstepError, NoProgress};
use doorstep_server::store::{self, Store};
use doorstep_server::{admin, service};
use doorstep_tests::server::TestServer;

const PASSWORD: &str = "s3cret-field-pass";

/// How many audit rows of `action` name the device.
fn audited(store: &dyn Store, action: &str, device: uuid::Uuid) -> usize {
    store::read(store, |tx| tx.audit_log())
        .unwrap()
        .into_iter()
        .filter(|row| row.action == action && row.device == Some(device))
        .count()
}

#[test]
fn signed_in_once_a_phone_renews_its_sign_in_and_a_revoked_one_asks_again_and_loses_nothing() {
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
    let cases: Vec<_> = (0..2).map(|i| sample_case(agent, i)).collect();
    admin::import_cases(store, &cases, now).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep =
        Doorstep::open_with_clock(&path, &KEY, Policy::default(), clock.clone()).unwrap();
    doorstep.set_device_utc_offset(480).unwrap();
    let device = doorstep.device_id();
    let transport = UreqTransport::new(&server.url(), Duration::from_secs(10));

    // Not signed in yet: the sync asks for it.
    let refused = doorstep.sync_now(&transport, &NoProgress).unwrap_err();
    assert!(matches!(refused, DoorstepError::SignInRequired { .. }));

    // The sign-in screen: the password once (the phone registers itself).
    assert_eq!(
        doorstep
            .sign_in(&transport, "wang.agent", PASSWORD)
            .unwrap(),
        agent
    );
    let report = doorstep.sync_now(&transport, &NoProgress).unwrap();
    assert_eq!(report.pulled, 3, "two cases and the template");
    let visit = doorstep
        .plan_visit(cases[0].id, clock.now_utc() + chrono::Duration::hours(2))
        .unwrap();
    let report = doorstep.sync_now(&transport, &NoProgress).unwrap();
    assert_eq!(report.applied, 1);

    // Days of work: each day the server no longer takes the token (as when
    // it expires) and the phone renews its sign-in with the credential,
    // never the password.
    for day in 1..=3 {
        store::write(store, |tx| tx.revoke_device_tokens(device)).unwrap();
        clock.advance(chrono::Duration::minutes(10));
        doorstep
            .record_notice(visit, phone_notice(clock.now_utc()))
            .unwrap();
        let report = doorstep.sync_now(&transport, &NoProgress).unwrap();
        assert_eq!(report.applied, 1, "day {day}");
    }
    assert_eq!(audited(store, "login", device), 1);
    assert_eq!(audited(store, "refresh", device), 3);
    // Nothing in the decrypted database holds the password.
    let raw = raw_connection(&path);
    let kept: Vec<String> = raw
        .prepare("SELECT value FROM meta")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!kept.iter().any(|value| value.contains(PASSWORD)));
    drop(raw);

    // The admin revokes the phone's sign-in; the agent works on meanwhile.
    service::refresh::revoke_device_sign_in(
        store,
        service::users::Actor::CommandLine,
        device,
        Utc::now(),
    )
    .unwrap();
    let other = doorstep
        .plan_visit(cases[1].id, clock.now_utc() + chrono::Duration::hours(2))
        .unwrap();
    doorstep
        .record_notice(other, phone_notice(clock.now_utc()))
        .unwrap();
    let waiting = doorstep.pending_outbox_count().unwrap();
    assert_eq!(waiting, 2);
    let refused = doorstep.sync_now(&transport, &NoProgress).unwrap_err();
    assert!(
        matches!(refused, DoorstepError::SignInRequired { .. }),
        "{refused:?}"
    );
    assert!(!doorstep.is_signed_in().unwrap());
    assert_eq!(doorstep.pending_outbox_count().unwrap(), waiting);

    // Signed in again, the queue drains: every action on the server once.
    doorstep
        .sign_in(&transport, "wang.agent", PASSWORD)
        .unwrap();
    let report = doorstep.sync(&transport, &NoProgress).unwrap();
    assert_eq!((report.applied, report.duplicates), (waiting, 0));
    assert_eq!(doorstep.pending_outbox_count().unwrap(), 0);
    let on_server = |visit| {
        store::read(store, |tx| tx.visit_entries(visit))
            .unwrap()
            .len()
    };
    assert_eq!(on_server(visit), 4);
    assert_eq!(on_server(other), 2);
    assert_eq!(audited(store, "login", device), 2);
}
