//! Assembling the visit report from the visit's log, case and template.

use rusqlite::Connection;

use crate::clock::Hlc;
use crate::domain::VisitId;
use crate::error::Result;
use crate::event_log::{self, LogEntry};
use crate::report::{LogVerification, ReportAnswer, TimelineEntry, VisitReport};
use crate::store::{cases, outbox, templates, visits};

pub(super) fn report(conn: &Connection, visit_id: VisitId) -> Result<VisitReport> {
    visits::header(conn, visit_id)?; // an unknown visit is NotFound, not an unreadable log
    let entries = visits::log(conn, visit_id)?;
    let history = super::history(conn, visit_id)?;
    let case = cases::get(conn, history.visit.case_id)?;
    let template = templates::get(
        conn,
        &history.visit.template_key,
        history.visit.template_version,
    )?;
    let answers = template
        .items()
        .iter()
        .filter_map(|item| {
            history.answers.get(&item.id).map(|answer| ReportAnswer {
                item_id: item.id.clone(),
                label: item.label.clone(),
                value: answer.value.clone(),
                stamp: answer.stamp,
            })
        })
        .collect();
    let checklist_problems = template.validate(&history.answer_sheet());
    let log = verify_log(&entries, visit_id);
    let mut timeline: Vec<(Hlc, TimelineEntry)> = entries
        .iter()
        .map(|e| {
            let line = TimelineEntry {
                at: e.device_time,
                utc_offset_minutes: e.utc_offset_minutes,
                kind: e.kind.clone(),
                device: e.author,
            };
            (e.hlc, line)
        })
        .collect();
    timeline.sort_by_key(|(stamp, _)| *stamp);
    Ok(VisitReport {
        case,
        visit: history.visit,
        answers,
        checklist_problems,
        notes: history.notes,
        attachments: history.attachments,
        timeline: timeline.into_iter().map(|(_, line)| line).collect(),
        log,
        unsynced_entries: outbox::pending_for_visit(conn, visit_id)?,
    })
}

/// Verifies every chain of a visit's log.
fn verify_log(entries: &[LogEntry], visit_id: VisitId) -> LogVerification {
    match event_log::verify_visit_log(visit_id, entries, &[]) {
        Ok(chains) => LogVerification::Intact { chains },
        Err(broken) => LogVerification::Broken {
            index: broken.index as u64,
            reason: broken.reason,
        },
    }
}
