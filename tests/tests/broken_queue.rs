//! A phone whose queue holds a broken chain keeps syncing its other visits:
//! the broken visit is repaired from the server's copy of its chain where it
//! can be, set apart and listed where it cannot, and never holds up the rest.
//!
//! The broken queues are made under the facade, with SQL on the encrypted
//! file: a chain forked by an older build (two entries at one position, both
//! correctly hashed, one op id) and an entry altered on the device.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::clock::{FixedClock, Hlc};
use doorstep_core::domain::{InterviewNote, VisitChange, VisitId};
use doorstep_core::event_log::{self, EntryDraft, LogEntry, derived_op_id};
use doorstep_core::report::LogVerification;
use doorstep_server::admin;
use doorstep_tests::fleet::{Fleet, Phone};
use rusqlite::params;
use uuid::Uuid;

struct Queue {
    _dir: tempfile::TempDir,
    fleet: Fleet,
    phone: Phone,
    path: std::path::PathBuf,
    broken: VisitId,
    other: VisitId,
}

/// A phone that synced its cases, then worked two visits offline: one with
/// check-in and two notes, the other planned and noticed.
fn two_visits_queued() -> Queue {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::start(&dir.path().join("server")).unwrap();
    let agent = fleet.agent("wang.agent");
    let cases = [sample_case(agent, 1), sample_case(agent, 2)];
    admin::import_cases(fleet.store(), &cases, chrono::Utc::now()).unwrap();
    let path = dir.path().join("phone.db");
    let clock = Arc::new(FixedClock::new(morning()));
    let phone = Phone::open(
        &fleet,
        &path,
        &KEY,
        clock.clone(),
        "wang.agent",
        agent,
        None,
    );
    phone.sync().unwrap();
    let doorstep = &phone.doorstep;
    let now = clock.now_utc();
    let mut visits = Vec::new();
    for case in &cases {
        let visit = doorstep
            .plan_visit(case.id, now + Duration::hours(2))
            .unwrap();
        doorstep.record_notice(visit, phone_notice(now)).unwrap();
        visits.push(visit);
    }
    clock.advance(Duration::hours(2));
    doorstep
        .check_in(visits[0], fix_at_home(clock.now_utc()))
        .unwrap();
    doorstep.add_note(visits[0], "第一条。").unwrap();
    doorstep.add_note(visits[0], "第二条。").unwrap();
    Queue {
        _dir: dir,
        fleet,
        phone,
        path,
        broken: visits[0],
        other: visits[1],
    }
}

