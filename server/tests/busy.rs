//! A request never waits without bound on PostgreSQL: a lock held longer
//! than the lock timeout, or a pool with no connection free within the
//! checkout timeout, is `503 server_busy` with `Retry-After`, and nothing of
//! the refused request is stored; the phone's next sync goes through.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;
mod process;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use doorstep_core::domain::VisitChange;
use doorstep_core::event_log::LogEntry;
use doorstep_server::app;
use doorstep_server::store::postgres::{PostgresStore, Timeouts};
use doorstep_server::store::{self, Lock, Store, StoreError};
use tower::ServiceExt;
use uuid::Uuid;

/// A store on a fresh schema whose waits are short, keeping at most
/// `connections` open.
fn impatient_store(test: &str, connections: usize) -> Option<Arc<dyn Store>> {
    let Ok(url) = std::env::var("DOORSTEP_TEST_DATABASE_URL") else {
        // Says so, and fails on CI.
        assert!(console_support::postgres_store(test).is_none());
        return None;
    };
    let url = process::postgres_schema(&url);
    let timeouts = Timeouts {
        checkout: Duration::from_millis(300),
        statement: Duration::from_secs(30),
        lock: Duration::from_millis(300),
    };
    let store = PostgresStore::connect_with(url.parse().unwrap(), connections, timeouts).unwrap();
    Some(Arc::new(store))
}

fn visit_ops(w: &World, visit: Uuid) -> Vec<LogEntry> {
    let mut phone = Phone::new(w.phone1, visit);
    [
        planned(&w.case1),
        notice(),
        VisitChange::CheckedIn { check: site() },
    ]
    .iter()
    .map(|c| phone.act(c))
    .collect()
}

/// The status, `Retry-After` and error code of a push of `ops`.
async fn push_with_headers(
    w: &World,
    token: &str,
    ops: &[LogEntry],
) -> (StatusCode, Option<String>, serde_json::Value) {
    let body = serde_json::to_string(&PushRequest::new(ops)).unwrap();
    let request = Request::builder()
        .method("POST")
        .uri("/v1/push")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            doorstep_core::sync::protocol::PROTOCOL_HEADER,
            doorstep_core::sync::protocol::PROTOCOL_VERSION.to_string(),
        )
        .body(Body::from(body))
        .unwrap();
    let response = app(w.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, retry, serde_json::from_slice(&bytes).unwrap())
}

/// Runs `during` while another transaction holds `lock` (on its own thread
/// and connection), then lets go.
fn while_held<T>(store: &Arc<dyn Store>, lock: Lock<'_>, during: impl FnOnce() -> T) -> T {
    let (held, holding) = mpsc::channel();
    let (let_go, release) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let holder = scope.spawn(move || {
            store::write(store.as_ref(), |tx| {
                tx.lock(lock)?;
                held.send(()).unwrap();
                release
                    .recv_timeout(Duration::from_secs(60))
                    .map_err(|_| StoreError::Corrupt("never let go"))?;
                Ok::<_, StoreError>(())
            })
        });
        holding.recv().unwrap();
        let result = during();
        let_go.send(()).unwrap();
        holder.join().unwrap().unwrap();
        result
    })
}

#[test]
fn a_push_to_a_visit_locked_too_long_is_server_busy_and_stores_nothing() {
    let Some(store) = impatient_store("busy_lock", 4) else {
        return;
    };
    let w = World::with_store(Arc::clone(&store));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(w.login("agent1", w.phone1));
    let visit = Uuid::now_v7();
    let ops = visit_ops(&w, visit);

    let (status, retry, body) = while_held(&store, Lock::Visit(visit), || {
        rt.block_on(push_with_headers(&w, &token, &ops))
    });
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "server_busy");
    assert_eq!(retry.as_deref(), Some("2"));
    // The wait is counted, for an operator to see on /metrics.
    let (taken, waited, micros) = store.lock_waits().unwrap().counts();
    assert_eq!(waited, 1, "one lock found held ({taken} taken)");
    assert!(
        micros >= 100_000,
        "waited {micros} µs, at least the lock timeout"
    );
    let (_, metrics) = rt.block_on(w.send("GET", "/metrics", None, None));
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("doorstep_store_lock_waits_total 1\n"),
        "{metrics}"
    );
    // Nothing of the refused push is stored, not even as an outcome.
    let stored = store::read(store.as_ref(), |tx| {
        Ok::<_, StoreError>((tx.visit(visit)?, tx.op_outcome(ops[0].op_id)?))
    })
    .unwrap();
    assert_eq!(stored, (None, None));

    // The phone's next sync goes through, whole.
    assert_eq!(
        rt.block_on(w.push_outcomes(&token, &ops)),
        vec!["applied", "applied", "applied"]
    );
}

#[test]
fn a_request_with_no_connection_free_is_server_busy() {
    let Some(store) = impatient_store("busy_pool", 1) else {
        return;
    };
    let w = World::with_store(Arc::clone(&store));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = rt.block_on(w.login("agent1", w.phone1));

    // The one connection is taken by a transaction that holds on.
    let ops = visit_ops(&w, Uuid::now_v7());
    let (status, retry, body) = while_held(&store, Lock::Case(w.case1.id), || {
        rt.block_on(push_with_headers(&w, &token, &ops))
    });
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "server_busy");
    assert_eq!(retry.as_deref(), Some("2"));
    // Free again, the pool serves: the phone's pull brings its case.
    let changes = rt.block_on(w.pull_all(&token));
    assert!(changes.iter().any(|c| c["type"] == "case"));
}

#[test]
fn a_review_holds_its_visit_like_a_push() {
    let Some(store) = impatient_store("busy_review", 4) else {
        return;
    };
    let w = World::with_store(Arc::clone(&store));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agent = rt.block_on(w.login("agent1", w.phone1));
    let supervisor = rt.block_on(w.login("sup_a", w.sup_a_phone));
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| phone.act(c)).collect();
    assert_eq!(
        rt.block_on(w.push_outcomes(&agent, &ops)),
        vec!["applied"; 7]
    );
    let uri = format!("/v1/visits/{}/review", phone.visit);
    let approve = serde_json::json!({"decision": {"decision": "approve"}}).to_string();

    // While a push to the visit holds it, the review waits, and past the
    // lock timeout it is turned away, deciding nothing.
    let (status, body) = while_held(&store, Lock::Visit(phone.visit), || {
        rt.block_on(w.send("POST", &uri, Some(&supervisor), Some(approve.clone())))
    });
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "server_busy");
    // Let go, it decides.
    let (status, body) = rt.block_on(w.send("POST", &uri, Some(&supervisor), Some(approve)));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "reviewed");
}
