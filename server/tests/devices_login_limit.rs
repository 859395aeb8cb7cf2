//! `POST /v1/devices` (a phone registers itself with its user's credentials)
//! and the limit on failed sign-ins (per user name and per client address).
//! On SQLite and on PostgreSQL (one test per check per backend; PostgreSQL
//! when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use backends::blocking;
use chrono::Duration;
use common::*;
use doorstep_server::{app, store};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use uuid::Uuid;

on_both_backends!(
    a_new_phone_registers_its_id_with_the_agents_password_and_logs_in,
    device_registration_denials,
    five_wrong_passwords_lock_the_user_name_for_fifteen_minutes,
    failures_from_one_address_limit_every_user_name_from_it,
    only_wrong_credentials_count_and_a_success_clears_them,
);

/// Sends a JSON POST from `from` (a client address, as the real server sees
/// it) and returns status, `Retry-After` and body.
async fn post(
    w: &World,
    path: &str,
    from: Option<[u8; 4]>,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    if let Some(ip) = from {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    }
    let response = app(w.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, retry, serde_json::from_slice(&bytes).unwrap())
}

async fn audit_log(w: &Arc<World>) -> Vec<store::AuditRecord> {
    blocking(w, |w| {
        store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap()
    })
    .await
}

async fn audit_len(w: &Arc<World>) -> usize {
    audit_log(w).await.len()
}

async fn stored_device(w: &Arc<World>, device: Uuid) -> Option<store::DeviceRecord> {
    blocking(w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.device(device)).unwrap()
    })
    .await
}

fn login_body(username: &str, password: &str, device: Uuid) -> String {
    json!({ "username": username, "password": password, "device_id": device }).to_string()
}

fn register_body(username: &str, password: &str) -> String {
    register_device_body(username, password, Uuid::now_v7())
}

fn register_device_body(username: &str, password: &str, device: Uuid) -> String {
    json!({ "username": username, "password": password, "device_id": device }).to_string()
}

