//! Refresh credentials (protocol version 4): a phone signs in with its
//! agent's password once and renews its token with a credential bound to its
//! device, rotated on every use, revocable by an admin; on SQLite and on
//! PostgreSQL (when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use backends::blocking;
use chrono::Duration;
use common::*;
use doorstep_server::auth::token_digest;
use doorstep_server::store::{self, AuditRecord, StoreError};
use doorstep_server::{admin, service};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    a_version_4_sign_in_gives_a_refresh_credential_kept_only_as_its_digest,
    an_older_phone_still_signs_in_with_its_password_and_gets_no_credential,
    each_refresh_rotates_the_credential_and_the_token_works,
    a_retry_after_a_lost_answer_is_answered_and_a_later_replay_revokes_the_device,
    a_credential_presented_from_another_device_is_refused_and_revoked,
    an_admin_revokes_a_devices_sign_in_and_the_tokens_with_it,
    deactivating_the_device_revokes_its_credential_but_its_token_still_pushes,
    a_users_credentials_are_revoked_together_and_an_unused_one_expires,
    a_new_password_sign_in_replaces_the_devices_credential,
    a_reset_password_or_a_deactivated_user_ends_the_phones_sign_in,
);

/// `POST` with `Doorstep-Protocol: 4`.
async fn post_v4(w: &World, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header("doorstep-protocol", "4")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    w.raw(request).await
}

/// Signs in as `username` on `device` with protocol 4: (token, credential).
async fn sign_in(w: &World, username: &str, device: Uuid) -> (String, String) {
    let body = json!({
        "username": username,
        "password": format!("pw-{username}-secret"),
        "device_id": device,
    });
    let (status, value) = post_v4(w, "/v1/login", body).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    pair(&value)
}

