//! Router tests for pull visibility, paging, reassignment and supervisor
//! review, on SQLite and on PostgreSQL (one test per check per backend;
//! PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::http::StatusCode;
use backends::blocking;
use common::*;
use doorstep_core::domain::{VisitChange, VisitHistory, VisitState};
use doorstep_core::event_log::LogEntry;
use doorstep_server::admin;
use doorstep_server::store;
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    agents_see_their_cases_and_their_partners_entries_only,
    a_case_moved_away_is_announced_as_removed,
    pulls_page_through_the_feed_with_a_cursor,
    a_deactivated_device_is_told_so_and_can_still_push,
    only_the_supervisor_of_the_cases_team_reviews,
    an_approval_reaches_the_agent_and_freezes_the_visit,
    a_returned_visit_reopens_when_the_agent_edits_it,
    the_audit_log_names_ids_and_never_customer_data,
);

fn of_type<'a>(changes: &'a [Value], kind: &str) -> Vec<&'a Value> {
    changes.iter().filter(|c| c["type"] == kind).collect()
}

fn case_ids(changes: &[Value]) -> Vec<String> {
    of_type(changes, "case")
        .iter()
        .map(|c| c["case"]["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn agents_see_their_cases_and_their_partners_entries_only(w: Arc<World>) {
    let t1 = w.login("agent1", w.phone1).await;
    let t2 = w.login("agent2", w.phone2).await;
    let t3 = w.login("agent3", w.phone3).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1)[..4]
        .iter()
        .map(|c| phone.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&t1, &ops).await, vec!["applied"; 4]);

    let own = w.pull_all(&t1).await;
    assert_eq!(case_ids(&own), [w.case1.id.to_string()]);
    assert_eq!(of_type(&own, "template").len(), 1);
    assert!(
        of_type(&own, "visit_entry").is_empty(),
        "own entries come back"
    );

    let partner = w.pull_all(&t2).await;
    assert_eq!(case_ids(&partner), [w.case1.id.to_string()]);
    let entries = of_type(&partner, "visit_entry");
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["entry"]["hash"], json!(ops[0].hash));

    let other = w.pull_all(&t3).await;
    assert_eq!(case_ids(&other), [w.case2.id.to_string()]);
    assert!(of_type(&other, "visit_entry").is_empty());

    // The partner's own pushes converge with agent1's on the same visit.
    let mut second = Phone::new(w.phone2, phone.visit);
    // The partner's clock has observed agent1's entries (it pulled them).
    second.millis = phone.millis;
    let theirs = second.act(&note(w.agent2, "neighbour confirms address"));
    assert_eq!(w.push_outcomes(&t2, &[theirs]).await, ["applied"]);
    let back = w.pull_all(&t1).await;
    assert_eq!(of_type(&back, "visit_entry").len(), 1);
    let visit = phone.visit;
    let all: Vec<LogEntry> = blocking(&w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.visit_entries(visit)).unwrap()
    })
    .await
    .into_iter()
    .map(|s| s.entry)
    .collect();
    let history = VisitHistory::fold(phone.visit, &all).unwrap();
    assert_eq!(history.notes.len(), 2);
}

