//! A push asks the store in batches (the op ids' outcomes in one query; the
//! entries, op outcomes and audit rows written with one statement each on
//! PostgreSQL), and must answer exactly as if each entry were looked up and
//! stored one by one. SQLite keeps the store's default, row-by-row
//! implementation of the batch operations: the same pushes on both backends
//! must give the same outcomes, the same stored entries, feed rows, audit
//! rows, quarantine and chain checks. The PostgreSQL half runs when
//! `DOORSTEP_TEST_DATABASE_URL` is set (on CI it must be).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::domain::{InterviewNote, VisitChange};
use doorstep_core::event_log::{LogEntry, derived_op_id};
use doorstep_core::sync::protocol::RejectCode;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{
    self, AuditRecord, FeedItem, OpRecord, Store, StoreError, StoredEntry,
};
use uuid::Uuid;

/// What a run left behind, with every id replaced by a name, so that runs on
/// two stores (whose worlds have different ids) compare.
#[derive(Debug, PartialEq)]
struct Report {
    /// Each push's answer: how many ops were applied, then each op not
    /// applied (named after the entry whose op id it carries), in op order.
    outcomes: Vec<Vec<String>>,
    /// The feed rows the pushes appended, in sequence order.
    feed: Vec<String>,
    /// The audit rows the pushes appended, in order.
    audit: Vec<String>,
    /// Each visit's stored entries, in the store's order.
    stored: Vec<String>,
    /// The quarantine, newest first.
    quarantined: Vec<String>,
    /// Each visit's stored chain check.
    checks: Vec<String>,
}

/// Names for the ids of a world and its visits.
struct Names(HashMap<Uuid, String>);

impl Names {
    fn of(&self, id: Uuid) -> String {
        self.0
            .get(&id)
            .cloned()
            .unwrap_or_else(|| panic!("an id the test does not know: {id}"))
    }

    /// `text` with the id it is replaced by its name, if it is an id.
    fn text(&self, text: &str) -> String {
        match Uuid::parse_str(text) {
            Ok(id) => self.of(id),
            Err(_) => text.to_owned(),
        }
    }

    fn opt(&self, id: Option<Uuid>) -> String {
        id.map_or_else(|| "-".into(), |id| self.of(id))
    }
}

fn note_by(author: Uuid, text: &str) -> VisitChange {
    VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::now_v7(),
            author,
            written_at: t0(),
            text: text.into(),
        },
    }
}

/// `entry` with one field changed and its hash made to match again.
fn tampered(entry: &LogEntry, change: impl FnOnce(&mut LogEntry)) -> LogEntry {
    let mut entry = entry.clone();
    change(&mut entry);
    entry.hash = entry.compute_hash();
    entry
}

/// `phone`'s next entry for `change`, with the op id derived from its chain
/// position (as phones of this build make them), kept as the phone's head.
fn act_derived(phone: &mut Phone, change: &VisitChange) -> LogEntry {
    let entry = phone.act(change);
    let derived = tampered(&entry, |e| {
        e.op_id = derived_op_id(e.visit_id, e.author, e.seq);
    });
    *phone.entries.last_mut().unwrap() = derived.clone();
    derived
}

