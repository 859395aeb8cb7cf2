//! The one error type of the HTTP layer. Clients get a stable code and a short
//! message ([`ErrorBody`]); the detail of server-side failures goes to the log,
//! never to the client, and no message carries customer data.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use doorstep_core::sync::protocol::ErrorBody;

use crate::store::StoreError;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Message for people.
    pub message: String,
}

impl AppError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request cannot be read.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: authenticated but not allowed.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        AppError::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404: no such thing (or not visible to this user).
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409: the state of the thing does not allow the request.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::new(StatusCode::CONFLICT, code, message)
    }

    /// 422: well-formed but invalid content.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 500: the server failed; the detail is logged, not returned.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle the request",
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => {
                AppError::conflict("already_exists", format!("{what} already exists"))
            }
            StoreError::Busy => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_busy",
                "the server is busy; try again shortly",
            ),
            StoreError::Unstorable => AppError::unprocessable(
                "unstorable_text",
                "the request holds text the server cannot store (a NUL character)",
            ),
            other => AppError::internal(&other),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(err: tokio::task::JoinError) -> Self {
        AppError::internal(&err)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Busy for a moment: a phone's sync backs off and comes back.
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("2"),
            );
        }
        response
    }
}
