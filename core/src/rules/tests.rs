use super::*;
use crate::checklist::{AnswerValue, home_verification};
use crate::domain::case::tests::sample_case;
use crate::domain::{
    AttachmentKind, Feedback, InterviewNote, Notice, NoticeChannel, Outcome, OutcomeCode,
    PromiseToPay, Rating,
};
use crate::money::Money;
use crate::policy::{CheckInFlag, GeoPoint, GpsFix, PolicyViolation};
use crate::sync::protocol::RejectCode;
use chrono::{Duration, TimeZone};
use uuid::Uuid;

/// 2026-12-01 10:00 in Beijing.
fn ten_am() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap()
}

struct World {
    case: Case,
    template: ChecklistTemplate,
    policy: Policy,
    agent: UserId,
    history: VisitHistory,
}

fn change_stamp(n: u64) -> crate::clock::Hlc {
    crate::clock::Hlc {
        millis: 1_000 + n,
        counter: 0,
        node: Uuid::nil(),
    }
}

impl World {
    /// A visit planned by the case's agent, with a notice given two hours
    /// before ten o'clock.
    fn new() -> World {
        let case = sample_case();
        let agent = case.assigned.primary;
        let template = home_verification();
        let planned = VisitChange::Planned {
            case_id: case.id,
            agent,
            partner: None,
            template_key: template.key().to_owned(),
            template_version: template.version(),
            planned_for: ten_am(),
        };
        let visit = Visit::planned(Uuid::now_v7(), &planned).unwrap();
        let mut history = VisitHistory::new(visit);
        let mut world = World {
            case,
            template,
            policy: Policy::default(),
            agent,
            history: history.clone(),
        };
        history.apply(
            VisitChange::NoticeRecorded {
                notice: Notice {
                    channel: NoticeChannel::PhoneCall,
                    given_at: ten_am() - Duration::hours(2),
                    planned_visit_at: ten_am(),
                    purpose: "核实逾期情况".into(),
                    acknowledged: true,
                },
            },
            change_stamp(1),
            Uuid::nil(),
        );
        world.history = history;
        world
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            visit: Some(&self.history.visit),
            history: Some(&self.history),
            case: &self.case,
            template: Some(&self.template),
            policy: &self.policy,
            author: self.agent,
            device: Uuid::nil(),
            at: ten_am(),
        }
    }

    fn check(&self, change: &VisitChange) -> Result<(), Refusal> {
        check(change, &self.facts())
    }

    /// Applies a change the rules admit.
    fn apply(&mut self, change: VisitChange) {
        self.check(&change).unwrap();
        let n = self.history.visit.notices.len() as u64 + 10;
        self.history.apply(change, change_stamp(n), Uuid::nil());
    }

    fn site_check(&self, fix: GpsFix) -> SiteCheck {
        let registered = registered(&self.case);
        let assessment = self.policy.assess_check_out(&fix, registered).unwrap();
        SiteCheck::assessed(fix.taken_at, 480, fix, assessment)
    }
}

fn fix(latitude: f64, longitude: f64) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            latitude,
            longitude,
        },
        accuracy_m: 8.0,
        mocked: false,
        taken_at: ten_am(),
    }
}

fn at_home() -> GpsFix {
    fix(39.9088, 116.4605)
}

fn checked_in() -> World {
    let mut world = World::new();
    let check = world.site_check(at_home());
    world.apply(VisitChange::CheckedIn { check });
    world
}

fn promise() -> Outcome {
    Outcome {
        code: OutcomeCode::PromiseToPay,
        promise: Some(PromiseToPay {
            amount: Money::new(500_000, "CNY").unwrap(),
            due_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
        }),
        plan: None,
        ability_to_repay: Rating::new(3),
        willingness_to_repay: Rating::new(4),
        summary: "承诺十天内还款".into(),
    }
}

#[test]
fn the_state_machine_speaks_before_the_content() {
    let world = World::new();
    // An answer before check-in is refused for its state, even one that
    // would also be refused for its content.
    let refusal = world
        .check(&VisitChange::Answered {
            item_id: "no_such_item".into(),
            value: AnswerValue::Integer(9),
        })
        .unwrap_err();
    assert_eq!(refusal.code(), RejectCode::IllegalTransition);
    // A review never comes from a phone.
    let review = VisitChange::Reviewed {
        review: crate::domain::Review {
            decision: crate::domain::ReviewDecision::Approve,
            reviewer: Uuid::nil(),
            decided_at: ten_am(),
        },
    };
    assert_eq!(
        world.check(&review).unwrap_err().code(),
        RejectCode::IllegalTransition
    );
}

#[test]
fn a_check_in_outside_contact_hours_or_without_its_flags_is_refused() {
    let world = World::new();
    let mut late = world.site_check(at_home());
    late.at = ten_am() + Duration::hours(12); // 22:00 in Beijing
    assert_eq!(
        world.check(&VisitChange::CheckedIn { check: late }),
        Err(Refusal::Policy(PolicyViolation::OutsideContactHours {
            local_time: chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap()
        }))
    );

    // Two kilometres away: the far-from-address flag cannot be left out, nor
    // the distance shortened.
    let far = world.site_check(fix(39.927, 116.4605));
    assert!(far.flags.contains(&CheckInFlag::FarFromAddress));
    assert_eq!(
        world.check(&VisitChange::CheckedIn { check: far.clone() }),
        Ok(())
    );
    let mut hidden = far.clone();
    hidden.flags.clear();
    assert_eq!(
        world.check(&VisitChange::CheckedIn { check: hidden }),
        Err(Refusal::InvalidSiteCheck)
    );
    let mut nearer = far;
    nearer.distance_m = Some(12.0);
    assert_eq!(
        world.check(&VisitChange::CheckedIn { check: nearer }),
        Err(Refusal::InvalidSiteCheck)
    );
}

