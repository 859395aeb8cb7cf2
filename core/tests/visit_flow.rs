//! A visit from plan to submission through the facade, and the refusals on the way.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use doorstep_core::domain::VisitState;
use doorstep_core::report::LogVerification;

#[test]
fn a_complete_visit_is_submitted_with_its_whole_report() {
    let field = field();
    let case = field.cases[0].id;
    let visit = play_complete_visit(&field, case);
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.visit.state, VisitState::Submitted);
    assert!(
        report.checklist_problems.is_empty(),
        "{:?}",
        report.checklist_problems
    );
    assert_eq!(report.answers.len(), 10);
    assert_eq!(report.notes.len(), 1);
    assert_eq!(report.attachments.len(), 1);
    assert!(matches!(report.log, LogVerification::Intact { .. }));
    assert_eq!(report.timeline.first().unwrap().kind, "planned");
    assert_eq!(report.timeline.last().unwrap().kind, "submitted");
    assert_eq!(report.unsynced_entries as usize, report.timeline.len());
}
