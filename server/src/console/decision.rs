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

use super::{ConsoleState, Signed, app_failure, blocking, failure};
use crate::service::review::review_as;

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
        Err(err) => app_failure(lang, &err),
    }
}
