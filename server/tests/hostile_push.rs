//! What a modified, old or buggy phone sends to `POST /v1/push`, and what the
//! server does with it: every entry passes the rules the phone itself runs
//! (`doorstep_core::rules`), numbers the store cannot hold and clocks far
//! ahead are per-op refusals, never a 5xx, and no device writes into another
//! device's chain. Each check runs on SQLite and on PostgreSQL (one test per
//! check per backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use common::*;
use console_support::site_at;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::domain::{
    Attachment, AttachmentKind, AttachmentLink, InterviewNote, VisitChange,
};
use doorstep_core::event_log::{LogEntry, derived_op_id};
use doorstep_core::sync::protocol::RejectCode;
use uuid::Uuid;

/// Every entry the server stored for a visit, read off the async workers.
async fn stored(w: &World, visit: Uuid) -> Vec<doorstep_server::store::StoredEntry> {
    let store = Arc::clone(&w.state.store);
    tokio::task::spawn_blocking(move || {
        doorstep_server::store::read(store.as_ref(), |tx| tx.visit_entries(visit)).unwrap()
    })
    .await
    .unwrap()
}

on_both_backends!(
    a_visit_the_phone_would_refuse_is_refused_by_the_server_with_the_same_code,
    a_phone_of_an_older_version_gets_the_code_it_knows_for_each_refusal,
    numbers_the_store_cannot_hold_are_per_op_refusals_never_a_5xx,
    a_partner_cannot_take_the_op_id_of_another_devices_position,
    a_stamp_far_ahead_cannot_outrank_the_supervisor,
    entries_from_someone_never_assigned_are_kept_apart_and_never_delivered,
    text_postgresql_cannot_hold_gets_the_answer_sqlite_gives,
);

/// A phone's entries of one visit, checked in at the registered address.
fn checked_in(w: &World, phone: &mut Phone) -> Vec<LogEntry> {
    [
        planned(&w.case1),
        notice(),
        VisitChange::CheckedIn { check: site() },
    ]
    .iter()
    .map(|c| phone.act(c))
    .collect()
}

fn note_by(author: Uuid, text: String) -> VisitChange {
    VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::now_v7(),
            author,
            written_at: t0(),
            text,
        },
    }
}

async fn a_visit_the_phone_would_refuse_is_refused_by_the_server_with_the_same_code(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let start = checked_in(&w, &mut phone);
    assert_eq!(w.push_outcomes(&token, &start).await, ["applied"; 3]);

    // Each refused entry is stored in its chain, flagged, so the next one
    // still links and is judged on its own.
    let attempts: Vec<(VisitChange, &str)> = vec![
        (note_by(w.agent1, "债".repeat(10_001)), "invalid_note"),
        (note_by(w.agent2, "冒充搭档写的记录".into()), "wrong_author"),
        (
            VisitChange::Answered {
                item_id: "ability_to_repay".into(),
                value: AnswerValue::Text("很强".into()),
            },
            "invalid_answer",
        ),
        (
            VisitChange::Attached {
                attachment: Attachment {
                    id: Uuid::now_v7(),
                    kind: AttachmentKind::Photo,
                    mime_type: "text/html".into(),
                    sha256: "ab".repeat(32),
                    size_bytes: 10,
                    link: AttachmentLink::Visit,
                    taken_at: t0(),
                },
            },
            "invalid_attachment",
        ),
        (
            VisitChange::CheckedOut {
                // Four kilometres away, claiming to be at the door.
                check: {
                    let mut far = site_at(39.95, 116.4605, 0);
                    far.distance_m = Some(0.0);
                    far.flags.clear();
                    far
                },
            },
            "invalid_site_check",
        ),
        (VisitChange::Submitted { at: t0() }, "illegal_transition"),
    ];
    for (change, code) in attempts {
        let entry = phone.act(&change);
        assert_eq!(
            w.push_outcomes(&token, &[entry]).await,
            [code],
            "{}",
            change.kind()
        );
    }
    // Checked out, but no outcome: the submission is refused; with the
    // customer met and the checklist empty, it is refused for the checklist.
    let out = phone.act(&VisitChange::CheckedOut { check: site() });
    assert_eq!(w.push_outcomes(&token, &[out]).await, ["applied"]);
    let submit = phone.act(&VisitChange::Submitted { at: t0() });
    assert_eq!(
        w.push_outcomes(&token, &[submit]).await,
        ["missing_outcome"]
    );
    let outcome = phone.act(&console_support::promise());
    let submit = phone.act(&VisitChange::Submitted { at: t0() });
    assert_eq!(
        w.push_outcomes(&token, &[outcome, submit]).await,
        ["applied", "incomplete_checklist"]
    );
    // Nothing refused reached the visit: the supervisor's queue has nothing.
    let entries = stored(&w, phone.visit).await;
    let admitted: Vec<LogEntry> = entries
        .iter()
        .filter(|e| e.rejected.is_none())
        .map(|e| e.entry.clone())
        .collect();
    let visit = doorstep_core::domain::VisitHistory::fold(phone.visit, &admitted).unwrap();
    assert_eq!(
        visit.visit.state,
        doorstep_core::domain::VisitState::CheckedOut
    );
    assert!(visit.notes.is_empty() && visit.attachments.is_empty());
}

