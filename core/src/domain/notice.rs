//! Advance notice: the customer is told ahead of a visit when it will be and why.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest stated purpose accepted, in characters.
pub const MAX_PURPOSE_CHARS: usize = 500;

/// How the customer was told about the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeChannel {
    /// A phone call (电话).
    PhoneCall,
    /// A text message (短信).
    Sms,
    /// A letter.
    Letter,
    /// Told in person, e.g. on an earlier attempt.
    InPerson,
}

/// A notice given to the customer before a visit (上门通知).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// How the customer was told.
    pub channel: NoticeChannel,
    /// When the notice was given.
    pub given_at: DateTime<Utc>,
    /// When the visit was announced for.
    pub planned_visit_at: DateTime<Utc>,
    /// The purpose stated to the customer.
    pub purpose: String,
    /// Whether the customer acknowledged the notice.
    pub acknowledged: bool,
}

/// Why a notice was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// The purpose is empty or too long.
    #[error("notice purpose is empty or too long")]
    BadPurpose,
    /// The announced visit time is before the notice was given.
    #[error("a notice must announce a visit after it is given")]
    VisitBeforeNotice,
}

impl Notice {
    /// Checks the notice is complete and consistent.
    pub fn check(&self) -> Result<(), NoticeError> {
        let purpose = self.purpose.trim();
        if purpose.is_empty() || self.purpose.chars().count() > MAX_PURPOSE_CHARS {
            return Err(NoticeError::BadPurpose);
        }
        if self.planned_visit_at < self.given_at {
            return Err(NoticeError::VisitBeforeNotice);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn notice() -> Notice {
        let given_at = Utc::now();
        Notice {
            channel: NoticeChannel::PhoneCall,
            given_at,
            planned_visit_at: given_at + Duration::hours(20),
            purpose: "核实逾期情况并了解还款意愿".into(),
            acknowledged: true,
        }
    }

    #[test]
    fn a_complete_notice_is_accepted() {
        assert_eq!(notice().check(), Ok(()));
    }

    #[test]
    fn purpose_must_be_stated_and_bounded() {
        let mut n = notice();
        n.purpose = "   ".into();
        assert_eq!(n.check(), Err(NoticeError::BadPurpose));
        n.purpose = "x".repeat(MAX_PURPOSE_CHARS + 1);
        assert_eq!(n.check(), Err(NoticeError::BadPurpose));
        n.purpose = "访".repeat(MAX_PURPOSE_CHARS);
        assert_eq!(n.check(), Ok(()));
    }

    #[test]
    fn the_visit_cannot_be_announced_in_the_past() {
        let mut n = notice();
        n.planned_visit_at = n.given_at - Duration::minutes(1);
        assert_eq!(n.check(), Err(NoticeError::VisitBeforeNotice));
    }
}
