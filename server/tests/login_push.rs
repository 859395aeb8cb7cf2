//! Router tests for login and push, in process with `oneshot`, on SQLite and
//! on PostgreSQL (one test per check per backend; PostgreSQL when
//! `DOORSTEP_TEST_DATABASE_URL` is set).
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
use doorstep_core::domain::VisitChange;
use doorstep_core::sync::protocol::{MAX_BODY_BYTES, MAX_PUSH_OPS};
use doorstep_server::auth::token_digest;
use doorstep_server::store::{self, StoreError};
use serde_json::json;
use uuid::Uuid;

on_both_backends!(
    login_issues_a_token_bound_to_the_users_device,
    wrong_passwords_and_unknown_users_are_unauthorized,
    a_device_not_registered_to_the_user_cannot_log_in,
    expired_revoked_missing_and_made_up_tokens_are_unauthorized,
    a_push_is_applied_once_and_a_retry_is_a_duplicate,
    every_reject_code_has_its_case,
    a_rejected_op_does_not_block_the_ops_behind_it,
    a_visit_finished_offline_on_a_reassigned_case_is_accepted_and_flagged,
    bodies_that_are_too_large_malformed_or_not_json_are_refused_cleanly,
    zstd_bodies_are_accepted_and_bounded_when_inflated,
    a_partner_entry_stamped_before_its_visit_could_take_it_is_refused_not_lost,
    logout_revokes_the_token,
    only_the_very_entry_stored_under_an_op_id_is_a_duplicate,
);