async fn a_phone_of_an_older_version_gets_the_code_it_knows_for_each_refusal(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let start = checked_in(&w, &mut phone);
    assert_eq!(w.push_outcomes(&token, &start).await, ["applied"; 3]);
    let long = phone.act(&note_by(w.agent1, "债".repeat(10_001)));
    let forged = phone.act(&note_by(w.agent2, "冒充".into()));
    // A phone of version 2 (no version header) knew seven codes.
    let (status, answer) = w.push_as(2, &token, &[long.clone(), forged.clone()]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        outcomes_of(&[long.clone(), forged.clone()], &answer),
        ["invalid_payload", "wrong_device"]
    );
    // The retry of a phone of this build hears the recorded refusals in its words.
    assert_eq!(
        w.push_outcomes(&token, &[long, forged]).await,
        ["invalid_note", "wrong_author"]
    );
    // A version the server no longer speaks is told to upgrade.
    let request = axum::http::Request::builder()
        .method("GET")
        .uri("/v1/pull")
        .header("authorization", format!("Bearer {token}"))
        .header("doorstep-protocol", "0")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = w.raw(request).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(body["code"], "upgrade_required");
    assert_eq!(body["minimum_version"], 1);
}

/// An entry with one field changed and its hash made to match again, as a
/// modified app would send it.
fn tampered(entry: &LogEntry, change: impl FnOnce(&mut LogEntry)) -> LogEntry {
    let mut entry = entry.clone();
    change(&mut entry);
    entry.hash = entry.compute_hash();
    entry
}

/// `phone`'s next entry for `change`, altered by `alter` (hash made to match),
/// and kept as the phone's chain head so the entries after it link to it.
fn act_altered(
    phone: &mut Phone,
    change: &VisitChange,
    alter: impl FnOnce(&mut LogEntry),
) -> LogEntry {
    phone.act(change);
    let last = phone.entries.last_mut().unwrap();
    *last = tampered(last, alter);
    last.clone()
}

