//! Pulling through the device's sync engine against a fake server: partner and
//! supervisor entries folded into the visit, a visit planned on the partner's
//! phone, purges after reassignment and after approval plus retention, and a
//! pull cursor that survives a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use doorstep_core::clock::Hlc;
use doorstep_core::domain::{CaseStatus, InterviewNote, ReviewDecision, VisitChange, VisitState};
use doorstep_core::event_log::{self, EntryDraft};
use doorstep_core::sync::protocol::PulledChange;
use doorstep_core::{DoorstepError, NoProgress};
use fake_server::*;
use uuid::Uuid;

#[test]
fn a_partner_note_and_a_return_are_pulled_and_an_edit_reopens_the_visit() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let case = field.cases[0].id;
    let visit = play_complete_visit(&field, case);
    sync(&field, &server).unwrap();
    let mine = field.doorstep.visit_log(visit).unwrap();
    let last = mine.iter().max_by_key(|e| e.hlc).unwrap().clone();

    let partner_device = Uuid::now_v7();
    let partner_note = VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::now_v7(),
            author: Uuid::now_v7(),
            written_at: last.device_time,
            text: "邻居证实客户近期在朋友店里帮工。".into(),
        },
    };
    // The partner typed the note on site, before the visit was checked out
    // (a note stamped after the submission would be refused by the fold).
    let on_site = mine.iter().find(|e| e.kind == "outcome_set").unwrap();
    let from_partner = foreign_entry(partner_device, visit, None, &partner_note, on_site, 1);
    let back = foreign_entry(
        Uuid::now_v7(),
        visit,
        None,
        &review(returned(), &last),
        &last,
        60_000,
    );
    server.publish([
        PulledChange::VisitEntry {
            entry: from_partner.clone(),
            refused: false,
        },
        PulledChange::VisitEntry {
            entry: back.clone(),
            refused: false,
        },
    ]);

    let report = sync(&field, &server).unwrap();
    assert_eq!((report.pulled, report.skipped_entries), (2, 0));
    let visit_report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(visit_report.visit.state, VisitState::Returned);
    assert!(visit_report.visit.is_returned());
    assert_eq!(visit_report.notes.len(), 2);
    assert_eq!(
        field.doorstep.case_detail(case).unwrap().case.status,
        CaseStatus::Returned
    );

    // The agent edits: the visit reopens, and its stamp follows the review's.
    field.doorstep.add_note(visit, "已补拍门牌照片。").unwrap();
    photo_of_premises(&field.doorstep, visit);
    assert_eq!(
        field.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Reopened
    );
    let newest = field.doorstep.pending_ops(10).unwrap()[0].entry.hlc;
    assert!(newest > back.hlc, "the device clock observed the review");
    field.doorstep.submit(visit).unwrap();
    assert_eq!(
        field.doorstep.visit_report(visit).unwrap().visit.state,
        VisitState::Submitted
    );
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.applied, 3);
    assert_eq!(
        field.doorstep.case_detail(case).unwrap().case.status,
        CaseStatus::Submitted
    );

    // Entries already held are not applied twice when the feed repeats them.
    server.publish([PulledChange::VisitEntry {
        entry: back,
        refused: false,
    }]);
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.pulled, 0);
    assert_eq!(field.doorstep.visit_report(visit).unwrap().notes.len(), 3);
}

#[test]
fn a_removed_case_is_purged_only_once_its_ops_are_pushed() {
    let Field {
        dir: _dir,
        path: _,
        clock,
        doorstep,
        agent,
        cases,
    } = field();
    let doorstep = Arc::new(doorstep);
    let server = FakeServer::new(agent);
    doorstep.sign_in(&server, USERNAME, PASSWORD).unwrap();
    let kept = cases[0].id;
    let idle = cases[1].id;
    let now = clock.now_utc();
    let visit = doorstep.plan_visit(kept, now + Duration::hours(2)).unwrap();
    doorstep.record_notice(visit, phone_notice(now)).unwrap();
    server.publish([
        PulledChange::CaseRemoved { case_id: kept },
        PulledChange::CaseRemoved { case_id: idle },
    ]);
    // While the sync runs, after its push, the agent records another notice.
    let acting = Arc::clone(&doorstep);
    let at = now;
    *server.on_pull.lock().unwrap() = Some(Box::new(move || {
        acting.record_notice(visit, phone_notice(at)).unwrap();
    }));

    let report = doorstep.sync_now(&server, &NoProgress).unwrap();
    assert_eq!(report.purged_cases, 1, "the idle case goes at once");
    assert!(matches!(
        doorstep.case_detail(idle),
        Err(DoorstepError::NotFound { .. })
    ));
    let detail = doorstep.case_detail(kept).unwrap();
    assert_eq!(detail.visits.len(), 1, "kept while an op is unpushed");
    assert_eq!(doorstep.pending_outbox_count().unwrap(), 1);

    let report = doorstep.sync_now(&server, &NoProgress).unwrap();
    assert_eq!((report.applied, report.purged_cases), (1, 1));
    assert_eq!(server.with(|s| s.applied.len()), 3);
    assert!(matches!(
        doorstep.case_detail(kept),
        Err(DoorstepError::NotFound { .. })
    ));
    assert!(matches!(
        doorstep.visit_report(visit),
        Err(DoorstepError::NotFound { .. })
    ));
    let left: Vec<Uuid> = all_cases(&doorstep).iter().map(|c| c.id).collect();
    assert_eq!(left, vec![cases[2].id]);
}

