//! What can go wrong in the server, in the domain's words: [`ServiceError`].
//!
//! The services, the admin operations and the request extractors return a
//! variant saying what went wrong; each variant has one stable code and one
//! HTTP status, both decided here ([`ServiceError::code`],
//! [`ServiceError::status`]), and this is the one place an error becomes an
//! API answer ([`IntoResponse`]): `ErrorBody { code, message }`, plus what a
//! few refusals carry besides (`Retry-After`, the bytes received, the minimum
//! protocol version). The console matches the variants to choose its own
//! page ([`crate::console::app_failure`]).
//!
//! Messages never carry customer data. A failure of the server itself is
//! [`ServiceError::Internal`]: its detail is logged when it is made
//! ([`ServiceError::internal`]) and the client only hears that the server
//! failed.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use doorstep_core::domain::attachment::MAX_ATTACHMENT_BYTES;
use doorstep_core::domain::case::CaseError;
use doorstep_core::domain::review::ReviewError;
use doorstep_core::domain::{CaseId, DeviceId, UserId, VisitState};
use doorstep_core::sync::protocol::{
    ErrorBody, MAX_ATTACHMENT_CHUNK_BYTES, MAX_BODY_BYTES, MAX_PUSH_OPS, MIN_PROTOCOL_VERSION,
    WrongOffset,
};

use crate::admin::{NewUserRefused, PolicyRefused};
use crate::api::MAX_DECODED_BYTES;
use crate::login_limit::{TooManyAttempts, with_retry_after};
use crate::password_gate::SignInBusy;
use crate::protocol_version::UpgradeRequired;
use crate::store::StoreError;

/// Seconds a client is asked to wait after [`ServiceError::ServerBusy`].
pub const SERVER_BUSY_RETRY_SECONDS: u64 = 2;

