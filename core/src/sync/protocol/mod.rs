//! The sync protocol: the JSON bodies of every request and response.
//! Both the device and the server use these types, so they cannot disagree about
//! the shape of a message. `docs/PROTOCOL.md` describes the endpoints.
//!
//! Bodies may be compressed with zstd (`Content-Encoding: zstd`); sizes are bounded
//! by [`MAX_PUSH_OPS`] and [`MAX_BODY_BYTES`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checklist::ChecklistTemplate;
use crate::domain::{Case, CaseId, DeviceId, ReviewDecision, UserId};
use crate::event_log::LogEntry;
use crate::policy::PublishedPolicy;

mod push_body;
pub mod v1;
mod whole_number;

pub use push_body::{PushRequest, PushedEntry, PushedRun};

/// The protocol version this build speaks. A device names it in the
/// [`PROTOCOL_HEADER`] of every request; a request without it is version 1
/// or 2, told apart by the shape of a push body. The paths keep their `/v1/`
/// prefix: a version changes what bodies mean, not where they go.
///
/// - 1 (shipped until 2026-11-28): a push is the list of whole entries
///   ([`v1::PushRequest`]), its answer lists every entry's outcome.
/// - 2 (until 2026-12-07): entries grouped by chain ([`PushRequest`]), the
///   answer lists only what was not applied ([`PushResponse`]).
/// - 3: named in the header; push answers and chains carry the rules'
///   refusal codes ([`RejectCode`] from `unknown_template` on); the chain
///   endpoint. Pull answers carry the bank's field policy in force (a field
///   older phones ignore), and a phone skips kinds of change it does not
///   know ([`PulledChange::Unrecognized`]).
/// - 4: the sign-in answer carries a refresh credential
///   ([`LoginResponse::refresh_token`]), and `POST /v1/refresh` exchanges it
///   for the next token ([`RefreshRequest`]): the password is asked once, not
///   kept. Older versions still sign in with the password when their token
///   expires.
pub const PROTOCOL_VERSION: u32 = 4;
/// The oldest version the server still accepts; older phones get `426
/// upgrade_required` and keep their queue until the app is updated.
pub const MIN_PROTOCOL_VERSION: u32 = 1;
/// The request header naming the protocol version a device speaks.
pub const PROTOCOL_HEADER: &str = "doorstep-protocol";
/// Most operations in one push.
pub const MAX_PUSH_OPS: usize = 500;
/// Largest request or response body, before decompression, in bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most changes in one pull page.
pub const MAX_PULL_LIMIT: u32 = 1_000;
/// zstd level the device compresses push bodies with: fast, and most of the
/// gain on JSON.
pub const PUSH_ZSTD_LEVEL: i32 = 3;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works the cases assigned to them.
    Agent,
    /// Reviews the visits of their team, reassigns cases.
    Supervisor,
    /// Imports cases, publishes templates, manages users and devices.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Agent, Role::Supervisor, Role::Admin];

    /// Stable code, as stored and sent over the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }
}

/// `POST /v1/login`. Its `Debug` leaves the password out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The user's login name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The registered device the token will be bound to.
    pub device_id: DeviceId,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// Answer to a login or a refresh. Its `Debug` leaves the secrets out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The user.
    pub user_id: UserId,
    /// The user's role.
    pub role: Role,
    /// Protocol version 4 on: the refresh credential the device keeps (in
    /// its encrypted database) to get its next token from `POST
    /// /v1/refresh` without the password. Bound to the device, rotated on
    /// every use. Absent for older versions, which sign in with the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user_id", &self.user_id)
            .field("role", &self.role)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Body of `POST /v1/refresh` (protocol version 4 on): a new token for the
/// device, in exchange for its refresh credential. The answer is a
/// [`LoginResponse`] carrying the credential that replaces this one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// The device the credential is bound to.
    pub device_id: DeviceId,
    /// The refresh credential from the last sign-in or refresh.
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("device_id", &self.device_id)
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// Answer to a push. Every pushed operation not listed in `not_applied` was
/// applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// How many of the pushed operations were applied now.
    pub applied: u64,
    /// The operations that were not applied now (duplicate or rejected), in
    /// the order the server took them.
    pub not_applied: Vec<OpResult>,
}

