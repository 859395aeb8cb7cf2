//! Check-in and check-out on site: where and when the agent was, how far from the
//! registered address, and what the supervisor should look at.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::{CheckInFlag, GpsFix};

/// A check-in or check-out: the GPS fix, the device time and the assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteCheck {
    /// When the agent checked in or out (device time, UTC).
    pub at: DateTime<Utc>,
    /// The device's UTC offset at that moment, in minutes.
    pub utc_offset_minutes: i32,
    /// The position fix from the platform.
    pub fix: GpsFix,
    /// Distance to the registered address in metres, when the address has a position.
    pub distance_m: Option<f64>,
    /// What the supervisor should look at (far away, poor accuracy, mocked...).
    pub flags: Vec<CheckInFlag>,
}

impl SiteCheck {
    /// A check at `at`, with the policy's assessment of the fix.
    pub fn assessed(
        at: DateTime<Utc>,
        utc_offset_minutes: i32,
        fix: GpsFix,
        assessment: crate::policy::LocationAssessment,
    ) -> SiteCheck {
        SiteCheck {
            at,
            utc_offset_minutes,
            fix,
            distance_m: assessment.distance_m,
            flags: assessment.flags,
        }
    }
}
