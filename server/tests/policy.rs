//! The bank's field policy on the server: an admin publishes versions, every
//! pull carries the one in force, pushes are checked against it with the
//! phones' own rules (a phone that had not pulled a stricter one yet keeps
//! its work for a grace period), and a policy that makes no sense, names a
//! field the policy lacks or changes nothing is refused. On SQLite and on
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::domain::VisitChange;
use doorstep_core::policy::Policy;
use doorstep_server::admin;
use doorstep_server::service::policy::POLICY_GRACE_DAYS;
use doorstep_server::store;
use uuid::Uuid;

on_both_backends!(
    a_published_policy_reaches_every_pull_and_judges_pushes,
    a_policy_that_makes_no_sense_or_changes_nothing_is_refused,
);

/// Contact hours that end at 16:00: the test visits check in at 17:00 in
/// the case's time zone (09:00 UTC, +08:00).
const SHORT_DAY: &str = r#"{ "contact_hours_start": "08:00:00", "contact_hours_end": "16:00:00" }"#;

/// A visit of case 1 by agent 1, checked in at 17:00 local.
fn visit(w: &World) -> Vec<doorstep_core::event_log::LogEntry> {
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    [
        planned(&w.case1),
        notice(),
        VisitChange::CheckedIn { check: site() },
    ]
    .iter()
    .map(|c| phone.act(c))
    .collect()
}

async fn publish(w: &World, text: &'static str) -> Result<u32, doorstep_server::ServiceError> {
    let store = Arc::clone(&w.state.store);
    let now = w.state.clock.now();
    tokio::task::spawn_blocking(move || {
        let policy = admin::policy_from_json(text)?;
        admin::publish_policy(store.as_ref(), &policy, now)
    })
    .await
    .unwrap()
}

async fn a_published_policy_reaches_every_pull_and_judges_pushes(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    // Before any is published the default is in force, and pulls say nothing.
    let page = w.pull(&token, 0, 100).await;
    assert!(page.get("policy").is_none(), "{page}");

    assert_eq!(publish(&w, SHORT_DAY).await.unwrap(), 1);
    for token in [
        token.clone(),
        w.login("sup_b", w.sup_b_phone).await,
        w.login("agent3", w.phone3).await,
    ] {
        let page = w.pull(&token, 0, 100).await;
        assert_eq!(page["policy"]["version"], 1);
        assert_eq!(page["policy"]["policy"]["contact_hours_end"], "16:00:00");
        // Fields the file left out keep the defaults.
        assert_eq!(
            page["policy"]["policy"]["geofence_radius_m"],
            Policy::default().geofence_radius_m
        );
    }

    // A phone that has not pulled it yet checked in under the default: kept.
    assert_eq!(w.push_outcomes(&token, &visit(&w)).await, ["applied"; 3]);
    // Once the grace period is over, the policy in force alone judges.
    w.clock.advance(Duration::days(POLICY_GRACE_DAYS + 1));
    let token = w.login("agent1", w.phone1).await;
    assert_eq!(
        w.push_outcomes(&token, &visit(&w)).await,
        ["applied", "applied", "policy_violation"]
    );

    let store = Arc::clone(&w.state.store);
    let audit = tokio::task::spawn_blocking(move || {
        store::read(store.as_ref(), |tx| tx.audit_log()).unwrap()
    })
    .await
    .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "publish_policy" && a.target_id == "1")
    );
}

async fn a_policy_that_makes_no_sense_or_changes_nothing_is_refused(w: Arc<World>) {
    for (text, code) in [
        ("not json", "invalid_policy"),
        ("[1, 2]", "invalid_policy"),
        // A misspelt field would otherwise leave the default in force.
        (r#"{ "contact_hour_end": "16:00:00" }"#, "invalid_policy"),
        (r#"{ "geofence_radius_m": -5 }"#, "invalid_policy"),
        (
            r#"{ "contact_hours_start": "18:00:00", "contact_hours_end": "08:00:00" }"#,
            "invalid_policy",
        ),
        (r#"{ "max_gps_accuracy_m": 0 }"#, "invalid_policy"),
        // The default, already in force.
        ("{}", "policy_unchanged"),
    ] {
        let refused = publish(&w, text).await.unwrap_err();
        assert_eq!(refused.code(), code, "{text}");
    }
    assert_eq!(publish(&w, SHORT_DAY).await.unwrap(), 1);
    assert_eq!(
        publish(&w, SHORT_DAY).await.unwrap_err().code(),
        "policy_unchanged"
    );
    // Nothing refused was published: pulls carry version 1.
    let token = w.login("agent1", w.phone1).await;
    assert_eq!(w.pull(&token, 0, 10).await["policy"]["version"], 1);
}
