//! The bank's field policy comes from its server: a pull brings the version
//! in force, the device's own rules use it from then on (and after a
//! restart), an older or equal version changes nothing, and one that makes
//! no sense is ignored while the device keeps the one it has.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use chrono::{Duration, NaiveTime};
use common::*;
use doorstep_core::policy::{Policy, PublishedPolicy};
use doorstep_core::sync::protocol::RejectCode;
use fake_server::*;

/// Contact hours from noon: the test's check-ins are at 11:00 local.
fn afternoons(version: u32) -> PublishedPolicy {
    PublishedPolicy {
        version,
        policy: Policy {
            contact_hours_start: NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
            ..Policy::default()
        },
    }
}

#[test]
fn the_policy_the_server_sends_is_the_one_the_device_enforces() {
    let mut field = field();
    let server = FakeServer::new(field.agent);
    assert_eq!(field.doorstep.policy_version().unwrap(), None);
    assert_eq!(*field.doorstep.policy(), Policy::default());

    server.with(|s| s.policy = Some(afternoons(3)));
    sync(&field, &server).unwrap();
    assert_eq!(field.doorstep.policy_version().unwrap(), Some(3));
    assert_eq!(*field.doorstep.policy(), afternoons(3).policy);

    // A check-in at 11:00 local, fine under the default, is now refused.
    let case = field.cases[0].id;
    let visit = planned_and_notified(&field, case);
    field.clock.advance(Duration::hours(2));
    let refused = field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap_err();
    assert_eq!(refused.rule(), Some(RejectCode::PolicyViolation));

    // It is kept across a restart, whatever the app opens with.
    field.reopen();
    assert_eq!(*field.doorstep.policy(), afternoons(3).policy);

    // An older version, or a policy that makes no sense, changes nothing.
    server.with(|s| {
        s.policy = Some(PublishedPolicy {
            version: 2,
            policy: Policy::default(),
        })
    });
    sync(&field, &server).unwrap();
    assert_eq!(*field.doorstep.policy(), afternoons(3).policy);
    let mut nonsense = afternoons(4);
    nonsense.policy.contact_hours_end = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
    server.with(|s| s.policy = Some(nonsense));
    sync(&field, &server).unwrap();
    assert_eq!(field.doorstep.policy_version().unwrap(), Some(3));

    // A newer one is taken up at once: the same check-in now passes.
    server.with(|s| {
        s.policy = Some(PublishedPolicy {
            version: 5,
            policy: Policy::default(),
        })
    });
    sync(&field, &server).unwrap();
    assert_eq!(field.doorstep.policy_version().unwrap(), Some(5));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
}
