//! A failure in the middle of an action leaves neither the change nor its outbox
//! entry: every action is one transaction, so the visit, its log, its attachments
//! and the outbox move together or not at all.
//!
//! The failures are real SQLite failures, injected with triggers installed through
//! a second connection to the same encrypted file. The facade writes the visit
//! header, the case status and the attachment bytes first, then the action's log
//! entry into the outbox, so a trigger on the outbox fails an action after
//! everything else was written.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::Duration;
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::domain::{AttachmentKind, AttachmentLink, CaseStatus, VisitId, VisitState};
use doorstep_core::report::{LogVerification, VisitReport};
use doorstep_core::{CaseDetail, DoorstepError};
use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// Everything an action could have touched, read through the facade and raw.
#[derive(Debug, PartialEq)]
struct Observed {
    report: VisitReport,
    case: CaseDetail,
    log_entries: usize,
    pending: u64,
    raw_counts: (i64, i64, i64, i64),
}

fn raw_counts(conn: &Connection) -> (i64, i64, i64, i64) {
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    (
        count("visits"),
        count("visit_log"),
        count("outbox"),
        count("attachment_blobs"),
    )
}

fn observe(field: &Field, raw: &Connection, visit: VisitId) -> Observed {
    let report = field.doorstep.visit_report(visit).unwrap();
    Observed {
        case: field.doorstep.case_detail(report.visit.case_id).unwrap(),
        log_entries: field.doorstep.visit_log(visit).unwrap().len(),
        pending: field.doorstep.pending_outbox_count().unwrap(),
        raw_counts: raw_counts(raw),
        report,
    }
}

/// Makes every insert into `table` fail until [`heal`].
fn sabotage(raw: &Connection, table: &str) {
    raw.execute_batch(&format!(
        "CREATE TRIGGER sabotage BEFORE INSERT ON {table}
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
    ))
    .unwrap();
}

fn heal(raw: &Connection) {
    raw.execute_batch("DROP TRIGGER sabotage").unwrap();
}

/// Runs `action` with inserts into `table` failing: it must fail and leave
/// everything as it was. Then runs it again healed: it must succeed.
fn fails_cleanly_then_succeeds<T: std::fmt::Debug>(
    field: &Field,
    raw: &Connection,
    visit: VisitId,
    table: &str,
    what: &str,
    action: impl Fn() -> Result<T, DoorstepError>,
) -> T {
    let before = observe(field, raw, visit);
    sabotage(raw, table);
    let error = action().expect_err(what);
    assert_eq!(error.code(), "storage", "{what}: {error:?}");
    let after = observe(field, raw, visit);
    heal(raw);
    assert_eq!(after, before, "{what} left part of itself behind");
    let value = action().unwrap_or_else(|e| panic!("{what} after healing: {e:?}"));
    let done = observe(field, raw, visit);
    assert_eq!(done.log_entries, before.log_entries + 1, "{what}");
    assert_eq!(done.pending, before.pending + 1, "{what}");
    value
}

/// Every log entry of this device has its outbox operation, and nothing else is
/// queued.
fn assert_log_and_outbox_agree(field: &Field, visit: VisitId) {
    let log = field.doorstep.visit_log(visit).unwrap();
    let ops = field.doorstep.pending_ops(1_000).unwrap();
    let queued: Vec<_> = ops.iter().map(|op| op.entry.clone()).collect();
    assert_eq!(queued, log);
}