/// Why the server did not do what was asked. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    // Reading the request.
    /// `415 unsupported_media_type`: the body is not of the type the endpoint
    /// takes.
    #[error("{expected}")]
    UnsupportedMediaType {
        /// What the endpoint takes.
        expected: MediaType,
    },
    /// `415 unsupported_encoding`: a `Content-Encoding` other than zstd.
    #[error("bodies may be plain or zstd-compressed")]
    UnsupportedEncoding,
    /// `413 payload_too_large`: the body is over a limit.
    #[error("{0}")]
    BodyTooLarge(BodyLimit),
    /// `400 unreadable_body`: the body could not be read.
    #[error("the body could not be read")]
    UnreadableBody,
    /// `400 malformed_zstd`: a zstd body that is not zstd.
    #[error("the body is not valid zstd")]
    MalformedZstd,
    /// `400 malformed_json`: the body is not JSON; where the parser stopped.
    #[error("the body is not valid JSON (line {line} column {column})")]
    MalformedJson {
        /// Line of the syntax error.
        line: usize,
        /// Column of the syntax error.
        column: usize,
    },
    /// `422 invalid_body`: JSON of the wrong shape; where the parser stopped.
    #[error("the body does not have the expected shape (line {line} column {column})")]
    InvalidBody {
        /// Line of the shape error.
        line: usize,
        /// Column of the shape error.
        column: usize,
    },
    /// `400 invalid_query`: the query string does not read.
    #[error("{0}")]
    InvalidQuery(QueryParams),
    /// `400 invalid_visit_id`: the path's visit id is not a UUID.
    #[error("not a visit id")]
    InvalidVisitId,
    /// `400 invalid_protocol`: the `Doorstep-Protocol` header is not a number.
    #[error("the Doorstep-Protocol header must be a version number")]
    InvalidProtocol,
    /// `400 invalid_app_version`: the `Doorstep-App-Version` header is not
    /// 1 to 40 printable ASCII characters.
    #[error("the Doorstep-App-Version header must be 1 to 40 printable ASCII characters")]
    InvalidAppVersion,
    /// `426 upgrade_required`: the phone speaks a protocol older than
    /// [`MIN_PROTOCOL_VERSION`].
    #[error(
        "this app speaks a protocol older than version {MIN_PROTOCOL_VERSION}: \
         update the app; its unsent work is kept"
    )]
    ProtocolTooOld,
    /// `413 too_many_ops`: a push of more than [`MAX_PUSH_OPS`] entries.
    #[error("at most {MAX_PUSH_OPS} operations per push")]
    TooManyOps,
    /// `404 not_found`: no such thing, or not one this user may know of.
    #[error("{0}")]
    NotFound(Missing),

    // Signing in.
    /// `401 unauthorized`: no valid credentials or token.
    #[error("{0}")]
    Unauthenticated(Unauthenticated),
    /// `403 device_not_registered`: a login from a device that is not the
    /// user's.
    #[error("this device is not registered to this user")]
    DeviceNotRegistered,
    /// `403 device_deactivated`: a login from, or registration of, a
    /// deactivated device.
    #[error("this device has been deactivated")]
    DeviceDeactivated,
    /// `403 user_deactivated`: a sign-in (to sync or to the console) of a
    /// user an admin deactivated, with their right password.
    #[error("this user has been deactivated")]
    UserDeactivated,
    /// `403 not_admin`: an admin's act (users, devices, teams) by a user who
    /// is not an admin.
    #[error("only admins manage users, devices and teams")]
    NotAdmin,
    /// `409 own_account`: an admin deactivating their own account (another
    /// admin may).
    #[error("an admin cannot deactivate their own account")]
    OwnAccount,
    /// `409 device_active`: a device that is not deactivated confirmed a
    /// wipe.
    #[error("this device is not deactivated")]
    DeviceActive,
    /// `409 device_taken`: registration of another user's device.
    #[error("this device is registered to another user")]
    DeviceTaken,
    /// `422 invalid_device_id`: a reserved id (nil, max, the server's own).
    #[error("this id is reserved and cannot be a device's")]
    InvalidDeviceId,
    /// `429 too_many_attempts`, with `Retry-After`: the sign-in limit is
    /// reached ([`crate::login_limit`]).
    #[error(
        "too many sign-in attempts; try again in {} seconds",
        .0.retry_after_seconds
    )]
    TooManyAttempts(TooManyAttempts),
    /// `503 sign_in_busy`, with `Retry-After`: too many sign-ins wait to
    /// check a password ([`crate::password_gate`]).
    #[error(
        "too many sign-ins at once; try again in {} seconds",
        .0.retry_after_seconds
    )]
    SignInBusy(SignInBusy),

    // Reviews.
    /// `403 not_supervisor`: only supervisors review visits.
    #[error("only supervisors review visits")]
    NotSupervisor,
    /// `403 not_your_team`: a visit of another supervisor's team.
    #[error("the visit belongs to another team")]
    NotYourTeam,
    /// `422 invalid_review`: a review the core refuses (a return without a
    /// reason or comment, a comment too long).
    #[error("{0}")]
    InvalidReview(ReviewError),
    /// `422 invalid_decision`: a decision on a case the core refuses (an
    /// amount, a date, a note, a closed case).
    #[error("{0}")]
    InvalidDecision(doorstep_core::domain::DecisionError),
    /// `422 invalid_feedback`: feedback to the customer the core refuses
    /// (empty or too long).
    #[error("{0}")]
    InvalidFeedback(ReviewError),
    /// `409 visit_not_approved`: feedback is given on an approved visit only.
    #[error("the visit is {}", .state.code())]
    VisitNotApproved {
        /// Where the visit is.
        state: VisitState,
    },
    /// `409 visit_not_submitted`: the visit is not waiting for a review.
    #[error("the visit is {}", .state.code())]
    VisitNotSubmitted {
        /// Where the visit is.
        state: VisitState,
    },

    // Attachments.
    /// `400 invalid_sha256`: an attachment named by something else than a
    /// lower-case hex SHA-256.
    #[error("an attachment is named by the lower-case hex SHA-256 of its bytes")]
    InvalidSha256,
    /// `413 attachment_too_large`: over [`MAX_ATTACHMENT_BYTES`].
    #[error("an attachment can be at most {MAX_ATTACHMENT_BYTES} bytes")]
    AttachmentTooLarge,
    /// `413 chunk_too_large`: a chunk over [`MAX_ATTACHMENT_CHUNK_BYTES`].
    #[error("a chunk can be at most {MAX_ATTACHMENT_CHUNK_BYTES} bytes")]
    ChunkTooLarge,
    /// `422 empty_chunk`: a chunk without bytes.
    #[error("a chunk needs bytes")]
    EmptyChunk,
    /// `422 chunk_beyond_total`: a chunk that ends after the attachment.
    #[error("the chunk ends after the attachment's last byte")]
    ChunkBeyondTotal,
    /// `422 attachment_size_mismatch`: `total` is not the size the `attached`
    /// change states.
    #[error("total is not the size the attachment was recorded with")]
    AttachmentSizeMismatch,
    /// `422 attachment_hash_mismatch`: the bytes are not their SHA-256; the
    /// partial upload was discarded.
    #[error("the bytes do not match their SHA-256; send them again from offset 0")]
    AttachmentHashMismatch,
    /// `409 wrong_offset`: the chunk does not start where the bytes held end;
    /// the answer's body is `WrongOffset { code, message, received }`.
    #[error("send the bytes from `received` on")]
    WrongOffset {
        /// How many bytes, from the start, the server holds.
        received: u64,
    },
    /// `403 not_assigned`: an upload from a device that did not attach the
    /// bytes.
    #[error("only the device that attached these bytes may upload them")]
    NotTheUploader,
    /// `404 unknown_attachment`: no admitted change refers to the hash.
    #[error("no admitted change refers to this attachment")]
    UnknownAttachment,
    /// `403 attachment_not_visible`: a download by someone who may see no
    /// visit that refers to the bytes through a device that sent them.
    #[error("this attachment belongs to visits you cannot see")]
    AttachmentNotVisible,
    /// `404 attachment_not_uploaded`: the bytes have not arrived yet.
    #[error("the device has not uploaded these bytes yet")]
    AttachmentNotUploaded,

    // Administration: users, cases, templates, policies.
    /// `422` with the refusal's own code: a new user's name or password.
    #[error(transparent)]
    NewUserRefused(NewUserRefused),
    /// `400 not_a_supervisor`: the supervisor named for a new user is not a
    /// supervisor.
    #[error("the named supervisor is not a supervisor")]
    NamedNotSupervisor,
    /// `403 not_a_supervisor`: an agent managing cases (only supervisors and
    /// admins do).
    #[error("only supervisors and admins manage cases")]
    ManagesNoCases,
    /// `422 unknown_agent`: a case assigned to a user id that is nobody's.
    #[error("no user {0}")]
    UnknownAgent(UserId),
    /// `422 not_an_agent`: a case assigned to a user who is not an agent.
    #[error("user {0} is not an agent")]
    NotAnAgent(UserId),
    /// `422 invalid_case`: a case the core refuses.
    #[error("case {case}: {reason}")]
    InvalidCase {
        /// The case.
        case: CaseId,
        /// What is wrong with it.
        reason: CaseError,
    },
    /// `422 partner_is_agent`: the partner named is the primary agent.
    #[error("the partner is the primary agent")]
    PartnerIsAgent,
    /// `403 other_team_case`: a supervisor's import updating another team's
    /// case.
    #[error("case {0} belongs to another team")]
    OtherTeamCase(CaseId),
    /// `403 other_team_agent`: a supervisor assigning an agent of another
    /// team (to this case, in an import).
    #[error("{}", other_team_agent(*.0))]
    OtherTeamAgent(Option<CaseId>),
    /// `409 template_exists`: the template's key and version are published.
    #[error("this template key and version are already published")]
    TemplateExists,
    /// `409 template_not_retirable`: the template version is retired
    /// already, or no newer version of its key is in use for new visits.
    #[error("only a version with a newer version in use can be retired, once")]
    TemplateNotRetirable,
    /// `422 invalid_policy`: a field policy that does not read or makes no
    /// sense.
    #[error("{0}")]
    InvalidPolicy(PolicyRefused),
    /// `409 policy_unchanged`: the policy is the one in force.
    #[error("this is the policy in force (version {in_force})")]
    PolicyUnchanged {
        /// The version in force.
        in_force: u32,
    },
    /// `409 policy_exists`: another admin published this version meanwhile.
    #[error("another admin published this version meanwhile; try again")]
    PolicyExists,

    // Storage, and the server itself.
    /// `409 already_exists`: a row with the same key exists.
    #[error("{what} already exists")]
    AlreadyExists {
        /// What kind of row.
        what: &'static str,
    },
    /// `422 unstorable_text`: text the database cannot hold (a NUL).
    #[error("the request holds text the server cannot store (a NUL character)")]
    Unstorable,
    /// `503 server_busy`, with `Retry-After`: the database did not answer in
    /// time (a lock, a statement or a pooled connection waited too long);
    /// nothing of the request was stored.
    #[error("the server is busy; try again shortly")]
    ServerBusy,
    /// `500 internal`: the server failed; the detail went to the log.
    #[error("the server failed to handle the request")]
    Internal(Failure),
}