async fn a_case_moved_away_is_announced_as_removed(w: Arc<World>) {
    let t3 = w.login("agent3", w.phone3).await;
    let first = w.pull(&t3, 0, 100).await;
    let cursor = first["cursor"].as_u64().unwrap();
    blocking(&w, |w| {
        admin::reassign_case(w.state.store.as_ref(), w.case2.id, "agent1", t0()).unwrap()
    })
    .await;
    let next = w.pull(&t3, cursor, 100).await;
    let changes = next["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0]["type"], "case_removed");
    assert_eq!(changes[0]["case_id"], json!(w.case2.id));
    let t1 = w.login("agent1", w.phone1).await;
    let ids = case_ids(&w.pull_all(&t1).await);
    assert!(ids.contains(&w.case2.id.to_string()));
    // A supervisor of the new team sees it; the old one no longer does.
    let sa = w.login("sup_a", w.sup_a_phone).await;
    assert!(case_ids(&w.pull_all(&sa).await).contains(&w.case2.id.to_string()));
    let sb = w.login("sup_b", w.sup_b_phone).await;
    assert!(case_ids(&w.pull_all(&sb).await).is_empty());
}

async fn pulls_page_through_the_feed_with_a_cursor(w: Arc<World>) {
    let cases: Vec<_> = (0..7).map(|_| sample_case(w.agent1, None)).collect();
    blocking(&w, move |w| {
        admin::import_cases(w.state.store.as_ref(), &cases, t0()).unwrap()
    })
    .await;
    let token = w.login("agent1", w.phone1).await;
    let (mut cursor, mut seen, mut pages) = (0, Vec::new(), 0);
    loop {
        let page = w.pull(&token, cursor, 3).await;
        let changes = page["changes"].as_array().unwrap();
        assert!(changes.len() <= 3);
        seen.extend(case_ids(changes));
        let next = page["cursor"].as_u64().unwrap();
        assert!(next >= cursor);
        cursor = next;
        pages += 1;
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(seen.len(), 8, "case1 and the seven new ones");
    assert!(pages >= 3);
    let again = w.pull(&token, cursor, 3).await;
    assert!(again["changes"].as_array().unwrap().is_empty());
    assert_eq!(again["cursor"].as_u64().unwrap(), cursor);
    let (status, value) = w
        .send("GET", "/v1/pull?cursor=-1", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(value["code"], "invalid_query");
}

async fn a_deactivated_device_is_told_so_and_can_still_push(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    blocking(&w, |w| {
        admin::deactivate_device(w.state.store.as_ref(), w.phone1, t0()).unwrap()
    })
    .await;
    assert_eq!(w.pull(&token, 0, 10).await["deactivated"], true);
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let first = phone.act(&planned(&w.case1));
    assert_eq!(w.push_outcomes(&token, &[first]).await, ["applied"]);
}

async fn submitted_visit(w: &World) -> (String, Phone) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| phone.act(c)).collect();
    assert_eq!(w.push_outcomes(&token, &ops).await, vec!["applied"; 7]);
    (token, phone)
}

async fn only_the_supervisor_of_the_cases_team_reviews(w: Arc<World>) {
    let (agent, phone) = submitted_visit(&w).await;
    let uri = format!("/v1/visits/{}/review", phone.visit);
    let approve = json!({"decision": {"decision": "approve"}}).to_string();
    let sb = w.login("sup_b", w.sup_b_phone).await;
    let (status, value) = w.send("POST", &uri, Some(&sb), Some(approve.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(value["code"], "not_your_team");
    let (status, value) = w
        .send("POST", &uri, Some(&agent), Some(approve.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(value["code"], "not_supervisor");
    let sa = w.login("sup_a", w.sup_a_phone).await;
    let missing = format!("/v1/visits/{}/review", Uuid::now_v7());
    let (status, _) = w
        .send("POST", &missing, Some(&sa), Some(approve.clone()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, value) = w
        .send(
            "POST",
            "/v1/visits/not-a-uuid/review",
            Some(&sa),
            Some(approve),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    let incomplete = json!({"decision": {"decision": "return", "reason_code": "", "comment": ""}});
    let (status, value) = w
        .send("POST", &uri, Some(&sa), Some(incomplete.to_string()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(value["code"], "invalid_review");
}

async fn an_approval_reaches_the_agent_and_freezes_the_visit(w: Arc<World>) {
    let (agent, mut phone) = submitted_visit(&w).await;
    let sa = w.login("sup_a", w.sup_a_phone).await;
    let uri = format!("/v1/visits/{}/review", phone.visit);
    let approve = json!({"decision": {"decision": "approve"}}).to_string();
    let (status, entry) = w.send("POST", &uri, Some(&sa), Some(approve.clone())).await;
    assert_eq!(status, StatusCode::OK, "{entry}");
    assert_eq!(entry["kind"], "reviewed");
    let (status, value) = w.send("POST", &uri, Some(&sa), Some(approve)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(value["code"], "visit_not_submitted");

    let pulled = w.pull_all(&agent).await;
    let entries = of_type(&pulled, "visit_entry");
    assert_eq!(entries.len(), 1);
    let review: LogEntry = serde_json::from_value(entries[0]["entry"].clone()).unwrap();
    assert_eq!(review.kind, "reviewed");
    assert_eq!(review.compute_hash(), review.hash);
    let mut log = phone.entries.clone();
    log.push(review);
    let history = VisitHistory::fold(phone.visit, &log).unwrap();
    assert_eq!(history.visit.state, VisitState::Approved);

    let late = phone.act(&note(w.agent1, "forgot to mention the car"));
    assert_eq!(
        w.push_outcomes(&agent, &[late]).await,
        ["illegal_transition"]
    );
    let feedback = phone.act(&VisitChange::CheckedIn { check: site() });
    assert_eq!(
        w.push_outcomes(&agent, &[feedback]).await,
        ["illegal_transition"]
    );
}

async fn a_returned_visit_reopens_when_the_agent_edits_it(w: Arc<World>) {
    let (agent, mut phone) = submitted_visit(&w).await;
    let sa = w.login("sup_a", w.sup_a_phone).await;
    let uri = format!("/v1/visits/{}/review", phone.visit);
    let back = json!({"decision": {"decision": "return", "reason_code": "missing_photos",
        "comment": "add the premises photos"}});
    let (status, _) = w
        .send("POST", &uri, Some(&sa), Some(back.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let ops = vec![
        phone.act(&note(w.agent1, "photos added")),
        phone.act(&VisitChange::Submitted { at: t0() }),
    ];
    assert_eq!(w.push_outcomes(&agent, &ops).await, ["applied", "applied"]);
}

async fn the_audit_log_names_ids_and_never_customer_data(w: Arc<World>) {
    let (_agent, _phone) = submitted_visit(&w).await;
    let t2 = w.login("agent2", w.phone2).await;
    w.pull_all(&t2).await;
    let log = blocking(&w, |w| {
        store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap()
    })
    .await;
    assert!(
        log.iter()
            .any(|r| r.action == "read" && r.target_id == w.case1.id.to_string())
    );
    assert!(log.iter().any(|r| r.action == "push"));
    let text = format!("{log:?}");
    // The phone number as written (ids are hex, so bare digits could match one).
    assert!(!text.contains("王小明") && !text.contains("138 0000"));
    let (status, body) = w.send("GET", "/healthz", None, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Value::String("ok\n".into()))
    );
}
