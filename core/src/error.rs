//! Errors. Inside the crate every failure is an [`Error`] with its source; at the
//! public surface it becomes a [`DoorstepError`] with a stable machine-readable
//! code. The mapping happens in exactly one place ([`From<Error> for DoorstepError`]).
//!
//! Neither type ever carries customer data: messages name fields, ids of template
//! items and codes, never names, phone numbers, addresses, note text or answers.
//! Sources that could quote data (JSON parse errors quote the offending input) are
//! reduced to their category before they leave the crate.

use crate::checklist::{ItemProblem, TemplateError};
use crate::domain::attachment::AttachmentError;
use crate::domain::case::CaseError;
use crate::domain::note::NoteError;
use crate::domain::notice::NoticeError;
use crate::domain::outcome::OutcomeError;
use crate::domain::review::ReviewError;
use crate::domain::visit::IllegalTransition;
use crate::event_log::BrokenLink;
use crate::policy::PolicyViolation;
use crate::rules::Refusal;
use crate::sync::protocol::RejectCode;

/// Internal error with its source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database key does not open this database.
    #[error("wrong database key")]
    WrongKey,
    /// The SQLite library in use has no encryption.
    #[error("SQLCipher is not available in this build")]
    EncryptionUnavailable,
    /// The database was written by a newer version of Doorstep.
    #[error("database schema version {found} is newer than supported {supported}")]
    SchemaTooNew {
        /// Version found in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// SQLite failed.
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Stored JSON could not be read or written.
    #[error("stored data could not be encoded or decoded")]
    Json(#[from] serde_json::Error),
    /// A file-system operation failed.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    /// Something looked up does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The case is not assigned to the signed-in agent.
    #[error("the case is not assigned to this agent")]
    NotAssigned,
    /// No agent is signed in on this device.
    #[error("no agent is signed in on this device")]
    NoAgent,
    /// A visit is already open for the case.
    #[error("the case already has an open visit")]
    VisitAlreadyOpen,
    /// The rules refuse the change (the same refusal the server would answer).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The state machine refuses the action.
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    /// The field policy refuses the action.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// One answer does not fit its checklist item.
    #[error("checklist answer refused: {}", .0.reason.code())]
    Answer(ItemProblem),
    /// The checklist is incomplete or invalid at submission.
    #[error("checklist incomplete: {} problem(s)", .0.len())]
    Incomplete(Vec<ItemProblem>),
    /// A checklist template is malformed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The template (key, version) is not on the device.
    #[error("checklist template version not on this device")]
    UnknownTemplate,
    /// A template was republished under the same version with other content.
    #[error("a published checklist template cannot change")]
    TemplateChanged,
    /// Invalid input for a field.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, as named in the API.
        field: &'static str,
        /// Why, without the value.
        reason: String,
    },
    /// A visit's event log does not verify.
    #[error("visit event log is broken at entry {}: {}", .0.index, .0.reason.code())]
    BrokenLog(BrokenLink),
    /// A sync with the server failed (network, server, protocol or sign-in).
    #[error("sync failed: {code}: {reason}")]
    Sync {
        /// Stable code: "offline", "timeout", "io", "server_error", "unauthorized",
        /// "refused", "protocol", "wrong_user", "upgrade_required".
        code: &'static str,
        /// What happened, without data.
        reason: String,
    },
    /// The device holds no sign-in the server accepts (never signed in, or
    /// its refresh credential was revoked, expired or used elsewhere): the
    /// agent must sign in with their password.
    #[error("sign in required: {0}")]
    SignInRequired(&'static str),
}

/// Result with the internal error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

macro_rules! invalid_from {
    ($($source:ty => $field:literal),* $(,)?) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Error {
                Error::Invalid { field: $field, reason: e.to_string() }
            }
        }
    )*};
}

invalid_from! {
    AttachmentError => "attachment",
    CaseError => "case",
    NoteError => "note",
    NoticeError => "notice",
    OutcomeError => "outcome",
    ReviewError => "review",
    crate::money::MoneyError => "money",
}

