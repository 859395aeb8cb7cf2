//! Protocol versions on the server: which version a request speaks, which
//! versions the server accepts, and the one place where an answer is
//! translated for a phone that speaks an older one.
//!
//! A phone names its version in the `Doorstep-Protocol` header. Phones built
//! before versions were named send none: they speak version 1 or 2, told
//! apart by their push body (`{"ops": [...]}` is version 1, `{"chains":
//! [...]}` version 2). The server accepts every version from
//! [`MIN_PROTOCOL_VERSION`] to [`PROTOCOL_VERSION`]; an older one gets `426
//! upgrade_required` with the minimum, and the phone keeps its queue until the
//! app is updated. A newer one is answered as the newest this server speaks.
//!
//! What changed, and is translated here:
//! - version 1 pushed whole entries and heard every entry's outcome
//!   ([`doorstep_core::sync::protocol::v1`]); its bodies become today's
//!   entries, and today's answer becomes its list of outcomes;
//! - versions 1 and 2 knew seven refusal codes: the rules' codes are told as
//!   the closest of those ([`RejectCode::for_version`]).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::{
    ChainResponse, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest,
    PushResponse, RejectCode, v1,
};
use doorstep_core::sync::protocol::{OpOutcome, OpResult};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;

/// The protocol version a request speaks, within what the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientProtocol(pub u32);

/// The version a request's header names, if it names one (a phone of version
/// 1 or 2 sends none; its push body tells which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedProtocol(pub Option<u32>);

/// A push body of any accepted version.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum AnyPushBody {
    /// Versions 2 and later: entries grouped by chain.
    Chains(PushRequest),
    /// Version 1: whole entries.
    Ops(v1::PushRequest),
}

/// A push's entries and the version its answer must speak.
pub struct PushIn {
    /// The entries, in the order sent.
    pub entries: Vec<LogEntry>,
    /// The version of the answer.
    pub protocol: ClientProtocol,
}

impl NamedProtocol {
    /// Today's entries from a push body, and the version the answer speaks:
    /// the header's, or without one the body's (version 1 or 2).
    ///
    /// Never refused for its positions: a position past the largest `u64`
    /// is taken as the largest and refused per entry (`out_of_range`).
    pub fn push(self, body: AnyPushBody) -> PushIn {
        let (entries, unnamed) = match body {
            AnyPushBody::Chains(request) => (request.into_entries(), 2),
            AnyPushBody::Ops(request) => (request.ops, 1),
        };
        let version = self.0.unwrap_or(unnamed);
        PushIn {
            entries,
            protocol: ClientProtocol(version.min(PROTOCOL_VERSION)),
        }
    }
}

/// A push answer in the words of the version it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PushAnswer {
    /// Version 1: every entry's outcome, in order.
    V1(v1::PushResponse),
    /// Versions 2 and later.
    Current(PushResponse),
}

/// The body of a `426 upgrade_required` answer
/// ([`ServiceError::ProtocolTooOld`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpgradeRequired {
    /// Always "upgrade_required".
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The oldest protocol version the server accepts.
    pub minimum_version: u32,
}

impl ClientProtocol {
    /// The version named by a header value (`None`: no header, version 1);
    /// [`ServiceError::InvalidProtocol`] if it is not a number,
    /// [`ServiceError::ProtocolTooOld`] if older than the server accepts.
    pub fn from_header(value: Option<&str>) -> Result<ClientProtocol, ServiceError> {
        let version = match value {
            None => 1,
            Some(text) => text
                .trim()
                .parse::<u32>()
                .map_err(|_| ServiceError::InvalidProtocol)?,
        };
        if version < MIN_PROTOCOL_VERSION {
            return Err(ServiceError::ProtocolTooOld);
        }
        Ok(ClientProtocol(version.min(PROTOCOL_VERSION)))
    }

    /// A refusal code as this version understands it.
    pub fn code(self, code: RejectCode) -> RejectCode {
        code.for_version(self.0)
    }

    /// A push answer in this version's words; `entries` are the entries the
    /// push carried, in order (version 1 lists an outcome for each).
    pub fn push_response(self, response: PushResponse, entries: &[LogEntry]) -> PushAnswer {
        let told = |outcome: OpOutcome| match outcome {
            OpOutcome::Rejected { code } => OpOutcome::Rejected {
                code: self.code(code),
            },
            other => other,
        };
        if self.0 == 1 {
            let listed: std::collections::HashMap<uuid::Uuid, OpOutcome> = response
                .not_applied
                .into_iter()
                .map(|result| (result.op_id, result.outcome))
                .collect();
            let results = entries
                .iter()
                .map(|entry| OpResult {
                    op_id: entry.op_id,
                    outcome: told(
                        listed
                            .get(&entry.op_id)
                            .cloned()
                            .unwrap_or(OpOutcome::Applied),
                    ),
                })
                .collect();
            return PushAnswer::V1(v1::PushResponse { results });
        }
        PushAnswer::Current(PushResponse {
            applied: response.applied,
            not_applied: response
                .not_applied
                .into_iter()
                .map(|result| OpResult {
                    op_id: result.op_id,
                    outcome: told(result.outcome),
                })
                .collect(),
        })
    }

    /// A chain answer in this version's words.
    pub fn chain_response(self, mut response: ChainResponse) -> ChainResponse {
        for entry in &mut response.entries {
            entry.refused = entry.refused.map(|code| self.code(code));
        }
        response
    }
}

/// The header's value, if there is one and it is text.
fn header_value(parts: &Parts) -> Result<Option<&str>, ServiceError> {
    match parts.headers.get(PROTOCOL_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(Some)
            .map_err(|_| ServiceError::InvalidProtocol),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientProtocol {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ServiceError> {
        ClientProtocol::from_header(header_value(parts)?)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for NamedProtocol {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ServiceError> {
        match header_value(parts)? {
            None => Ok(NamedProtocol(None)),
            Some(value) => ClientProtocol::from_header(Some(value))
                .map(|version| NamedProtocol(Some(version.0))),
        }
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
            ClientProtocol::from_header(Some(" 3 ")).ok(),
            Some(ClientProtocol(3))
        );
        assert_eq!(
            ClientProtocol::from_header(Some("99")).ok(),
            Some(ClientProtocol(PROTOCOL_VERSION))
        );
        assert!(matches!(
            ClientProtocol::from_header(Some("0")),
            Err(ServiceError::ProtocolTooOld)
        ));
        assert!(matches!(
            ClientProtocol::from_header(Some("two")),
            Err(ServiceError::InvalidProtocol)
        ));
    }

    #[test]
    fn a_version_1_or_2_phone_gets_only_the_codes_it_knows() {
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
            for old in [1, 2] {
                let told = ClientProtocol(old).code(code);
                assert!(v1.contains(&told.code()), "{code:?} -> {told:?}");
            }
            assert_eq!(ClientProtocol(3).code(code), code);
        }
    }
}
