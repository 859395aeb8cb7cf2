//! The printable visit record, `GET /console/visits/{visit_id}/print`: what
//! the report page shows (the same data, gathered by [`super::report`]), laid
//! out for A4 paper by its own stylesheet ([`PRINT_STYLESHEET`]), with no
//! navigation, forms or buttons, every photo loaded eagerly, and a footer
//! repeated on every printed page with the record id, who printed it and
//! when. Banks file these records, so viewing one is audited as
//! `console_print_visit`, and the same access rules as the report apply
//! (another team's visit is the same 404, its refusal audited).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use doorstep_core::domain::VisitId;

use super::format::{Shown, show_time};
use super::report::{ReportPage, build, view_as};
use super::{ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::access::Access;

/// The audit action of a print view.
pub const PRINT_ACTION: &str = "console_print_visit";

/// The print layout's stylesheet, loaded after the console's own.
pub const PRINT_STYLESHEET: &str = include_str!("print.css");

/// The printable record of one visit.
#[derive(askama::Template)]
#[template(path = "console/print.html")]
pub struct PrintPage {
    /// Everything the report page shows (its decision forms are not used).
    pub report: ReportPage,
    /// Who printed it: the signed-in user's name.
    pub printed_by: Shown,
    /// When, in the case's local time.
    pub printed_at: String,
}

/// `GET /console/visits/{visit_id}/print`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    visit_id: Result<Path<VisitId>, axum::extract::rejection::PathRejection>,
) -> Response {
    let lang = signed.lang;
    let Ok(Path(visit_id)) = visit_id else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let access = Access::of(&signed.user, None);
    let loaded =
        blocking(move || view_as(store.as_ref(), access, visit_id, now, PRINT_ACTION)).await;
    let visit = match loaded {
        Ok(Some(visit)) => visit,
        Ok(None) => return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found),
        Err(err) => return app_failure(lang, &err),
    };
    let offset = visit.report.case.utc_offset_minutes;
    let page = PrintPage {
        report: build(&signed, &visit, None),
        printed_by: Shown::line(&signed.user.username),
        printed_at: show_time(now, offset),
    };
    render(lang, StatusCode::OK, &page)
}

/// `GET /console/print.css`.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        PRINT_STYLESHEET,
    )
        .into_response()
}
