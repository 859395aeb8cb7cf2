//! The phone and the server refuse exactly the same changes, with the same
//! code: both call `doorstep_core::rules::check`, and this property test
//! checks they hand it the same facts.
//!
//! It generates a visit as an agent might work it, action after action, right
//! and wrong (notices without a purpose, check-ins outside contact hours or
//! before notice, answers of the wrong type, notes too long, photos of the
//! wrong type or linked to nothing, outcomes without their promise, checkouts,
//! submissions of incomplete visits, cancellations without a reason). Each
//! action goes to the real facade on an encrypted device. What the facade
//! writes is pushed to the real server push (`service::push`, SQLite store)
//! and must be applied. What the facade refuses is built as the entry a
//! modified app would have written anyway, and pushed to a fresh server
//! holding everything accepted so far: the server must refuse it with the
//! facade's code (`DoorstepError::rule`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::*;
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::{FixedClock, Hlc};
use doorstep_core::domain::attachment::sha256_hex;
use doorstep_core::domain::{
    Attachment, AttachmentKind, AttachmentLink, InterviewNote, Notice, NoticeChannel, OutcomeCode,
    SiteCheck, VisitChange, VisitId,
};
use doorstep_core::event_log::{EntryDraft, LogEntry, append, derived_op_id};
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::sync::protocol::{OpOutcome, RejectCode, Role};
use doorstep_core::{Doorstep, DoorstepError, Money, ServerSnapshot};
use doorstep_server::service::Session;
use doorstep_server::service::push::{MAX_CLOCK_SKEW_HOURS, PushRules, push};
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, CaseRecord, DeviceRecord, Store, UserRecord};
use proptest::prelude::*;
use uuid::Uuid;

/// One thing an agent does, right or wrong.
#[derive(Debug, Clone)]
enum Action {
    Notice { lead_minutes: i64, purpose: bool },
    CheckIn { far: bool },
    Answer { item: usize, value: usize },
    ClearAnswer { item: usize },
    Note { length: usize },
    Attach { mime: usize, link: usize },
    SetOutcome { code: usize, with_promise: bool },
    CheckOut,
    Submit,
    Cancel { reason: usize },
    Wait { minutes: i64 },
}

const ITEMS: [&str; 12] = [
    "identity_confirmed",
    "address_confirmed",
    "residence_status",
    "employment_status",
    "monthly_income",
    "overdue_reason",
    "household_situation",
    "ability_to_repay",
    "willingness_to_repay",
    "contact_details_updated",
    "premises_photos",
    "no_such_item",
];

fn value(n: usize) -> AnswerValue {
    match n % 6 {
        0 => AnswerValue::YesNo(true),
        1 => AnswerValue::Integer(3),
        2 => AnswerValue::Integer(9),
        3 => AnswerValue::Text("夫妻二人，一个孩子上小学".into()),
        4 => AnswerValue::Choice("rented".into()),
        _ => AnswerValue::Money(Money::new(650_000, "CNY").unwrap()),
    }
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (prop_oneof![Just(-10i64), Just(5), Just(120)], any::<bool>()).prop_map(
            |(lead_minutes, purpose)| Action::Notice {
                lead_minutes,
                purpose
            }
        ),
        any::<bool>().prop_map(|far| Action::CheckIn { far }),
        (0..ITEMS.len(), 0..6usize).prop_map(|(item, value)| Action::Answer { item, value }),
        (0..ITEMS.len()).prop_map(|item| Action::ClearAnswer { item }),
        prop_oneof![Just(0usize), Just(12), Just(10_001)]
            .prop_map(|length| Action::Note { length }),
        (0..3usize, 0..3usize).prop_map(|(mime, link)| Action::Attach { mime, link }),
        (0..4usize, any::<bool>())
            .prop_map(|(code, with_promise)| Action::SetOutcome { code, with_promise }),
        Just(Action::CheckOut),
        Just(Action::Submit),
        (0..3usize).prop_map(|reason| Action::Cancel { reason }),
        prop_oneof![Just(30i64), Just(150), Just(720)].prop_map(|minutes| Action::Wait { minutes }),
    ]
}

/// The server side: an in-memory store with the agent, the phone, the case
/// and the template, and the session of the phone's pushes.
struct Server {
    store: Arc<dyn Store>,
    session: Session,
}

impl Server {
    fn new(field: &Field, device: Uuid) -> Server {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let user = UserRecord {
            id: field.agent,
            username: "wang.agent".into(),
            password_hash: "$argon2id$not-used".into(),
            role: Role::Agent,
            supervisor: None,
            active: true,
        };
        let device = DeviceRecord {
            id: device,
            user: field.agent,
            active: true,
        };
        store::write(store.as_ref(), |tx| {
            tx.insert_user(&user)?;
            tx.insert_device(&device)?;
            tx.upsert_case(&CaseRecord {
                case: field.cases[0].clone(),
                supervisor: None,
            })?;
            tx.insert_template(&home_verification())?;
            Ok::<_, store::StoreError>(())
        })
        .unwrap();
        Server {
            store,
            session: Session {
                user,
                device,
                token_sha256: String::new(),
            },
        }
    }

