//! Workloads for the sync benchmarks and the load driver: a server prepared
//! with agents, devices, cases and the default template; devices that work
//! complete visits offline (30 answers, 3 notes, no photos); and the push
//! bodies a device would send, taken from its outbox.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::{FixedClock, WallClock};
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Case, CaseId, CaseStatus, Customer, Notice,
    NoticeChannel, Outcome, OutcomeCode, PhoneNumber, PromiseToPay, Rating, VisitId,
};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::sync::protocol::{MAX_PUSH_OPS, PushRequest, Role};
use doorstep_core::{DatabaseKey, Doorstep, DoorstepError, Money, SyncObserver, SyncPhase};
use doorstep_server::admin;
use doorstep_server::store::Store;
use uuid::Uuid;

/// The device key of every benchmark device.
pub const KEY: DatabaseKey = DatabaseKey::Raw([0x42; 32]);
/// Every benchmark user's password.
pub const PASSWORD: &str = "s3cret-field-pass";
/// Where the sample customers live (Beijing, Chaoyang).
pub const HOME: GeoPoint = GeoPoint {
    latitude: 39.9087,
    longitude: 116.4605,
};
/// Answers in one complete visit.
pub const VISIT_ANSWERS: usize = 30;
/// Notes in one complete visit.
pub const VISIT_NOTES: usize = 3;

/// 2026-12-01 09:00 in Beijing (01:00 UTC): inside contact hours.
pub fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0)
        .single()
        .expect("a valid time")
}

/// A realistic case for `agent`; `i` varies priority, due date, amount, name.
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
        overdue_amount: Money::new(100_000 + (i as i64 * 7_919) % 5_000_000, "CNY")
            .expect("a valid amount"),
        days_past_due: (i as u32 * 13) % 200 + 1,
        assigned: AssignedAgents {
            primary: agent,
            partner: None,
        },
        priority: (i % 5) as u8 + 1,
        due_date: NaiveDate::from_ymd_opt(2026, 12, 1).expect("a valid date")
            + Duration::days((i % 28) as i64),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
    }
}

/// Sets up a server store: one supervisor, `agents` agents named
/// `agent-<n>`, `devices[n]` registered to agent `n % agents`,
/// `cases_per_agent` cases for each agent, and the default template.
/// Returns the agents' ids and each agent's cases.
pub fn prepare_server(
    store: &dyn Store,
    agents: usize,
    devices: &[Uuid],
    cases_per_agent: usize,
) -> Result<Vec<(Uuid, Vec<Case>)>, String> {
    let now = Utc::now();
    let err = |e: &dyn std::fmt::Display| e.to_string();
    admin::create_user(store, "lead", PASSWORD, Role::Supervisor, None, now)
        .map_err(|e| err(&e))?;
    let mut out = Vec::with_capacity(agents);
    for a in 0..agents {
        let name = agent_name(a);
        let id = admin::create_user(store, &name, PASSWORD, Role::Agent, Some("lead"), now)
            .map_err(|e| err(&e))?;
        let cases: Vec<Case> = (0..cases_per_agent)
            .map(|i| sample_case(id, a * cases_per_agent + i))
            .collect();
        for chunk in cases.chunks(1_000) {
            admin::import_cases(store, chunk, now).map_err(|e| err(&e))?;
        }
        out.push((id, cases));
    }
    for (n, device) in devices.iter().enumerate() {
        admin::create_device(store, &agent_name(n % agents), *device, now).map_err(|e| err(&e))?;
    }
    admin::publish_template(store, &home_verification(), now).map_err(|e| err(&e))?;
    Ok(out)
}

