//! When to sync next: one rule, in the core, that the Android and iOS
//! schedulers only carry out (WorkManager / BGTaskScheduler, connectivity
//! callbacks, a timer). [`plan`] is pure; `Doorstep::sync_plan` gives it the
//! device's state.
//!
//! - Not signed in (never, or the server refused the device's sign-in):
//!   nothing until the agent signs in; the queue waits.
//! - Offline: nothing until connectivity returns.
//! - Connectivity just came back: at once, whatever the backoff (the failures
//!   it answered were most likely the missing network).
//! - After a failure: not before the time the backoff advises.
//! - Otherwise: [`PENDING_PERIOD_MINUTES`] after the last success while work
//!   waits to go out (actions, photos), [`IDLE_PERIOD_MINUTES`] when nothing
//!   does (to hear of new cases and reviews).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Minutes between syncs while actions or photos wait to be sent.
pub const PENDING_PERIOD_MINUTES: i64 = 2;
/// Minutes between syncs when nothing waits to be sent.
pub const IDLE_PERIOD_MINUTES: i64 = 15;

/// What the app's scheduler should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncPlan {
    /// Sync now: with `Doorstep::sync_now` when `ignore_backoff`, else with
    /// `Doorstep::sync`. Then ask for the plan again.
    Now {
        /// Connectivity just came back: the backoff does not apply.
        ignore_backoff: bool,
    },
    /// Nothing to do before `at`; ask for the plan again then.
    At {
        /// When.
        at: DateTime<Utc>,
    },
    /// Offline: ask again when connectivity returns.
    WhenOnline,
    /// The device holds no sign-in: show the sign-in screen, and ask again
    /// once the agent has signed in.
    WhenSignedIn,
}

/// What the plan is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConditions {
    /// The device has a network now (as the platform reports).
    pub online: bool,
    /// Connectivity came back since the last sync attempt.
    pub reconnected: bool,
    /// Now.
    pub now: DateTime<Utc>,
    /// When a sync last completed.
    pub last_success: Option<DateTime<Utc>>,
    /// The backoff's earliest next attempt after failures.
    pub next_attempt_after: Option<DateTime<Utc>>,
    /// Whether actions or photos wait to be sent.
    pub work_waiting: bool,
    /// Whether the device holds a sign-in it can renew without the password.
    pub signed_in: bool,
}

/// The plan for these conditions.
pub fn plan(conditions: &SyncConditions) -> SyncPlan {
    if !conditions.signed_in {
        return SyncPlan::WhenSignedIn;
    }
    if !conditions.online {
        return SyncPlan::WhenOnline;
    }
    if conditions.reconnected {
        return SyncPlan::Now {
            ignore_backoff: true,
        };
    }
    if let Some(next) = conditions.next_attempt_after
        && next > conditions.now
    {
        return SyncPlan::At { at: next };
    }
    let period = Duration::minutes(if conditions.work_waiting {
        PENDING_PERIOD_MINUTES
    } else {
        IDLE_PERIOD_MINUTES
    });
    match conditions.last_success.map(|last| last + period) {
        Some(due) if due > conditions.now => SyncPlan::At { at: due },
        _ => SyncPlan::Now {
            ignore_backoff: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).unwrap()
    }

    fn conditions() -> SyncConditions {
        SyncConditions {
            online: true,
            reconnected: false,
            now: noon(),
            last_success: Some(noon() - Duration::minutes(1)),
            next_attempt_after: None,
            work_waiting: false,
            signed_in: true,
        }
    }

    #[test]
    fn without_a_sign_in_nothing_is_tried_until_the_agent_signs_in() {
        for (online, reconnected, work_waiting) in [(true, true, true), (false, false, true)] {
            let signed_out = SyncConditions {
                online,
                reconnected,
                work_waiting,
                signed_in: false,
                last_success: None,
                ..conditions()
            };
            assert_eq!(plan(&signed_out), SyncPlan::WhenSignedIn);
        }
    }

    #[test]
    fn offline_waits_and_reconnecting_syncs_at_once_whatever_the_backoff() {
        let offline = SyncConditions {
            online: false,
            reconnected: true,
            ..conditions()
        };
        assert_eq!(plan(&offline), SyncPlan::WhenOnline);
        let back = SyncConditions {
            reconnected: true,
            next_attempt_after: Some(noon() + Duration::hours(1)),
            ..conditions()
        };
        assert_eq!(
            plan(&back),
            SyncPlan::Now {
                ignore_backoff: true
            }
        );
    }

    #[test]
    fn after_a_failure_not_before_the_backoff() {
        let failed = SyncConditions {
            last_success: Some(noon() - Duration::hours(3)),
            next_attempt_after: Some(noon() + Duration::seconds(40)),
            ..conditions()
        };
        assert_eq!(
            plan(&failed),
            SyncPlan::At {
                at: noon() + Duration::seconds(40)
            }
        );
        let elapsed = SyncConditions {
            now: noon() + Duration::minutes(1),
            ..failed
        };
        assert_eq!(
            plan(&elapsed),
            SyncPlan::Now {
                ignore_backoff: false
            }
        );
    }

    #[test]
    fn waiting_work_goes_out_sooner_than_an_idle_check() {
        assert_eq!(
            plan(&conditions()),
            SyncPlan::At {
                at: noon() + Duration::minutes(IDLE_PERIOD_MINUTES - 1)
            }
        );
        let waiting = SyncConditions {
            work_waiting: true,
            ..conditions()
        };
        assert_eq!(
            plan(&waiting),
            SyncPlan::At {
                at: noon() + Duration::minutes(PENDING_PERIOD_MINUTES - 1)
            }
        );
        let never = SyncConditions {
            last_success: None,
            ..conditions()
        };
        assert_eq!(
            plan(&never),
            SyncPlan::Now {
                ignore_backoff: false
            }
        );
    }
}