/// What the server did with one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// The operation.
    pub op_id: uuid::Uuid,
    /// Applied, duplicate or rejected.
    #[serde(flatten)]
    pub outcome: OpOutcome,
}

/// The fate of one pushed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpOutcome {
    /// Stored and applied now.
    Applied,
    /// Already applied earlier (a retry after a lost response); nothing changed.
    Duplicate,
    /// Refused; the device keeps it and shows it to the agent.
    Rejected {
        /// Why, machine-readable.
        code: RejectCode,
    },
}

/// Why the server refused an operation.
///
/// Codes after `illegal_transition` came with protocol version 3; the server
/// answers a version 1 or 2 phone with the closest of the codes it knows
/// ([`RejectCode::for_version`]). A code this build does not know reads as
/// [`RejectCode::Unrecognized`], so a newer server never makes a push answer
/// unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The entry does not continue its chain (gap, wrong previous hash).
    ChainBroken,
    /// The entry's hash does not match its content.
    HashMismatch,
    /// The entry's author is not the device that pushed it.
    WrongDevice,
    /// The case is not, and never was, assigned to this agent.
    NotAssigned,
    /// The visit or case does not exist on the server.
    UnknownVisit,
    /// The payload is not a change this server understands.
    InvalidPayload,
    /// The visit's state does not allow the change (e.g. an edit after approval).
    IllegalTransition,
    /// The checklist template version is not known.
    UnknownTemplate,
    /// The change names another user as its author than the one making it.
    WrongAuthor,
    /// The bank's field policy refuses the check-in or check-out.
    PolicyViolation,
    /// A check's distance or flags are not the ones its GPS fix gives.
    InvalidSiteCheck,
    /// The notice is incomplete or inconsistent.
    InvalidNotice,
    /// An answer (or an attachment's item) does not fit the checklist.
    InvalidAnswer,
    /// The note is empty, too long or repeated.
    InvalidNote,
    /// The attachment is invalid (size, type, hash, link).
    InvalidAttachment,
    /// The outcome is incomplete or inconsistent.
    InvalidOutcome,
    /// A submission without an outcome.
    MissingOutcome,
    /// A submission whose checklist is incomplete.
    IncompleteChecklist,
    /// A cancellation without a proper reason.
    InvalidReason,
    /// Feedback without a proper summary.
    InvalidFeedback,
    /// A number beyond what the server stores (a chain position, a clock).
    OutOfRange,
    /// The entry's clock is too far ahead of the server's.
    ClockAhead,
    /// The op id names another chain position than the entry's own.
    OpIdMismatch,
    /// A code this build does not know (sent by a newer server).
    #[serde(other)]
    Unrecognized,
}