    /// Pushes entries; returns each one's outcome code ("applied" or the
    /// refusal's).
    fn push(&self, entries: &[LogEntry], now: DateTime<Utc>) -> Vec<String> {
        // The server holds no published policy: the default is in force,
        // as on the device.
        let checks = PushRules {
            now,
            max_clock_skew: Duration::hours(MAX_CLOCK_SKEW_HOURS),
            protocol: None,
            app_version: None,
        };
        let (response, _) = push(self.store.as_ref(), &self.session, entries, &checks).unwrap();
        entries
            .iter()
            .map(|entry| {
                match response
                    .not_applied
                    .iter()
                    .find(|r| r.op_id == entry.op_id)
                    .map(|r| &r.outcome)
                {
                    None => "applied".to_owned(),
                    Some(OpOutcome::Duplicate) => "duplicate".to_owned(),
                    Some(OpOutcome::Rejected { code }) => code.code().to_owned(),
                    Some(OpOutcome::Applied) => "applied".to_owned(),
                }
            })
            .collect()
    }
}

/// A fix at the registered address, or four kilometres north of it.
fn fix(far: bool, at: DateTime<Utc>) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            latitude: if far { 39.95 } else { HOME.latitude },
            longitude: HOME.longitude,
        },
        accuracy_m: 8.0,
        mocked: false,
        taken_at: at,
    }
}

const PHOTO: &[u8] = b"\xff\xd8\xff\xe0 the front door";

/// The change the facade builds for an action (the content a modified app
/// would write whatever the facade said), and the facade's own answer.
fn act(
    doorstep: &Doorstep,
    field: &Field,
    visit: VisitId,
    action: &Action,
    notes: &[Uuid],
) -> Option<(VisitChange, Result<(), DoorstepError>)> {
    let now = field.clock.now_utc();
    let registered = Some(HOME);
    let check = |far: bool| {
        let fix = fix(far, now);
        let assessment = Policy::default()
            .assess_check_out(&fix, registered)
            .unwrap();
        SiteCheck::assessed(now, 480, fix, assessment)
    };
    Some(match action {
        Action::Notice {
            lead_minutes,
            purpose,
        } => {
            let notice = Notice {
                channel: NoticeChannel::Sms,
                given_at: now,
                planned_visit_at: now + Duration::minutes(*lead_minutes),
                purpose: if *purpose {
                    "核实逾期情况".into()
                } else {
                    " ".into()
                },
                acknowledged: true,
            };
            let result = doorstep.record_notice(visit, notice.clone());
            (VisitChange::NoticeRecorded { notice }, result)
        }
        Action::CheckIn { far } => {
            let result = doorstep.check_in(visit, fix(*far, now)).map(drop);
            (VisitChange::CheckedIn { check: check(*far) }, result)
        }
        Action::Answer { item, value: n } => {
            let item = ITEMS[*item];
            let result = doorstep.answer(visit, item, value(*n));
            (
                VisitChange::Answered {
                    item_id: item.into(),
                    value: value(*n),
                },
                result,
            )
        }
        Action::ClearAnswer { item } => {
            let item = ITEMS[*item];
            let result = doorstep.clear_answer(visit, item);
            (
                VisitChange::AnswerCleared {
                    item_id: item.into(),
                },
                result,
            )
        }
        Action::Note { length } => {
            let text = "记".repeat(*length);
            let result = doorstep.add_note(visit, &text).map(drop);
            let note = InterviewNote {
                id: Uuid::now_v7(),
                author: field.agent,
                written_at: now,
                text,
            };
            (VisitChange::NoteAdded { note }, result)
        }
        Action::Attach { mime, link } => {
            let mime = ["image/jpeg", "text/html", "image/png"][*mime];
            let link = match link {
                0 => AttachmentLink::Visit,
                1 => AttachmentLink::ChecklistItem {
                    item_id: "premises_photos".into(),
                },
                _ => AttachmentLink::Note {
                    note_id: notes.last().copied().unwrap_or_else(Uuid::now_v7),
                },
            };
            let result = doorstep
                .attach(visit, AttachmentKind::Photo, mime, PHOTO, link.clone())
                .map(drop);
            let attachment = Attachment {
                id: Uuid::now_v7(),
                kind: AttachmentKind::Photo,
                mime_type: mime.into(),
                sha256: sha256_hex(PHOTO),
                size_bytes: PHOTO.len() as u64,
                link,
                taken_at: now,
            };
            (VisitChange::Attached { attachment }, result)
        }
        Action::SetOutcome { code, with_promise } => {
            let mut outcome = promise_outcome();
            outcome.code = [
                OutcomeCode::PromiseToPay,
                OutcomeCode::NotHome,
                OutcomeCode::Dispute,
                OutcomeCode::Refused,
            ][*code];
            if !with_promise {
                outcome.promise = None;
            }
            if !outcome.code.customer_met() {
                outcome.ability_to_repay = None;
                outcome.willingness_to_repay = None;
            }
            let result = doorstep.set_outcome(visit, outcome.clone());
            (VisitChange::OutcomeSet { outcome }, result)
        }
        Action::CheckOut => {
            let result = doorstep.check_out(visit, fix(false, now)).map(drop);
            (
                VisitChange::CheckedOut {
                    check: check(false),
                },
                result,
            )
        }
        Action::Submit => (VisitChange::Submitted { at: now }, doorstep.submit(visit)),
        Action::Cancel { reason } => {
            let reason = ["客户改约", "", &"长".repeat(501)][*reason].to_owned();
            let result = doorstep.cancel(visit, &reason);
            (VisitChange::Cancelled { reason }, result)
        }
        Action::Wait { .. } => return None,
    })
}

