//! A fixed small world for the fuzz targets and their seeds: one case, its
//! agents and phone, and a visit the server already holds part of.
//!
//! Everything is deterministic (fixed ids and times), so a seed written by
//! `write-seeds` continues the fixed visit exactly where [`history`] ends.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use doorstep_core::Money;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::Hlc;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Attachment, AttachmentKind, AttachmentLink, Case,
    CaseStatus, Customer, InterviewNote, Notice, NoticeChannel, Outcome, OutcomeCode, PhoneNumber,
    PromiseToPay, Rating, SiteCheck, VisitChange,
};
use doorstep_core::event_log::{EntryDraft, LogEntry, append, derived_op_id};
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use uuid::Uuid;

/// The primary agent of [`case`].
pub const AGENT: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_a9e1);
/// The partner agent of [`case`].
pub const PARTNER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_a9e2);
/// A supervisor (not an agent).
pub const SUPERVISOR: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_5e01);
/// The primary agent's phone: the author of the fixed visit's chain.
pub const DEVICE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_de01);
/// The partner's phone.
pub const PARTNER_DEVICE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_de02);
/// The case of every fixed visit.
pub const CASE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_ca5e);
/// The visit the server already holds [`HISTORY_LEN`] entries of.
pub const VISIT: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
/// A visit the server does not know yet.
pub const NEW_VISIT: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0002);

/// How many entries of [`VISIT`]'s chain the server holds before a push.
pub const HISTORY_LEN: usize = 4;

/// A fixed morning in Beijing (09:00 +08:00).
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0)
        .single()
        .unwrap_or_default()
}

/// The user signed in on a device: the partner on [`PARTNER_DEVICE`], the
/// primary agent on every other.
pub fn user_of(device: Uuid) -> Uuid {
    if device == PARTNER_DEVICE {
        PARTNER
    } else {
        AGENT
    }
}

/// The case every fixed visit is of.
pub fn case() -> Case {
    Case {
        id: CASE,
        external_ref: "CC-2026-000123".into(),
        customer: Customer {
            name: "王小明".into(),
            national_id_masked: "**************123X".into(),
            phones: vec![PhoneNumber {
                label: "mobile".into(),
                number: "+86 138 0000 0000".into(),
            }],
            addresses: vec![Address {
                kind: AddressKind::Home,
                text: "北京市朝阳区建国路 88 号".into(),
                location: Some(GeoPoint {
                    latitude: 39.9087,
                    longitude: 116.4605,
                }),
            }],
        },
        product: "Platinum credit card".into(),
        overdue_amount: Money {
            minor_units: 1_250_000,
            currency: "CNY".into(),
        },
        days_past_due: 45,
        assigned: AssignedAgents {
            primary: AGENT,
            partner: Some(PARTNER),
        },
        priority: 3,
        due_date: NaiveDate::from_ymd_opt(2026, 3, 20).unwrap_or_default(),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
        revisit_after: None,
    }
}

/// A check at `at`, `north_degrees` north of the case's address, with the
/// distance and flags the default policy gives its fix (as a phone records
/// them, so the rules take it).
fn site(at: DateTime<Utc>, north_degrees: f64) -> SiteCheck {
    let fix = GpsFix {
        point: GeoPoint {
            latitude: 39.9087 + north_degrees,
            longitude: 116.4605,
        },
        accuracy_m: 8.0,
        mocked: false,
        taken_at: at,
    };
    let registered = case().registered_address().and_then(|a| a.location);
    match Policy::default().assess_check_out(&fix, registered) {
        Ok(assessment) => SiteCheck::assessed(at, 480, fix, assessment),
        Err(_) => SiteCheck {
            at,
            utc_offset_minutes: 480,
            fix,
            distance_m: None,
            flags: Vec::new(),
        },
    }
}

fn cny(minor_units: i64) -> Money {
    Money {
        minor_units,
        currency: "CNY".into(),
    }
}