impl RejectCode {
    /// Stable code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            RejectCode::ChainBroken => "chain_broken",
            RejectCode::HashMismatch => "hash_mismatch",
            RejectCode::WrongDevice => "wrong_device",
            RejectCode::NotAssigned => "not_assigned",
            RejectCode::UnknownVisit => "unknown_visit",
            RejectCode::InvalidPayload => "invalid_payload",
            RejectCode::IllegalTransition => "illegal_transition",
            RejectCode::UnknownTemplate => "unknown_template",
            RejectCode::WrongAuthor => "wrong_author",
            RejectCode::PolicyViolation => "policy_violation",
            RejectCode::InvalidSiteCheck => "invalid_site_check",
            RejectCode::InvalidNotice => "invalid_notice",
            RejectCode::InvalidAnswer => "invalid_answer",
            RejectCode::InvalidNote => "invalid_note",
            RejectCode::InvalidAttachment => "invalid_attachment",
            RejectCode::InvalidOutcome => "invalid_outcome",
            RejectCode::MissingOutcome => "missing_outcome",
            RejectCode::IncompleteChecklist => "incomplete_checklist",
            RejectCode::InvalidReason => "invalid_reason",
            RejectCode::InvalidFeedback => "invalid_feedback",
            RejectCode::OutOfRange => "out_of_range",
            RejectCode::ClockAhead => "clock_ahead",
            RejectCode::OpIdMismatch => "op_id_mismatch",
            RejectCode::Unrecognized => "unrecognized",
        }
    }

    /// Every code, in declaration order (`Unrecognized` last).
    pub const ALL: [RejectCode; 24] = [
        RejectCode::ChainBroken,
        RejectCode::HashMismatch,
        RejectCode::WrongDevice,
        RejectCode::NotAssigned,
        RejectCode::UnknownVisit,
        RejectCode::InvalidPayload,
        RejectCode::IllegalTransition,
        RejectCode::UnknownTemplate,
        RejectCode::WrongAuthor,
        RejectCode::PolicyViolation,
        RejectCode::InvalidSiteCheck,
        RejectCode::InvalidNotice,
        RejectCode::InvalidAnswer,
        RejectCode::InvalidNote,
        RejectCode::InvalidAttachment,
        RejectCode::InvalidOutcome,
        RejectCode::MissingOutcome,
        RejectCode::IncompleteChecklist,
        RejectCode::InvalidReason,
        RejectCode::InvalidFeedback,
        RejectCode::OutOfRange,
        RejectCode::ClockAhead,
        RejectCode::OpIdMismatch,
        RejectCode::Unrecognized,
    ];

    /// Parses a stable code (as stored by the server).
    pub fn from_code(code: &str) -> Option<RejectCode> {
        RejectCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The code a phone speaking protocol `version` understands: itself from
    /// version 3 on; for versions 1 and 2, which knew only the first seven
    /// codes, the closest of those (a content refusal reads as
    /// `invalid_payload`, an author or op id that is not the device's as
    /// `wrong_device`).
    pub fn for_version(self, version: u32) -> RejectCode {
        if version >= 3 {
            return self;
        }
        match self {
            RejectCode::ChainBroken
            | RejectCode::HashMismatch
            | RejectCode::WrongDevice
            | RejectCode::NotAssigned
            | RejectCode::UnknownVisit
            | RejectCode::InvalidPayload
            | RejectCode::IllegalTransition => self,
            RejectCode::WrongAuthor | RejectCode::OpIdMismatch => RejectCode::WrongDevice,
            RejectCode::UnknownTemplate
            | RejectCode::PolicyViolation
            | RejectCode::InvalidSiteCheck
            | RejectCode::InvalidNotice
            | RejectCode::InvalidAnswer
            | RejectCode::InvalidNote
            | RejectCode::InvalidAttachment
            | RejectCode::InvalidOutcome
            | RejectCode::MissingOutcome
            | RejectCode::IncompleteChecklist
            | RejectCode::InvalidReason
            | RejectCode::InvalidFeedback
            | RejectCode::OutOfRange
            | RejectCode::ClockAhead
            | RejectCode::Unrecognized => RejectCode::InvalidPayload,
        }
    }
}

/// `GET /v1/pull?cursor=<n>&limit=<m>`: the changes this user may see after a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Changes in server order.
    pub changes: Vec<PulledChange>,
    /// Cursor to send next time (the last change's sequence number).
    pub cursor: u64,
    /// Whether more changes wait after this page.
    pub more: bool,
    /// Whether this device has been deactivated: push what is left, then wipe.
    pub deactivated: bool,
    /// The bank's field policy in force, on every page: the device keeps it
    /// when it is newer than its own. Absent before any is published (the
    /// default is in force) and from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PublishedPolicy>,
}

/// One change the device should apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PulledChange {
    /// A case assigned to this agent (new or updated).
    Case {
        /// The case, national id masked.
        case: Case,
    },
    /// A case no longer visible to this agent: purge once nothing of it is left to push.
    CaseRemoved {
        /// The case.
        case_id: CaseId,
    },
    /// A published checklist template.
    Template {
        /// The template.
        template: ChecklistTemplate,
    },
    /// A visit log entry from another device (the visit partner) or from the
    /// server (a supervisor's review).
    VisitEntry {
        /// The entry.
        entry: LogEntry,
        /// The server refused it: it keeps its place in its chain (so the entries
        /// after it still link) but is not part of the visit.
        #[serde(default)]
        refused: bool,
    },
    /// A kind of change a newer server sends that this build does not know:
    /// skipped, so an older phone keeps syncing.
    #[serde(other)]
    Unrecognized,
}

/// Most entries in one page of `GET /v1/visits/{visit_id}/chain`.
pub const MAX_CHAIN_PAGE: u32 = 500;