/// The public error: a stable code for programs plus a message for people.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DoorstepError {
    /// The key does not open the database. Nothing was changed.
    #[error("the database key is wrong")]
    WrongKey,
    /// The device store cannot be used (encryption missing, newer schema, disk).
    #[error("storage unavailable: {reason}")]
    Storage {
        /// What failed, without data.
        reason: String,
    },
    /// The thing asked for does not exist on this device.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up: "case", "visit", "template"...
        what: String,
    },
    /// The action is not allowed for the signed-in agent.
    #[error("not allowed: {reason}")]
    NotAllowed {
        /// Why.
        reason: String,
    },
    /// The visit's state does not allow the action.
    #[error("cannot {action} a visit that is {state}")]
    IllegalTransition {
        /// The visit's state code.
        state: String,
        /// The action's code.
        action: String,
    },
    /// The field policy refuses the action (contact hours, notice).
    #[error("refused by policy: {code}")]
    PolicyViolation {
        /// Stable policy code, e.g. "outside_contact_hours".
        code: String,
        /// Explanation for the agent.
        message: String,
    },
    /// An answer does not fit its checklist item.
    #[error("answer to `{item_id}` refused: {reason}")]
    InvalidAnswer {
        /// Template item id.
        item_id: String,
        /// Stable reason code.
        reason: String,
    },
    /// Submission refused: the checklist has these problems.
    #[error("checklist incomplete: {} problem(s)", problems.len())]
    IncompleteChecklist {
        /// Every problem, in template order.
        problems: Vec<ItemProblem>,
    },
    /// Input refused.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Field name.
        field: String,
        /// Why.
        reason: String,
    },
    /// A visit's event log failed verification.
    #[error("event log broken at entry {index}: {reason}")]
    TamperedLog {
        /// Position of the first broken entry.
        index: u64,
        /// Stable reason code.
        reason: String,
    },
    /// The rules refuse the change, for a reason the variants above do not
    /// name: `rule` is the code the server would answer for it (e.g.
    /// `invalid_note`, `missing_outcome`), see [`DoorstepError::rule`].
    #[error("refused ({}): {reason}", rule.code())]
    Refused {
        /// The rule's stable code, the server's [`RejectCode`].
        rule: RejectCode,
        /// Why, for the agent, without data.
        reason: String,
    },
    /// The agent must sign in again with their password
    /// ([`crate::Doorstep::sign_in`]): the device has never signed in, or
    /// the server refused its sign-in (revoked by an admin, expired, or used
    /// elsewhere). Nothing on the device is lost: the queue syncs once the
    /// agent has signed in.
    #[error("sign in required: {reason}")]
    SignInRequired {
        /// Why, without data.
        reason: String,
    },
    /// A sync did not complete; it resumes where it stopped next time.
    #[error("sync failed ({code}): {reason}")]
    SyncFailed {
        /// Stable code: "offline", "timeout", "io", "server_error", "unauthorized",
        /// "refused", "protocol", "wrong_user", "upgrade_required".
        code: String,
        /// What happened, without data.
        reason: String,
    },
}

impl DoorstepError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DoorstepError::WrongKey => "wrong_key",
            DoorstepError::Storage { .. } => "storage",
            DoorstepError::NotFound { .. } => "not_found",
            DoorstepError::NotAllowed { .. } => "not_allowed",
            DoorstepError::IllegalTransition { .. } => "illegal_transition",
            DoorstepError::PolicyViolation { .. } => "policy_violation",
            DoorstepError::InvalidAnswer { .. } => "invalid_answer",
            DoorstepError::IncompleteChecklist { .. } => "incomplete_checklist",
            DoorstepError::InvalidInput { .. } => "invalid_input",
            DoorstepError::TamperedLog { .. } => "tampered_log",
            DoorstepError::Refused { rule, .. } => rule.code(),
            DoorstepError::SignInRequired { .. } => "sign_in_required",
            DoorstepError::SyncFailed { .. } => "sync_failed",
        }
    }

    /// The rule that refused the change, as the code the server answers for
    /// the same change ([`crate::rules::Refusal::code`]); `None` for errors
    /// that are not a rule's refusal (storage, not found, sync...).
    pub fn rule(&self) -> Option<RejectCode> {
        match self {
            DoorstepError::IllegalTransition { .. } => Some(RejectCode::IllegalTransition),
            DoorstepError::PolicyViolation { .. } => Some(RejectCode::PolicyViolation),
            DoorstepError::InvalidAnswer { .. } => Some(RejectCode::InvalidAnswer),
            DoorstepError::IncompleteChecklist { .. } => Some(RejectCode::IncompleteChecklist),
            DoorstepError::Refused { rule, .. } => Some(*rule),
            _ => None,
        }
    }
}

