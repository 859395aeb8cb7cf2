//! A supervisor's review of a submitted visit, and the feedback given back to the
//! customer once the plan is agreed. Both are server-authoritative.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::UserId;
use super::notice::NoticeChannel;

/// Longest review comment or feedback summary accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// What the supervisor decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum ReviewDecision {
    /// The report is accepted (通过). The visit is frozen.
    Approve,
    /// The report goes back to the agent for changes (退回修改).
    Return {
        /// Machine-readable reason, e.g. "missing_photos", "inconsistent_outcome".
        reason_code: String,
        /// What the agent should change.
        comment: String,
    },
}

/// One review round of a submitted visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Approve or return.
    pub decision: ReviewDecision,
    /// The supervisor.
    pub reviewer: UserId,
    /// When the decision was made.
    pub decided_at: DateTime<Utc>,
}

/// The agreed plan as fed back to the customer (结果反馈).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// How the customer was told.
    pub channel: NoticeChannel,
    /// When.
    pub delivered_at: DateTime<Utc>,
    /// What was told.
    pub summary: String,
    /// Whether the customer confirmed the plan.
    pub customer_confirmed: bool,
}

/// Why a review or feedback was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// A return needs a reason code of `[a-z0-9_]` and a comment.
    #[error("a return needs a reason code and a comment")]
    IncompleteReturn,
    /// Feedback without a channel or a time it was given (as typed in a form).
    #[error("feedback needs its channel and the time it was given")]
    IncompleteFeedback,
    /// Comment or summary too long or empty.
    #[error("text must be present and at most {MAX_COMMENT_CHARS} characters")]
    BadText,
}

impl Review {
    /// Checks the review is complete.
    pub fn check(&self) -> Result<(), ReviewError> {
        if let ReviewDecision::Return {
            reason_code,
            comment,
        } = &self.decision
        {
            let code_ok = !reason_code.is_empty()
                && reason_code.len() <= 64
                && reason_code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !code_ok || comment.trim().is_empty() {
                return Err(ReviewError::IncompleteReturn);
            }
            if comment.chars().count() > MAX_COMMENT_CHARS {
                return Err(ReviewError::BadText);
            }
        }
        Ok(())
    }
}

impl Feedback {
    /// Checks the feedback is complete.
    pub fn check(&self) -> Result<(), ReviewError> {
        let len = self.summary.chars().count();
        if self.summary.trim().is_empty() || len > MAX_COMMENT_CHARS {
            return Err(ReviewError::BadText);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn returned(reason_code: &str, comment: &str) -> Review {
        Review {
            decision: ReviewDecision::Return {
                reason_code: reason_code.into(),
                comment: comment.into(),
            },
            reviewer: Uuid::now_v7(),
            decided_at: Utc::now(),
        }
    }

    #[test]
    fn a_return_needs_a_code_and_a_comment() {
        assert_eq!(returned("missing_photos", "请补拍门牌照片").check(), Ok(()));
        assert_eq!(
            returned("", "x").check(),
            Err(ReviewError::IncompleteReturn)
        );
        assert_eq!(
            returned("Bad Code", "x").check(),
            Err(ReviewError::IncompleteReturn)
        );
        assert_eq!(
            returned("missing_photos", "  ").check(),
            Err(ReviewError::IncompleteReturn)
        );
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            returned("missing_photos", &long).check(),
            Err(ReviewError::BadText)
        );
    }
}
