//! Fixtures shared by the integration tests: a fresh encrypted device with a
//! fixed clock, realistic cases, and a complete visit played step by step.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, AttachmentKind, AttachmentLink, Case, CaseId, CaseStatus,
    Customer, Notice, NoticeChannel, Outcome, OutcomeCode, PhoneNumber, PromiseToPay, Rating,
    VisitId,
};
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::{DatabaseKey, Doorstep, Money, ServerSnapshot};
use tempfile::TempDir;
use uuid::Uuid;

/// The fixed key the tests use.
pub const KEY: DatabaseKey = DatabaseKey::Raw([0x42; 32]);

/// Where the sample customers live (Beijing, Chaoyang).
pub const HOME: GeoPoint = GeoPoint {
    latitude: 39.9087,
    longitude: 116.4605,
};

/// A device in the field: its database, its clock and its agent.
pub struct Field {
    pub dir: TempDir,
    pub path: PathBuf,
    pub clock: Arc<FixedClock>,
    pub doorstep: Doorstep,
    pub agent: Uuid,
    pub cases: Vec<Case>,
}

/// 2026-12-01 09:00 in Beijing (01:00 UTC): inside contact hours.
pub fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()
}

/// A fresh device with `n` cases assigned to its agent and the default template.
pub fn field_with(n: usize) -> Field {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doorstep.db");
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep =
        Doorstep::open_with_clock(&path, &KEY, Policy::default(), clock.clone()).unwrap();
    doorstep.set_device_utc_offset(480).unwrap();
    let agent = Uuid::now_v7();
    let cases: Vec<Case> = (0..n).map(|i| sample_case(agent, i)).collect();
    doorstep
        .apply_snapshot(&ServerSnapshot {
            agent,
            templates: vec![home_verification()],
            cases: cases.clone(),
        })
        .unwrap();
    Field {
        dir,
        path,
        clock,
        doorstep,
        agent,
        cases,
    }
}

/// A fresh device with three cases.
pub fn field() -> Field {
    field_with(3)
}

impl Field {
    /// Reopens the same database file, as after an app restart.
    pub fn reopen(&mut self) {
        let reopened =
            Doorstep::open_with_clock(&self.path, &KEY, Policy::default(), self.clock.clone())
                .unwrap();
        self.doorstep = reopened;
    }
}

/// A realistic case; `i` varies priority, due date, amount and name.
pub fn sample_case(agent: Uuid, i: usize) -> Case {
    const SURNAMES: [&str; 6] = ["王", "李", "张", "刘", "陈", "杨"];
    Case {
        revisit_after: None,
        id: Uuid::now_v7(),
        external_ref: format!("CC-2026-{i:06}"),
        customer: Customer {
            name: format!("{}建国{i}", SURNAMES[i % SURNAMES.len()]),
            national_id_masked: mask_national_id(&format!("1101051980{i:08}")),
            phones: vec![PhoneNumber {
                label: "mobile".into(),
                number: format!("+86 138 {:04} {:04}", i / 10_000, i % 10_000),
            }],
            addresses: vec![Address {
                kind: AddressKind::Home,
                text: format!("北京市朝阳区建国路 {} 号", 1 + i % 300),
                location: Some(HOME),
            }],
        },
        product: "Platinum credit card".into(),
        overdue_amount: Money::new(100_000 + (i as i64 * 7_919) % 5_000_000, "CNY").unwrap(),
        days_past_due: (i as u32 * 13) % 200 + 1,
        assigned: AssignedAgents {
            primary: agent,
            partner: None,
        },
        priority: (i % 5) as u8 + 1,
        due_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap() + Duration::days((i % 28) as i64),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
    }
}

/// A good fix a few metres from the registered address.
pub fn fix_at_home(at: DateTime<Utc>) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            latitude: HOME.latitude + 0.0001,
            longitude: HOME.longitude,
        },
        accuracy_m: 8.0,
        mocked: false,
        taken_at: at,
    }
}

/// A phone notice given at `given_at` for a visit two hours later.
pub fn phone_notice(given_at: DateTime<Utc>) -> Notice {
    Notice {
        channel: NoticeChannel::PhoneCall,
        given_at,
        planned_visit_at: given_at + Duration::hours(2),
        purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
        acknowledged: true,
    }
}