async fn login_issues_a_token_bound_to_the_users_device(w: Arc<World>) {
    let body = json!({"username": "agent1", "password": "pw-agent1-secret", "device_id": w.phone1});
    let (status, value) = w
        .send("POST", "/v1/login", None, Some(body.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["token"].as_str().unwrap().len(), 64);
    assert_eq!(value["role"], "agent");
    assert_eq!(value["user_id"], json!(w.agent1));
    let token = value["token"].as_str().unwrap();
    // Only the digest is stored.
    let stored = {
        let token = token.to_owned();
        blocking(&w, move |w| {
            store::read(w.state.store.as_ref(), |tx| tx.token(&token))
                .map_err(|e: StoreError| e)
                .unwrap()
        })
        .await
    };
    assert!(stored.is_none());
    let pulled = w.pull(token, 0, 10).await;
    assert_eq!(pulled["deactivated"], false);
}

async fn wrong_passwords_and_unknown_users_are_unauthorized(w: Arc<World>) {
    for (user, pw) in [
        ("agent1", "nope"),
        ("nobody", "pw-nobody-secret"),
        ("agent1", ""),
    ] {
        let body = json!({"username": user, "password": pw, "device_id": w.phone1});
        let (status, value) = w
            .send("POST", "/v1/login", None, Some(body.to_string()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(value["code"], "unauthorized");
    }
}

async fn a_device_not_registered_to_the_user_cannot_log_in(w: Arc<World>) {
    for device in [Uuid::now_v7(), w.phone2] {
        let body =
            json!({"username": "agent1", "password": "pw-agent1-secret", "device_id": device});
        let (status, value) = w
            .send("POST", "/v1/login", None, Some(body.to_string()))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(value["code"], "device_not_registered");
    }
    blocking(&w, |w| {
        doorstep_server::admin::deactivate_device(w.state.store.as_ref(), w.phone1, t0()).unwrap()
    })
    .await;
    let body = json!({"username": "agent1", "password": "pw-agent1-secret", "device_id": w.phone1});
    let (status, value) = w
        .send("POST", "/v1/login", None, Some(body.to_string()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(value["code"], "device_deactivated");
}

async fn expired_revoked_missing_and_made_up_tokens_are_unauthorized(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let uri = "/v1/pull?cursor=0";
    assert_eq!(
        w.send("GET", uri, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let fake = "ab".repeat(32);
    assert_eq!(
        w.send("GET", uri, Some(&fake), None).await.0,
        StatusCode::UNAUTHORIZED
    );

    w.clock.advance(Duration::hours(12));
    let (status, value) = w.send("GET", uri, Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(value["code"], "unauthorized");

    w.clock.set(t0());
    let token = w.login("agent1", w.phone1).await;
    assert_eq!(
        w.send("GET", uri, Some(&token), None).await.0,
        StatusCode::OK
    );
    let digest = token_digest(&token);
    blocking(&w, move |w| {
        store::write(w.state.store.as_ref(), |tx| tx.revoke_token(&digest)).unwrap()
    })
    .await;
    assert_eq!(
        w.send("GET", uri, Some(&token), None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_push_is_applied_once_and_a_retry_is_a_duplicate(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| phone.act(c)).collect();
    assert_eq!(w.push_outcomes(&token, &ops).await, vec!["applied"; 7]);
    assert_eq!(w.push_outcomes(&token, &ops).await, vec!["duplicate"; 7]);
    let (_, metrics) = w.send("GET", "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("doorstep_push_ops_total{outcome=\"applied\"} 7"),
        "{metrics}"
    );
    assert!(metrics.contains("doorstep_push_ops_total{outcome=\"duplicate\"} 7"));
    assert!(metrics.contains("route=\"/v1/push\",status=\"200\"} 2"));
}

async fn every_reject_code_has_its_case(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let visit = Uuid::now_v7();
    let mut phone = Phone::new(w.phone1, visit);
    let first = phone.act(&planned(&w.case1));

    let mut edited = first.clone();
    edited.utc_offset_minutes = 0;
    let mut stranger = Phone::new(w.phone2, visit);
    let foreign = stranger.act(&notice());
    let mut ahead = Phone::new(w.phone1, visit);
    ahead.act(&planned(&w.case1));
    ahead.act(&notice());
    let gap = ahead.act(&notice());
    assert_eq!(
        w.push_outcomes(&token, &[edited, foreign, gap]).await,
        ["hash_mismatch", "wrong_device", "chain_broken"]
    );

    // A payload that is not a change, and a change to a visit nobody planned.
    let mut other = Phone::new(w.phone1, Uuid::now_v7());
    let mut bad = other.act(&notice());
    bad.payload = "{\"kind\":\"notice_recorded\"}".into();
    bad.hash = bad.compute_hash();
    let mut unknown = Phone::new(w.phone1, Uuid::now_v7());
    let unknown = unknown.act(&notice());
    assert_eq!(
        w.push_outcomes(&token, &[bad, unknown]).await,
        ["invalid_payload", "unknown_visit"]
    );

    // Submitting a visit that is only planned is not a legal transition.
    let submit = phone.act(&VisitChange::Submitted { at: t0() });
    assert_eq!(
        w.push_outcomes(&token, &[first, submit]).await,
        ["applied", "illegal_transition"]
    );

    // agent1 was never assigned to case2.
    let mut intruder = Phone::new(w.phone1, Uuid::now_v7());
    let planned2 = intruder.act(&planned(&w.case2));
    assert_eq!(w.push_outcomes(&token, &[planned2]).await, ["not_assigned"]);
}

async fn a_rejected_op_does_not_block_the_ops_behind_it(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops = vec![
        phone.act(&planned(&w.case1)),
        phone.act(&VisitChange::CheckedOut { check: site() }),
        phone.act(&notice()),
        phone.act(&VisitChange::CheckedIn { check: site() }),
    ];
    assert_eq!(
        w.push_outcomes(&token, &ops).await,
        ["applied", "illegal_transition", "applied", "applied"]
    );
    // The rejected op keeps its answer on retry.
    assert_eq!(
        w.push_outcomes(&token, &ops[1..2]).await,
        ["illegal_transition"]
    );
    let next = phone.act(&note(w.agent1, "customer at home"));
    assert_eq!(w.push_outcomes(&token, &[next]).await, ["applied"]);
}

async fn a_visit_finished_offline_on_a_reassigned_case_is_accepted_and_flagged(w: Arc<World>) {
    let token = w.login("agent3", w.phone3).await;
    let visit = Uuid::now_v7();
    let mut phone = Phone::new(w.phone3, visit);
    let first = phone.act(&planned(&w.case2));
    assert_eq!(w.push_outcomes(&token, &[first]).await, ["applied"]);
    blocking(&w, |w| {
        doorstep_server::admin::reassign_case(w.state.store.as_ref(), w.case2.id, "agent1", t0())
            .unwrap()
    })
    .await;
    let rest: Vec<_> = full_visit(&w.case2)[1..]
        .iter()
        .map(|c| phone.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&token, &rest).await, vec!["applied"; 6]);
    let entries = blocking(&w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.visit_entries(visit)).unwrap()
    })
    .await;
    assert_eq!(entries.iter().filter(|e| e.reassigned).count(), 6);
    assert!(entries.iter().all(|e| e.rejected.is_none()));
}

async fn bodies_that_are_too_large_malformed_or_not_json_are_refused_cleanly(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let big = format!("{{\"ops\":[\"{}\"]}}", "x".repeat(MAX_BODY_BYTES));
    let (status, value) = w.send("POST", "/v1/push", Some(&token), Some(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["code"], "payload_too_large");

    for (body, status, code) in [
        ("{\"ops\": [", StatusCode::BAD_REQUEST, "malformed_json"),
        ("not json at all", StatusCode::BAD_REQUEST, "malformed_json"),
        (
            "{\"chains\": 7}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "{\"chains\": [{\"visit_id\": 1}]}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ] {
        let (got, value) = w
            .send("POST", "/v1/push", Some(&token), Some(body.into()))
            .await;
        assert_eq!(got, status, "{body}");
        assert_eq!(value["code"], code);
    }

    let request = Request::post("/v1/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{\"ops\":[]}"))
        .unwrap();
    let (status, value) = w.raw(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(value["code"], "unsupported_media_type");

    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let first = phone.act(&planned(&w.case1));
    let many = vec![first; MAX_PUSH_OPS + 1];
    let (status, value) = w.push(&token, &many).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["code"], "too_many_ops");

    let (status, value) = w.send("GET", "/v1/nothing", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(value["code"], "not_found");
}

fn zstd_push(token: &str, body: Vec<u8>) -> Request<Body> {
    Request::post("/v1/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "zstd")
        .body(Body::from(body))
        .unwrap()
}

async fn zstd_bodies_are_accepted_and_bounded_when_inflated(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| phone.act(c)).collect();
    let json = serde_json::to_string(&PushRequest::new(&ops)).unwrap();
    let compressed = zstd::encode_all(json.as_bytes(), 3).unwrap();
    assert!(compressed.len() < json.len());
    let (status, value) = w.raw(zstd_push(&token, compressed)).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(outcomes_of(&ops, &value), ["applied"; 7]);

    let (status, value) = w.raw(zstd_push(&token, b"not zstd".to_vec())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value["code"], "malformed_zstd");

    let bomb = vec![b' '; doorstep_server::api::MAX_DECODED_BYTES + 1];
    let (status, value) = w
        .raw(zstd_push(&token, zstd::encode_all(&bomb[..], 3).unwrap()))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(value["code"], "payload_too_large");

    let gzip = Request::post("/v1/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from("{}"))
        .unwrap();
    let (status, value) = w.raw(gzip).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(value["code"], "unsupported_encoding");
}

async fn a_partner_entry_stamped_before_its_visit_could_take_it_is_refused_not_lost(w: Arc<World>) {
    let t1 = w.login("agent1", w.phone1).await;
    let t2 = w.login("agent2", w.phone2).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1)[..3]
        .iter()
        .map(|c| phone.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&t1, &ops).await, vec!["applied"; 3]);
    // agent2's phone clock is behind: its note lands before the check-in.
    let mut partner = Phone::new(w.phone2, phone.visit);
    let early = partner.act(&note(w.agent2, "written with a slow clock"));
    partner.millis = phone.millis;
    let later = partner.act(&note(w.agent2, "written after syncing"));
    assert_eq!(
        w.push_outcomes(&t2, &[early, later]).await,
        ["illegal_transition", "applied"]
    );
}

async fn logout_revokes_the_token(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let (status, _) = w.send("POST", "/v1/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = w.send("GET", "/v1/pull", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = w.send("POST", "/v1/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn only_the_very_entry_stored_under_an_op_id_is_a_duplicate(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1)[..2]
        .iter()
        .map(|c| phone.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&token, &ops).await, ["applied"; 2]);
    // Another entry at the same chain position with the same op id (as a
    // restored phone would make with derived ids): not a retry, not stored.
    let mut other = ops[1].clone();
    other.utc_offset_minutes = 0;
    other.hash = other.compute_hash();
    assert_eq!(w.push_outcomes(&token, &[other]).await, ["chain_broken"]);
    assert_eq!(w.push_outcomes(&token, &ops[1..]).await, ["duplicate"]);
}
