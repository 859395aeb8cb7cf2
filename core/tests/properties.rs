//! Property test over the facade: no sequence of agent actions, in any order, with
//! the clock moving arbitrarily and the app restarting, reaches an invalid visit.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::{Duration, FixedOffset, NaiveTime, Timelike};
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::domain::visit::{VisitAction, transition};
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, Outcome, OutcomeCode, VisitId, VisitState,
};
use doorstep_core::report::{LogVerification, VisitReport};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Wait { minutes: i64 },
    Notice,
    CheckIn { metres_north: u32 },
    Answer { item: usize, valid: bool },
    Note { empty: bool },
    Photo,
    Outcome { met: bool },
    CheckOut,
    Submit,
    Cancel,
    Restart,
}

/// An item id and a way to answer it validly (`true`) or not.
type ItemAnswer = (&'static str, fn(bool) -> AnswerValue);

const ITEMS: [ItemAnswer; 6] = [
    ("identity_confirmed", |_| AnswerValue::YesNo(true)),
    ("residence_status", |ok| {
        AnswerValue::Choice(if ok { "owned" } else { "castle" }.into())
    }),
    ("ability_to_repay", |ok| {
        AnswerValue::Integer(if ok { 2 } else { 9 })
    }),
    ("household_situation", |ok| {
        AnswerValue::Text(if ok {
            "独居".into()
        } else {
            "长".repeat(2_001)
        })
    }),
    ("contact_details_updated", |ok| {
        if ok {
            AnswerValue::YesNo(false)
        } else {
            AnswerValue::Integer(1)
        }
    }),
    ("no_such_item", |_| AnswerValue::YesNo(true)),
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        24 => (-120i64..240).prop_map(|minutes| Step::Wait { minutes }),
        6 => (-900i64..900).prop_map(|minutes| Step::Wait { minutes }),
        12 => Just(Step::Notice),
        18 => prop_oneof![Just(5u32), Just(2_000u32)].prop_map(|metres_north| Step::CheckIn { metres_north }),
        24 => (0..ITEMS.len(), any::<bool>()).prop_map(|(item, valid)| Step::Answer { item, valid }),
        6 => any::<bool>().prop_map(|empty| Step::Note { empty }),
        6 => Just(Step::Photo),
        12 => any::<bool>().prop_map(|met| Step::Outcome { met }),
        12 => Just(Step::CheckOut),
        12 => Just(Step::Submit),
        6 => Just(Step::Restart),
        // Cancelling ends the visit; keep it rare so sequences go deep.
        1 => Just(Step::Cancel),
    ]
}

fn action(step: &Step) -> Option<VisitAction> {
    Some(match step {
        Step::Notice => VisitAction::RecordNotice,
        Step::CheckIn { .. } => VisitAction::CheckIn,
        Step::Answer { .. } | Step::Note { .. } | Step::Photo | Step::Outcome { .. } => {
            VisitAction::Edit
        }
        Step::CheckOut => VisitAction::CheckOut,
        Step::Submit => VisitAction::Submit,
        Step::Cancel => VisitAction::Cancel,
        Step::Wait { .. } | Step::Restart => return None,
    })
}