impl From<Error> for DoorstepError {
    fn from(error: Error) -> DoorstepError {
        let storage = |reason: String| DoorstepError::Storage { reason };
        let not_allowed = |reason: &str| DoorstepError::NotAllowed {
            reason: reason.to_owned(),
        };
        match error {
            Error::WrongKey => DoorstepError::WrongKey,
            e @ (Error::EncryptionUnavailable | Error::SchemaTooNew { .. }) => {
                storage(e.to_string())
            }
            Error::Sqlite(e) => {
                let reason = sqlite_reason(&e);
                tracing::error!(%reason, "storage failure");
                storage(reason)
            }
            Error::Json(e) => storage(format!("stored data unreadable ({:?})", e.classify())),
            Error::Io(e) => storage(format!("file system: {:?}", e.kind())),
            Error::NotFound(what) => DoorstepError::NotFound {
                what: what.to_owned(),
            },
            Error::NotAssigned => not_allowed("the case is not assigned to this agent"),
            Error::NoAgent => not_allowed("no agent is signed in on this device"),
            Error::VisitAlreadyOpen => not_allowed("the case already has an open visit"),
            Error::Refused(refusal) => refused(refusal),
            Error::Transition(t) => DoorstepError::IllegalTransition {
                state: t.from.code().to_owned(),
                action: t.action.code().to_owned(),
            },
            Error::Policy(v) => DoorstepError::PolicyViolation {
                code: v.code().to_owned(),
                message: v.to_string(),
            },
            Error::Answer(p) => DoorstepError::InvalidAnswer {
                item_id: p.item_id,
                reason: p.reason.code().to_owned(),
            },
            Error::Incomplete(problems) => DoorstepError::IncompleteChecklist { problems },
            Error::Template(e) => DoorstepError::InvalidInput {
                field: "template".into(),
                reason: e.to_string(),
            },
            Error::UnknownTemplate => DoorstepError::NotFound {
                what: "template".into(),
            },
            Error::TemplateChanged => DoorstepError::InvalidInput {
                field: "template".into(),
                reason: "a published template version cannot change".into(),
            },
            Error::Invalid { field, reason } => DoorstepError::InvalidInput {
                field: field.to_owned(),
                reason,
            },
            Error::BrokenLog(link) => DoorstepError::TamperedLog {
                index: link.index as u64,
                reason: link.reason.code().to_owned(),
            },
            Error::Sync { code, reason } => DoorstepError::SyncFailed {
                code: code.to_owned(),
                reason,
            },
            Error::SignInRequired(reason) => DoorstepError::SignInRequired {
                reason: reason.to_owned(),
            },
        }
    }
}

/// The public form of a rules refusal: the richer variants where one exists
/// (state machine, policy, answer, checklist), [`DoorstepError::Refused`]
/// with the rule's code otherwise.
fn refused(refusal: Refusal) -> DoorstepError {
    match refusal {
        Refusal::IllegalTransition(t) => DoorstepError::IllegalTransition {
            state: t.from.code().to_owned(),
            action: t.action.code().to_owned(),
        },
        Refusal::Policy(v) => DoorstepError::PolicyViolation {
            code: v.code().to_owned(),
            message: v.to_string(),
        },
        Refusal::InvalidAnswer(p) => DoorstepError::InvalidAnswer {
            item_id: p.item_id,
            reason: p.reason.code().to_owned(),
        },
        Refusal::IncompleteChecklist(problems) => DoorstepError::IncompleteChecklist { problems },
        Refusal::UnknownVisit => DoorstepError::NotFound {
            what: "visit".into(),
        },
        other => DoorstepError::Refused {
            rule: other.code(),
            reason: other.to_string(),
        },
    }
}

/// A reason for a SQLite failure that cannot quote stored values: the primary
/// result code and the extended one (a number), never the message (constraint
/// messages can name values).
fn sqlite_reason(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => {
            format!(
                "database error ({:?}, extended code {})",
                failure.code, failure.extended_code
            )
        }
        other => match other.sqlite_error_code() {
            Some(code) => format!("database error ({code:?})"),
            None => "database error".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_do_not_quote_the_input() {
        let secret = "王小明 13800000000";
        let e = serde_json::from_str::<u8>(&format!("\"{secret}\"")).unwrap_err();
        assert!(
            e.to_string().contains("王小明"),
            "serde_json quotes input, which is why we map it"
        );
        let public: DoorstepError = Error::Json(e).into();
        assert!(!public.to_string().contains("王小明"));
        assert!(!format!("{public:?}").contains("王小明"));
        assert_eq!(public.code(), "storage");
    }

    #[test]
    fn every_public_error_has_a_distinct_code() {
        let errors = [
            DoorstepError::WrongKey,
            DoorstepError::Storage {
                reason: String::new(),
            },
            DoorstepError::NotFound {
                what: String::new(),
            },
            DoorstepError::NotAllowed {
                reason: String::new(),
            },
            DoorstepError::IllegalTransition {
                state: String::new(),
                action: String::new(),
            },
            DoorstepError::PolicyViolation {
                code: String::new(),
                message: String::new(),
            },
            DoorstepError::InvalidAnswer {
                item_id: String::new(),
                reason: String::new(),
            },
            DoorstepError::IncompleteChecklist { problems: vec![] },
            DoorstepError::InvalidInput {
                field: String::new(),
                reason: String::new(),
            },
            DoorstepError::TamperedLog {
                index: 0,
                reason: String::new(),
            },
            DoorstepError::SyncFailed {
                code: String::new(),
                reason: String::new(),
            },
        ];
        let codes: std::collections::BTreeSet<_> = errors.iter().map(DoorstepError::code).collect();
        assert_eq!(codes.len(), errors.len());
    }
}
