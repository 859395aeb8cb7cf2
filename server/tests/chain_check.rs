//! The server verifies each visit's whole stored log when a push (or a review)
//! adds to it, and keeps the result with the visit: ok, or the first broken
//! chain; how many entries were checked; when. The check through the router
//! runs on SQLite and on PostgreSQL (one test per backend; PostgreSQL when
//! `DOORSTEP_TEST_DATABASE_URL` is set); the one that edits a database file
//! at rest runs on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use doorstep_core::event_log::BreakReason;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, ChainBreak, ChainCheck};
use uuid::Uuid;

on_both_backends!(a_pushed_visit_is_verified_whole_and_the_result_kept_with_it);

fn chain_check(w: &World, visit: Uuid) -> Option<ChainCheck> {
    store::read(w.state.store.as_ref(), |tx| tx.chain_check(visit)).unwrap()
}

/// [`chain_check`] off the async workers.
async fn chain_check_of(w: &Arc<World>, visit: Uuid) -> Option<ChainCheck> {
    blocking(w, move |w| chain_check(w, visit)).await
}

async fn a_pushed_visit_is_verified_whole_and_the_result_kept_with_it(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let visit = Uuid::now_v7();
    let mut phone = Phone::new(w.phone1, visit);
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| phone.act(c)).collect();
    assert_eq!(w.push_outcomes(&token, &ops[..2]).await, ["applied"; 2]);
    assert_eq!(
        chain_check_of(&w, visit).await,
        Some(ChainCheck {
            checked_at: t0(),
            entries: 2,
            broken: None,
        })
    );
    // The next push verifies the whole log again, old entries included.
    w.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(w.push_outcomes(&token, &ops[2..]).await, ["applied"; 5]);
    let check = chain_check_of(&w, visit).await.unwrap();
    assert_eq!(check.entries, 7);
    assert_eq!(check.broken, None);
    assert_eq!(check.checked_at, t0() + chrono::Duration::minutes(10));

    // A supervisor's review adds to the server's own chain: verified too.
    let sup = w.login("sup_a", w.sup_a_phone).await;
    let (status, body) = w
        .send(
            "POST",
            &format!("/v1/visits/{visit}/review"),
            Some(&sup),
            Some(r#"{"decision":{"decision":"approve"}}"#.into()),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let check = chain_check_of(&w, visit).await.unwrap();
    assert_eq!((check.entries, check.broken), (8, None));

    // A refused entry keeps its place in the chain and is verified with it.
    let late = phone.act(&note(w.agent1, "after approval"));
    assert_eq!(
        w.push_outcomes(&token, &[late]).await,
        ["illegal_transition"]
    );
    let check = chain_check_of(&w, visit).await.unwrap();
    assert_eq!((check.entries, check.broken), (9, None));
}

#[tokio::test]
async fn an_entry_edited_at_rest_shows_as_a_broken_chain_on_the_next_push() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::with_store(Arc::new(SqliteStore::open_dir(dir.path()).unwrap()));
    let token = w.login("agent1", w.phone1).await;
    let visit = Uuid::now_v7();
    let mut phone = Phone::new(w.phone1, visit);
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| phone.act(c)).collect();
    assert_eq!(w.push_outcomes(&token, &ops[..4]).await, ["applied"; 4]);
    assert_eq!(chain_check(&w, visit).unwrap().broken, None);

    // Someone with access to the database edits the note's text in place.
    let db = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    let edited = db
        .execute(
            "UPDATE visit_entries SET body = replace(body, 'lost job', 'new job')
             WHERE visit_id = ?1 AND seq = 3",
            [visit.to_string()],
        )
        .unwrap();
    assert_eq!(edited, 1);
    drop(db);

    // The device's next entry still links to the head it knows and is applied;
    // the whole-log verification finds the edit.
    assert_eq!(w.push_outcomes(&token, &ops[4..5]).await, ["applied"]);
    assert_eq!(
        chain_check(&w, visit),
        Some(ChainCheck {
            checked_at: t0(),
            entries: 5,
            broken: Some(ChainBreak {
                author: w.phone1,
                seq: Some(3),
                reason: BreakReason::HashMismatch,
            }),
        })
    );
    // Visits nobody touched are not verified; an unknown visit has no result.
    assert_eq!(chain_check(&w, Uuid::now_v7()), None);
}
