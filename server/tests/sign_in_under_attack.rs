//! Sign-in under attack: attempts are counted before their password is
//! checked, password checks are bounded, refusals are audited, the limits
//! live in the store (shared by replicas, kept across restarts), an admin can
//! unlock a user, and reserved ids cannot become devices. The checks that
//! need no database file run on SQLite and on PostgreSQL (one test per check
//! per backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use backends::blocking;
use common::*;
use doorstep_server::login_limit::user_key;
use doorstep_server::password_gate::PasswordGate;
use doorstep_server::service::SERVER_NODE;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{AppState, admin, app, store};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

// Bursts of sign-ins on four worker threads.
on_both_backends!(
    workers = 4;
    a_burst_of_wrong_passwords_for_one_user_is_checked_at_most_five_times,
    password_checks_run_at_most_the_gates_size_at_once_and_the_rest_wait,
    beyond_the_waiting_room_a_sign_in_is_turned_away_and_not_counted,
    reserved_ids_cannot_become_devices,
);

/// What came back from one request.
#[derive(Debug, Clone)]
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

/// Posts JSON to `path` of the app over `state`, from `from` when given.
async fn post(state: &AppState, path: &str, from: Option<[u8; 4]>, body: Value) -> Answer {
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    if let Some(ip) = from {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    }
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        retry_after,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn login(username: &str, password: &str, device: Uuid) -> Value {
    json!({ "username": username, "password": password, "device_id": device })
}

/// Sends every body at once, each from its own address, and returns the
/// answers in order.
async fn burst(state: &AppState, path: &'static str, bodies: Vec<Value>) -> Vec<Answer> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let state = state.clone();
            let from = [10, 1, (i / 250) as u8, (i % 250) as u8 + 1];
            tokio::spawn(async move { post(&state, path, Some(from), body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

fn statuses(answers: &[Answer]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.status.as_u16()).or_default() += 1;
    }
    counts
}

/// The audit rows of refused sign-ins: (user, target kind, code).
async fn refusals(state: &AppState) -> Vec<(Option<Uuid>, String, String)> {
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || store::read(store.as_ref(), |tx| tx.audit_log()))
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "sign_in_refused")
        .map(|r| (r.user, r.target_kind, r.target_id))
        .collect()
}

/// The sign-in attempts kept against `username` in the last hour.
async fn attempts_against(w: &Arc<World>, username: &'static str) -> Vec<store::SignInAttempt> {
    blocking(w, move |w| {
        store::read(w.state.store.as_ref(), |tx| {
            tx.sign_in_attempts(&user_key(username), t0() - chrono::Duration::hours(1))
        })
        .unwrap()
    })
    .await
}

fn count(rows: &[(Option<Uuid>, String, String)], code: &str) -> usize {
    rows.iter().filter(|(_, _, c)| c == code).count()
}

async fn a_burst_of_wrong_passwords_for_one_user_is_checked_at_most_five_times(w: Arc<World>) {
    let bodies = (0..40)
        .map(|i| login("agent1", &format!("guess number {i}"), w.phone1))
        .collect();
    let answers = burst(&w.state, "/v1/login", bodies).await;
    // Five guesses were checked; every other attempt was refused before its
    // password was, each with a time to wait.
    assert_eq!(statuses(&answers), BTreeMap::from([(401, 5), (429, 35)]));
    for answer in answers.iter().filter(|a| a.status == 429) {
        assert_eq!(answer.body["code"], "too_many_attempts");
        let wait: u64 = answer.retry_after.as_deref().unwrap().parse().unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
    }
    assert_eq!(w.state.password_gate.passed(), 5);
    // Every refusal is in the audit log, with the user's id, not the name.
    let rows = refusals(&w.state).await;
    assert_eq!(rows.len(), 40);
    assert_eq!(count(&rows, "wrong_credentials"), 5);
    assert_eq!(count(&rows, "too_many_attempts"), 35);
    assert!(
        rows.iter()
            .all(|(user, kind, _)| *user == Some(w.agent1) && kind == "login")
    );
    // The right password is refused too, until the window has passed.
    let right = post(
        &w.state,
        "/v1/login",
        None,
        login("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.retry_after.as_deref(), Some("900"));
}

async fn password_checks_run_at_most_the_gates_size_at_once_and_the_rest_wait(w: Arc<World>) {
    let state = AppState {
        password_gate: Arc::new(PasswordGate::new(2, 1_000)),
        ..w.state.clone()
    };
    // Forty different names from forty addresses: no limit applies, every
    // password is checked.
    let bodies = (0..40)
        .map(|i| login(&format!("nobody{i}"), "a wrong password", Uuid::now_v7()))
        .collect();
    let answers = burst(&state, "/v1/devices", bodies).await;
    assert_eq!(statuses(&answers), BTreeMap::from([(401, 40)]));
    let gate = &state.password_gate;
    assert_eq!(gate.passed(), 40);
    assert!((1..=2).contains(&gate.peak()), "{}", gate.peak());
    assert_eq!(
        (gate.running(), gate.waiting(), gate.turned_away()),
        (0, 0, 0)
    );
}

async fn beyond_the_waiting_room_a_sign_in_is_turned_away_and_not_counted(w: Arc<World>) {
    let gate = Arc::new(PasswordGate::new(1, 1));
    let state = AppState {
        password_gate: gate.clone(),
        ..w.state.clone()
    };
    // Every turn is taken; one sign-in waits for it.
    let held = gate.enter().await.unwrap();
    let waiting = {
        let state = state.clone();
        let body = login("agent1", "pw-agent1-secret", w.phone1);
        tokio::spawn(async move { post(&state, "/v1/login", None, body).await })
    };
    while gate.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    // The next is turned away at once, with a time to come back.
    for _ in 0..6 {
        let busy = post(
            &state,
            "/v1/login",
            None,
            login("agent2", "pw-agent2-secret", w.phone2),
        )
        .await;
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.body["code"], "sign_in_busy");
        assert_eq!(busy.retry_after.as_deref(), Some("1"));
    }
    drop(held);
    assert_eq!(waiting.await.unwrap().status, StatusCode::OK);
    // The turned-away attempts were audited and are not counted: agent2,
    // turned away six times, signs in.
    assert_eq!(count(&refusals(&state).await, "sign_in_busy"), 6);
    let kept = attempts_against(&w, "agent2").await;
    assert!(kept.is_empty(), "{kept:?}");
    let ok = post(
        &state,
        "/v1/login",
        None,
        login("agent2", "pw-agent2-secret", w.phone2),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
}

/// A world whose store is a SQLite file in `dir`.
fn world_on_file(dir: &std::path::Path) -> World {
    World::with_store(Arc::new(SqliteStore::open_dir(dir).unwrap()))
}

/// Another server process on the same database file, with its own gate.
fn replica(w: &World, dir: &std::path::Path) -> AppState {
    AppState {
        clock: w.clock.clone(),
        ..AppState::new(
            Arc::new(SqliteStore::open_dir(dir).unwrap()),
            w.state.blobs.clone(),
        )
    }
}

#[tokio::test]
async fn the_limit_lives_in_the_store_shared_by_replicas_and_kept_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let w = world_on_file(dir.path());
    let other = replica(&w, dir.path());
    for _ in 0..5 {
        let answer = post(
            &w.state,
            "/v1/login",
            None,
            login("agent1", "guess", w.phone1),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // The other replica refuses the sixth attempt.
    let refused = post(
        &other,
        "/v1/login",
        None,
        login("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    // A restarted server still does.
    drop(other);
    let restarted = replica(&w, dir.path());
    let refused = post(
        &restarted,
        "/v1/login",
        None,
        login("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.retry_after.as_deref(), Some("900"));
    // The store holds digests of the name, never the name.
    let conn = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    let keys: Vec<String> = conn
        .prepare("SELECT limit_key FROM sign_in_attempts")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(keys.len(), 5);
    assert!(keys.iter().all(|k| *k == user_key("agent1")));
}

const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

#[tokio::test]
async fn an_admin_unlocks_a_user_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let w = world_on_file(dir.path());
    for _ in 0..5 {
        post(
            &w.state,
            "/v1/login",
            None,
            login("agent1", "guess", w.phone1),
        )
        .await;
    }
    let locked = post(
        &w.state,
        "/v1/login",
        None,
        login("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);

    let unlock = |name: &str| {
        std::process::Command::new(BIN)
            .arg("--data")
            .arg(dir.path())
            .args(["unlock-user", "--username", name])
            .output()
            .unwrap()
    };
    let out = unlock("agent1");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("user {} unlocked (5 sign-in attempts cleared)\n", w.agent1)
    );
    let ok = post(
        &w.state,
        "/v1/login",
        None,
        login("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let audit = store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.action == "unlock_user" && r.target_id == w.agent1.to_string())
    );
    // An unknown name is an error that does not repeat the name.
    let out = unlock("who-is-this");
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no user with that name"), "{stderr}");
    assert!(!stderr.contains("who-is-this"), "{stderr}");
}

async fn reserved_ids_cannot_become_devices(w: Arc<World>) {
    for reserved in [SERVER_NODE, Uuid::nil(), Uuid::max()] {
        let answer = post(
            &w.state,
            "/v1/devices",
            None,
            login("agent1", "pw-agent1-secret", reserved),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{reserved}"
        );
        assert_eq!(answer.body["code"], "invalid_device_id");
        let (err, stored) = blocking(&w, move |w| {
            let s = w.state.store.as_ref();
            let err = admin::create_device(s, "agent1", reserved, t0()).unwrap_err();
            (err, store::read(s, |tx| tx.device(reserved)).unwrap())
        })
        .await;
        assert_eq!(err.code(), "invalid_device_id", "{reserved}");
        assert_eq!(stored, None);
    }
    // A server id registered before the rule (written straight to the store)
    // signs in no more.
    blocking(&w, |w| {
        store::write(w.state.store.as_ref(), |tx| {
            tx.insert_device(&store::DeviceRecord {
                id: SERVER_NODE,
                user: w.agent1,
                active: true,
            })
        })
        .unwrap()
    })
    .await;
    let answer = post(
        &w.state,
        "/v1/login",
        None,
        login("agent1", "pw-agent1-secret", SERVER_NODE),
    )
    .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["code"], "invalid_device_id");
    // Refused, but not a guess: agent1 is not closer to being locked.
    let kept = attempts_against(&w, "agent1").await;
    assert!(kept.is_empty(), "{kept:?}");
}
