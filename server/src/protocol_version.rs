//! Protocol versions on the server: which version a request speaks, which
//! versions the server accepts, and the one place where an answer is
//! translated for a phone that speaks an older one.
//!
//! A phone names its version in the `Doorstep-Protocol` header; a request
//! without it is version 1 (every phone built before versions were named).
//! The server accepts every version from [`MIN_PROTOCOL_VERSION`] to
//! [`PROTOCOL_VERSION`]; an older one gets `426 upgrade_required` with the
//! minimum, and the phone keeps its queue until the app is updated. A newer
//! one is answered as the newest this server speaks.
//!
//! Request bodies have not changed between versions 1 and 2. Answers have:
//! version 1 knew seven refusal codes, so the rules' codes are translated to
//! the closest of those ([`RejectCode::for_version`]).

use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use doorstep_core::sync::protocol::{
    ChainResponse, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION, PushResponse,
    RejectCode,
};
use doorstep_core::sync::protocol::{OpOutcome, OpResult};
use serde::Serialize;

use crate::error::AppError;

/// The protocol version a request speaks, within what the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientProtocol(pub u32);

/// The body of a `426 upgrade_required` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradeRequired {
    /// Always "upgrade_required".
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The oldest protocol version the server accepts.
    pub minimum_version: u32,
}

/// Why a request's protocol version is not taken.
#[derive(Debug)]
pub enum VersionRefused {
    /// The header is not a number.
    Malformed(AppError),
    /// Older than the server accepts.
    TooOld,
}

impl IntoResponse for VersionRefused {
    fn into_response(self) -> Response {
        match self {
            VersionRefused::Malformed(error) => error.into_response(),
            VersionRefused::TooOld => (
                StatusCode::UPGRADE_REQUIRED,
                Json(UpgradeRequired {
                    code: "upgrade_required",
                    message: format!(
                        "this app speaks a protocol older than version {MIN_PROTOCOL_VERSION}: \
                         update the app; its unsent work is kept"
                    ),
                    minimum_version: MIN_PROTOCOL_VERSION,
                }),
            )
                .into_response(),
        }
    }
}

impl ClientProtocol {
    /// The version named by a header value (`None`: no header, version 1).
    pub fn from_header(value: Option<&str>) -> Result<ClientProtocol, VersionRefused> {
        let version = match value {
            None => 1,
            Some(text) => text.trim().parse::<u32>().map_err(|_| {
                VersionRefused::Malformed(AppError::bad_request(
                    "invalid_protocol",
                    "the Doorstep-Protocol header must be a version number",
                ))
            })?,
        };
        if version < MIN_PROTOCOL_VERSION {
            return Err(VersionRefused::TooOld);
        }
        Ok(ClientProtocol(version.min(PROTOCOL_VERSION)))
    }

    /// A refusal code as this version understands it.
    pub fn code(self, code: RejectCode) -> RejectCode {
        code.for_version(self.0)
    }

    /// A push answer in this version's words.
    pub fn push_response(self, response: PushResponse) -> PushResponse {
        PushResponse {
            applied: response.applied,
            not_applied: response
                .not_applied
                .into_iter()
                .map(|result| OpResult {
                    op_id: result.op_id,
                    outcome: match result.outcome {
                        OpOutcome::Rejected { code } => OpOutcome::Rejected {
                            code: self.code(code),
                        },
                        other => other,
                    },
                })
                .collect(),
        }
    }

    /// A chain answer in this version's words.
    pub fn chain_response(self, mut response: ChainResponse) -> ChainResponse {
        for entry in &mut response.entries {
            entry.refused = entry.refused.map(|code| self.code(code));
        }
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientProtocol {
    type Rejection = VersionRefused;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, VersionRefused> {
        let value = match parts.headers.get(PROTOCOL_HEADER) {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                VersionRefused::Malformed(AppError::bad_request(
                    "invalid_protocol",
                    "the Doorstep-Protocol header must be a version number",
                ))
            })?),
        };
        ClientProtocol::from_header(value)
    }
}

/// Refuses, for every route, a request naming a protocol version the server
/// does not accept (`426`) or a malformed one (`400`), before anything else
/// is read.
pub async fn require_supported(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    if let Err(refused) = ClientProtocol::from_request_parts(&mut parts, &()).await {
        return refused.into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_header_is_version_1_and_a_newer_one_is_answered_as_ours() {
        assert_eq!(
            ClientProtocol::from_header(None).ok(),
            Some(ClientProtocol(1))
        );
        assert_eq!(
            ClientProtocol::from_header(Some(" 2 ")).ok(),
            Some(ClientProtocol(2))
        );
        assert_eq!(
            ClientProtocol::from_header(Some("99")).ok(),
            Some(ClientProtocol(PROTOCOL_VERSION))
        );
        assert!(matches!(
            ClientProtocol::from_header(Some("0")),
            Err(VersionRefused::TooOld)
        ));
        assert!(matches!(
            ClientProtocol::from_header(Some("two")),
            Err(VersionRefused::Malformed(_))
        ));
    }

    #[test]
    fn a_version_1_phone_gets_only_the_codes_it_knows() {
        let v1 = [
            "chain_broken",
            "hash_mismatch",
            "wrong_device",
            "not_assigned",
            "unknown_visit",
            "invalid_payload",
            "illegal_transition",
        ];
        for code in RejectCode::ALL {
            let told = ClientProtocol(1).code(code);
            assert!(v1.contains(&told.code()), "{code:?} -> {told:?}");
            assert_eq!(ClientProtocol(2).code(code), code);
        }
    }
}