/// A whole visit by [`AGENT`] up to submission: the checklist answered, a
/// note, a photo, the outcome.
pub fn full_visit() -> Vec<VisitChange> {
    let answer = |item_id: &str, value| VisitChange::Answered {
        item_id: item_id.into(),
        value,
    };
    vec![
        VisitChange::Planned {
            case_id: CASE,
            agent: AGENT,
            partner: Some(PARTNER),
            template_key: "home-verification".into(),
            template_version: 1,
            planned_for: t0(),
        },
        VisitChange::NoticeRecorded {
            notice: Notice {
                channel: NoticeChannel::PhoneCall,
                given_at: t0() - Duration::hours(2),
                planned_visit_at: t0(),
                purpose: "核实逾期情况".into(),
                acknowledged: true,
            },
        },
        VisitChange::CheckedIn {
            check: site(t0(), 0.0),
        },
        answer("identity_confirmed", AnswerValue::YesNo(true)),
        answer("address_confirmed", AnswerValue::YesNo(true)),
        answer("residence_status", AnswerValue::Choice("rented".into())),
        answer("monthly_income", AnswerValue::Money(cny(650_000))),
        answer("overdue_reason", AnswerValue::Choice("other".into())),
        answer(
            "overdue_reason_other",
            AnswerValue::Text("合伙人卷款，店铺关门".into()),
        ),
        answer(
            "employment_status",
            AnswerValue::Choice("self_employed".into()),
        ),
        answer(
            "household_situation",
            AnswerValue::Text("夫妻二人，孩子上小学".into()),
        ),
        answer("ability_to_repay", AnswerValue::Integer(3)),
        answer("willingness_to_repay", AnswerValue::Integer(4)),
        answer("contact_details_updated", AnswerValue::YesNo(false)),
        answer("customer_statement", AnswerValue::Text("下月还款".into())),
        VisitChange::AnswerCleared {
            item_id: "customer_statement".into(),
        },
        VisitChange::NoteAdded {
            note: InterviewNote {
                id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0e01),
                author: AGENT,
                written_at: t0(),
                text: "客户本人开门，态度配合。".into(),
            },
        },
        VisitChange::Attached {
            attachment: Attachment {
                id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0a01),
                kind: AttachmentKind::Photo,
                mime_type: "image/jpeg".into(),
                sha256: "ab".repeat(32),
                size_bytes: 1234,
                link: AttachmentLink::ChecklistItem {
                    item_id: "premises_photos".into(),
                },
                taken_at: t0(),
            },
        },
        VisitChange::OutcomeSet {
            outcome: Outcome {
                code: OutcomeCode::PromiseToPay,
                promise: Some(PromiseToPay {
                    amount: cny(500_000),
                    due_on: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap_or_default(),
                }),
                plan: None,
                ability_to_repay: Rating::new(3),
                willingness_to_repay: Rating::new(4),
                summary: "承诺月底前还款五千元".into(),
            },
        },
        VisitChange::CheckedOut {
            check: site(t0() + Duration::minutes(40), 0.0003),
        },
        VisitChange::Submitted {
            at: t0() + Duration::minutes(41),
        },
    ]
}

/// The chain of `changes` by `author` on `visit`, one second apart from
/// `first_millis`, with derived op ids, as a phone writes it.
pub fn chain(
    visit: Uuid,
    author: Uuid,
    changes: &[VisitChange],
    first_millis: u64,
) -> Vec<LogEntry> {
    let mut entries: Vec<LogEntry> = Vec::with_capacity(changes.len());
    for (n, change) in (0u64..).zip(changes) {
        let seq = entries.last().map_or(0, |last| last.seq + 1);
        let draft = EntryDraft {
            visit_id: visit,
            author,
            op_id: derived_op_id(visit, author, seq),
            kind: change.kind().into(),
            payload: serde_json::to_string(change).unwrap_or_default(),
            hlc: Hlc {
                millis: first_millis + n * 1_000,
                counter: 0,
                node: author,
            },
            device_time: t0(),
            utc_offset_minutes: 480,
        };
        match append(entries.last(), draft) {
            Ok(entry) => entries.push(entry),
            Err(_) => break,
        }
    }
    entries
}

/// The clock of [`VISIT`]'s first entry.
pub const FIRST_MILLIS: u64 = 1_772_413_200_000;

/// [`VISIT`]'s whole chain by [`DEVICE`]: the first [`HISTORY_LEN`] entries are
/// on the server already, the rest is what a push brings.
pub fn visit_chain() -> Vec<LogEntry> {
    chain(VISIT, DEVICE, &full_visit(), FIRST_MILLIS)
}

/// What the server holds of [`VISIT`] before a push.
pub fn history() -> Vec<LogEntry> {
    let mut entries = visit_chain();
    entries.truncate(HISTORY_LEN);
    entries
}