#[test]
fn the_cursor_survives_a_restart_and_the_pull_resumes() {
    let mut field = field_with(0);
    let server = FakeServer::new(field.agent);
    let cases: Vec<_> = (0..5).map(|i| sample_case(field.agent, i)).collect();
    server.publish(
        cases
            .iter()
            .map(|case| PulledChange::Case { case: case.clone() }),
    );
    server.with(|s| {
        s.page_limit = 2;
        s.pulls_before_failing = Some(2);
    });

    let error = sync(&field, &server).unwrap_err();
    assert_eq!(failure_code(error), "offline");
    assert_eq!(all_cases(&field.doorstep).len(), 4, "two whole pages kept");

    field.reopen();
    server.with(|s| s.pulls_before_failing = None);
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.pulled, 1);
    assert_eq!(server.with(|s| s.pull_cursors.clone()), vec![0, 2, 4, 4]);
    let mut held: Vec<Uuid> = all_cases(&field.doorstep).iter().map(|c| c.id).collect();
    let mut sent: Vec<Uuid> = cases.iter().map(|c| c.id).collect();
    held.sort();
    sent.sort();
    assert_eq!(held, sent);
}

#[test]
fn an_approved_visit_leaves_the_device_after_the_retention_period() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let case = field.cases[0].id;
    let visit = play_complete_visit(&field, case);
    sync(&field, &server).unwrap();
    let last = field
        .doorstep
        .visit_log(visit)
        .unwrap()
        .into_iter()
        .max_by_key(|e| e.hlc)
        .unwrap();
    let approval = foreign_entry(
        Uuid::now_v7(),
        visit,
        None,
        &review(ReviewDecision::Approve, &last),
        &last,
        60_000,
    );
    server.publish([PulledChange::VisitEntry {
        entry: approval,
        refused: false,
    }]);
    let report = sync(&field, &server).unwrap();
    assert_eq!((report.pulled, report.purged_visits), (1, 0));
    assert_eq!(
        field.doorstep.case_detail(case).unwrap().case.status,
        CaseStatus::Completed
    );

    let retention = i64::from(field.doorstep.policy().retention_days_after_approval);
    field
        .clock
        .advance(Duration::days(retention) + Duration::hours(4));
    let report = sync(&field, &server).unwrap();
    assert_eq!((report.purged_visits, report.purged_cases), (1, 1));
    assert!(field.doorstep.visit_report(visit).is_err());
    assert!(field.doorstep.case_detail(case).is_err());
    assert_eq!(all_cases(&field.doorstep).len(), 2);
}

#[test]
fn a_visit_planned_on_the_partner_phone_arrives_and_a_broken_entry_is_skipped() {
    let field = field();
    let server = FakeServer::new(field.agent);
    sync(&field, &server).unwrap();
    let case = &field.cases[1];
    let partner_agent = Uuid::now_v7();
    let partner_device = Uuid::now_v7();
    let visit = Uuid::now_v7();
    let template = doorstep_core::checklist::home_verification();
    let planned = VisitChange::Planned {
        case_id: case.id,
        agent: partner_agent,
        partner: Some(field.agent),
        template_key: template.key().to_owned(),
        template_version: template.version(),
        planned_for: field.clock.now_utc() + Duration::hours(2),
    };
    let first = event_log::append(
        None,
        EntryDraft {
            visit_id: visit,
            author: partner_device,
            op_id: Uuid::now_v7(),
            kind: planned.kind().to_owned(),
            payload: serde_json::to_string(&planned).unwrap(),
            hlc: Hlc {
                millis: 1_796_000_000_000,
                counter: 0,
                node: partner_device,
            },
            device_time: field.clock.now_utc(),
            utc_offset_minutes: 480,
        },
    )
    .unwrap();
    let notice = VisitChange::NoticeRecorded {
        notice: phone_notice(field.clock.now_utc()),
    };
    let second = foreign_entry(partner_device, visit, Some(&first), &notice, &first, 5);
    let mut tampered = foreign_entry(partner_device, visit, Some(&second), &notice, &second, 5);
    tampered.utc_offset_minutes = 0;
    let unknown_case = VisitChange::Planned {
        case_id: Uuid::now_v7(),
        agent: partner_agent,
        partner: None,
        template_key: template.key().to_owned(),
        template_version: template.version(),
        planned_for: field.clock.now_utc(),
    };
    let elsewhere = foreign_entry(
        partner_device,
        Uuid::now_v7(),
        None,
        &unknown_case,
        &first,
        1,
    );
    server.publish(
        [first, second, tampered, elsewhere]
            .into_iter()
            .map(|entry| PulledChange::VisitEntry {
                entry,
                refused: false,
            }),
    );

    // The tampered entry is skipped; the visit of a case this phone does not
    // hold waits for its case (parked), it is not skipped for good.
    let report = sync(&field, &server).unwrap();
    assert_eq!((report.pulled, report.skipped_entries), (2, 1));
    let parked: i64 = raw_connection(&field.path)
        .query_row("SELECT count(*) FROM parked_entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(parked, 1);
    let detail = field.doorstep.case_detail(case.id).unwrap();
    assert_eq!(detail.visits, vec![(visit, VisitState::Notified)]);
    assert_eq!(detail.case.status, CaseStatus::InProgress);
    // The partner's visit is this agent's too: it can check in on it.
    field.clock.advance(Duration::hours(2));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    let log = field.doorstep.visit_log(visit).unwrap();
    assert_eq!(log.len(), 3);
    assert!(matches!(
        field.doorstep.visit_report(visit).unwrap().log,
        doorstep_core::report::LogVerification::Intact { .. }
    ));
}
