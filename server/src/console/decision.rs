//! Approve or return a visit from the console, through the same review
//! service as `POST /v1/visits/{id}/review`: the decision is an entry in the
//! server's chain of the visit and reaches the agents' devices on their next
//! pull.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_core::domain::{ReviewDecision, VisitId};
use serde::Deserialize;

use super::format::{Shown, show_time};
use super::report::{Found, readable_visit};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::access::Access;
use crate::error::ServiceError;
use crate::service::review::review_as;
use crate::store::{self, Store};

/// The page answering a decision on a visit someone already decided
/// (`409 visit_not_submitted`): who decided what, and when.
#[derive(askama::Template)]
#[template(path = "console/decided.html")]
pub struct DecidedPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The report's link (ids only).
    pub report_href: String,
    /// The latest decision, if the visit has one: reviewer's user name,
    /// decision's name, local time.
    pub latest: Option<(Shown, &'static str, String)>,
}

/// The latest review of a visit `access` may read: reviewer's user name,
/// whether it approved, and when (in the case's offset). `None` if there is
/// none or the visit is not the user's to read.
fn latest_review(
    store: &dyn Store,
    access: &Access,
    visit_id: VisitId,
) -> Result<Option<(String, bool, String)>, ServiceError> {
    store::read(store, |tx| {
        let Found::Readable((history, _, case)) = readable_visit(tx, access, visit_id)? else {
            return Ok(None);
        };
        let Some(review) = history.visit.reviews.last() else {
            return Ok(None);
        };
        let reviewer = tx
            .user(review.reviewer)?
            .map_or_else(String::new, |user| user.username);
        Ok(Some((
            reviewer,
            matches!(review.decision, ReviewDecision::Approve),
            show_time(review.decided_at, case.case.utc_offset_minutes),
        )))
    })
}

/// The approve form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApproveForm {
    /// The session's CSRF token.
    pub csrf: String,
}

/// The return form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReturnForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// Why, as a reason code.
    pub reason_code: String,
    /// What the agent should change.
    pub comment: String,
}

type VisitPath = Result<Path<VisitId>, axum::extract::rejection::PathRejection>;

/// `POST /console/visits/{visit_id}/approve`.
pub async fn approve(
    State(state): State<ConsoleState>,
    signed: Signed,
    visit_id: VisitPath,
    Form(form): Form<ApproveForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    decide(state, signed, visit_id, ReviewDecision::Approve, "approved").await
}

/// `POST /console/visits/{visit_id}/return`.
pub async fn send_back(
    State(state): State<ConsoleState>,
    signed: Signed,
    visit_id: VisitPath,
    Form(form): Form<ReturnForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let decision = ReviewDecision::Return {
        reason_code: form.reason_code.trim().to_owned(),
        comment: form.comment.trim().to_owned(),
    };
    decide(state, signed, visit_id, decision, "returned").await
}

async fn decide(
    state: ConsoleState,
    signed: Signed,
    visit_id: VisitPath,
    decision: ReviewDecision,
    done: &str,
) -> Response {
    let lang = signed.lang;
    let Ok(Path(visit_id)) = visit_id else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let decided = blocking(move || {
        review_as(store.as_ref(), &user, None, visit_id, decision, now).map(|_| ())
    })
    .await;
    match decided {
        Ok(()) => Redirect::to(&format!("/console/visits/{visit_id}?done={done}")).into_response(),
        Err(ServiceError::VisitNotSubmitted { .. }) => {
            let store = state.store.clone();
            let access = Access::of(&signed.user, None);
            let latest = blocking(move || latest_review(store.as_ref(), &access, visit_id)).await;
            let t = lang.text();
            let latest = match latest {
                Ok(latest) => latest,
                Err(err) => return app_failure(lang, &err),
            };
            let page = DecidedPage {
                chrome: signed.chrome(),
                report_href: format!("/console/visits/{visit_id}"),
                latest: latest.map(|(reviewer, approved, at)| {
                    let decision = if approved { t.approved } else { t.returned };
                    (Shown::line(&reviewer), decision, at)
                }),
            };
            render(lang, StatusCode::CONFLICT, &page)
        }
        Err(err) => app_failure(lang, &err),
    }
}