async fn a_new_phone_registers_its_id_with_the_agents_password_and_logs_in(w: Arc<World>) {
    let device = Uuid::now_v7();
    let body = register_device_body("agent1", "pw-agent1-secret", device);
    let (status, _, value) = post(&w, "/v1/devices", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["device_id"], json!(device));
    assert_eq!(value["user_id"], json!(w.agent1));

    let record = stored_device(&w, device).await.unwrap();
    assert!(record.active);
    assert_eq!(record.user, w.agent1);
    let audit = audit_log(&w).await;
    let last = audit.last().unwrap();
    assert_eq!(last.action, "register_device");
    assert_eq!(last.target_id, device.to_string());
    let audited = audit.len();

    // A retry after a lost answer is the same success, and audits nothing new.
    let (status, _, again) = post(&w, "/v1/devices", None, &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, value);
    assert_eq!(audit_len(&w).await, audited);

    // The device logs in, as agent1 only.
    let token = w.login("agent1", device).await;
    assert_eq!(token.len(), 64);
    let (status, _, value) = post(
        &w,
        "/v1/login",
        None,
        &login_body("agent2", "pw-agent2-secret", device),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(value["code"], "device_not_registered");
}

async fn device_registration_denials(w: Arc<World>) {
    let first = audit_len(&w).await;
    for (body, status, code) in [
        (
            register_body("agent1", "wrong"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            register_body("nobody", "pw-agent1-secret"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        ),
        (
            register_device_body("agent2", "pw-agent2-secret", w.phone1),
            StatusCode::CONFLICT,
            "device_taken",
        ),
        (
            register_device_body("agent1", "pw-agent1-secret", Uuid::nil()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_device_id",
        ),
        (
            "{\"username\":".to_owned(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            json!({ "username": "agent1" }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        let (got, _, value) = post(&w, "/v1/devices", None, &body).await;
        assert_eq!((got, value["code"].as_str().unwrap()), (status, code));
    }
    let (status, value) = w
        .raw(
            Request::builder()
                .method("POST")
                .uri("/v1/devices")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from(register_body("agent1", "pw-agent1-secret")))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(value["code"], "unsupported_media_type");
    // Nothing was registered. Each refused sign-in left one audit row, ids and
    // codes only; bodies the server could not read never got to sign in.
    let refused = audit_log(&w).await.split_off(first);
    assert!(refused.iter().all(|r| r.action == "sign_in_refused"));
    assert!(refused.iter().all(|r| r.target_kind == "register_device"));
    let rows: Vec<_> = refused
        .iter()
        .map(|r| (r.user, r.target_id.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (Some(w.agent1), "wrong_credentials"),
            (None, "wrong_credentials"),
            (Some(w.agent2), "device_taken"),
            (Some(w.agent1), "invalid_device_id"),
        ]
    );
    assert_eq!(refused[2].device, Some(w.phone1));
    assert_eq!(refused[3].device, Some(Uuid::nil()));
    // A deactivated phone cannot be registered again.
    blocking(&w, |w| {
        doorstep_server::admin::deactivate_device(w.state.store.as_ref(), w.phone1, t0()).unwrap()
    })
    .await;
    let before = audit_len(&w).await;
    let (status, _, value) = post(
        &w,
        "/v1/devices",
        None,
        &register_device_body("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(value["code"], "device_deactivated");
    assert!(!stored_device(&w, w.phone1).await.unwrap().active);
    let after = audit_log(&w).await;
    assert_eq!(after.len(), before + 1);
    let last = after.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.target_id.as_str()),
        ("sign_in_refused", "device_deactivated")
    );
}

async fn five_wrong_passwords_lock_the_user_name_for_fifteen_minutes(w: Arc<World>) {
    for _ in 0..5 {
        let (status, _, _) = post(
            &w,
            "/v1/login",
            None,
            &login_body("agent1", "guess", w.phone1),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        w.clock.advance(Duration::minutes(1));
    }
    // Now even the right password is refused, with the time to wait: the
    // first failure (minute 0) leaves the window at minute 15.
    let (status, retry, value) = post(
        &w,
        "/v1/login",
        None,
        &login_body("agent1", "pw-agent1-secret", w.phone1),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(value["code"], "too_many_attempts");
    assert_eq!(retry.as_deref(), Some("600"));
    // Device registration is the same guess and is limited the same way.
    let (status, _, value) = post(
        &w,
        "/v1/devices",
        None,
        &register_body("agent1", "pw-agent1-secret"),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(value["code"], "too_many_attempts");
    // Other users are not affected.
    w.login("agent2", w.phone2).await;

    w.clock.advance(Duration::minutes(10));
    w.login("agent1", w.phone1).await;
}

async fn failures_from_one_address_limit_every_user_name_from_it(w: Arc<World>) {
    let attacker = Some([203, 0, 113, 7]);
    for name in ["agent1", "agent2", "agent3", "sup_a", "nobody"] {
        let (status, _, _) = post(&w, "/v1/devices", attacker, &register_body(name, "guess")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, retry, _) = post(
        &w,
        "/v1/login",
        attacker,
        &login_body("sup_b", "pw-sup_b-secret", w.sup_b_phone),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry.as_deref(), Some("900"));
    // The same user from another address signs in.
    let (status, _, _) = post(
        &w,
        "/v1/login",
        Some([198, 51, 100, 1]),
        &login_body("sup_b", "pw-sup_b-secret", w.sup_b_phone),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn only_wrong_credentials_count_and_a_success_clears_them(w: Arc<World>) {
    for _ in 0..4 {
        post(
            &w,
            "/v1/login",
            None,
            &login_body("agent1", "guess", w.phone1),
        )
        .await;
    }
    // The right password from an unregistered device is refused but is not a
    // guess: it does not count.
    let (status, _, _) = post(
        &w,
        "/v1/login",
        None,
        &login_body("agent1", "pw-agent1-secret", Uuid::now_v7()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A success clears the count: five more wrong ones are allowed before a refusal.
    w.login("agent1", w.phone1).await;
    for _ in 0..5 {
        let (status, _, _) = post(
            &w,
            "/v1/login",
            None,
            &login_body("agent1", "guess", w.phone1),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = post(
        &w,
        "/v1/login",
        None,
        &login_body("agent1", "guess", w.phone1),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