/// `GET /v1/visits/{visit_id}/chain?from=<seq>`: the signed-in device's own
/// chain of a visit as the server holds it, from chain position `from` on.
///
/// A device asks for it when the server refuses one of its entries as
/// `chain_broken`: its database lost entries the server already holds (a
/// power cut, a restored backup) or its queue holds a forked chain. It
/// restores what the server holds and re-bases what it did since on top
/// (`sync::repair`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainResponse {
    /// The entries, in chain order.
    pub entries: Vec<ChainEntry>,
    /// Whether more entries follow: ask again from the position after the last.
    pub more: bool,
}

/// One stored entry of a device's own chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainEntry {
    /// The entry, exactly as stored.
    pub entry: LogEntry,
    /// Why the server refused it, if it did: it keeps its place in the chain
    /// but is not part of the visit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<RejectCode>,
}

/// `POST /v1/visits/{visit_id}/review`, by a supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    /// Approve, or return with a reason code and a comment.
    pub decision: ReviewDecision,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. "unauthorized", "payload_too_large".
    pub code: String,
    /// A message for people; never customer data.
    pub message: String,
}

/// Largest chunk of attachment bytes in one `PUT /v1/attachments/{sha256}` (1 MiB).
pub const MAX_ATTACHMENT_CHUNK_BYTES: usize = 1024 * 1024;

/// How far the upload of one attachment has come: the answer to
/// `GET /v1/attachments/{sha256}/upload` and to every accepted chunk
/// (`PUT /v1/attachments/{sha256}?offset=<n>&total=<t>`). The device sends the
/// bytes from `received` on; once `complete`, the server holds them, verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadState {
    /// Lower-case hex SHA-256 of the attachment's bytes.
    pub sha256: String,
    /// How many bytes, from the start, the server holds.
    pub received: u64,
    /// The attachment's size, as its `attached` change states it.
    pub total: u64,
    /// Whether the server holds all the bytes, checked against the hash.
    pub complete: bool,
}

/// The body of a 409 `wrong_offset` answer to a chunk: it did not start where
/// the server's bytes end. The device sends again from `received`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrongOffset {
    /// Always "wrong_offset".
    pub code: String,
    /// A message for people.
    pub message: String,
    /// How many bytes, from the start, the server holds.
    pub received: u64,
}

/// `POST /v1/devices`: a new phone registers its device id (made by the core
/// when its database was created) to its user, with the user's credentials,
/// so that it can log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterDeviceRequest {
    /// The user's login name.
    pub username: String,
    /// The password.
    pub password: String,
    /// The phone's device id.
    pub device_id: DeviceId,
}

/// Answer to a device registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterDeviceResponse {
    /// The device, active and bound to the user: it may now `POST /v1/login`.
    pub device_id: DeviceId,
    /// The user the device belongs to.
    pub user_id: UserId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_secrets_never_show_in_debug_output() {
        let request = LoginRequest {
            username: "wang.agent".into(),
            password: "correct horse battery".into(),
            device_id: uuid::Uuid::nil(),
        };
        let answer = LoginResponse {
            token: "a".repeat(64),
            expires_at: DateTime::<Utc>::MIN_UTC,
            user_id: uuid::Uuid::nil(),
            role: Role::Agent,
            refresh_token: Some("b".repeat(64)),
        };
        let refresh = RefreshRequest {
            device_id: uuid::Uuid::nil(),
            refresh_token: "c".repeat(64),
        };
        let shown = format!("{request:?} {answer:?} {refresh:?}");
        for secret in ["correct horse", "aaaaaaaa", "bbbbbbbb", "cccccccc"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("wang.agent"));
    }

    #[test]
    fn outcomes_serialize_flat_with_a_stable_tag() {
        let result = OpResult {
            op_id: uuid::Uuid::nil(),
            outcome: OpOutcome::Rejected {
                code: RejectCode::IllegalTransition,
            },
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["outcome"], "rejected");
        assert_eq!(json["code"], RejectCode::IllegalTransition.code());
        assert_eq!(serde_json::from_value::<OpResult>(json).unwrap(), result);
    }

    #[test]
    fn role_codes_are_the_wire_names_and_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_code(role.code()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.code());
        }
        assert_eq!(Role::from_code("root"), None);
    }
}