/// This device's chain of `visit` as its queue holds it, by position.
fn queued_chain(path: &Path, visit: VisitId) -> Vec<LogEntry> {
    let raw = raw_connection(path);
    let mut statement = raw
        .prepare(
            "SELECT seq, payload, kind, hlc, device_time_ms, prev_hash, hash, op_id, author
             FROM outbox WHERE visit_id = ?1 ORDER BY position",
        )
        .unwrap();
    statement
        .query_map([visit.as_bytes()], |row| {
            Ok(LogEntry {
                visit_id: visit,
                author: Uuid::from_bytes(row.get(8)?),
                seq: row.get::<_, i64>(0)? as u64,
                op_id: Uuid::from_bytes(row.get(7)?),
                kind: row.get(2)?,
                payload: row.get(1)?,
                hlc: row.get::<_, String>(3)?.parse().unwrap(),
                device_time: chrono::DateTime::from_timestamp_millis(row.get(4)?).unwrap(),
                utc_offset_minutes: 480,
                prev_hash: row.get(5)?,
                hash: row.get(6)?,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn insert_into_queue(path: &Path, entry: &LogEntry) {
    raw_connection(path)
        .execute(
            "INSERT INTO outbox (visit_id, author, seq, op_id, kind, payload, hlc,
                 device_time_ms, utc_offset_minutes, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                entry.visit_id.as_bytes(),
                entry.author.as_bytes(),
                entry.seq as i64,
                entry.op_id.as_bytes(),
                entry.kind,
                entry.payload,
                entry.hlc.to_string(),
                entry.device_time.timestamp_millis(),
                entry.utc_offset_minutes,
                entry.prev_hash,
                entry.hash,
            ],
        )
        .unwrap();
}

/// Every entry of the device's log, on the server once.
fn on_server_once(fleet: &Fleet, visit: VisitId, device_log: &[LogEntry]) {
    let stored = fleet.stored(visit);
    let ops: HashSet<Uuid> = stored.iter().map(|s| s.entry.op_id).collect();
    assert_eq!(ops.len(), stored.len(), "an op stored twice");
    let mut server: Vec<LogEntry> = stored.into_iter().map(|s| s.entry).collect();
    server.sort_by_key(|e| e.seq);
    assert_eq!(server, device_log);
}

/// The race an older build had: a second note took the position of the
/// first. Before the repair every sync of this phone failed ("the server's
/// answer does not cover the pushed operations"), for every visit.
#[test]
fn a_forked_chain_is_repaired_and_the_other_visit_syncs() {
    let Queue {
        _dir,
        fleet,
        phone,
        path,
        broken,
        other,
    } = two_visits_queued();
    let chain = queued_chain(&path, broken);
    let last = chain.last().unwrap();
    let twin_note = InterviewNote {
        id: Uuid::now_v7(),
        author: phone.agent,
        written_at: last.device_time,
        text: "并发写入的第二条。".into(),
    };
    let twin = event_log::append(
        Some(&chain[chain.len() - 2]),
        EntryDraft {
            visit_id: broken,
            author: last.author,
            op_id: derived_op_id(broken, last.author, last.seq),
            kind: "note_added".into(),
            payload: serde_json::to_string(&VisitChange::NoteAdded {
                note: twin_note.clone(),
            })
            .unwrap(),
            hlc: Hlc {
                counter: last.hlc.counter + 1,
                ..last.hlc
            },
            device_time: last.device_time,
            utc_offset_minutes: 480,
        },
    )
    .unwrap();
    assert_eq!((twin.seq, twin.op_id), (last.seq, last.op_id));
    insert_into_queue(&path, &twin);

    let report = phone.sync().unwrap();
    assert_eq!(report.repaired_visits, 1, "{report:?}");
    assert!(phone.doorstep.rejected_ops().unwrap().is_empty());
    assert_eq!(phone.doorstep.pending_outbox_count().unwrap(), 0);
    for visit in [broken, other] {
        let log = phone.doorstep.visit_log(visit).unwrap();
        on_server_once(&fleet, visit, &log);
        let report = phone.doorstep.visit_report(visit).unwrap();
        assert!(matches!(report.log, LogVerification::Intact { .. }));
    }
    let notes = fleet.visit(broken).unwrap().notes;
    assert_eq!(notes.len(), 3, "both branches' notes arrive");
    assert!(notes.contains(&twin_note));
}

/// An entry altered on the device cannot be repaired: it stays listed as
/// refused (`hash_mismatch`) and is never re-hashed into a valid one; what
/// the agent did after it still arrives, and so does the other visit.
#[test]
fn an_altered_entry_is_set_apart_and_everything_else_syncs() {
    let Queue {
        _dir,
        fleet,
        phone,
        path,
        broken,
        other,
    } = two_visits_queued();
    let chain = queued_chain(&path, broken);
    let altered = &chain[chain.len() - 2];
    let edited = altered.payload.replace("第一条。", "第一条（改）。");
    raw_connection(&path)
        .execute(
            "UPDATE outbox SET payload = ?1 WHERE op_id = ?2",
            params![edited, altered.op_id.as_bytes()],
        )
        .unwrap();

    let report = phone.sync().unwrap();
    assert_eq!(report.repaired_visits, 1, "{report:?}");
    let refused = phone.doorstep.rejected_ops().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].code.as_str(), refused[0].kind.as_str()),
        ("hash_mismatch", "note_added")
    );
    assert_eq!(phone.doorstep.pending_outbox_count().unwrap(), 0);
    let server = fleet.visit(broken).unwrap();
    assert!(server.notes.iter().all(|n| !n.text.contains("改")));
    assert!(server.notes.iter().any(|n| n.text == "第二条。"));
    let other_log = phone.doorstep.visit_log(other).unwrap();
    on_server_once(&fleet, other, &other_log);
}
