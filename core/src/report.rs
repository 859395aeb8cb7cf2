//! The visit report: everything a supervisor needs to review a visit, as one value,
//! and the flags that draw a supervisor's eye to a visit ([`review_flags`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checklist::{AnswerValue, ChecklistTemplate, ItemProblem, Label};
use crate::clock::Hlc;
use crate::domain::{Attachment, Case, DeviceId, InterviewNote, Visit, VisitHistory, VisitId};
use crate::event_log::{self, BreakReason, ChainHead, LogEntry};
use crate::policy::{CheckInFlag, Policy, PolicyViolation};

/// One answered checklist item, labelled from the template version the visit used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportAnswer {
    /// Template item id.
    pub item_id: String,
    /// The item's label.
    pub label: Label,
    /// The answer.
    pub value: AnswerValue,
    /// Clock stamp of the change that set it.
    pub stamp: Hlc,
}

/// One line of the visit's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Device time of the action.
    pub at: DateTime<Utc>,
    /// The device's UTC offset then, in minutes.
    pub utc_offset_minutes: i32,
    /// Kind of change, e.g. "checked_in".
    pub kind: String,
    /// The device that recorded it.
    pub device: DeviceId,
}

/// Whether the visit's event log verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LogVerification {
    /// Every chain verified; their heads.
    Intact {
        /// One head per device that recorded entries.
        chains: Vec<ChainHead>,
    },
    /// A chain is broken at this entry.
    Broken {
        /// Position of the first broken entry in the log as stored.
        index: u64,
        /// Why.
        reason: BreakReason,
    },
}

/// A visit report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitReport {
    /// The case visited (identifiers masked).
    pub case: Case,
    /// The visit: state, notices, check-in and -out with flags, outcome, reviews.
    pub visit: Visit,
    /// Answers in template order.
    pub answers: Vec<ReportAnswer>,
    /// What the checklist still lacks or gets wrong; empty when complete.
    pub checklist_problems: Vec<ItemProblem>,
    /// Interview notes in clock order.
    pub notes: Vec<InterviewNote>,
    /// Attachments (descriptions; bytes are fetched separately).
    pub attachments: Vec<Attachment>,
    /// Every action in clock order.
    pub timeline: Vec<TimelineEntry>,
    /// Result of verifying the event log.
    pub log: LogVerification,
    /// Log entries not yet acknowledged by the server.
    pub unsynced_entries: u64,
}

impl VisitReport {
    /// Assembles the report of a visit from its case, the template version it
    /// used, its fold and its log entries as stored (grouped by author, in chain
    /// order). The device and the server's console both build reports this way.
    ///
    /// Without the template (a server that never received that version), the
    /// answers are labelled with their item ids, in id order, and the checklist
    /// is not validated.
    pub fn assemble(
        case: Case,
        template: Option<&ChecklistTemplate>,
        history: VisitHistory,
        entries: &[LogEntry],
        unsynced_entries: u64,
    ) -> VisitReport {
        let (answers, checklist_problems) = match template {
            Some(template) => {
                let answers = template
                    .items()
                    .iter()
                    .filter_map(|item| {
                        history.answers.get(&item.id).map(|answer| ReportAnswer {
                            item_id: item.id.clone(),
                            label: item.label.clone(),
                            value: answer.value.clone(),
                            stamp: answer.stamp,
                        })
                    })
                    .collect();
                (answers, template.validate(&history.answer_sheet()))
            }
            None => {
                let answers = history
                    .answers
                    .iter()
                    .map(|(item_id, answer)| ReportAnswer {
                        item_id: item_id.clone(),
                        label: Label::new(item_id.clone(), item_id.clone()),
                        value: answer.value.clone(),
                        stamp: answer.stamp,
                    })
                    .collect();
                (answers, Vec::new())
            }
        };
        let log = LogVerification::of(history.visit.id, entries);
        let mut timeline: Vec<(Hlc, TimelineEntry)> = entries
            .iter()
            .map(|e| {
                let line = TimelineEntry {
                    at: e.device_time,
                    utc_offset_minutes: e.utc_offset_minutes,
                    kind: e.kind.clone(),
                    device: e.author,
                };
                (e.hlc, line)
            })
            .collect();
        timeline.sort_by_key(|(stamp, _)| *stamp);
        VisitReport {
            case,
            visit: history.visit,
            answers,
            checklist_problems,
            notes: history.notes,
            attachments: history.attachments,
            timeline: timeline.into_iter().map(|(_, line)| line).collect(),
            log,
            unsynced_entries,
        }
    }
}

impl LogVerification {
    /// Verifies every chain of a visit's log, entries as stored (grouped by
    /// author, in chain order).
    pub fn of(visit_id: VisitId, entries: &[LogEntry]) -> LogVerification {
        match event_log::verify_visit_log(visit_id, entries, &[]) {
            Ok(chains) => LogVerification::Intact { chains },
            Err(broken) => LogVerification::Broken {
                index: broken.index as u64,
                reason: broken.reason,
            },
        }
    }
}