fn pair(value: &Value) -> (String, String) {
    (
        value["token"].as_str().unwrap().to_owned(),
        value["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(w: &World, device: Uuid, credential: &str) -> (StatusCode, Value) {
    let body = json!({"device_id": device, "refresh_token": credential});
    post_v4(w, "/v1/refresh", body).await
}

/// Refreshes and expects a new pair.
async fn refreshed(w: &World, device: Uuid, credential: &str) -> (String, String) {
    let (status, value) = refresh(w, device, credential).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    pair(&value)
}

async fn pulls(w: &World, token: &str) -> StatusCode {
    w.send("GET", "/v1/pull", Some(token), None).await.0
}

async fn audit_log(w: &Arc<World>) -> Vec<AuditRecord> {
    blocking(w, |w| {
        store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap()
    })
    .await
}

async fn refused_codes(w: &Arc<World>) -> Vec<String> {
    audit_log(w)
        .await
        .into_iter()
        .filter(|row| row.action == "sign_in_refused")
        .filter_map(|row| row.code)
        .collect()
}

async fn a_version_4_sign_in_gives_a_refresh_credential_kept_only_as_its_digest(w: Arc<World>) {
    let (token, credential) = sign_in(&w, "agent1", w.phone1).await;
    assert_eq!(credential.len(), 64);
    assert_ne!(credential, token);
    let stored = {
        let credential = credential.clone();
        blocking(&w, move |w| {
            store::read(w.state.store.as_ref(), |tx| {
                Ok::<_, StoreError>((
                    tx.refresh(&credential)?,
                    tx.refresh(&token_digest(&credential))?,
                ))
            })
            .unwrap()
        })
        .await
    };
    assert_eq!(stored.0, None, "the credential's text is not stored");
    let record = stored.1.unwrap();
    assert_eq!((record.device, record.user), (w.phone1, w.agent1));
    assert_eq!(record.replaced_by, None);
    assert!(!record.revoked);
}

async fn an_older_phone_still_signs_in_with_its_password_and_gets_no_credential(w: Arc<World>) {
    for header in [None, Some("3")] {
        let body = json!({
            "username": "agent1",
            "password": "pw-agent1-secret",
            "device_id": w.phone1,
        });
        let mut request = Request::builder()
            .method("POST")
            .uri("/v1/login")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(version) = header {
            request = request.header("doorstep-protocol", version);
        }
        let (status, value) = w
            .raw(request.body(Body::from(body.to_string())).unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        assert!(value.get("refresh_token").is_none(), "{value}");
        let token = value["token"].as_str().unwrap();
        assert_eq!(pulls(&w, token).await, StatusCode::OK);
    }
}

async fn each_refresh_rotates_the_credential_and_the_token_works(w: Arc<World>) {
    let (_, first) = sign_in(&w, "agent1", w.phone1).await;
    let (token, second) = refreshed(&w, w.phone1, &first).await;
    assert_ne!(second, first);
    assert_eq!(pulls(&w, &token).await, StatusCode::OK);
    let (token, third) = refreshed(&w, w.phone1, &second).await;
    assert_eq!(pulls(&w, &token).await, StatusCode::OK);
    assert!(![&first, &second].contains(&&third));
    let used = blocking(&w, move |w| {
        store::read(w.state.store.as_ref(), |tx| {
            tx.refresh(&token_digest(&first))
        })
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(used.replaced_by, Some(token_digest(&second)));
    let refreshes = audit_log(&w)
        .await
        .into_iter()
        .filter(|row| row.action == "refresh" && row.device == Some(w.phone1))
        .count();
    assert_eq!(refreshes, 2);
}

async fn a_retry_after_a_lost_answer_is_answered_and_a_later_replay_revokes_the_device(
    w: Arc<World>,
) {
    let (_, first) = sign_in(&w, "agent1", w.phone1).await;
    // The answer to this refresh is lost: the phone still holds `first`.
    let (_, lost) = refreshed(&w, w.phone1, &first).await;
    let (token, second) = refreshed(&w, w.phone1, &first).await;
    assert_ne!(second, lost);
    // The answer nobody received is no longer any good.
    assert_eq!(
        refresh(&w, w.phone1, &lost).await.0,
        StatusCode::UNAUTHORIZED
    );
    // That looked like two holders: the device's sign-in is revoked.
    assert_eq!(
        refresh(&w, w.phone1, &second).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(pulls(&w, &token).await, StatusCode::UNAUTHORIZED);
    assert!(
        refused_codes(&w)
            .await
            .contains(&"refresh_revoked".to_owned())
    );

    // Signed in again: a retry still works, but once the new credential has
    // been used, the old one presented again is theft.
    let (_, first) = sign_in(&w, "agent1", w.phone1).await;
    let (_, second) = refreshed(&w, w.phone1, &first).await;
    let (token, third) = refreshed(&w, w.phone1, &second).await;
    assert_eq!(pulls(&w, &token).await, StatusCode::OK);
    assert_eq!(
        refresh(&w, w.phone1, &first).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&w, w.phone1, &third).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(pulls(&w, &token).await, StatusCode::UNAUTHORIZED);
    assert!(
        refused_codes(&w)
            .await
            .contains(&"refresh_replayed".to_owned())
    );
    // The password still signs the agent in.
    let (token, _) = sign_in(&w, "agent1", w.phone1).await;
    assert_eq!(pulls(&w, &token).await, StatusCode::OK);
}

async fn a_credential_presented_from_another_device_is_refused_and_revoked(w: Arc<World>) {
    let (_, credential) = sign_in(&w, "agent1", w.phone1).await;
    let (status, value) = refresh(&w, w.phone2, &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(value["code"], "unauthorized");
    let (status, _) = refresh(&w, Uuid::now_v7(), &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Copied off the phone: the phone's own use is refused too.
    assert_eq!(
        refresh(&w, w.phone1, &credential).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        refused_codes(&w)
            .await
            .contains(&"refresh_other_device".to_owned())
    );
    // A made-up credential is refused the same way.
    let (status, _) = refresh(&w, w.phone1, &"0".repeat(64)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn an_admin_revokes_a_devices_sign_in_and_the_tokens_with_it(w: Arc<World>) {
    let (token, credential) = sign_in(&w, "agent1", w.phone1).await;
    let (other_token, other) = sign_in(&w, "agent2", w.phone2).await;
    let revoked = blocking(&w, |w| {
        service::refresh::revoke_device_sign_in(
            w.state.store.as_ref(),
            service::users::Actor::CommandLine,
            w.phone1,
            t0(),
        )
        .unwrap()
    })
    .await;
    assert_eq!(revoked, 2, "one credential and one token");
    assert_eq!(pulls(&w, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refresh(&w, w.phone1, &credential).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Another device is untouched.
    assert_eq!(pulls(&w, &other_token).await, StatusCode::OK);
    refreshed(&w, w.phone2, &other).await;
    let audit = audit_log(&w).await;
    assert!(
        audit
            .iter()
            .any(|row| row.action == "revoke_sign_in" && row.target_id == w.phone1.to_string())
    );
    // An unknown device is a clear refusal.
    let unknown = blocking(&w, |w| {
        service::refresh::revoke_device_sign_in(
            w.state.store.as_ref(),
            service::users::Actor::CommandLine,
            Uuid::now_v7(),
            t0(),
        )
    })
    .await;
    assert!(unknown.is_err());
    // The agent signs in again with the password.
    let (token, _) = sign_in(&w, "agent1", w.phone1).await;
    assert_eq!(pulls(&w, &token).await, StatusCode::OK);
}

async fn deactivating_the_device_revokes_its_credential_but_its_token_still_pushes(w: Arc<World>) {
    let (token, credential) = sign_in(&w, "agent1", w.phone1).await;
    blocking(&w, |w| {
        admin::deactivate_device(w.state.store.as_ref(), w.phone1, t0()).unwrap()
    })
    .await;
    assert_eq!(
        refresh(&w, w.phone1, &credential).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        refused_codes(&w)
            .await
            .contains(&"device_deactivated".to_owned())
    );
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let entry = phone.act(&planned(&w.case1));
    assert_eq!(w.push_outcomes(&token, &[entry]).await, ["applied"]);
}

async fn a_users_credentials_are_revoked_together_and_an_unused_one_expires(w: Arc<World>) {
    let (_, credential) = sign_in(&w, "agent1", w.phone1).await;
    let (_, other) = sign_in(&w, "agent2", w.phone2).await;
    let agent1 = w.agent1;
    let revoked = blocking(&w, move |w| {
        store::write(w.state.store.as_ref(), |tx| {
            service::refresh::revoke_user_sign_ins(tx, agent1)
        })
        .unwrap()
    })
    .await;
    assert_eq!(revoked, 1);
    assert_eq!(
        refresh(&w, w.phone1, &credential).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Unused for longer than it lasts: refused, and the agent signs in.
    w.clock.advance(Duration::days(31));
    let (status, _) = refresh(&w, w.phone2, &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        refused_codes(&w)
            .await
            .contains(&"refresh_expired".to_owned())
    );
}

async fn a_new_password_sign_in_replaces_the_devices_credential(w: Arc<World>) {
    let (_, old) = sign_in(&w, "agent1", w.phone1).await;
    let (_, new) = sign_in(&w, "agent1", w.phone1).await;
    assert_eq!(
        refresh(&w, w.phone1, &old).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Presenting the replaced one was taken as theft: the new one goes too,
    // and the password is needed again.
    assert_eq!(
        refresh(&w, w.phone1, &new).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_reset_password_or_a_deactivated_user_ends_the_phones_sign_in(w: Arc<World>) {
    use doorstep_server::service::users::{self, Actor};
    let (token1, credential1) = sign_in(&w, "agent1", w.phone1).await;
    let (token2, credential2) = sign_in(&w, "agent2", w.phone2).await;
    let (agent1, agent2) = (w.agent1, w.agent2);
    // Whoever knew agent1's old password, or holds the phone, is signed out.
    blocking(&w, move |w| {
        users::reset_password(w.state.store.as_ref(), Actor::CommandLine, agent1, t0()).unwrap()
    })
    .await;
    assert_eq!(
        refresh(&w, w.phone1, &credential1).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(pulls(&w, &token1).await, StatusCode::UNAUTHORIZED);
    // A deactivated user's phone can renew nothing either.
    blocking(&w, move |w| {
        users::deactivate_user(w.state.store.as_ref(), Actor::CommandLine, agent2, t0()).unwrap()
    })
    .await;
    assert_eq!(
        refresh(&w, w.phone2, &credential2).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(pulls(&w, &token2).await, StatusCode::UNAUTHORIZED);
}