#[test]
fn an_action_that_fails_at_its_outbox_row_leaves_no_trace() {
    let mut field = field();
    let raw = raw_connection(&field.path);
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    let now = field.clock.now_utc();
    let outbox = "outbox";

    let check = fails_cleanly_then_succeeds(&field, &raw, visit, outbox, "check-in", || {
        field.doorstep.check_in(visit, fix_at_home(now))
    });
    assert_eq!(check.at, now);

    fails_cleanly_then_succeeds(&field, &raw, visit, outbox, "answer", || {
        field
            .doorstep
            .answer(visit, "identity_confirmed", AnswerValue::YesNo(true))
    });

    let photo = b"\xff\xd8\xff\xe0 photo of the front door, house number 17";
    let sha = hex::encode(Sha256::digest(photo));
    let attach = || {
        field.doorstep.attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            photo,
            AttachmentLink::ChecklistItem {
                item_id: "premises_photos".into(),
            },
        )
    };
    sabotage(&raw, outbox);
    attach().expect_err("attach while sabotaged");
    heal(&raw);
    let missing = field.doorstep.attachment_bytes(&sha).unwrap_err();
    assert_eq!(
        missing.code(),
        "not_found",
        "the photo's bytes were kept: {missing:?}"
    );
    fails_cleanly_then_succeeds(&field, &raw, visit, outbox, "attach", attach);
    assert_eq!(field.doorstep.attachment_bytes(&sha).unwrap(), photo);

    complete_checklist(&field.doorstep, visit);
    fails_cleanly_then_succeeds(&field, &raw, visit, outbox, "set outcome", || {
        field.doorstep.set_outcome(visit, promise_outcome())
    });
    field.clock.advance(Duration::minutes(40));
    let later = field.clock.now_utc();
    fails_cleanly_then_succeeds(&field, &raw, visit, outbox, "check-out", || {
        field.doorstep.check_out(visit, fix_at_home(later))
    });
    fails_cleanly_then_succeeds(&field, &raw, visit, outbox, "submit", || {
        field.doorstep.submit(visit)
    });

    // The failures left nothing that shows up after a restart either.
    drop(raw);
    field.reopen();
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.state, VisitState::Submitted);
    assert_eq!(report.visit.submissions, 1);
    assert!(
        report.checklist_problems.is_empty(),
        "{:?}",
        report.checklist_problems
    );
    assert!(
        matches!(report.log, LogVerification::Intact { .. }),
        "{:?}",
        report.log
    );
    assert_eq!(report.attachments.len(), 2);
    assert_eq!(report.answers.len(), 10);
    assert_log_and_outbox_agree(&field, visit);
}

#[test]
fn an_action_that_fails_at_its_header_leaves_no_trace() {
    let field = field();
    let raw = raw_connection(&field.path);
    let now = field.clock.now_utc();
    let visit = field
        .doorstep
        .plan_visit(field.cases[0].id, now + Duration::hours(2))
        .unwrap();
    let header = "visits";

    fails_cleanly_then_succeeds(&field, &raw, visit, header, "notice", || {
        field.doorstep.record_notice(visit, phone_notice(now))
    });
    field.clock.advance(Duration::hours(2));
    let later = field.clock.now_utc();
    fails_cleanly_then_succeeds(&field, &raw, visit, header, "check-in", || {
        field.doorstep.check_in(visit, fix_at_home(later))
    });
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.state, VisitState::CheckedIn);
    assert_eq!(report.visit.notices.len(), 1);
    assert!(matches!(report.log, LogVerification::Intact { .. }));
    assert_log_and_outbox_agree(&field, visit);
}

#[test]
fn planning_that_fails_leaves_no_visit_and_the_case_as_it_was() {
    let field = field();
    let raw = raw_connection(&field.path);
    let case = field.cases[1].id;
    let planned_for = field.clock.now_utc() + Duration::hours(2);
    for table in ["visits", "outbox"] {
        sabotage(&raw, table);
        let error = field.doorstep.plan_visit(case, planned_for).unwrap_err();
        heal(&raw);
        assert_eq!(error.code(), "storage", "{table}: {error:?}");
        let detail = field.doorstep.case_detail(case).unwrap();
        assert!(
            detail.visits.is_empty(),
            "{table}: a visit without its log was left"
        );
        assert_eq!(detail.case.status, CaseStatus::New, "{table}");
        assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0, "{table}");
        assert_eq!(raw_counts(&raw), (0, 0, 0, 0), "{table}");
    }
    // Nothing half-done blocks the real plan ("a visit is already open").
    let visit = field.doorstep.plan_visit(case, planned_for).unwrap();
    let detail = field.doorstep.case_detail(case).unwrap();
    assert_eq!(detail.visits, vec![(visit, VisitState::Planned)]);
    assert_eq!(detail.case.status, CaseStatus::InProgress);
    assert_log_and_outbox_agree(&field, visit);
}