/// Something about a submitted visit a supervisor should look at before
/// deciding. Computed from the visit, its case and the field policy by
/// [`review_flags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewFlag {
    /// The check-in fell outside the contact hours in the case's local time.
    OutsideContactHours,
    /// The check-in or check-out was farther from the registered address than
    /// the geofence radius.
    FarFromAddress,
    /// A check-in or check-out fix was less accurate than the policy accepts.
    PoorGps,
    /// A check-in or check-out fix came from a mock location provider.
    MockedLocation,
    /// No notice was given early enough before the check-in (when the policy
    /// requires one).
    NoNotice,
    /// A notice the customer did not acknowledge (any of the visit's
    /// notices), whether or not the policy requires notice.
    NoticeNotAcknowledged,
    /// A two-person visit.
    TwoPerson,
}

impl ReviewFlag {
    /// Every flag, in display order.
    pub const ALL: [ReviewFlag; 7] = [
        ReviewFlag::OutsideContactHours,
        ReviewFlag::FarFromAddress,
        ReviewFlag::PoorGps,
        ReviewFlag::MockedLocation,
        ReviewFlag::NoNotice,
        ReviewFlag::NoticeNotAcknowledged,
        ReviewFlag::TwoPerson,
    ];

    /// Stable machine-readable code, the same as the serde form.
    pub fn code(self) -> &'static str {
        match self {
            ReviewFlag::OutsideContactHours => "outside_contact_hours",
            ReviewFlag::FarFromAddress => "far_from_address",
            ReviewFlag::PoorGps => "poor_gps",
            ReviewFlag::MockedLocation => "mocked_location",
            ReviewFlag::NoNotice => "no_notice",
            ReviewFlag::NoticeNotAcknowledged => "notice_not_acknowledged",
            ReviewFlag::TwoPerson => "two_person",
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<ReviewFlag> {
        ReviewFlag::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// The flags of a visit, sorted and without repeats.
///
/// Location flags are judged again against the case's registered address with
/// `policy` (as [`Policy::assess_check_out`] judges any fix), and the flags the
/// device recorded are kept too, so neither a device with another policy nor
/// one that left its flags out hides a concern.
pub fn review_flags(case: &Case, visit: &Visit, policy: &Policy) -> Vec<ReviewFlag> {
    let mut flags = Vec::new();
    let registered = case.registered_address().and_then(|a| a.location);
    for check in [&visit.check_in, &visit.check_out].into_iter().flatten() {
        let assessed = policy
            .assess_check_out(&check.fix, registered)
            .map(|a| a.flags)
            .unwrap_or_default();
        for flag in check.flags.iter().chain(&assessed) {
            match flag {
                CheckInFlag::FarFromAddress => flags.push(ReviewFlag::FarFromAddress),
                CheckInFlag::PoorGpsAccuracy => flags.push(ReviewFlag::PoorGps),
                CheckInFlag::MockedLocation => flags.push(ReviewFlag::MockedLocation),
                CheckInFlag::NoRegisteredLocation => {}
            }
        }
    }
    if let Some(check_in) = &visit.check_in
        && let Err(PolicyViolation::OutsideContactHours { .. }) =
            policy.check_contact_hours(check_in.at, case.utc_offset_minutes)
    {
        flags.push(ReviewFlag::OutsideContactHours);
    }
    if policy.notice_required {
        let given: Vec<DateTime<Utc>> = visit.notices.iter().map(|n| n.given_at).collect();
        let late = match &visit.check_in {
            Some(check_in) => policy.check_notice(check_in.at, &given).is_err(),
            None => given.is_empty(),
        };
        if late {
            flags.push(ReviewFlag::NoNotice);
        }
    }
    if visit.notices.iter().any(|n| !n.acknowledged) {
        flags.push(ReviewFlag::NoticeNotAcknowledged);
    }
    if visit.partner.is_some() {
        flags.push(ReviewFlag::TwoPerson);
    }
    flags.sort();
    flags.dedup();
    flags
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::case::tests::sample_case;
    use crate::domain::{Notice, NoticeChannel, SiteCheck, VisitChange};
    use crate::policy::{GeoPoint, GpsFix};
    use chrono::{Duration, TimeZone};
    use uuid::Uuid;

    /// 10:00 Beijing time on 2 March 2026.
    fn morning() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
    }

    fn check(at: DateTime<Utc>, point: GeoPoint, accuracy_m: f64, mocked: bool) -> SiteCheck {
        SiteCheck {
            at,
            utc_offset_minutes: 480,
            fix: GpsFix {
                point,
                accuracy_m,
                mocked,
                taken_at: at,
            },
            distance_m: None,
            flags: Vec::new(),
        }
    }

    fn visit_of(case: &Case, partner: Option<Uuid>) -> Visit {
        Visit::planned(
            Uuid::now_v7(),
            &VisitChange::Planned {
                case_id: case.id,
                agent: case.assigned.primary,
                partner,
                template_key: "home-verification".into(),
                template_version: 1,
                planned_for: morning(),
            },
        )
        .unwrap()
    }

    fn notice(given_at: DateTime<Utc>) -> Notice {
        Notice {
            channel: NoticeChannel::PhoneCall,
            given_at,
            planned_visit_at: morning(),
            purpose: "overdue review".into(),
            acknowledged: true,
        }
    }

    fn home(case: &Case) -> GeoPoint {
        case.registered_address().unwrap().location.unwrap()
    }

    #[test]
    fn a_visit_by_the_book_has_no_flags() {
        let case = sample_case();
        let mut visit = visit_of(&case, None);
        visit.notices.push(notice(morning() - Duration::days(1)));
        visit.check_in = Some(check(morning(), home(&case), 10.0, false));
        visit.check_out = Some(check(morning(), home(&case), 10.0, false));
        assert!(review_flags(&case, &visit, &Policy::default()).is_empty());
    }

    #[test]
    fn every_concern_is_flagged_once() {
        let case = sample_case();
        let mut visit = visit_of(&case, Some(Uuid::now_v7()));
        // 22:30 Beijing time, notice ten minutes before, 5 km away, 250 m
        // accuracy, a mocked check-out: every flag, and each only once.
        let late = morning() + Duration::minutes(12 * 60 + 30);
        let mut unacknowledged = notice(late - Duration::minutes(10));
        unacknowledged.acknowledged = false;
        visit.notices.push(unacknowledged);
        let far = GeoPoint {
            latitude: home(&case).latitude + 0.045,
            longitude: home(&case).longitude,
        };
        let mut check_in = check(late, far, 250.0, false);
        check_in.flags = vec![CheckInFlag::FarFromAddress];
        visit.check_in = Some(check_in);
        visit.check_out = Some(check(late, far, 250.0, true));
        assert_eq!(
            review_flags(&case, &visit, &Policy::default()),
            ReviewFlag::ALL.to_vec()
        );
    }

    #[test]
    fn the_server_judges_positions_again_and_keeps_the_devices_flags() {
        let case = sample_case();
        let mut visit = visit_of(&case, None);
        visit.notices.push(notice(morning() - Duration::hours(2)));
        // The device said nothing, but the fix is 5 km from the address.
        let far = GeoPoint {
            latitude: home(&case).latitude + 0.045,
            longitude: home(&case).longitude,
        };
        visit.check_in = Some(check(morning(), far, 10.0, false));
        assert_eq!(
            review_flags(&case, &visit, &Policy::default()),
            [ReviewFlag::FarFromAddress]
        );
        // A flag the device recorded is kept even if the server's policy would not raise it.
        let mut near = check(morning(), home(&case), 10.0, false);
        near.flags = vec![CheckInFlag::PoorGpsAccuracy];
        visit.check_in = Some(near);
        assert_eq!(
            review_flags(&case, &visit, &Policy::default()),
            [ReviewFlag::PoorGps]
        );
    }

    #[test]
    fn notice_is_flagged_only_when_the_policy_requires_it() {
        let case = sample_case();
        let mut visit = visit_of(&case, None);
        visit.check_in = Some(check(morning(), home(&case), 10.0, false));
        assert_eq!(
            review_flags(&case, &visit, &Policy::default()),
            [ReviewFlag::NoNotice]
        );
        let relaxed = Policy {
            notice_required: false,
            ..Policy::default()
        };
        assert!(review_flags(&case, &visit, &relaxed).is_empty());
    }

    #[test]
    fn a_notice_the_customer_did_not_acknowledge_is_flagged() {
        let case = sample_case();
        let mut visit = visit_of(&case, None);
        visit.check_in = Some(check(morning(), home(&case), 10.0, false));
        visit.notices.push(notice(morning() - Duration::hours(2)));
        assert!(review_flags(&case, &visit, &Policy::default()).is_empty());
        let mut unacknowledged = notice(morning() - Duration::hours(3));
        unacknowledged.acknowledged = false;
        visit.notices.push(unacknowledged);
        assert_eq!(
            review_flags(&case, &visit, &Policy::default()),
            [ReviewFlag::NoticeNotAcknowledged]
        );
        assert_eq!(
            ReviewFlag::NoticeNotAcknowledged.code(),
            "notice_not_acknowledged"
        );
    }

    #[test]
    fn flag_codes_round_trip() {
        for flag in ReviewFlag::ALL {
            assert_eq!(ReviewFlag::from_code(flag.code()), Some(flag));
            assert_eq!(
                serde_json::to_string(&flag).unwrap(),
                format!("\"{}\"", flag.code())
            );
        }
        assert_eq!(ReviewFlag::from_code("nonsense"), None);
    }
}