fn perform(field: &mut Field, visit: VisitId, step: &Step) -> bool {
    let now = field.clock.now_utc();
    let d = &field.doorstep;
    let result = match step {
        Step::Wait { minutes } => {
            field.clock.advance(Duration::minutes(*minutes));
            return true;
        }
        Step::Restart => {
            field.reopen();
            return true;
        }
        Step::Notice => d.record_notice(visit, phone_notice(now)),
        Step::CheckIn { metres_north } => {
            let mut fix = fix_at_home(now);
            fix.point.latitude = HOME.latitude + f64::from(*metres_north) / 111_000.0;
            d.check_in(visit, fix).map(drop)
        }
        Step::Answer { item, valid } => {
            let (id, value) = ITEMS[*item];
            d.answer(visit, id, value(*valid))
        }
        Step::Note { empty } => d
            .add_note(
                visit,
                if *empty {
                    "  "
                } else {
                    "客户说 'OK'; DROP TABLE"
                },
            )
            .map(drop),
        Step::Photo => d
            .attach(
                visit,
                AttachmentKind::Photo,
                "image/jpeg",
                &[0xff, 0xd8, 0xff, 0xe0, 9],
                AttachmentLink::ChecklistItem {
                    item_id: "premises_photos".into(),
                },
            )
            .map(drop),
        Step::Outcome { met } => {
            let outcome = if *met {
                promise_outcome()
            } else {
                Outcome {
                    code: OutcomeCode::Moved,
                    promise: None,
                    plan: None,
                    ability_to_repay: None,
                    willingness_to_repay: None,
                    summary: "邻居说已搬走".into(),
                }
            };
            d.set_outcome(visit, outcome)
        }
        Step::CheckOut => d.check_out(visit, fix_at_home(now)).map(drop),
        Step::Submit => d.submit(visit),
        Step::Cancel => d.cancel(visit, "改约"),
    };
    result.is_ok()
}

fn check_invariants(field: &Field, report: &VisitReport) {
    let visit = &report.visit;
    let stored = field.doorstep.case_detail(visit.case_id).unwrap();
    let cached = stored
        .visits
        .iter()
        .find(|(id, _)| *id == visit.id)
        .unwrap()
        .1;
    assert_eq!(cached, visit.state, "stored header and folded log disagree");
    assert!(
        matches!(report.log, LogVerification::Intact { .. }),
        "{:?}",
        report.log
    );

    let on_site = matches!(
        visit.state,
        VisitState::CheckedIn | VisitState::CheckedOut | VisitState::Submitted
    );
    if on_site {
        let check_in = visit.check_in.as_ref().expect("on site without a check-in");
        let local = check_in
            .at
            .with_timezone(&FixedOffset::east_opt(480 * 60).unwrap())
            .time();
        let open = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        let close = NaiveTime::from_hms_opt(21, 0, 0).unwrap();
        assert!(
            local >= open && local < close,
            "checked in at {:02}:{:02}",
            local.hour(),
            local.minute()
        );
        assert!(
            visit
                .notices
                .iter()
                .any(|n| check_in.at - n.given_at >= Duration::minutes(30)),
            "checked in without timely notice"
        );
    }
    if visit.state == VisitState::Submitted {
        assert!(visit.check_out.is_some());
        let outcome = visit
            .outcome
            .as_ref()
            .expect("submitted without an outcome");
        if outcome.code.customer_met() {
            assert!(
                report.checklist_problems.is_empty(),
                "{:?}",
                report.checklist_problems
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_of_actions_reaches_an_invalid_visit(steps in prop::collection::vec(step(), 1..60)) {
        let mut field = field_with(1);
        let visit = field.doorstep.plan_visit(field.cases[0].id, field.clock.now_utc()).unwrap();
        let mut state = VisitState::Planned;
        let mut entries = field.doorstep.visit_log(visit).unwrap().len();
        for step in &steps {
            let pending = field.doorstep.pending_outbox_count().unwrap();
            let ok = perform(&mut field, visit, step);
            let report = field.doorstep.visit_report(visit).unwrap();
            check_invariants(&field, &report);
            let now_entries = report.timeline.len();
            match action(step) {
                Some(action) if ok => {
                    let expected = transition(state, action);
                    prop_assert!(expected.is_ok(), "{step:?} succeeded from {state:?}");
                    state = expected.unwrap();
                    prop_assert_eq!(now_entries, entries + 1);
                    prop_assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending + 1);
                }
                _ => {
                    prop_assert_eq!(now_entries, entries, "a refused or non-action step wrote to the log");
                    prop_assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending);
                }
            }
            prop_assert_eq!(report.visit.state, state);
            entries = now_entries;
        }
    }
}
