//! The one error every call can throw, with stable codes, and the error a
//! shell's HTTP transport reports. Both mirror the core's public errors; the
//! conversion from the core is the only mapping, and it adds nothing.

use doorstep_core::checklist::ItemProblem;
use doorstep_core::sync::protocol::RejectCode;

/// Why a Doorstep call failed. Kotlin: `DoorstepException` (one subclass per
/// variant); Swift: `DoorstepError`. [`DoorstepError::code`] is the stable
/// machine-readable code (`wrong_key`, `storage`, `not_found`, `not_allowed`,
/// `illegal_transition`, `policy_violation`, `invalid_answer`,
/// `incomplete_checklist`, `invalid_input`, `tampered_log`, `sign_in_required`,
/// `sync_failed`).
/// Messages and fields never carry customer data.
#[derive(Debug, Clone, PartialEq, thiserror::Error, uniffi::Error)]
pub enum DoorstepError {
    /// The key does not open the database. Nothing was changed.
    #[error("the database key is wrong")]
    WrongKey,
    /// The device store cannot be used (encryption missing, newer schema, disk).
    #[error("storage unavailable: {reason}")]
    Storage {
        /// What failed.
        reason: String,
    },
    /// The thing asked for does not exist on this device.
    #[error("{what} not found")]
    NotFound {
        /// What was looked up: "case", "visit", "template", "attachment"...
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
        /// The visit's state code, e.g. "submitted".
        state: String,
        /// The action's code, e.g. "check_in".
        action: String,
    },
    /// The field policy refuses the action (contact hours, notice).
    #[error("refused by policy: {policy}")]
    PolicyViolation {
        /// Stable policy code, e.g. "outside_contact_hours".
        policy: String,
        /// Explanation for the agent.
        explanation: String,
    },
    /// An answer does not fit its checklist item.
    #[error("answer to `{item_id}` refused: {reason}")]
    InvalidAnswer {
        /// Template item id.
        item_id: String,
        /// Stable reason code, e.g. "out_of_range".
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
    /// name: `rule` is the code the server answers for the same change (e.g.
    /// `invalid_note`, `missing_outcome`).
    #[error("refused ({rule}): {reason}")]
    Refused {
        /// The rule's stable code.
        rule: String,
        /// Why, for the agent.
        reason: String,
    },
    /// The agent must sign in again with their password (never signed in,
    /// or the server refused the device's sign-in: revoked, expired). Show
    /// the sign-in screen; nothing on the device is lost.
    #[error("sign in required: {reason}")]
    SignInRequired {
        /// Why.
        reason: String,
    },
    /// A sync did not complete; it resumes where it stopped next time.
    #[error("sync failed ({failure}): {reason}")]
    SyncFailed {
        /// Stable code: "offline", "timeout", "io", "server_error",
        /// "unauthorized", "refused", "protocol", "wrong_user", "upgrade_required".
        failure: String,
        /// What happened.
        reason: String,
    },
}

#[uniffi::export]
impl DoorstepError {
    /// The stable machine-readable code, the same as the core's.
    pub fn code(&self) -> String {
        doorstep_core::DoorstepError::from(self.clone())
            .code()
            .to_owned()
    }
}

impl From<doorstep_core::DoorstepError> for DoorstepError {
    fn from(error: doorstep_core::DoorstepError) -> DoorstepError {
        use doorstep_core::DoorstepError as Core;
        match error {
            Core::WrongKey => DoorstepError::WrongKey,
            Core::Storage { reason } => DoorstepError::Storage { reason },
            Core::NotFound { what } => DoorstepError::NotFound { what },
            Core::NotAllowed { reason } => DoorstepError::NotAllowed { reason },
            Core::IllegalTransition { state, action } => {
                DoorstepError::IllegalTransition { state, action }
            }
            Core::PolicyViolation { code, message } => DoorstepError::PolicyViolation {
                policy: code,
                explanation: message,
            },
            Core::InvalidAnswer { item_id, reason } => {
                DoorstepError::InvalidAnswer { item_id, reason }
            }
            Core::IncompleteChecklist { problems } => {
                DoorstepError::IncompleteChecklist { problems }
            }
            Core::InvalidInput { field, reason } => DoorstepError::InvalidInput { field, reason },
            Core::TamperedLog { index, reason } => DoorstepError::TamperedLog { index, reason },
            Core::Refused { rule, reason } => DoorstepError::Refused {
                rule: rule.code().to_owned(),
                reason,
            },
            Core::SignInRequired { reason } => DoorstepError::SignInRequired { reason },
            Core::SyncFailed { code, reason } => DoorstepError::SyncFailed {
                failure: code,
                reason,
            },
        }
    }
}

/// The way back, so the code is defined once, in the core.
impl From<DoorstepError> for doorstep_core::DoorstepError {
    fn from(error: DoorstepError) -> doorstep_core::DoorstepError {
        use doorstep_core::DoorstepError as Core;
        match error {
            DoorstepError::WrongKey => Core::WrongKey,
            DoorstepError::Storage { reason } => Core::Storage { reason },
            DoorstepError::NotFound { what } => Core::NotFound { what },
            DoorstepError::NotAllowed { reason } => Core::NotAllowed { reason },
            DoorstepError::IllegalTransition { state, action } => {
                Core::IllegalTransition { state, action }
            }
            DoorstepError::PolicyViolation {
                policy,
                explanation,
            } => Core::PolicyViolation {
                code: policy,
                message: explanation,
            },
            DoorstepError::InvalidAnswer { item_id, reason } => {
                Core::InvalidAnswer { item_id, reason }
            }
            DoorstepError::IncompleteChecklist { problems } => {
                Core::IncompleteChecklist { problems }
            }
            DoorstepError::InvalidInput { field, reason } => Core::InvalidInput { field, reason },
            DoorstepError::TamperedLog { index, reason } => Core::TamperedLog { index, reason },
            DoorstepError::Refused { rule, reason } => Core::Refused {
                rule: RejectCode::from_code(&rule).unwrap_or(RejectCode::Unrecognized),
                reason,
            },
            DoorstepError::SignInRequired { reason } => Core::SignInRequired { reason },
            DoorstepError::SyncFailed { failure, reason } => Core::SyncFailed {
                code: failure,
                reason,
            },
        }
    }
}

/// Why a request got no response, as the shell's transport reports it
/// (Kotlin: `TransportException`). Every HTTP status, 4xx and 5xx included, is
/// a response, not an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    /// No network, or the server cannot be reached.
    #[error("offline: {reason}")]
    Offline {
        /// What the platform reported (no request data).
        reason: String,
    },
    /// The request or the response took too long.
    #[error("timed out: {reason}")]
    Timeout {
        /// What the platform reported.
        reason: String,
    },
    /// Any other failure on the way (connection reset, TLS, malformed response).
    #[error("transport failure: {reason}")]
    Io {
        /// What the platform reported.
        reason: String,
    },
}

