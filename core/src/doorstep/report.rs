//! Assembling the visit report from the visit's log, case and template.

use rusqlite::Connection;

use crate::domain::VisitId;
use crate::error::Result;
use crate::report::VisitReport;
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
    let unsynced = outbox::pending_for_visit(conn, visit_id)?;
    Ok(VisitReport::assemble(
        case,
        Some(&template),
        history,
        &entries,
        unsynced,
    ))
}
