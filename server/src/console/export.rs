//! The team's visit outcomes as a CSV download: ids, agents' user names,
//! state, outcome, promise to pay, times and flags. No customer names, national
//! ids, phones or addresses. Every cell that a spreadsheet would read as a
//! formula is defused (see [`defuse`]). Each export is audited (ids only).

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use doorstep_core::domain::{UserId, VisitState};
use serde::Deserialize;

use super::cases::team_for;
use super::queue::{QueueItem, team_visits_in};
use super::{ConsoleState, Signed, app_failure, blocking};
use crate::access::Access;
use crate::error::ServiceError;
use crate::store::{self, AuditRecord};

/// Query of the export.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExportQuery {
    /// For an admin: the team (its supervisor's user id); else ignored.
    pub team: String,
}

/// The columns of the export, in order.
pub const COLUMNS: [&str; 14] = [
    "visit_id",
    "case_id",
    "agent",
    "partner",
    "state",
    "outcome",
    "promise_amount",
    "promise_currency",
    "promise_due_on",
    "submitted_at",
    "submissions",
    "decided_at",
    "decision",
    "flags",
];

/// A cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'`.
pub fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// One line of the export for `item`; `names` gives agents' user names.
pub fn row(item: &QueueItem, names: &HashMap<UserId, String>) -> Vec<String> {
    let visit = &item.visit;
    let name = |id: UserId| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
    let promise = visit.outcome.as_ref().and_then(|o| o.promise.as_ref());
    let last_review = visit.reviews.last();
    let cells = [
        visit.id.to_string(),
        visit.case_id.to_string(),
        name(visit.agent),
        visit.partner.map(name).unwrap_or_default(),
        visit.state.code().to_owned(),
        visit
            .outcome
            .as_ref()
            .map(|o| o.code.code().to_owned())
            .unwrap_or_default(),
        promise
            .map(|p| {
                let minor = p.amount.minor_units;
                format!("{}.{:02}", minor / 100, (minor % 100).abs())
            })
            .unwrap_or_default(),
        promise
            .map(|p| p.amount.currency.clone())
            .unwrap_or_default(),
        promise.map(|p| p.due_on.to_string()).unwrap_or_default(),
        time(visit.submitted_at),
        visit.submissions.to_string(),
        time(last_review.map(|r| r.decided_at)),
        last_review
            .map(|r| match r.decision {
                doorstep_core::domain::ReviewDecision::Approve => "approved".to_owned(),
                doorstep_core::domain::ReviewDecision::Return { .. } => "returned".to_owned(),
            })
            .unwrap_or_default(),
        item.flags
            .iter()
            .map(|f| f.code())
            .collect::<Vec<_>>()
            .join(" "),
    ];
    cells.iter().map(|c| defuse(c)).collect()
}

/// The CSV text of `items`, header first.
pub fn to_csv(
    items: &[QueueItem],
    names: &HashMap<UserId, String>,
) -> Result<Vec<u8>, ServiceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: &dyn std::fmt::Display| ServiceError::internal(e);
    writer.write_record(COLUMNS).map_err(|e| fail(&e))?;
    for item in items {
        writer
            .write_record(row(item, names))
            .map_err(|e| fail(&e))?;
    }
    writer.into_inner().map_err(|e| fail(&e))
}

/// `GET /console/cases/export.csv`: the team's submitted, approved and
/// returned visits, oldest submission first.
pub async fn visits_csv(
    State(state): State<ConsoleState>,
    signed: Signed,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    let asked = query.map(|Query(q)| q.team).unwrap_or_default();
    let store = state.store.clone();
    let user = signed.user.clone();
    let now = state.clock.now();
    let built = blocking(move || {
        let (team, _) = store::read(store.as_ref(), |tx| team_for(tx, &user, &asked))?;
        // An admin without any supervisor exports an empty file.
        let team = team.unwrap_or(user.id);
        let access = Access::of(&user, None);
        let (items, members) = team_visits_in(store.as_ref(), &access, team, |s| {
            matches!(
                s,
                VisitState::Submitted | VisitState::Approved | VisitState::Returned
            )
        })?;
        let names = members.into_iter().map(|m| (m.id, m.username)).collect();
        let bytes = to_csv(&items, &names)?;
        store::write(store.as_ref(), |tx| {
            tx.append_audit(&AuditRecord {
                at: now,
                user: Some(user.id),
                device: None,
                action: "console_export_visits".into(),
                target_kind: "team".into(),
                target_id: team.to_string(),
                code: None,
            })?;
            Ok::<_, ServiceError>(())
        })?;
        Ok(bytes)
    })
    .await;
    match built {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"visit-outcomes.csv\""),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Err(err) => app_failure(signed.lang, &err),
    }
}