/// Runs `f` on the store off the async workers.
async fn on_store<R: Send + 'static>(
    w: &World,
    f: impl FnOnce(&dyn Store) -> R + Send + 'static,
) -> R {
    let store = Arc::clone(&w.state.store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .unwrap()
}

async fn feed_and_audit_lengths(w: &World) -> (u64, usize) {
    on_store(w, |s| {
        store::read(s, |tx| {
            Ok::<_, StoreError>((tx.feed_last()?, tx.audit_log()?.len()))
        })
        .unwrap()
    })
    .await
}

/// The pushes: agent1's phone on two visits of case1 (one with random op
/// ids, one with derived ones) and a visit of team B's case, which agent1
/// may not push to. The second push mixes every outcome; the third sends
/// the second again.
async fn scenario(w: Arc<World>) -> Report {
    let token = w.login("agent1", w.phone1).await;
    let (feed_before, audit_before) = feed_and_audit_lengths(&w).await;
    let mut a = Phone::new(w.phone1, Uuid::now_v7());
    let mut b = Phone::new(w.phone1, Uuid::now_v7());
    let mut c = Phone::new(w.phone1, Uuid::now_v7());
    let mut partner = Phone::new(w.phone2, a.visit);

    let a0 = a.act(&planned(&w.case1));
    let a1 = a.act(&notice());
    let a2 = a.act(&VisitChange::CheckedIn { check: site() });
    let a3 = a.act(&note_by(w.agent1, &"债".repeat(10_001)));
    let b0 = act_derived(&mut b, &planned(&w.case1));
    let first = vec![a0, a1.clone(), a2.clone(), a3.clone(), b0.clone()];

    let a4 = a.act(&note_by(w.agent1, "customer lost job in January"));
    let a5 = a.act(&note_by(w.agent1, "will call back on Friday"));
    // Another entry taking a2's (random) op id: not a retry of a2.
    let a5_thief = tampered(&a5, |e| e.op_id = a2.op_id);
    let a6 = a.act(&note_by(w.agent1, &"债".repeat(10_001)));
    let a7 = a.act(&note_by(w.agent1, "neighbour confirms the address"));
    let b1 = act_derived(&mut b, &notice());
    // Another change at b1's place, with b1's (derived) op id.
    let b1_other = tampered(&b1, |e| {
        e.payload = serde_json::to_string(&note_by(w.agent1, "not b1")).unwrap();
        e.kind = "note_added".into();
    });
    let b2 = act_derived(&mut b, &VisitChange::CheckedIn { check: site() });
    let b3 = act_derived(&mut b, &note_by(w.agent1, "asked for a payment plan"));
    // An op id naming another position.
    let b3_mismatch = tampered(&b3, |e| {
        e.op_id = derived_op_id(e.visit_id, e.author, e.seq + 5);
    });
    let c0 = c.act(&planned(&w.case2));
    let by_partner = partner.act(&note_by(w.agent2, "written on the partner's phone"));
    // Clocked a day ahead of the server.
    let mut ahead = Phone::new(w.phone1, a.visit);
    ahead.entries = a.entries.clone();
    ahead.millis = a.millis + Duration::days(1).num_milliseconds() as u64;
    let a8_ahead = ahead.act(&note_by(w.agent1, "from tomorrow"));

    // In an order the request keeps (`PushRequest` groups entries in runs of
    // linked entries, and an entry joins its chain's latest run when it
    // links to it).
    let second = vec![
        a1.clone(),          // duplicate
        a3.clone(),          // invalid_note, as recorded
        a4.clone(),          // applied
        a4.clone(),          // duplicate, of this very push
        a5_thief,            // chain_broken: a2's op id elsewhere
        a5.clone(),          // applied
        a6.clone(),          // invalid_note, stored flagged
        a7.clone(),          // applied, links after the refused one
        a8_ahead.clone(),    // clock_ahead, stored flagged
        b2.clone(),          // chain_broken: b1 is missing
        b1.clone(),          // applied
        b1_other,            // chain_broken: b1's place is taken
        b2.clone(),          // applied now that b1 is in
        b3_mismatch.clone(), // op_id_mismatch
        b3.clone(),          // applied
        c0.clone(),          // not_assigned, kept apart
        c0.clone(),          // not_assigned again (not recorded)
        by_partner.clone(),  // wrong_device
        b0.clone(),          // duplicate, of the first push
    ];
    let mut names = HashMap::new();
    for (entry, name) in [
        (&a1, "a1"),
        (&a2, "a2"),
        (&a3, "a3"),
        (&a4, "a4"),
        (&a5, "a5"),
        (&a6, "a6"),
        (&a7, "a7"),
        (&a8_ahead, "a8"),
        (&b0, "b0"),
        (&b1, "b1"),
        (&b2, "b2"),
        (&b3, "b3"),
        (&b3_mismatch, "b3-mismatch"),
        (&c0, "c0"),
        (&by_partner, "by-partner"),
    ] {
        names.insert(entry.op_id, name.to_owned());
    }
    for (id, name) in [
        (w.agent1, "agent1"),
        (w.agent2, "agent2"),
        (w.agent3, "agent3"),
        (w.phone1, "phone1"),
        (w.phone2, "phone2"),
        (w.phone3, "phone3"),
        (w.case1.id, "case1"),
        (w.case2.id, "case2"),
        (a.visit, "A"),
        (b.visit, "B"),
        (c.visit, "C"),
    ] {
        names.insert(id, name.to_owned());
    }
    let names = Names(names);
    let mut outcomes = Vec::new();
    // The same second push twice: the second time every answer comes from
    // what is stored.
    for ops in [&first, &second, &second] {
        let (status, answer) = w.push(&token, ops).await;
        assert_eq!(status, axum::http::StatusCode::OK, "{answer}");
        let mut outcome = vec![format!("applied: {}", answer["applied"])];
        for op in answer["not_applied"].as_array().unwrap() {
            let op_id = Uuid::parse_str(op["op_id"].as_str().unwrap()).unwrap();
            let code = op["code"].as_str().map(|c| format!(" {c}"));
            outcome.push(format!(
                "{} {}{}",
                names.of(op_id),
                op["outcome"].as_str().unwrap(),
                code.unwrap_or_default()
            ));
        }
        outcomes.push(outcome);
    }
    let visits = [a.visit, b.visit, c.visit];
    let (feed, audit, stored, quarantined, checks) = on_store(&w, move |s| {
        store::read(s, |tx| {
            let feed = tx.feed_after(feed_before, 10_000)?;
            let audit = tx.audit_log()?;
            let mut stored = Vec::new();
            let mut checks = Vec::new();
            for visit in visits {
                stored.push(tx.visit_entries(visit)?);
                checks.push(tx.chain_check(visit)?);
            }
            let quarantined = tx.quarantined(100)?;
            Ok::<_, StoreError>((feed, audit, stored, quarantined, checks))
        })
        .unwrap()
    })
    .await;

    let feed = feed
        .iter()
        .map(|(_, item)| match item {
            FeedItem::VisitEntry {
                case_id,
                visit_id,
                author,
                seq,
            } => format!(
                "{} {} {} {seq}",
                names.of(*case_id),
                names.of(*visit_id),
                names.of(*author)
            ),
            other => panic!("a push appended {other:?}"),
        })
        .collect();
    let audit = audit[audit_before..]
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} by {} on {} at {}",
                r.action,
                r.target_kind,
                names.text(&r.target_id),
                r.code.as_deref().unwrap_or("-"),
                names.opt(r.user),
                names.opt(r.device),
                r.at
            )
        })
        .collect();
    let stored = stored
        .iter()
        .zip(visits)
        .flat_map(|(entries, visit)| {
            let names = &names;
            entries.iter().map(move |s| {
                format!(
                    "{} {} {} {} rejected {:?} reassigned {}",
                    names.of(visit),
                    names.of(s.entry.author),
                    s.entry.seq,
                    s.entry.kind,
                    s.rejected.map(RejectCode::code),
                    s.reassigned
                )
            })
        })
        .collect();
    let quarantined = quarantined
        .iter()
        .map(|q| {
            format!(
                "{} {} {} by {} on {} case {} at {}",
                names.of(q.entry.visit_id),
                q.entry.seq,
                q.code.code(),
                names.of(q.user),
                names.of(q.device),
                names.opt(q.case_id),
                q.at
            )
        })
        .collect();
    let checks = checks
        .iter()
        .zip(visits)
        .map(|(check, visit)| {
            let check = check.as_ref().map(|c| {
                (
                    c.checked_at,
                    c.entries,
                    c.broken.map(|b| (names.of(b.author), b.seq, b.reason)),
                )
            });
            format!("{} {check:?}", names.of(visit))
        })
        .collect();
    Report {
        outcomes,
        feed,
        audit,
        stored,
        quarantined,
        checks,
    }
}