async fn numbers_the_store_cannot_hold_are_per_op_refusals_never_a_5xx(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let start = checked_in(&w, &mut phone);
    assert_eq!(w.push_outcomes(&token, &start).await, ["applied"; 3]);
    // Positions beyond the store: refused before anything is looked up, not
    // stored (the phone's chain head stays where it was).
    let next = phone.act(&note_by(w.agent1, "正常的记录".into()));
    phone.entries.pop();
    let mut cases: Vec<(LogEntry, &str)> = vec![
        (
            tampered(&next, |e| {
                e.seq = u64::MAX;
                e.op_id = derived_op_id(e.visit_id, e.author, e.seq);
            }),
            "out_of_range",
        ),
        (
            tampered(&next, |e| {
                e.seq = 1 << 63;
                e.op_id = derived_op_id(e.visit_id, e.author, e.seq);
            }),
            "out_of_range",
        ),
    ];
    // Clocks beyond any sane stamp: refused, kept in their place.
    cases.push((
        act_altered(&mut phone, &note_by(w.agent1, "一".into()), |e| {
            e.hlc.millis = u64::MAX;
        }),
        "clock_ahead",
    ));
    cases.push((
        act_altered(&mut phone, &note_by(w.agent1, "二".into()), |e| {
            e.hlc.millis = i64::MAX as u64 + 1;
        }),
        "clock_ahead",
    ));
    for (entry, code) in cases {
        let (status, answer) = w.push(&token, std::slice::from_ref(&entry)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(outcomes_of(&[entry], &answer), [code]);
    }
    // The far-future stamp was refused but kept in its place: the chain goes
    // on with an entry of the right clock and an attachment of absurd size.
    let huge = phone.act(&VisitChange::Attached {
        attachment: Attachment {
            id: Uuid::now_v7(),
            kind: AttachmentKind::Photo,
            mime_type: "image/jpeg".into(),
            sha256: "cd".repeat(32),
            size_bytes: u64::MAX,
            link: AttachmentLink::Visit,
            taken_at: t0(),
        },
    });
    let counter = act_altered(&mut phone, &note_by(w.agent1, "计数器".into()), |e| {
        e.hlc.counter = u32::MAX;
        e.utc_offset_minutes = i32::MAX;
    });
    let (status, answer) = w.push(&token, &[huge.clone(), counter.clone()]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        outcomes_of(&[huge, counter], &answer),
        ["invalid_attachment", "applied"]
    );
}

async fn a_partner_cannot_take_the_op_id_of_another_devices_position(w: Arc<World>) {
    let visit = Uuid::now_v7();
    let primary_token = w.login("agent1", w.phone1).await;
    let partner_token = w.login("agent2", w.phone2).await;
    let mut primary = Phone::new(w.phone1, visit);
    let start = checked_in(&w, &mut primary);
    assert_eq!(
        w.push_outcomes(&primary_token, &start).await,
        ["applied"; 3]
    );

    // The partner claims the op id of the primary's next position, before
    // the primary pushes it.
    let mut partner = Phone::new(w.phone2, visit);
    partner.millis += 60_000;
    let note = partner.act(&note_by(w.agent2, "搭档的记录".into()));
    let thief = tampered(&note, |e| e.op_id = derived_op_id(visit, w.phone1, 3));
    assert_eq!(
        w.push_outcomes(&partner_token, &[thief]).await,
        ["op_id_mismatch"]
    );
    // The primary's own entry there is taken as its own, not as a replay.
    // (As every phone of this build does, it names its entry by its position.)
    let own = act_altered(
        &mut primary,
        &note_by(w.agent1, "主办人的记录".into()),
        |e| {
            e.op_id = derived_op_id(e.visit_id, e.author, e.seq);
        },
    );
    assert_eq!(own.op_id, derived_op_id(visit, w.phone1, 3));
    assert_eq!(w.push_outcomes(&primary_token, &[own]).await, ["applied"]);
}

async fn a_stamp_far_ahead_cannot_outrank_the_supervisor(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let mut ops = checked_in(&w, &mut phone);
    ops.push(phone.act(&not_home()));
    ops.push(phone.act(&VisitChange::CheckedOut { check: site() }));
    assert_eq!(w.push_outcomes(&token, &ops).await, ["applied"; 5]);
    // A submission stamped at the end of time: refused, kept in its place.
    let forever = act_altered(&mut phone, &VisitChange::Submitted { at: t0() }, |e| {
        e.hlc.millis = u64::MAX;
        e.hlc.counter = u32::MAX;
    });
    assert_eq!(w.push_outcomes(&token, &[forever]).await, ["clock_ahead"]);
    // One within the allowed skew (three hours ahead) is accepted.
    let soon = act_altered(&mut phone, &VisitChange::Submitted { at: t0() }, |e| {
        e.hlc.millis = u64::try_from((t0() + Duration::hours(3)).timestamp_millis()).unwrap();
    });
    assert_eq!(w.push_outcomes(&token, &[soon]).await, ["applied"]);
    // The supervisor's decision takes effect, once.
    let sup = w.login("sup_a", w.sup_a_phone).await;
    let approve = Some(r#"{"decision":{"decision":"approve"}}"#.to_owned());
    let uri = format!("/v1/visits/{}/review", phone.visit);
    let (status, body) = w.send("POST", &uri, Some(&sup), approve.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = w.send("POST", &uri, Some(&sup), approve).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let entries = stored(&w, phone.visit).await;
    let admitted: Vec<LogEntry> = entries
        .into_iter()
        .filter(|e| e.rejected.is_none())
        .map(|e| e.entry)
        .collect();
    let folded = doorstep_core::domain::VisitHistory::fold(phone.visit, &admitted).unwrap();
    assert_eq!(
        folded.visit.state,
        doorstep_core::domain::VisitState::Approved
    );
    assert_eq!(RejectCode::ClockAhead.code(), "clock_ahead");
}

async fn entries_from_someone_never_assigned_are_kept_apart_and_never_delivered(w: Arc<World>) {
    let visit = Uuid::now_v7();
    let owner_token = w.login("agent1", w.phone1).await;
    let mut owner = Phone::new(w.phone1, visit);
    let start = checked_in(&w, &mut owner);
    assert_eq!(w.push_outcomes(&owner_token, &start).await, ["applied"; 3]);

    // Agent 3, of the other team, never assigned to case 1, writes into the
    // owner's visit from its own chain, and starts a visit of its own on the
    // case; a retry gets the same answer.
    let intruder_token = w.login("agent3", w.phone3).await;
    let mut intruder = Phone::new(w.phone3, visit);
    intruder.millis += 60_000;
    let into_visit = intruder.act(&note_by(w.agent3, "伪造的记录".into()));
    let own_visit = Uuid::now_v7();
    let mut elsewhere = Phone::new(w.phone3, own_visit);
    let new_visit = elsewhere.act(&planned(&w.case1));
    let pushed = [into_visit.clone(), new_visit.clone()];
    for _ in 0..2 {
        assert_eq!(
            w.push_outcomes(&intruder_token, &pushed).await,
            ["not_assigned"; 2]
        );
    }

    // Nothing of it is in the visit, nor does a visit exist for it...
    let kept = stored(&w, visit).await;
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|s| s.entry.author == w.phone1));
    assert!(stored(&w, own_visit).await.is_empty());
    // ...nor does it reach the partner's phone or the supervisor's.
    for token in [
        w.login("agent2", w.phone2).await,
        w.login("sup_a", w.sup_a_phone).await,
    ] {
        let changes = w.pull_all(&token).await;
        assert!(
            changes
                .iter()
                .all(|c| c["entry"]["author"] != w.phone3.to_string()),
            "an intruder's entry was delivered"
        );
    }
    // The owner's chain goes on as if nothing happened.
    let next = owner.act(&note_by(w.agent1, "继续".into()));
    assert_eq!(w.push_outcomes(&owner_token, &[next]).await, ["applied"]);

    // Only an admin sees it, in the quarantine, once per op; each refused
    // attempt left an audit row with ids and the code.
    let store = Arc::clone(&w.state.store);
    let (quarantined, audit) = tokio::task::spawn_blocking(move || {
        let quarantined = doorstep_server::admin::quarantined(store.as_ref(), 10, t0()).unwrap();
        let audit = doorstep_server::store::read(store.as_ref(), |tx| tx.audit_log()).unwrap();
        (quarantined, audit)
    })
    .await
    .unwrap();
    let mut entries: Vec<LogEntry> = quarantined.iter().map(|q| q.entry.clone()).collect();
    entries.sort_by_key(|e| e.op_id);
    let mut expected = pushed.to_vec();
    expected.sort_by_key(|e| e.op_id);
    assert_eq!(entries, expected);
    assert!(quarantined.iter().all(|q| q.user == w.agent3
        && q.device == w.phone3
        && q.code == RejectCode::NotAssigned
        && q.case_id == Some(w.case1.id)));
    let refusals: Vec<(&str, Option<&str>)> = audit
        .iter()
        .filter(|a| a.action == "op_refused" && a.user == Some(w.agent3))
        .map(|a| (a.target_id.as_str(), a.code.as_deref()))
        .collect();
    let (visit, own_visit) = (visit.to_string(), own_visit.to_string());
    let once = [
        (visit.as_str(), Some("not_assigned")),
        (own_visit.as_str(), Some("not_assigned")),
    ];
    assert_eq!(refusals, [once, once].concat());
}

async fn text_postgresql_cannot_hold_gets_the_answer_sqlite_gives(w: Arc<World>) {
    // A NUL character in a user name, at sign-in and at registration: the
    // same 401 as any unknown name, never a 500.
    for (path, device) in [("/v1/login", w.phone1), ("/v1/devices", Uuid::now_v7())] {
        let body = serde_json::json!({
            "username": "agent1\u{0}",
            "password": "pw-agent1-secret",
            "device_id": device,
        });
        let (status, answer) = w.send("POST", path, None, Some(body.to_string())).await;
        assert_eq!(
            status,
            axum::http::StatusCode::UNAUTHORIZED,
            "{path}: {answer}"
        );
    }
    // In a template key a phone pushes: a per-op refusal.
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let mut plan = planned(&w.case1);
    if let VisitChange::Planned { template_key, .. } = &mut plan {
        *template_key = "home\u{0}verification".into();
    }
    let op = phone.act(&plan);
    assert_eq!(w.push_outcomes(&token, &[op]).await, ["unknown_template"]);
    // In a note, stored and given back as sent.
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let mut ops = checked_in(&w, &mut phone);
    ops.push(phone.act(&note_by(w.agent1, "before\u{0}after".into())));
    assert_eq!(w.push_outcomes(&token, &ops).await, ["applied"; 4]);
    let kept = stored(&w, phone.visit).await;
    assert!(
        kept.iter()
            .any(|s| s.entry.payload.contains("before\\u0000after"))
    );
    // In a case file's agent column: a problem on its line, not a 500.
    let store = Arc::clone(&w.state.store);
    let checked = tokio::task::spawn_blocking(move || {
        let csv = format!(
            "case_id,external_ref,customer_name,national_id_masked,address,overdue_amount,\
             currency,days_past_due,agent,priority,due_date\n\
             {},CC-1,王小明,**************123X,北京市,100.00,CNY,30,agent1\u{0},3,2026-03-09\n",
            Uuid::now_v7()
        );
        doorstep_server::admin::check_cases_csv(store.as_ref(), csv.as_bytes())
    })
    .await
    .unwrap();
    let problems = checked.unwrap_err().to_string();
    assert!(problems.contains("agent"), "{problems}");
}
