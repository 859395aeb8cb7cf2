//! Each visit's stored summary is its fold: after pushes (in order, and a
//! partner's entry stamped before entries already admitted), a return, a
//! resubmission and an approval, the console's lists read from summaries
//! show exactly what folding every visit's log shows, and every visit has a
//! summary. Visits without one (stored before summaries existed, or by
//! another fold version) are still listed, folded from their logs, until
//! the backfill writes theirs.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;
mod process;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use doorstep_core::domain::{Visit, VisitChange, VisitState};
use doorstep_core::report::ReviewFlag;
use doorstep_server::access::Access;
use doorstep_server::console::queue::{QueueItem, team_visits_in, team_visits_refolded};
use doorstep_server::service::summaries;
use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, Store};
use serde_json::json;
use uuid::Uuid;

on_both_backends!(summaries_are_the_fold_after_pushes_returns_and_approvals);

/// What the console shows of each visit: the visit and its flags.
fn shown(items: &[QueueItem]) -> Vec<(Visit, Vec<ReviewFlag>)> {
    items
        .iter()
        .map(|item| (item.visit.clone(), item.flags.clone()))
        .collect()
}

/// The team of sup_a as the summaries list it, and as folding every log
/// lists it; asserted equal.
fn team_of_sup_a(w: &World) -> Vec<(Visit, Vec<ReviewFlag>)> {
    let store = w.state.store.as_ref();
    let sup_a = store::read(store, |tx| tx.user_by_name("sup_a"))
        .unwrap()
        .unwrap();
    let access = Access::of(&sup_a, None);
    let (summarised, _) = team_visits_in(store, &access, sup_a.id, |_| true).unwrap();
    let (refolded, _) = team_visits_refolded(store, &access, sup_a.id, |_| true).unwrap();
    assert_eq!(shown(&summarised), shown(&refolded));
    shown(&summarised)
}

fn unsummarised(store: &dyn Store) -> usize {
    store::read(store, |tx| tx.visits_without_summary(None, 1_000))
        .unwrap()
        .len()
}

async fn review(w: &World, visit: Uuid, decision: serde_json::Value) {
    let sa = w.login("sup_a", w.sup_a_phone).await;
    let uri = format!("/v1/visits/{visit}/review");
    let body = json!({ "decision": decision }).to_string();
    let (status, answer) = w.send("POST", &uri, Some(&sa), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// Three visits on case 1 of sup_a's team: one approved, one returned and
/// submitted again, one a draft where the partner's note is stamped before
/// the agent's last entry; the state of each.
async fn three_visits(w: &Arc<World>) -> [(Uuid, VisitState); 3] {
    let agent = w.login("agent1", w.phone1).await;
    let partner = w.login("agent2", w.phone2).await;

    let mut approved = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1)
        .iter()
        .map(|c| approved.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&agent, &ops).await, vec!["applied"; 7]);
    review(w, approved.visit, json!({"decision": "approve"})).await;

    let mut returned = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1)
        .iter()
        .map(|c| returned.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&agent, &ops).await, vec!["applied"; 7]);
    review(
        w,
        returned.visit,
        json!({"decision": "return", "reason_code": "missing_photos", "comment": "photos"}),
    )
    .await;
    // Returned: the console lists it so until the agent submits again.
    let listed = Arc::clone(w);
    let listed = tokio::task::spawn_blocking(move || team_of_sup_a(&listed))
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|(v, _)| v.id == returned.visit && v.state == VisitState::Returned)
    );
    let again = [
        returned.act(&note(w.agent1, "photos added")),
        returned.act(&VisitChange::Submitted { at: t0() }),
    ];
    assert_eq!(
        w.push_outcomes(&agent, &again).await,
        ["applied", "applied"]
    );

    let mut draft = Phone::new(w.phone1, Uuid::now_v7());
    let ops = [
        draft.act(&planned(&w.case1)),
        draft.act(&notice()),
        draft.act(&VisitChange::CheckedIn { check: site() }),
        draft.act(&note(w.agent1, "customer at work until six")),
    ];
    assert_eq!(w.push_outcomes(&agent, &ops).await, vec!["applied"; 4]);
    // The partner's phone is behind: its note is stamped before the
    // agent's note, so the server folds the visit again to admit it.
    let mut beside = Phone::new(w.phone2, draft.visit);
    beside.millis = draft.entries[2].hlc.millis - 500;
    let late = beside.act(&note(w.agent2, "neighbour says they moved"));
    assert!(late.hlc < draft.entries[3].hlc);
    assert_eq!(w.push_outcomes(&partner, &[late]).await, ["applied"]);

    [
        (approved.visit, VisitState::Approved),
        (returned.visit, VisitState::Submitted),
        (draft.visit, VisitState::CheckedIn),
    ]
}

