//! Editing a visit's stored event log behind the app's back shows in the visit
//! report: the log no longer verifies, at the entry that was touched, with a reason
//! a supervisor can act on. An untouched log verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::Hlc;
use doorstep_core::domain::{VisitChange, VisitId};
use doorstep_core::event_log::{BreakReason, LogEntry, verify_visit_log};
use doorstep_core::report::LogVerification;
use rusqlite::{Connection, params};

/// Where the entries of a visit not yet pushed are stored.
const LOG_TABLE: &str = "outbox";

/// A device with a complete, submitted visit, and a raw connection to its file.
fn submitted_visit() -> (Field, VisitId, Vec<LogEntry>, Connection) {
    let field = field();
    let visit = play_complete_visit(&field, field.cases[0].id);
    let log = field.doorstep.visit_log(visit).unwrap();
    let raw = raw_connection(&field.path);
    (field, visit, log, raw)
}

/// Position of the entry answering `item`.
fn answer_of(log: &[LogEntry], item: &str) -> usize {
    log.iter()
        .position(|e| e.kind == "answered" && e.payload.contains(&format!("\"{item}\"")))
        .unwrap()
}

fn position_of(log: &[LogEntry], kind: &str) -> usize {
    log.iter().position(|e| e.kind == kind).unwrap()
}