#[test]
fn content_is_checked_as_the_phone_checks_it() {
    let world = checked_in();
    let cases: Vec<(VisitChange, RejectCode)> = vec![
        (
            VisitChange::Answered {
                item_id: "ability_to_repay".into(),
                value: AnswerValue::Text("很强".into()),
            },
            RejectCode::InvalidAnswer,
        ),
        (
            VisitChange::NoteAdded {
                note: InterviewNote {
                    id: Uuid::now_v7(),
                    author: world.agent,
                    written_at: ten_am(),
                    text: "债".repeat(crate::domain::note::MAX_NOTE_CHARS + 1),
                },
            },
            RejectCode::InvalidNote,
        ),
        (
            VisitChange::NoteAdded {
                note: InterviewNote {
                    id: Uuid::now_v7(),
                    author: Uuid::now_v7(),
                    written_at: ten_am(),
                    text: "冒名的记录".into(),
                },
            },
            RejectCode::WrongAuthor,
        ),
        (
            VisitChange::Attached {
                attachment: Attachment {
                    id: Uuid::now_v7(),
                    kind: AttachmentKind::Photo,
                    mime_type: "application/x-msdownload".into(),
                    sha256: "ab".repeat(32),
                    size_bytes: 10,
                    link: AttachmentLink::Visit,
                    taken_at: ten_am(),
                },
            },
            RejectCode::InvalidAttachment,
        ),
        (
            VisitChange::Attached {
                attachment: Attachment {
                    id: Uuid::now_v7(),
                    kind: AttachmentKind::Photo,
                    mime_type: "image/jpeg".into(),
                    sha256: "../../etc/passwd".into(),
                    size_bytes: 10,
                    link: AttachmentLink::Visit,
                    taken_at: ten_am(),
                },
            },
            RejectCode::InvalidAttachment,
        ),
        (
            VisitChange::OutcomeSet {
                outcome: Outcome {
                    promise: None,
                    ..promise()
                },
            },
            RejectCode::InvalidOutcome,
        ),
        (
            VisitChange::Submitted { at: ten_am() },
            RejectCode::IllegalTransition,
        ),
    ];
    for (change, code) in cases {
        assert_eq!(
            world.check(&change).map_err(|r| r.code()),
            Err(code),
            "{}",
            change.kind()
        );
    }
}

#[test]
fn a_submission_needs_an_outcome_and_a_complete_checklist() {
    let mut world = checked_in();
    let check = world.site_check(at_home());
    world.apply(VisitChange::CheckedOut { check });
    let submit = VisitChange::Submitted { at: ten_am() };
    assert_eq!(world.check(&submit), Err(Refusal::MissingOutcome));
    world.apply(VisitChange::OutcomeSet { outcome: promise() });
    match world.check(&submit) {
        Err(Refusal::IncompleteChecklist(problems)) => assert!(!problems.is_empty()),
        other => panic!("{other:?}"),
    }
    // The customer was not home: no checklist is needed.
    world.apply(VisitChange::OutcomeSet {
        outcome: Outcome {
            code: OutcomeCode::NotHome,
            promise: None,
            plan: None,
            ability_to_repay: None,
            willingness_to_repay: None,
            summary: "无人应答".into(),
        },
    });
    assert_eq!(world.check(&submit), Ok(()));
}

#[test]
fn a_visit_starts_only_once_with_a_known_template_by_its_own_agent() {
    let world = World::new();
    let planned = |agent| VisitChange::Planned {
        case_id: world.case.id,
        agent,
        partner: None,
        template_key: "home-verification".into(),
        template_version: 1,
        planned_for: ten_am(),
    };
    let fresh = Facts {
        visit: None,
        history: None,
        ..world.facts()
    };
    assert_eq!(check(&planned(world.agent), &fresh), Ok(()));
    assert_eq!(
        check(&planned(Uuid::now_v7()), &fresh),
        Err(Refusal::WrongAuthor)
    );
    let no_template = Facts {
        template: None,
        ..fresh
    };
    assert_eq!(
        check(&planned(world.agent), &no_template),
        Err(Refusal::UnknownTemplate)
    );
    assert_eq!(
        world.check(&planned(world.agent)).map_err(|r| r.code()),
        Err(RejectCode::IllegalTransition)
    );
    let note = VisitChange::Cancelled {
        reason: "改约".into(),
    };
    assert_eq!(check(&note, &fresh), Err(Refusal::UnknownVisit));
}

#[test]
fn a_cancellation_needs_a_reason_and_feedback_a_summary() {
    let world = World::new();
    for reason in ["", "  ", &"长".repeat(MAX_CANCEL_REASON_CHARS + 1)] {
        assert_eq!(
            world.check(&VisitChange::Cancelled {
                reason: reason.to_owned()
            }),
            Err(Refusal::InvalidReason)
        );
    }
    let feedback = VisitChange::FeedbackRecorded {
        feedback: Feedback {
            channel: NoticeChannel::Sms,
            delivered_at: ten_am(),
            summary: " ".into(),
            customer_confirmed: true,
        },
    };
    // Feedback is recorded after approval only.
    assert_eq!(
        world.check(&feedback).map_err(|r| r.code()),
        Err(RejectCode::IllegalTransition)
    );
}
