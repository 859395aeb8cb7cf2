//! The feed query reads a superset, the access module filters: over cases
//! assigned, shared and reassigned at random, with visits pushed on them,
//! each user's pulls deliver exactly the feed rows that
//! [`Access::may_carry`] lets through, worked out here from the whole feed
//! without the store's filtered query. So the query, fast as it is, never
//! leaves out a row someone may see, and nothing else reaches a phone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use common::*;
use doorstep_core::domain::{Case, VisitChange};
use doorstep_core::sync::protocol::Role;
use doorstep_server::access::Access;
use doorstep_server::admin;
use doorstep_server::store::{self, FeedItem, Store};
use serde_json::Value;
use uuid::Uuid;

on_both_backends!(every_user_receives_exactly_the_rows_their_access_allows);

/// A small deterministic generator (xorshift), so a failure replays.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % sides as u64) as usize
    }
}

/// What a pulled change is, for comparing.
fn key_of_pulled(change: &Value) -> String {
    match change["type"].as_str().unwrap() {
        "case" => format!("case {}", change["case"]["id"].as_str().unwrap()),
        "case_removed" => format!("case_removed {}", change["case_id"].as_str().unwrap()),
        "template" => format!(
            "template {}@{}",
            change["template"]["key"].as_str().unwrap(),
            change["template"]["version"]
        ),
        "visit_entry" => {
            let entry = &change["entry"];
            format!(
                "entry {} {} {}",
                entry["visit_id"].as_str().unwrap(),
                entry["author"].as_str().unwrap(),
                entry["seq"]
            )
        }
        other => panic!("unexpected change {other}"),
    }
}

/// The changes `user` on `device` may receive, worked out from every feed
/// row (read unfiltered) and the access module alone.
fn expected(store: &dyn Store, username: &str, device: Uuid) -> (Vec<String>, usize, usize) {
    store::read(store, |tx| {
        let user = tx.user_by_name(username)?.unwrap();
        let access = Access::of(&user, Some(device));
        let everything = tx.feed_after(0, u32::MAX)?;
        let mut keys = Vec::new();
        for (_, item) in &everything {
            match item {
                FeedItem::Case { case_id } => {
                    let case = tx.case(*case_id)?.unwrap();
                    if access.may_carry(&case) {
                        keys.push(format!("case {case_id}"));
                    }
                }
                FeedItem::CaseRemoved { case_id, from } => {
                    let case = tx.case(*case_id)?.unwrap();
                    if from.contains(&user.id) && !access.may_carry(&case) {
                        keys.push(format!("case_removed {case_id}"));
                    }
                }
                FeedItem::Template { key, version } => {
                    keys.push(format!("template {key}@{version}"))
                }
                FeedItem::VisitEntry {
                    case_id,
                    visit_id,
                    author,
                    seq,
                } => {
                    let case = tx.case(*case_id)?.unwrap();
                    if *author != device && access.may_carry(&case) {
                        keys.push(format!("entry {visit_id} {author} {seq}"));
                    }
                }
            }
        }
        let read = tx
            .feed_for(&access.feed_reader(device), 0, u64::MAX, u32::MAX)?
            .len();
        Ok::<_, store::StoreError>((keys, read, everything.len()))
    })
    .unwrap()
}

async fn every_user_receives_exactly_the_rows_their_access_allows(w: Arc<World>) {
    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    let agents = [
        ("agent1", w.agent1, w.phone1),
        ("agent2", w.agent2, w.phone2),
        ("agent3", w.agent3, w.phone3),
    ];
    // Thirty cases: a random primary agent; agents 1 and 2 (one team) share
    // some as partners.
    let mut cases: Vec<Case> = Vec::new();
    for _ in 0..30 {
        let (_, primary, _) = agents[dice.roll(3)];
        let partner = match (primary == w.agent3, dice.roll(3)) {
            (false, 0) if primary == w.agent1 => Some(w.agent2),
            (false, 0) => Some(w.agent1),
            _ => None,
        };
        cases.push(sample_case(primary, partner));
    }
    let admin_phone = Uuid::now_v7();
    {
        let (store, cases) = (Arc::clone(&w.state.store), cases.clone());
        tokio::task::spawn_blocking(move || {
            let s = store.as_ref();
            admin::import_cases(s, &cases, t0()).unwrap();
            admin::create_user(s, "root", "pw-root-secret", Role::Admin, None, t0()).unwrap();
            admin::create_device(s, "root", admin_phone, t0()).unwrap();
        })
        .await
        .unwrap();
    }
    // Visits on half of them by the primary agent, with a note from the
    // partner on some.
    let mut tokens = Vec::new();
    for (name, _, phone) in agents {
        tokens.push(w.login(name, phone).await);
    }
    let index = |who: Uuid| agents.iter().position(|(_, id, _)| *id == who).unwrap();
    for case in cases.iter().step_by(2) {
        let visit = Uuid::now_v7();
        let i = index(case.assigned.primary);
        let mut phone = Phone::new(agents[i].2, visit);
        let ops: Vec<_> = [
            planned(case),
            notice(),
            VisitChange::CheckedIn { check: site() },
        ]
        .iter()
        .map(|c| phone.act(c))
        .collect();
        assert_eq!(w.push_outcomes(&tokens[i], &ops).await, ["applied"; 3]);
        if let Some(partner) = case.assigned.partner
            && dice.roll(2) == 0
        {
            let j = index(partner);
            let mut phone = Phone::new(agents[j].2, visit);
            phone.millis += 60_000;
            let op = phone.act(&note(partner, "搭档的记录"));
            assert_eq!(w.push_outcomes(&tokens[j], &[op]).await, ["applied"]);
        }
    }
    // A third of the cases move to another agent, some to the other team.
    let mut moves: Vec<(Uuid, &str)> = Vec::new();
    for case in &cases {
        if dice.roll(3) == 0 {
            moves.push((case.id, agents[dice.roll(3)].0));
        }
    }
    assert!(!moves.is_empty());
    {
        let store = Arc::clone(&w.state.store);
        let moves: Vec<(Uuid, String)> = moves.iter().map(|(c, a)| (*c, a.to_string())).collect();
        tokio::task::spawn_blocking(move || {
            for (case, agent) in moves {
                admin::reassign_case(store.as_ref(), case, &agent, t0()).unwrap();
            }
        })
        .await
        .unwrap();
    }

    let readers = [
        ("agent1", w.phone1),
        ("agent2", w.phone2),
        ("agent3", w.phone3),
        ("sup_a", w.sup_a_phone),
        ("sup_b", w.sup_b_phone),
        ("root", admin_phone),
    ];
    for (name, device) in readers {
        let token = w.login(name, device).await;
        let mut pulled: Vec<String> = w.pull_all(&token).await.iter().map(key_of_pulled).collect();
        let store = Arc::clone(&w.state.store);
        let (mut allowed, read, total) =
            tokio::task::spawn_blocking(move || expected(store.as_ref(), name, device))
                .await
                .unwrap();
        pulled.sort();
        allowed.sort();
        assert_eq!(pulled, allowed, "{name}");
        assert!(
            read >= allowed.len(),
            "{name}: the query read fewer rows than may be seen"
        );
        if name.starts_with("agent") {
            assert!(read < total, "{name}: the query filtered nothing");
        }
    }
}