/// Runs one SQL statement against the entry at `seq` of the visit's log.
fn update(raw: &Connection, visit: VisitId, seq: usize, set: &str, value: impl rusqlite::ToSql) {
    let changed = raw
        .execute(
            &format!("UPDATE {LOG_TABLE} SET {set} = ?1 WHERE visit_id = ?2 AND seq = ?3"),
            params![value, visit.as_bytes(), seq as i64],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// The report says the log is broken at `index` for `reason`, and so does
/// verifying the facade's log directly.
fn assert_broken(field: &Field, visit: VisitId, index: usize, reason: BreakReason, what: &str) {
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(
        report.log,
        LogVerification::Broken {
            index: index as u64,
            reason
        },
        "{what}"
    );
    let log = field.doorstep.visit_log(visit).unwrap();
    let broken = verify_visit_log(visit, &log, &[]).unwrap_err();
    assert_eq!((broken.index, broken.reason), (index, reason), "{what}");
    assert_eq!(broken.author, field.doorstep.device_id());
    assert!(!reason.code().is_empty());
}

#[test]
fn an_untouched_log_is_intact() {
    let (field, visit, log, _raw) = submitted_visit();
    assert_eq!(log.len(), 18);
    let report = field.doorstep.visit_report(visit).unwrap();
    let LogVerification::Intact { chains } = report.log else {
        panic!("{:?}", report.log);
    };
    assert_eq!(chains, vec![log.last().unwrap().head()]);
    assert_eq!(chains[0].length, 18);
    assert_eq!(chains[0].author, field.doorstep.device_id());
    assert_eq!(verify_visit_log(visit, &log, &chains), Ok(chains.clone()));
}

#[test]
fn a_changed_answer_is_caught_at_its_entry() {
    let (field, visit, log, raw) = submitted_visit();
    let at = answer_of(&log, "willingness_to_repay");
    let forged = VisitChange::Answered {
        item_id: "willingness_to_repay".into(),
        value: AnswerValue::Integer(5),
    };
    update(
        &raw,
        visit,
        at,
        "payload",
        serde_json::to_string(&forged).unwrap(),
    );

    // The report shows what is stored, and that it cannot be trusted.
    let report = field.doorstep.visit_report(visit).unwrap();
    let answer = report
        .answers
        .iter()
        .find(|a| a.item_id == "willingness_to_repay")
        .unwrap();
    assert_eq!(answer.value, AnswerValue::Integer(5));
    assert_broken(&field, visit, at, BreakReason::HashMismatch, "payload");
}

#[test]
fn a_changed_time_clock_stamp_offset_or_kind_is_caught_at_its_entry() {
    type Edit = fn(&Connection, VisitId, usize, &LogEntry);
    let edits: [(&str, Edit); 5] = [
        (
            "device time one millisecond later",
            |raw, visit, at, entry| {
                let millis = entry.device_time.timestamp_millis() + 1;
                update(raw, visit, at, "device_time_ms", millis);
            },
        ),
        ("check-in backdated an hour", |raw, visit, at, entry| {
            let millis = entry.device_time.timestamp_millis() - 3_600_000;
            update(raw, visit, at, "device_time_ms", millis);
        }),
        ("clock stamp moved", |raw, visit, at, entry| {
            let moved = Hlc {
                millis: entry.hlc.millis - 3_600_000,
                ..entry.hlc
            };
            update(raw, visit, at, "hlc", moved.to_string());
        }),
        ("utc offset changed", |raw, visit, at, _| {
            update(raw, visit, at, "utc_offset_minutes", 0);
        }),
        ("kind changed", |raw, visit, at, _| {
            update(raw, visit, at, "kind", "note_added");
        }),
    ];
    for (what, edit) in edits {
        let (field, visit, log, raw) = submitted_visit();
        let at = position_of(&log, "checked_in");
        edit(&raw, visit, at, &log[at]);
        assert_broken(&field, visit, at, BreakReason::HashMismatch, what);
    }
}

#[test]
fn an_edit_with_a_recomputed_hash_is_caught_at_the_next_entry() {
    let (field, visit, log, raw) = submitted_visit();
    let at = answer_of(&log, "ability_to_repay");
    let mut forged = log[at].clone();
    forged.payload = serde_json::to_string(&VisitChange::Answered {
        item_id: "ability_to_repay".into(),
        value: AnswerValue::Integer(1),
    })
    .unwrap();
    forged.hash = forged.compute_hash();
    update(&raw, visit, at, "payload", forged.payload.clone());
    update(&raw, visit, at, "hash", forged.hash.clone());
    assert_broken(
        &field,
        visit,
        at + 1,
        BreakReason::PrevHashMismatch,
        "rehashed",
    );
}

#[test]
fn a_deleted_middle_entry_is_caught_where_it_was() {
    let (field, visit, log, raw) = submitted_visit();
    let at = position_of(&log, "note_added");
    assert!(at > 0 && at + 1 < log.len());
    let deleted = raw
        .execute(
            &format!("DELETE FROM {LOG_TABLE} WHERE visit_id = ?1 AND seq = ?2"),
            params![visit.as_bytes(), at as i64],
        )
        .unwrap();
    assert_eq!(deleted, 1);
    assert_eq!(
        field.doorstep.visit_log(visit).unwrap().len(),
        log.len() - 1
    );
    assert_broken(&field, visit, at, BreakReason::SequenceGap, "deleted note");
    let report = field.doorstep.visit_report(visit).unwrap();
    assert!(report.notes.is_empty());
}

#[test]
fn swapped_payloads_are_caught_at_the_first_of_the_two() {
    let (field, visit, log, raw) = submitted_visit();
    let (a, b) = (
        answer_of(&log, "ability_to_repay"),
        answer_of(&log, "willingness_to_repay"),
    );
    assert!(a < b);
    update(&raw, visit, a, "payload", log[b].payload.clone());
    update(&raw, visit, b, "payload", log[a].payload.clone());
    assert_broken(
        &field,
        visit,
        a,
        BreakReason::HashMismatch,
        "swapped payloads",
    );
}

#[test]
fn swapped_entries_are_caught_at_the_first_of_the_two() {
    let (field, visit, log, raw) = submitted_visit();
    let (a, b) = (
        position_of(&log, "checked_in"),
        position_of(&log, "checked_out"),
    );
    assert!(a < b);
    // Renumber a -> b and b -> a through a free number (the key is (visit, author, seq)).
    update(&raw, visit, a, "seq", -1);
    update(&raw, visit, b, "seq", a as i64);
    raw.execute(
        &format!("UPDATE {LOG_TABLE} SET seq = ?1 WHERE visit_id = ?2 AND seq = -1"),
        params![b as i64, visit.as_bytes()],
    )
    .unwrap();
    let stored = field.doorstep.visit_log(visit).unwrap();
    assert_eq!(stored[a].kind, "checked_out");
    assert_eq!(stored[b].kind, "checked_in");
    assert_broken(
        &field,
        visit,
        a,
        BreakReason::PrevHashMismatch,
        "swapped entries",
    );
}

#[test]
fn a_deleted_last_entry_is_caught_against_the_head_taken_before() {
    let (field, visit, log, raw) = submitted_visit();
    let heads = verify_visit_log(visit, &log, &[]).unwrap();
    let last = log.len() - 1;
    assert_eq!(log[last].kind, "submitted");
    raw.execute(
        &format!("DELETE FROM {LOG_TABLE} WHERE visit_id = ?1 AND seq = ?2"),
        params![visit.as_bytes(), last as i64],
    )
    .unwrap();

    // On its own the shortened chain is consistent...
    let stored = field.doorstep.visit_log(visit).unwrap();
    assert_eq!(stored.len(), last);
    assert!(verify_visit_log(visit, &stored, &[]).is_ok());
    // ...but the head recorded before (as the server keeps it) gives it away.
    let broken = verify_visit_log(visit, &stored, &heads).unwrap_err();
    assert_eq!(
        (broken.index, broken.reason),
        (stored.len(), BreakReason::Truncated)
    );
    assert_eq!(broken.reason.code(), "truncated");
    // The device alone cannot tell: an unpushed tail has no anchor until the
    // server holds its head.
}

#[test]
fn an_edit_to_an_acknowledged_entry_is_caught_too() {
    let (field, visit, log, raw) = submitted_visit();
    // What an acknowledgement from the server does: the entries move to visit_log.
    let columns = "visit_id, author, seq, op_id, kind, payload, hlc, device_time_ms, \
                   utc_offset_minutes, prev_hash, hash";
    raw.execute_batch(&format!(
        "INSERT INTO visit_log ({columns}) SELECT {columns} FROM outbox;
         DELETE FROM outbox;"
    ))
    .unwrap();
    assert_eq!(field.doorstep.visit_log(visit).unwrap(), log);
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    let at = answer_of(&log, "identity_confirmed");
    let forged = log[at].payload.replace("true", "false");
    let changed = raw
        .execute(
            "UPDATE visit_log SET payload = ?1 WHERE visit_id = ?2 AND seq = ?3",
            params![forged, visit.as_bytes(), at as i64],
        )
        .unwrap();
    assert_eq!(changed, 1);
    assert_broken(
        &field,
        visit,
        at,
        BreakReason::HashMismatch,
        "acknowledged answer",
    );
}
