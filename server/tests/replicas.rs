//! Replicas on one PostgreSQL add write capacity: a push holds only its own
//! visits. While one replica's transaction holds visit A open, another
//! replica process takes a push to visit B at once and a push to visit A
//! only once A is let go; the change feed stays gap-free throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;
mod process;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use doorstep_core::domain::VisitChange;
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest};
use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::{self, FeedItem, Lock, Store, StoreError};
use serde_json::Value;
use uuid::Uuid;

/// A push over HTTP; the number of ops applied.
fn push(base: &str, token: &str, ops: &[LogEntry]) -> u64 {
    let mut response = process::client()
        .post(format!("{base}/v1/push"))
        .header("Content-Type", "application/json")
        .header("Authorization", format!("Bearer {token}"))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .send(serde_json::to_string(&PushRequest::new(ops)).unwrap())
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let answer: Value = response.body_mut().read_json().unwrap();
    answer["applied"].as_u64().unwrap()
}

fn visit_ops(device: Uuid, visit: Uuid, case: &doorstep_core::domain::Case) -> Vec<LogEntry> {
    let mut phone = Phone::new(device, visit);
    [
        planned(case),
        notice(),
        VisitChange::CheckedIn { check: site() },
    ]
    .iter()
    .map(|c| phone.act(c))
    .collect()
}

#[test]
fn a_push_to_one_visit_does_not_wait_for_another_visits_transaction() {
    let Ok(url) = std::env::var("DOORSTEP_TEST_DATABASE_URL") else {
        // Says so, and fails on CI.
        assert!(console_support::postgres_store("replicas").is_none());
        return;
    };
    let url = process::postgres_schema(&url);
    // Replica one: a store in this process.
    let here: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).unwrap());
    let w = World::with_store(Arc::clone(&here));
    // Replica two: a server process on the same database.
    let blobs = tempfile::tempdir().unwrap();
    let other = process::Server::start(&[
        "--database-url".into(),
        url.clone(),
        "--blob-dir".into(),
        blobs.path().to_str().unwrap().into(),
    ]);
    let http = process::client();
    let agent1 = process::sign_in(&http, &other.base, "agent1", w.phone1);
    let agent3 = process::sign_in(&http, &other.base, "agent3", w.phone3);
    let (visit_a, visit_b) = (Uuid::now_v7(), Uuid::now_v7());

    let (held, holding) = mpsc::channel();
    let (let_go, release) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // Replica one opens a transaction on visit A and keeps it open,
        // having appended a feed row.
        let (here, w) = (&here, &w);
        let holder = scope.spawn(move || {
            store::write(here.as_ref(), |tx| {
                tx.lock(Lock::Visit(visit_a))?;
                tx.append_feed(&FeedItem::Case {
                    case_id: w.case1.id,
                })?;
                held.send(()).unwrap();
                release
                    .recv_timeout(Duration::from_secs(60))
                    .map_err(|_| StoreError::Corrupt("never let go"))?;
                Ok::<_, StoreError>(())
            })
        });
        holding.recv().unwrap();

        // A push to visit B on replica two goes through meanwhile.
        assert_eq!(
            push(
                &other.base,
                &agent3,
                &visit_ops(w.phone3, visit_b, &w.case2)
            ),
            3
        );
        // A push to visit A waits for replica one's transaction.
        let (pushed, pushed_a) = mpsc::channel();
        let ops_a = visit_ops(w.phone1, visit_a, &w.case1);
        let (base, token) = (other.base.clone(), agent1.clone());
        scope.spawn(move || pushed.send(push(&base, &token, &ops_a)));
        assert!(
            pushed_a.recv_timeout(Duration::from_millis(500)).is_err(),
            "a push to visit A went through while A was held"
        );
        let_go.send(()).unwrap();
        holder.join().unwrap().unwrap();
        assert_eq!(pushed_a.recv().unwrap(), 3);
    });

    // Every row of the feed, numbered without a gap.
    let feed = store::read(here.as_ref(), |tx| tx.feed_after(0, 10_000)).unwrap();
    let seqs: Vec<u64> = feed.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, (1..=feed.len() as u64).collect::<Vec<_>>());
    let entries = feed
        .iter()
        .filter(|(_, item)| matches!(item, FeedItem::VisitEntry { .. }))
        .count();
    assert_eq!(entries, 6);
}