/// An answer to every required item of the default template, in template order.
pub fn complete_answers() -> Vec<(&'static str, AnswerValue)> {
    vec![
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("address_confirmed", AnswerValue::YesNo(true)),
        ("residence_status", AnswerValue::Choice("rented".into())),
        (
            "employment_status",
            AnswerValue::Choice("self_employed".into()),
        ),
        (
            "monthly_income",
            AnswerValue::Money(Money::new(650_000, "CNY").unwrap()),
        ),
        (
            "overdue_reason",
            AnswerValue::Choice("business_failure".into()),
        ),
        (
            "household_situation",
            AnswerValue::Text("夫妻二人，一个孩子上小学".into()),
        ),
        ("ability_to_repay", AnswerValue::Integer(3)),
        ("willingness_to_repay", AnswerValue::Integer(4)),
        ("contact_details_updated", AnswerValue::YesNo(false)),
    ]
}

/// Answers every required item of the default template and attaches a photo.
pub fn complete_checklist(doorstep: &Doorstep, visit: VisitId) {
    for (item, value) in complete_answers() {
        doorstep.answer(visit, item, value).unwrap();
    }
    photo_of_premises(doorstep, visit);
}

/// Attaches a small JPEG-looking photo to the premises item.
pub fn photo_of_premises(doorstep: &Doorstep, visit: VisitId) -> Uuid {
    doorstep
        .attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4],
            AttachmentLink::ChecklistItem {
                item_id: "premises_photos".into(),
            },
        )
        .unwrap()
}

/// A promise to pay ¥5,000 in ten days.
pub fn promise_outcome() -> Outcome {
    Outcome {
        code: OutcomeCode::PromiseToPay,
        promise: Some(PromiseToPay {
            amount: Money::new(500_000, "CNY").unwrap(),
            due_on: NaiveDate::from_ymd_opt(2026, 12, 11).unwrap(),
        }),
        plan: None,
        ability_to_repay: Rating::new(3),
        willingness_to_repay: Rating::new(4),
        summary: "客户承诺十天内还款五千元".into(),
    }
}

/// Plans and notifies a visit now; the check-in may happen from two hours later.
pub fn planned_and_notified(field: &Field, case: CaseId) -> VisitId {
    let now = field.clock.now_utc();
    let visit = field
        .doorstep
        .plan_visit(case, now + Duration::hours(2))
        .unwrap();
    field
        .doorstep
        .record_notice(visit, phone_notice(now))
        .unwrap();
    visit
}

/// Plays a whole visit: notice, check-in two hours later, checklist, a note,
/// outcome, check-out, submit.
pub fn play_complete_visit(field: &Field, case: CaseId) -> VisitId {
    let visit = planned_and_notified(field, case);
    field.clock.advance(Duration::hours(2));
    let now = field.clock.now_utc();
    field.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    complete_checklist(&field.doorstep, visit);
    field
        .doorstep
        .add_note(visit, "客户经营的小饭馆疫情后亏损，目前在朋友店里帮工。")
        .unwrap();
    field
        .doorstep
        .set_outcome(visit, promise_outcome())
        .unwrap();
    field.clock.advance(Duration::minutes(40));
    field
        .doorstep
        .check_out(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    field.doorstep.submit(visit).unwrap();
    visit
}

/// Reads `now` from a fixed clock.
pub trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for FixedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        use doorstep_core::clock::WallClock;
        self.now()
    }
}

/// The hex digits of [`KEY`], as the shell would keep them.
pub fn key_hex() -> String {
    match &KEY {
        DatabaseKey::Raw(raw) => hex::encode(raw),
        DatabaseKey::Passphrase(_) => unreachable!("the test key is raw"),
    }
}

/// A raw SQLCipher connection to a device database, keyed like the store keys
/// its own (`PRAGMA key = "x'…'"`), for tests that look under the facade.
pub fn raw_connection(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "key", format!("x'{}'", key_hex()))
        .unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let cipher: String = conn
        .query_row("PRAGMA cipher_version", [], |row| row.get(0))
        .unwrap();
    assert!(!cipher.is_empty(), "this build has no SQLCipher");
    conn
}

/// Adds cases to the device through a snapshot for the same agent.
pub fn add_cases(field: &mut Field, cases: Vec<Case>) {
    field.cases.extend(cases);
    field
        .doorstep
        .apply_snapshot(&ServerSnapshot {
            agent: field.agent,
            templates: vec![home_verification()],
            cases: field.cases.clone(),
        })
        .unwrap();
}

/// Every case on the device, in list order.
pub fn all_cases(doorstep: &Doorstep) -> Vec<doorstep_core::CaseSummary> {
    doorstep
        .list_cases(&doorstep_core::CaseQuery {
            limit: 200,
            ..Default::default()
        })
        .unwrap()
}