/// The media type an endpoint takes ([`ServiceError::UnsupportedMediaType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MediaType {
    /// `application/json` (every JSON body).
    #[error("the body must be application/json")]
    Json,
    /// `application/octet-stream` (an attachment's chunk).
    #[error("a chunk must be application/octet-stream")]
    OctetStream,
}

/// Which body limit was passed ([`ServiceError::BodyTooLarge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyLimit {
    /// [`MAX_BODY_BYTES`] on the wire.
    #[error("the body exceeds {MAX_BODY_BYTES} bytes")]
    Received,
    /// [`MAX_DECODED_BYTES`] once decompressed.
    #[error("the body inflates beyond {MAX_DECODED_BYTES} bytes")]
    Decompressed,
}

/// Whose query string does not read ([`ServiceError::InvalidQuery`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryParams {
    /// `GET /v1/pull`.
    #[error("cursor and limit must be non-negative integers")]
    Pull,
    /// `GET /v1/visits/{visit_id}/chain`.
    #[error("from must be a non-negative integer")]
    Chain,
    /// `PUT /v1/attachments/{sha256}`.
    #[error("offset and total must be non-negative integers")]
    Chunk,
}

/// What was not found ([`ServiceError::NotFound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// No route answers the path.
    #[error("no such endpoint")]
    Endpoint,
    /// No such visit (or its case is gone).
    #[error("no such visit")]
    Visit,
    /// No user with the name given (the name is not repeated).
    #[error("no user with that name")]
    User,
    /// No such case (or not one of the actor's team).
    #[error("no case {0}")]
    Case(CaseId),
    /// No such device.
    #[error("no device {0}")]
    Device(DeviceId),
    /// No such checklist template version.
    #[error("no such template version")]
    Template,
}