/// The login name of agent `n`.
pub fn agent_name(n: usize) -> String {
    format!("agent-{n}")
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

/// The answers of one visit: the ten answerable items of the default
/// template, each answered three times (the agent corrects as the interview
/// goes), with values that vary by `round`.
pub fn answers(round: usize) -> Vec<(&'static str, AnswerValue)> {
    let texts = [
        "夫妻二人，一个孩子上小学",
        "夫妻二人，一个孩子上小学，母亲同住",
        "夫妻二人，一个孩子上小学，母亲同住，需要照顾",
    ];
    let choice = ["rented", "owned", "family"];
    vec![
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("address_confirmed", AnswerValue::YesNo(round != 1)),
        (
            "residence_status",
            AnswerValue::Choice(choice[round % 3].into()),
        ),
        (
            "employment_status",
            AnswerValue::Choice("self_employed".into()),
        ),
        (
            "monthly_income",
            AnswerValue::Money(
                Money::new(600_000 + 25_000 * round as i64, "CNY").expect("a valid amount"),
            ),
        ),
        (
            "overdue_reason",
            AnswerValue::Choice("business_failure".into()),
        ),
        (
            "household_situation",
            AnswerValue::Text(texts[round % 3].into()),
        ),
        (
            "ability_to_repay",
            AnswerValue::Integer(2 + round as i64 % 3),
        ),
        ("willingness_to_repay", AnswerValue::Integer(4)),
        ("contact_details_updated", AnswerValue::YesNo(false)),
    ]
}

const NOTES: [&str; VISIT_NOTES] = [
    "客户经营的小饭馆疫情后亏损，目前在朋友店里帮工。",
    "客户配偶在场，确认家庭月收入约六千五百元。",
    "客户同意先还五千元，其余部分申请分期。",
];

/// Plans and notifies visits on `cases` now (on `clock`), then after two hours
/// checks in to each in turn and works it: 30 answers, 3 notes, an outcome and
/// a check-out (no photos, so no submit). Stops once the outbox holds
/// `max_ops` operations. Returns the visits.
pub fn play_visits(
    doorstep: &Doorstep,
    clock: &FixedClock,
    cases: &[CaseId],
    max_ops: u64,
) -> Result<Vec<VisitId>, DoorstepError> {
    let full =
        || -> Result<bool, DoorstepError> { Ok(doorstep.pending_outbox_count()? >= max_ops) };
    let start = clock.now();
    let mut visits = Vec::new();
    for case in cases {
        if full()? {
            break;
        }
        let visit = doorstep.plan_visit(*case, start + Duration::hours(2))?;
        doorstep.record_notice(
            visit,
            Notice {
                channel: NoticeChannel::PhoneCall,
                given_at: start,
                planned_visit_at: start + Duration::hours(2),
                purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
                acknowledged: true,
            },
        )?;
        visits.push(visit);
    }
    clock.advance(Duration::hours(2));
    for visit in &visits {
        if full()? {
            break;
        }
        doorstep.check_in(*visit, fix_at_home(clock.now()))?;
        'work: for round in 0..VISIT_ANSWERS / 10 {
            for (item, value) in answers(round) {
                if full()? {
                    break 'work;
                }
                doorstep.answer(*visit, item, value)?;
            }
            if full()? {
                break 'work;
            }
            doorstep.add_note(*visit, NOTES[round % VISIT_NOTES])?;
        }
        if full()? {
            break;
        }
        doorstep.set_outcome(*visit, promise_outcome())?;
        if full()? {
            break;
        }
        doorstep.check_out(*visit, fix_at_home(clock.now()))?;
    }
    Ok(visits)
}

/// A promise to pay ¥5,000 in ten days.
pub fn promise_outcome() -> Outcome {
    Outcome {
        code: OutcomeCode::PromiseToPay,
        promise: NaiveDate::from_ymd_opt(2026, 12, 11).map(|due_on| PromiseToPay {
            amount: Money::new(500_000, "CNY").expect("a valid amount"),
            due_on,
        }),
        plan: None,
        ability_to_repay: Rating::new(3),
        willingness_to_repay: Rating::new(4),
        summary: "客户承诺十天内还款五千元".into(),
    }
}

/// The pending operations of a device, in outbox order (at most `limit`).
pub fn pending_entries(doorstep: &Doorstep, limit: u32) -> Result<Vec<LogEntry>, DoorstepError> {
    Ok(doorstep
        .pending_ops(limit)?
        .into_iter()
        .map(|op| op.entry)
        .collect())
}

/// The JSON push bodies the device's engine sends for `entries`: batches of
/// [`MAX_PUSH_OPS`] (the byte bound does not bite for visits without photos).
pub fn push_bodies(entries: &[LogEntry]) -> Result<Vec<Vec<u8>>, serde_json::Error> {
    entries
        .chunks(MAX_PUSH_OPS)
        .map(|ops| serde_json::to_vec(&PushRequest::new(ops)))
        .collect()
}

/// A fresh device at `path` on a fixed clock at [`morning`], UTC+8.
pub fn open_device(path: &std::path::Path) -> Result<(Doorstep, Arc<FixedClock>), DoorstepError> {
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep = Doorstep::open_with_clock(path, &KEY, Policy::default(), clock.clone())?;
    doorstep.set_device_utc_offset(480)?;
    Ok((doorstep, clock))
}

/// Records when each sync phase first and last reported progress.
#[derive(Debug, Default)]
pub struct PhaseTimer {
    spans: std::sync::Mutex<Vec<(SyncPhase, Instant, Instant)>>,
}

impl PhaseTimer {
    /// From the first progress report of `from` to the last one of `to`.
    pub fn between(&self, from: SyncPhase, to: SyncPhase) -> Option<std::time::Duration> {
        let spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        let start = spans.iter().find(|(p, _, _)| *p == from)?.1;
        let end = spans.iter().find(|(p, _, _)| *p == to)?.2;
        Some(end.saturating_duration_since(start))
    }

    /// How long `phase` ran, from its first to its last progress report.
    pub fn elapsed(&self, phase: SyncPhase) -> Option<std::time::Duration> {
        let spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        spans
            .iter()
            .find(|(p, _, _)| *p == phase)
            .map(|(_, first, last)| *last - *first)
    }
}

impl SyncObserver for PhaseTimer {
    fn progress(&self, phase: SyncPhase, _done: u64, _total: u64) {
        let now = Instant::now();
        let mut spans = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        match spans.iter_mut().find(|(p, _, _)| *p == phase) {
            Some(span) => span.2 = now,
            None => spans.push((phase, now, now)),
        }
    }
}
