//! `GET /v1/visits/{visit_id}/chain`: a device gets back its own entries of a
//! visit as the server stores them (refused ones with their code), page by
//! page, and never anybody else's. On SQLite and on PostgreSQL (one test per
//! check per backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::http::StatusCode;
use backends::blocking;
use common::*;
use doorstep_core::domain::VisitChange;
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::{ChainResponse, RejectCode};
use doorstep_server::store;
use uuid::Uuid;

on_both_backends!(
    a_device_gets_back_its_own_chain_and_nothing_else,
    a_bad_chain_request_is_a_clear_4xx,
);

async fn chain(w: &World, token: &str, visit: Uuid, from: u64) -> ChainResponse {
    let uri = format!("/v1/visits/{visit}/chain?from={from}");
    let (status, body) = w.send("GET", &uri, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body).unwrap()
}

fn entries(response: &ChainResponse) -> Vec<LogEntry> {
    response.entries.iter().map(|c| c.entry.clone()).collect()
}

async fn a_device_gets_back_its_own_chain_and_nothing_else(w: Arc<World>) {
    let visit = Uuid::now_v7();
    let mut primary = Phone::new(w.phone1, visit);
    let mut partner = Phone::new(w.phone2, visit);
    // The partner works after the check-in, by clock too.
    partner.millis += 60_000;
    let token1 = w.login("agent1", w.phone1).await;
    let token2 = w.login("agent2", w.phone2).await;
    let token3 = w.login("agent3", w.phone3).await;

    let mine = vec![
        primary.act(&planned(&w.case1)),
        primary.act(&notice()),
        primary.act(&VisitChange::CheckedIn { check: site() }),
    ];
    assert_eq!(
        w.push_outcomes(&token1, &mine).await,
        ["applied", "applied", "applied"]
    );
    // The partner's note, and a second `planned` the state machine refuses
    // (the visit is planned once): stored in the partner's chain, refused.
    let theirs = vec![
        partner.act(&note(w.agent2, "配偶在场")),
        partner.act(&planned(&w.case1)),
    ];
    assert_eq!(
        w.push_outcomes(&token2, &theirs).await,
        ["applied", "illegal_transition"]
    );

    let own = chain(&w, &token1, visit, 0).await;
    assert_eq!(entries(&own), mine);
    assert!(!own.more);
    assert!(own.entries.iter().all(|c| c.refused.is_none()));

    let partners = chain(&w, &token2, visit, 0).await;
    assert_eq!(entries(&partners), theirs);
    assert_eq!(
        partners.entries[1].refused,
        Some(RejectCode::IllegalTransition)
    );

    // From a position on.
    assert_eq!(entries(&chain(&w, &token1, visit, 2).await), mine[2..]);
    assert!(chain(&w, &token1, visit, 3).await.entries.is_empty());
    // A device that never wrote to the visit, or a visit that does not
    // exist: an empty chain, the same answer.
    assert!(chain(&w, &token3, visit, 0).await.entries.is_empty());
    assert!(
        chain(&w, &token1, Uuid::now_v7(), 0)
            .await
            .entries
            .is_empty()
    );

    // Each answer with entries is audited.
    let audit = blocking(&w, |w| {
        store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap()
    })
    .await;
    let restores = audit
        .iter()
        .filter(|a| a.action == "chain_restore" && a.target_id == visit.to_string())
        .count();
    assert_eq!(restores, 3);
}

async fn a_bad_chain_request_is_a_clear_4xx(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let visit = Uuid::now_v7();
    for (uri, status) in [
        (
            "/v1/visits/not-a-uuid/chain".to_owned(),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/visits/{visit}/chain?from=-1"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/visits/{visit}/chain?from=abc"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/v1/visits/{visit}/chain?from=18446744073709551615"),
            StatusCode::OK,
        ),
    ] {
        let (got, body) = w.send("GET", &uri, Some(&token), None).await;
        assert_eq!(got, status, "{uri}: {body}");
    }
    let (got, _) = w
        .send("GET", &format!("/v1/visits/{visit}/chain"), None, None)
        .await;
    assert_eq!(got, StatusCode::UNAUTHORIZED);
}