/// The report of [`scenario`] on `w`'s store.
fn report_on(w: World) -> Report {
    let w = Arc::new(w);
    let report = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario(Arc::clone(&w)));
    // The store's connections are dropped outside the runtime.
    drop(w);
    report
}

#[test]
fn a_mixed_push_is_answered_and_stored_alike_on_both_backends() {
    let sqlite = report_on(World::new());

    // What the row-by-row path gives, spelled out.
    let answer =
        |lines: &[&str]| -> Vec<String> { lines.iter().map(|l| (*l).to_owned()).collect() };
    assert_eq!(
        sqlite.outcomes,
        [
            answer(&["applied: 4", "a3 rejected invalid_note"]),
            answer(&[
                "applied: 6",
                "a1 duplicate",
                "a3 rejected invalid_note",
                "a4 duplicate",
                "a2 rejected chain_broken",
                "a6 rejected invalid_note",
                "a8 rejected clock_ahead",
                "b2 rejected chain_broken",
                "b1 rejected chain_broken",
                "b3-mismatch rejected op_id_mismatch",
                "c0 rejected not_assigned",
                "c0 rejected not_assigned",
                "by-partner rejected wrong_device",
                "b0 duplicate",
            ]),
            answer(&[
                "applied: 0",
                "a1 duplicate",
                "a3 rejected invalid_note",
                "a4 duplicate",
                "a4 duplicate",
                "a2 rejected chain_broken",
                "a5 duplicate",
                "a6 rejected invalid_note",
                "a7 duplicate",
                "a8 rejected clock_ahead",
                "b2 duplicate",
                "b1 duplicate",
                "b1 rejected chain_broken",
                "b2 duplicate",
                "b3-mismatch rejected op_id_mismatch",
                "b3 duplicate",
                "c0 rejected not_assigned",
                "c0 rejected not_assigned",
                "by-partner rejected wrong_device",
                "b0 duplicate",
            ]),
        ]
    );
    // Every stored entry went to the feed, refused ones included, in push
    // order; nothing of visit C.
    let feed: Vec<&str> = sqlite.feed.iter().map(String::as_str).collect();
    assert_eq!(
        feed,
        [
            "case1 A phone1 0",
            "case1 A phone1 1",
            "case1 A phone1 2",
            "case1 A phone1 3",
            "case1 B phone1 0",
            "case1 A phone1 4",
            "case1 A phone1 5",
            "case1 A phone1 6",
            "case1 A phone1 7",
            "case1 A phone1 8",
            "case1 B phone1 1",
            "case1 B phone1 2",
            "case1 B phone1 3",
        ]
    );
    // Per push: one row per refused op, in op order, then one per visit
    // changed.
    let refused = |code: &str, visit: &str| {
        format!(
            "op_refused visit {visit} {code} by agent1 on phone1 at {}",
            t0()
        )
    };
    let pushed = |visit: &str| format!("push visit {visit} - by agent1 on phone1 at {}", t0());
    let second_refused = [
        ("invalid_note", "A"),
        ("chain_broken", "A"),
        ("invalid_note", "A"),
        ("clock_ahead", "A"),
        ("chain_broken", "B"),
        ("chain_broken", "B"),
        ("op_id_mismatch", "B"),
        ("not_assigned", "C"),
        ("not_assigned", "C"),
        ("wrong_device", "A"),
    ];
    let mut audit = vec![refused("invalid_note", "A")];
    audit.extend([pushed("A"), pushed("B")]);
    audit.extend(second_refused.map(|(code, visit)| refused(code, visit)));
    audit.extend([pushed("A"), pushed("B")]);
    // The third push changes no visit; b2 is stored by now.
    let third_refused = second_refused
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, (code, visit))| refused(code, visit));
    audit.extend(third_refused);
    assert_eq!(sqlite.audit, audit);
    assert_eq!(sqlite.stored.len(), 13, "{:#?}", sqlite.stored);
    assert_eq!(sqlite.quarantined.len(), 1, "{:#?}", sqlite.quarantined);
    assert!(
        sqlite.checks[..2]
            .iter()
            .all(|check| check.contains("None)")),
        "{:?}",
        sqlite.checks
    );

    let name = "postgres::a_mixed_push_is_answered_and_stored_alike_on_both_backends";
    if let Some(store) = console_support::postgres_store(name) {
        let postgres = report_on(World::with_store(store));
        assert_eq!(postgres, sqlite);
    }
}