/// Why a request is not authenticated ([`ServiceError::Unauthenticated`]).
/// One code for all on the wire: a client is not told which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unauthenticated {
    /// A wrong user name or password (the same for both).
    #[error("wrong user name or password")]
    WrongCredentials,
    /// No `Authorization: Bearer` token.
    #[error("a bearer token is required")]
    NoToken,
    /// A token that is unknown, expired or revoked, or whose device is not
    /// its user's.
    #[error("missing, expired or revoked token")]
    InvalidToken,
    /// A refresh credential that is unknown, expired, revoked, already used
    /// or another device's ([`crate::service::refresh`]): the phone asks its
    /// agent to sign in again.
    #[error("the sign-in has expired or was revoked; sign in again")]
    RefreshRefused,
}

/// The detail of a [`ServiceError::Internal`], kept for `Debug` only: it was
/// logged when the error was made, and is never answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    detail: String,
}

fn other_team_agent(case: Option<CaseId>) -> String {
    match case {
        Some(case) => format!("case {case}: an agent of another team"),
        None => "an agent of another team".to_owned(),
    }
}

impl ServiceError {
    /// A failure of the server itself: `detail` is logged here, the client
    /// hears only that the server failed.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ServiceError::Internal(Failure {
            detail: detail.to_string(),
        })
    }

    /// The HTTP status and stable code of each error: the one table of both.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use ServiceError as E;
        match self {
            E::UnsupportedMediaType { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            E::UnsupportedEncoding => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding"),
            E::BodyTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            E::UnreadableBody => (StatusCode::BAD_REQUEST, "unreadable_body"),
            E::MalformedZstd => (StatusCode::BAD_REQUEST, "malformed_zstd"),
            E::MalformedJson { .. } => (StatusCode::BAD_REQUEST, "malformed_json"),
            E::InvalidBody { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            E::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            E::InvalidVisitId => (StatusCode::BAD_REQUEST, "invalid_visit_id"),
            E::InvalidProtocol => (StatusCode::BAD_REQUEST, "invalid_protocol"),
            E::InvalidAppVersion => (StatusCode::BAD_REQUEST, "invalid_app_version"),
            E::ProtocolTooOld => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            E::TooManyOps => (StatusCode::PAYLOAD_TOO_LARGE, "too_many_ops"),
            E::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            E::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            E::DeviceNotRegistered => (StatusCode::FORBIDDEN, "device_not_registered"),
            E::DeviceDeactivated => (StatusCode::FORBIDDEN, "device_deactivated"),
            E::UserDeactivated => (StatusCode::FORBIDDEN, "user_deactivated"),
            E::NotAdmin => (StatusCode::FORBIDDEN, "not_admin"),
            E::DeviceActive => (StatusCode::CONFLICT, "device_active"),
            E::OwnAccount => (StatusCode::CONFLICT, "own_account"),
            E::DeviceTaken => (StatusCode::CONFLICT, "device_taken"),
            E::InvalidDeviceId => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_device_id"),
            E::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            E::SignInBusy(_) => (StatusCode::SERVICE_UNAVAILABLE, "sign_in_busy"),
            E::NotSupervisor => (StatusCode::FORBIDDEN, "not_supervisor"),
            E::NotYourTeam => (StatusCode::FORBIDDEN, "not_your_team"),
            E::InvalidReview(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_review"),
            E::VisitNotSubmitted { .. } => (StatusCode::CONFLICT, "visit_not_submitted"),
            E::InvalidDecision(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_decision"),
            E::InvalidFeedback(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_feedback"),
            E::VisitNotApproved { .. } => (StatusCode::CONFLICT, "visit_not_approved"),
            E::InvalidSha256 => (StatusCode::BAD_REQUEST, "invalid_sha256"),
            E::AttachmentTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "attachment_too_large"),
            E::ChunkTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "chunk_too_large"),
            E::EmptyChunk => (StatusCode::UNPROCESSABLE_ENTITY, "empty_chunk"),
            E::ChunkBeyondTotal => (StatusCode::UNPROCESSABLE_ENTITY, "chunk_beyond_total"),
            E::AttachmentSizeMismatch => {
                (StatusCode::UNPROCESSABLE_ENTITY, "attachment_size_mismatch")
            }
            E::AttachmentHashMismatch => {
                (StatusCode::UNPROCESSABLE_ENTITY, "attachment_hash_mismatch")
            }
            E::WrongOffset { .. } => (StatusCode::CONFLICT, "wrong_offset"),
            E::NotTheUploader => (StatusCode::FORBIDDEN, "not_assigned"),
            E::UnknownAttachment => (StatusCode::NOT_FOUND, "unknown_attachment"),
            E::AttachmentNotVisible => (StatusCode::FORBIDDEN, "attachment_not_visible"),
            E::AttachmentNotUploaded => (StatusCode::NOT_FOUND, "attachment_not_uploaded"),
            E::NewUserRefused(refused) => (StatusCode::UNPROCESSABLE_ENTITY, refused.code()),
            // Two refusals share this code, with the statuses they always had.
            E::NamedNotSupervisor => (StatusCode::BAD_REQUEST, "not_a_supervisor"),
            E::ManagesNoCases => (StatusCode::FORBIDDEN, "not_a_supervisor"),
            E::UnknownAgent(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_agent"),
            E::NotAnAgent(_) => (StatusCode::UNPROCESSABLE_ENTITY, "not_an_agent"),
            E::InvalidCase { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_case"),
            E::PartnerIsAgent => (StatusCode::UNPROCESSABLE_ENTITY, "partner_is_agent"),
            E::OtherTeamCase(_) => (StatusCode::FORBIDDEN, "other_team_case"),
            E::OtherTeamAgent(_) => (StatusCode::FORBIDDEN, "other_team_agent"),
            E::TemplateExists => (StatusCode::CONFLICT, "template_exists"),
            E::TemplateNotRetirable => (StatusCode::CONFLICT, "template_not_retirable"),
            E::InvalidPolicy(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy"),
            E::PolicyUnchanged { .. } => (StatusCode::CONFLICT, "policy_unchanged"),
            E::PolicyExists => (StatusCode::CONFLICT, "policy_exists"),
            E::AlreadyExists { .. } => (StatusCode::CONFLICT, "already_exists"),
            E::Unstorable => (StatusCode::UNPROCESSABLE_ENTITY, "unstorable_text"),
            E::ServerBusy => (StatusCode::SERVICE_UNAVAILABLE, "server_busy"),
            E::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The stable machine-readable code clients, audit rows and documents
    /// know this error by.
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    /// The error in one line for an operator's terminal (the admin
    /// commands): status, code and message, e.g. `422 password_too_short:
    /// the password is shorter than 12 characters`.
    pub fn report(&self) -> String {
        format!("{} {}: {self}", self.status().as_u16(), self.code())
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => ServiceError::AlreadyExists { what },
            StoreError::Busy => ServiceError::ServerBusy,
            StoreError::Unstorable => ServiceError::Unstorable,
            other => ServiceError::internal(&other),
        }
    }
}

impl From<tokio::task::JoinError> for ServiceError {
    fn from(err: tokio::task::JoinError) -> Self {
        ServiceError::internal(&err)
    }
}

impl From<NewUserRefused> for ServiceError {
    fn from(refused: NewUserRefused) -> Self {
        ServiceError::NewUserRefused(refused)
    }
}

impl From<PolicyRefused> for ServiceError {
    fn from(refused: PolicyRefused) -> Self {
        ServiceError::InvalidPolicy(refused)
    }
}

impl IntoResponse for ServiceError {
    /// The API's answer: the status, and `ErrorBody { code, message }` or the
    /// richer body a few refusals have.
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        match self {
            ServiceError::WrongOffset { received } => {
                let body = WrongOffset {
                    code: code.to_owned(),
                    message,
                    received,
                };
                (status, Json(body)).into_response()
            }
            ServiceError::ProtocolTooOld => {
                let body = UpgradeRequired {
                    code,
                    message,
                    minimum_version: MIN_PROTOCOL_VERSION,
                };
                (status, Json(body)).into_response()
            }
            ServiceError::TooManyAttempts(TooManyAttempts {
                retry_after_seconds,
            })
            | ServiceError::SignInBusy(SignInBusy {
                retry_after_seconds,
            }) => {
                let body = ErrorBody {
                    code: code.to_owned(),
                    message,
                };
                with_retry_after((status, Json(body)).into_response(), retry_after_seconds)
            }
            ServiceError::ServerBusy => {
                let body = ErrorBody {
                    code: code.to_owned(),
                    message,
                };
                with_retry_after(
                    (status, Json(body)).into_response(),
                    SERVER_BUSY_RETRY_SECONDS,
                )
            }
            _ => {
                let body = ErrorBody {
                    code: code.to_owned(),
                    message,
                };
                (status, Json(body)).into_response()
            }
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