async fn summaries_are_the_fold_after_pushes_returns_and_approvals(w: Arc<World>) {
    let expected = three_visits(&w).await;
    let (unsummarised, shown) = tokio::task::spawn_blocking(move || {
        (unsummarised(w.state.store.as_ref()), team_of_sup_a(&w))
    })
    .await
    .unwrap();
    // Every visit has its summary: the lists below read them, not the logs.
    assert_eq!(unsummarised, 0);
    let mut states: Vec<_> = shown.iter().map(|(v, _)| (v.id, v.state)).collect();
    states.sort_by_key(|(id, _)| *id);
    let mut expected = expected.to_vec();
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(states, expected);
    // The resubmitted visit counts both submissions and its review round.
    let resubmitted = expected
        .iter()
        .find(|(_, state)| *state == VisitState::Submitted)
        .unwrap()
        .0;
    let (visit, _) = shown.iter().find(|(v, _)| v.id == resubmitted).unwrap();
    assert_eq!(visit.submissions, 2);
    assert_eq!(visit.reviews.len(), 1);
}

/// On `store` (a file database or a schema of its own, which `forget`
/// reaches with a connection of its own): visits whose summaries are gone
/// or of another version are listed as their logs fold, and the backfill
/// writes theirs.
fn backfill_on(store: Arc<dyn Store>, forget: impl FnOnce()) {
    let w = Arc::new(World::with_store(Arc::clone(&store)));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(three_visits(&w));
    let before = team_of_sup_a(&w);
    assert_eq!(unsummarised(store.as_ref()), 0);

    forget();
    assert_eq!(unsummarised(store.as_ref()), 3);
    // Listed all the same, folded from their logs.
    assert_eq!(team_of_sup_a(&w), before);

    assert_eq!(summaries::backfill(store.as_ref()).unwrap(), 3);
    assert_eq!(unsummarised(store.as_ref()), 0);
    assert_eq!(team_of_sup_a(&w), before);
    // Nothing left to do the second time.
    assert_eq!(summaries::backfill(store.as_ref()).unwrap(), 0);
    drop(runtime);
}

#[test]
fn sqlite_visits_without_a_current_summary_are_folded_then_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let file = dir.path().join("doorstep-server.db");
    backfill_on(store, || {
        let conn = rusqlite::Connection::open(&file).unwrap();
        // Two gone, one written by another version of the fold.
        conn.execute_batch(
            "DELETE FROM visit_summaries WHERE rowid IN
                 (SELECT rowid FROM visit_summaries ORDER BY visit_id LIMIT 2);
             UPDATE visit_summaries SET version = 0;",
        )
        .unwrap();
    });
}

#[test]
fn postgres_visits_without_a_current_summary_are_folded_then_backfilled() {
    let Ok(url) = std::env::var("DOORSTEP_TEST_DATABASE_URL") else {
        // Says so, and fails on CI.
        assert!(console_support::postgres_store("summaries_backfill").is_none());
        return;
    };
    let url = process::postgres_schema(&url);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).unwrap());
    backfill_on(store, || {
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        client
            .batch_execute(
                "DELETE FROM visit_summaries WHERE visit_id IN
                     (SELECT visit_id FROM visit_summaries ORDER BY visit_id LIMIT 2);
                 UPDATE visit_summaries SET version = 0;",
            )
            .unwrap();
    });
}