/// The batch operations themselves, on one store: each answers as the
/// single-row operations would, in order, and a conflict anywhere in a batch
/// is [`StoreError::Conflict`], rolling the transaction back.
fn batch_operations(s: &dyn Store) -> Vec<String> {
    let visit = Uuid::now_v7();
    let device = Uuid::now_v7();
    let mut phone = Phone::new(device, visit);
    let entries: Vec<LogEntry> = (0..4)
        .map(|i| phone.act(&note_by(device, &format!("note {i}"))))
        .collect();
    let stored = |i: usize, rejected: Option<RejectCode>, reassigned: bool| StoredEntry {
        entry: entries[i].clone(),
        rejected,
        reassigned,
    };
    let op = |i: usize, rejected: Option<RejectCode>| OpRecord {
        op_id: entries[i].op_id,
        device,
        rejected,
    };
    let audit = |action: &str, code: Option<&str>| AuditRecord {
        at: t0(),
        user: None,
        device: Some(device),
        action: action.into(),
        target_kind: "visit".into(),
        target_id: visit.to_string(),
        code: code.map(str::to_owned),
    };
    let records = [
        audit("op_refused", Some("invalid_note")),
        audit("push", None),
        audit("op_refused", Some("chain_broken")),
    ];
    let first = [
        stored(0, None, false),
        stored(1, Some(RejectCode::InvalidNote), false),
        stored(2, None, true),
    ];
    let mut seen = Vec::new();
    store::write(s, |tx| {
        // Empty batches change nothing.
        assert_eq!(tx.op_outcomes(&[])?, Vec::new());
        tx.insert_entries(&[])?;
        tx.record_ops(&[])?;
        tx.append_audits(&[])?;
        tx.insert_entries(&first)?;
        tx.record_ops(&[
            op(0, None),
            op(1, Some(RejectCode::InvalidNote)),
            op(2, None),
        ])?;
        tx.append_audits(&records)
    })
    .unwrap();
    let unknown = Uuid::now_v7();
    let asked = [
        unknown,
        entries[1].op_id,
        entries[0].op_id,
        entries[1].op_id,
    ];
    let (outcomes, one_by_one, kept, audit_log) = store::read(s, |tx| {
        let one_by_one = asked
            .iter()
            .map(|id| tx.op_outcome(*id))
            .collect::<Result<Vec<_>, _>>()?;
        Ok::<_, StoreError>((
            tx.op_outcomes(&asked)?,
            one_by_one,
            tx.visit_entries(visit)?,
            tx.audit_log()?,
        ))
    })
    .unwrap();
    assert_eq!(
        outcomes,
        [
            None,
            Some(Some(RejectCode::InvalidNote)),
            Some(None),
            Some(Some(RejectCode::InvalidNote)),
        ]
    );
    assert_eq!(outcomes, one_by_one);
    assert_eq!(kept, first);
    assert_eq!(audit_log[audit_log.len() - 3..], records);
    seen.push(format!("{outcomes:?}"));

    // A place taken before, or twice in one batch; an op id recorded before.
    let conflicts: [(&str, Vec<StoredEntry>, Vec<OpRecord>); 3] = [
        (
            "stored before",
            vec![stored(3, None, false), stored(1, None, false)],
            Vec::new(),
        ),
        (
            "twice in the batch",
            vec![stored(3, None, false), stored(3, None, true)],
            Vec::new(),
        ),
        ("op recorded", Vec::new(), vec![op(3, None), op(0, None)]),
    ];
    for (what, entries, ops) in conflicts {
        let result = store::write(s, |tx| {
            tx.append_audits(&[audit("push", None)])?;
            tx.insert_entries(&entries)?;
            tx.record_ops(&ops)
        });
        seen.push(format!("{what}: {result:?}"));
    }
    // Nothing of the refused batches stayed.
    let (kept, outcome, audit_len) = store::read(s, |tx| {
        Ok::<_, StoreError>((
            tx.visit_entries(visit)?,
            tx.op_outcome(entries[3].op_id)?,
            tx.audit_log()?.len(),
        ))
    })
    .unwrap();
    assert_eq!(kept, first);
    assert_eq!(outcome, None);
    assert_eq!(audit_len, audit_log.len());
    seen
}

#[test]
fn batch_operations_answer_as_the_single_row_ones_on_both_backends() {
    let sqlite = SqliteStore::open_in_memory().unwrap();
    let on_sqlite = batch_operations(&sqlite);
    assert_eq!(
        on_sqlite[1..],
        [
            "stored before: Err(Conflict(\"visit entry\"))",
            "twice in the batch: Err(Conflict(\"visit entry\"))",
            "op recorded: Err(Conflict(\"op\"))",
        ]
    );
    let name = "postgres::batch_operations_answer_as_the_single_row_ones_on_both_backends";
    if let Some(store) = console_support::postgres_store(name) {
        assert_eq!(batch_operations(store.as_ref()), on_sqlite);
    }
}