/// The entry a phone would write for `change` after its chain's head.
fn forged(
    doorstep: &Doorstep,
    visit: VisitId,
    change: &VisitChange,
    now: DateTime<Utc>,
) -> LogEntry {
    let me = doorstep.device_id();
    let head = doorstep
        .visit_log(visit)
        .unwrap()
        .into_iter()
        .filter(|e| e.author == me)
        .max_by_key(|e| e.seq)
        .unwrap();
    let seq = head.seq + 1;
    append(
        Some(&head),
        EntryDraft {
            visit_id: visit,
            author: me,
            op_id: derived_op_id(visit, me, seq),
            kind: change.kind().into(),
            payload: serde_json::to_string(change).unwrap(),
            hlc: Hlc {
                millis: head.hlc.millis + 1,
                counter: 0,
                node: me,
            },
            device_time: now,
            utc_offset_minutes: 480,
        },
    )
    .unwrap()
}

fn outcome_of(result: &Result<(), DoorstepError>) -> Option<String> {
    match result {
        Ok(()) => Some("applied".into()),
        Err(error) => error.rule().map(|rule| rule.code().to_owned()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("DOORSTEP_PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(24),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_phone_and_the_server_refuse_the_same_changes_with_the_same_code(
        on_site in proptest::bool::weighted(0.8),
        rest in proptest::collection::vec(action(), 1..16)
    ) {
        // Most visits get to the door (a notice two hours ahead, then the
        // check-in), so that what is done on site is exercised too.
        let mut actions = Vec::new();
        if on_site {
            actions.push(Action::Notice { lead_minutes: 120, purpose: true });
            actions.push(Action::Wait { minutes: 150 });
            actions.push(Action::CheckIn { far: false });
        }
        actions.extend(rest);
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(morning()));
        let doorstep = Doorstep::open_with_clock(
            &dir.path().join("device.db"),
            &KEY,
            Policy::default(),
            clock.clone(),
        )
        .unwrap();
        doorstep.set_device_utc_offset(480).unwrap();
        let agent = Uuid::now_v7();
        let case = sample_case(agent, 1);
        doorstep
            .apply_snapshot(&ServerSnapshot {
                agent,
                templates: vec![home_verification()],
                cases: vec![case.clone()],
            })
            .unwrap();
        let field = Field {
            dir,
            path: std::path::PathBuf::new(),
            clock,
            doorstep,
            agent,
            cases: vec![case.clone()],
        };
        let doorstep = &field.doorstep;
        let server = Server::new(&field, doorstep.device_id());
        let visit = doorstep
            .plan_visit(case.id, field.clock.now_utc() + Duration::hours(2))
            .unwrap();
        let mut accepted: Vec<LogEntry> = doorstep
            .pending_ops(100)
            .unwrap()
            .into_iter()
            .map(|op| op.entry)
            .collect();
        prop_assert_eq!(server.push(&accepted, field.clock.now_utc()), vec!["applied"]);
        let mut notes: Vec<Uuid> = Vec::new();

        for action in &actions {
            if let Action::Wait { minutes } = action {
                field.clock.advance(Duration::minutes(*minutes));
                continue;
            }
            let now = field.clock.now_utc();
            let Some((change, result)) = act(doorstep, &field, visit, action, &notes) else {
                continue;
            };
            let Some(phone) = outcome_of(&result) else {
                // Refused for a reason that is not a rule of the change (none
                // today); nothing to compare.
                continue;
            };
            if phone == "applied" {
                let entry = doorstep
                    .pending_ops(1_000)
                    .unwrap()
                    .into_iter()
                    .map(|op| op.entry)
                    .find(|e| !accepted.iter().any(|a| a.op_id == e.op_id))
                    .unwrap();
                if let Ok(VisitChange::NoteAdded { note }) = serde_json::from_str(&entry.payload) {
                    notes.push(note.id);
                }
                let answer = server.push(std::slice::from_ref(&entry), now);
                prop_assert_eq!(&answer[0], "applied", "{:?} {}", action, entry.kind);
                accepted.push(entry);
            } else {
                // What a modified app would have written anyway, to a server
                // holding exactly what was accepted so far.
                let probe = Server::new(&field, doorstep.device_id());
                prop_assert!(probe.push(&accepted, now).iter().all(|o| o == "applied"));
                let entry = forged(doorstep, visit, &change, now);
                let answer = probe.push(std::slice::from_ref(&entry), now);
                prop_assert_eq!(&answer[0], &phone, "{:?}", action);
                prop_assert!(RejectCode::from_code(&phone).is_some());
            }
        }
    }
}