/// An exception the transport threw that is not a `TransportException` becomes
/// an I/O failure: the sync stops and is retried, the app does not crash.
impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> TransportError {
        TransportError::Io {
            reason: "the transport failed unexpectedly".into(),
        }
    }
}

impl From<TransportError> for doorstep_core::TransportError {
    fn from(error: TransportError) -> doorstep_core::TransportError {
        use doorstep_core::TransportError as Core;
        match error {
            TransportError::Offline { reason } => Core::Offline { reason },
            TransportError::Timeout { reason } => Core::Timeout { reason },
            TransportError::Io { reason } => Core::Io { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core error crosses with its fields, and its code is the core's.
    #[test]
    fn errors_keep_their_fields_and_codes_across_the_boundary() {
        use doorstep_core::DoorstepError as Core;
        let errors = [
            Core::WrongKey,
            Core::Storage { reason: "r".into() },
            Core::NotFound {
                what: "case".into(),
            },
            Core::NotAllowed { reason: "r".into() },
            Core::IllegalTransition {
                state: "submitted".into(),
                action: "check_in".into(),
            },
            Core::PolicyViolation {
                code: "outside_contact_hours".into(),
                message: "m".into(),
            },
            Core::InvalidAnswer {
                item_id: "i".into(),
                reason: "out_of_range".into(),
            },
            Core::IncompleteChecklist {
                problems: vec![ItemProblem::new(
                    "identity_confirmed",
                    doorstep_core::checklist::ProblemReason::Missing,
                )],
            },
            Core::InvalidInput {
                field: "f".into(),
                reason: "r".into(),
            },
            Core::TamperedLog {
                index: 3,
                reason: "hash_mismatch".into(),
            },
            Core::SignInRequired { reason: "r".into() },
            Core::SyncFailed {
                code: "offline".into(),
                reason: "r".into(),
            },
        ];
        for core in errors {
            let public = DoorstepError::from(core.clone());
            assert_eq!(public.code(), core.code());
            assert_eq!(public.to_string(), core.to_string());
            assert_eq!(Core::from(public), core);
        }
    }

    #[test]
    fn an_unexpected_exception_in_the_transport_is_an_io_failure() {
        let error = TransportError::from(uniffi::UnexpectedUniFFICallbackError::new(
            "NullPointerException at https://bank.example/customers/13800000000",
        ));
        assert!(matches!(error, TransportError::Io { .. }));
        assert!(!error.to_string().contains("13800000000"));
    }
}
