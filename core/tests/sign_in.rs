//! Signing in once: the password goes to the server once and is never kept;
//! the device renews its sign-in with a refresh credential kept in its
//! encrypted database, rotated on every use; a credential the server refuses
//! makes the app ask for the password again, and the queue waits untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use common::*;
use doorstep_core::sync::plan::SyncPlan;
use doorstep_core::{DoorstepError, NoProgress};
use fake_server::*;

/// Every text value in every table of the decrypted database.
fn every_stored_text(field: &Field) -> Vec<String> {
    let conn = raw_connection(&field.path);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut texts = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        texts.push(String::from_utf8_lossy(t).into_owned());
                    }
                    _ => {}
                }
            }
        }
    }
    texts
}

fn is_sign_in_required(error: &DoorstepError) -> bool {
    matches!(error, DoorstepError::SignInRequired { .. })
}

#[test]
fn the_password_is_sent_once_and_never_stored() {
    let field = field();
    let server = FakeServer::new(field.agent);
    assert!(!field.doorstep.is_signed_in().unwrap());
    sign_in(&field, &server);
    assert!(field.doorstep.is_signed_in().unwrap());
    play_complete_visit(&field, field.cases[0].id);
    for _ in 0..3 {
        server.revoke_tokens();
        field.doorstep.sync_now(&server, &NoProgress).unwrap();
    }
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    // One password sign-in; each expired token renewed with a new credential.
    assert_eq!(server.with(|s| (s.logins, s.refreshes)), (1, 3));
    let stored = every_stored_text(&field);
    assert!(!stored.is_empty());
    assert!(
        !stored.iter().any(|text| text.contains(PASSWORD)),
        "the password is stored"
    );
    // What is kept is the credential in force, the last one issued.
    let current = server.with(|s| s.refresh.clone()).unwrap();
    assert!(stored.contains(&current));
}

#[test]
fn a_device_that_never_signed_in_is_asked_to_sign_in_and_keeps_its_queue() {
    let field = field();
    let server = FakeServer::new(field.agent);
    play_complete_visit(&field, field.cases[0].id);
    let pending = field.doorstep.pending_outbox_count().unwrap();
    let error = field.doorstep.sync_now(&server, &NoProgress).unwrap_err();
    assert!(is_sign_in_required(&error), "{error:?}");
    assert_eq!(error.code(), "sign_in_required");
    assert_eq!(server.with(|s| s.push_requests), 0);
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending);
}

#[test]
fn a_revoked_sign_in_asks_again_keeps_the_queue_and_drains_it_after_signing_in() {
    let field = field();
    let server = FakeServer::new(field.agent);
    sign_in(&field, &server);
    field.doorstep.sync_now(&server, &NoProgress).unwrap();
    let visit = play_complete_visit(&field, field.cases[0].id);
    let log = field.doorstep.visit_log(visit).unwrap();
    let pending = field.doorstep.pending_outbox_count().unwrap();
    assert!(pending > 0);

    server.revoke_sign_in();
    let error = field.doorstep.sync_now(&server, &NoProgress).unwrap_err();
    assert!(is_sign_in_required(&error), "{error:?}");
    assert!(!field.doorstep.is_signed_in().unwrap());
    // The schedulers try nothing until the agent has signed in.
    assert_eq!(
        field.doorstep.sync_plan(true, true).unwrap(),
        SyncPlan::WhenSignedIn
    );
    // Nothing of the agent's work is touched, and the app can keep working.
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending);
    assert_eq!(field.doorstep.visit_log(visit).unwrap(), log);
    assert!(
        field
            .doorstep
            .sync_status()
            .unwrap()
            .last_error
            .unwrap()
            .contains("sign in")
    );
    // A second try does not reach the server with anything.
    let before = server.with(|s| s.push_requests);
    let again = field.doorstep.sync_now(&server, &NoProgress).unwrap_err();
    assert!(is_sign_in_required(&again));
    assert_eq!(server.with(|s| s.push_requests), before);

    // The agent signs in again: the backoff is cleared and the queue drains.
    sign_in(&field, &server);
    assert_ne!(
        field.doorstep.sync_plan(true, false).unwrap(),
        SyncPlan::WhenSignedIn
    );
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!((status.last_error, status.next_attempt_after), (None, None));
    let report = field.doorstep.sync(&server, &NoProgress).unwrap();
    assert_eq!(report.applied, pending);
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert_eq!(field.doorstep.visit_log(visit).unwrap(), log);
}

#[test]
fn a_lost_refresh_answer_is_retried_with_the_credential_the_device_holds() {
    let field = field();
    let server = FakeServer::new(field.agent);
    sign_in(&field, &server);
    play_complete_visit(&field, field.cases[0].id);
    server.revoke_tokens();
    server.with(|s| s.lose_refresh_responses = 1);
    let error = field.doorstep.sync_now(&server, &NoProgress).unwrap_err();
    assert_eq!(failure_code(error), "timeout");
    assert!(field.doorstep.is_signed_in().unwrap(), "credential kept");
    field.doorstep.sync_now(&server, &NoProgress).unwrap();
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert_eq!(server.with(|s| s.logins), 1, "no password asked");
}

#[test]
fn a_wrong_password_is_refused_and_nothing_is_kept() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let error = field
        .doorstep
        .sign_in(&server, USERNAME, "wrong")
        .unwrap_err();
    assert_eq!(failure_code(error), "unauthorized");
    assert!(!field.doorstep.is_signed_in().unwrap());
}

#[test]
fn another_agent_cannot_sign_in_on_a_device_holding_this_agents_data() {
    let field = field();
    let server = FakeServer::new(uuid::Uuid::now_v7());
    play_complete_visit(&field, field.cases[0].id);
    let error = field
        .doorstep
        .sign_in(&server, USERNAME, PASSWORD)
        .unwrap_err();
    assert_eq!(failure_code(error), "wrong_user");
    assert!(!field.doorstep.is_signed_in().unwrap());
    assert_eq!(field.doorstep.signed_in_agent().unwrap(), Some(field.agent));
}
