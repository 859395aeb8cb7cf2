//! One field agent's day, played by a real device core: register the phone
//! over HTTP, sync in the morning to receive the cases, then work offline —
//! notices, check-ins with GPS, the checklist, notes in Chinese, a photo,
//! outcomes, check-outs, submissions — and sync in the evening.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::{FixedClock, WallClock};
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, Notice, NoticeChannel, Outcome, OutcomeCode, PromiseToPay,
    Rating, RepaymentPlan, VisitId,
};
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{
    CaseQuery, DatabaseKey, Doorstep, DoorstepError, HttpRequest, HttpResponse, Money, NoProgress,
    SyncObserver, SyncPhase, Transport, TransportError,
};

/// The database key of every demo phone (a phone keeps its own in the keystore).
const DEMO_KEY: [u8; 32] = [0xd0; 32];

/// What happens at a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The customer promises to pay part of the amount.
    PromiseToPay,
    /// The customer proposes instalments.
    Plan,
    /// The customer disputes the debt.
    Dispute,
    /// Nobody opens the door.
    NotHome,
    /// A promise to pay, checked in across the street with a poor GPS fix
    /// (flagged far from the address and poor accuracy).
    FlaggedPromise,
}

const SCENARIOS: [Scenario; 5] = [
    Scenario::PromiseToPay,
    Scenario::Plan,
    Scenario::Dispute,
    Scenario::NotHome,
    Scenario::FlaggedPromise,
];

/// The scenario of an agent's `slot`-th visit of the day.
pub fn scenario(agent: usize, slot: usize) -> Scenario {
    SCENARIOS[(agent + slot) % SCENARIOS.len()]
}

/// What an agent's day produced.
#[derive(Debug, Clone)]
pub struct AgentDay {
    /// The agent's user name.
    pub username: String,
    /// Visits submitted.
    pub visits: Vec<VisitId>,
    /// Operations pushed in the evening sync.
    pub pushed: u64,
    /// Operations refused by the server.
    pub rejected: u64,
}

/// A link that is down: the phone is in a basement, out of coverage.
struct NoCoverage;

impl Transport for NoCoverage {
    fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::Offline {
            reason: "no coverage".into(),
        })
    }
}

/// Shows the evening sync's progress: each phase once it is complete.
struct Shown<'a> {
    say: &'a (dyn Fn(&str) + Sync),
}

impl SyncObserver for Shown<'_> {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        let name = match phase {
            SyncPhase::Login => return,
            SyncPhase::Push => "pushed",
            SyncPhase::Upload => "uploaded (bytes of photos)",
            SyncPhase::Pull => "pulled",
            SyncPhase::Purge => "cleaned up",
        };
        if total > 0 && done == total {
            (self.say)(&format!("18:00  sync: {name} {done} of {total}"));
        }
    }
}

/// Runs a step that signs in again while the server asks to wait: many
/// phones signing in at once from one address are held back a moment (the
/// sign-in limit counts attempts in progress; see docs/PROTOCOL.md).
fn patiently<T>(mut step: impl FnMut() -> Result<T, DoorstepError>) -> Result<T, DoorstepError> {
    for _ in 0..20 {
        match step() {
            Err(DoorstepError::SyncFailed { code, reason })
                if code == "too_many_attempts"
                    || code == "server_error"
                    || reason.contains("too_many_attempts") =>
            {
                std::thread::sleep(StdDuration::from_secs(1));
            }
            other => return other,
        }
    }
    step()
}

fn fail(username: &str, what: &str, error: DoorstepError) -> String {
    format!("{username}: {what}: [{}] {error}", error.code())
}

/// Where the demo keeps `username`'s phone database in the phones folder.
pub fn phone_file(phones: &Path, username: &str) -> PathBuf {
    phones.join(format!("{username}.db"))
}

/// Opens (or creates) `username`'s phone database in the demo's phones folder,
/// a phone in Beijing (UTC+8) whose clock is `wall`. The demo's agents play
/// their day on it; a tool can reopen it afterwards to play the agent's next
/// sync (the demo closes every phone once its day is over).
pub fn open_phone(
    phones: &Path,
    username: &str,
    wall: Arc<dyn WallClock>,
) -> Result<Doorstep, DoorstepError> {
    let doorstep = Doorstep::open_with_clock(
        &phone_file(phones, username),
        &DatabaseKey::Raw(DEMO_KEY),
        Policy::default(),
        wall,
    )?;
    doorstep.set_device_utc_offset(480)?;
    Ok(doorstep)
}

/// Plays agent `index`'s day on a phone database in `dir`, against the server
/// at `base_url`. `day_start` is 08:00 in Beijing; `say` reports progress.
pub fn play_day(
    dir: &Path,
    base_url: &str,
    index: usize,
    username: &str,
    password: &str,
    day_start: DateTime<Utc>,
    say: &(dyn Fn(&str) + Sync),
) -> Result<AgentDay, String> {
    let err = |what: &'static str| move |e: DoorstepError| fail(username, what, e);
    let clock = Arc::new(FixedClock::new(day_start));
    let doorstep = open_phone(dir, username, clock.clone()).map_err(err("open the phone"))?;
    let online = UreqTransport::new(base_url, StdDuration::from_secs(30));

    patiently(|| doorstep.sign_in(&online, username, password))
        .map_err(err("register the phone and sign in"))?;
    let morning =
        patiently(|| doorstep.sync_now(&online, &NoProgress)).map_err(err("morning sync"))?;
    let cases = doorstep
        .list_cases(&CaseQuery {
            limit: 100,
            ..CaseQuery::default()
        })
        .map_err(err("list cases"))?;
    say(&format!(
        "08:00  phone registered, morning sync: {} changes received, {} cases today",
        morning.pulled,
        cases.len()
    ));

    // Notices by phone (or SMS when nobody answers) for the whole day.
    clock.set(day_start + Duration::minutes(10));
    let mut visits = Vec::new();
    for (slot, case) in cases.iter().enumerate() {
        let planned = visit_time(day_start, slot);
        let visit = doorstep
            .plan_visit(case.id, planned)
            .map_err(err("plan a visit"))?;
        let scenario = scenario(index, slot);
        let (channel, acknowledged) = if scenario == Scenario::NotHome {
            (NoticeChannel::Sms, false)
        } else {
            (NoticeChannel::PhoneCall, true)
        };
        doorstep
            .record_notice(
                visit,
                Notice {
                    channel,
                    given_at: clock.now(),
                    planned_visit_at: planned,
                    purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
                    acknowledged,
                },
            )
            .map_err(err("record a notice"))?;
        visits.push((visit, case.id, scenario));
        clock.advance(Duration::minutes(3));
    }
    say(&format!(
        "08:10  {} customers notified; going out (offline from here)",
        visits.len()
    ));

    for (slot, (visit, case_id, scenario)) in visits.iter().enumerate() {
        let detail = doorstep.case_detail(*case_id).map_err(err("open a case"))?;
        let home = detail
            .case
            .registered_address()
            .and_then(|a| a.location)
            .unwrap_or(GeoPoint {
                latitude: 39.9087,
                longitude: 116.4605,
            });
        clock.set(visit_time(day_start, slot));
        visit_one(&doorstep, &clock, *visit, home, *scenario, slot).map_err(err("play a visit"))?;
        say(&format!(
            "{}  visit {} of {} done offline: {}",
            local_hhmm(clock.now()),
            slot + 1,
            visits.len(),
            scenario_label(*scenario)
        ));
        if slot == 1 {
            let tried = doorstep.sync_now(&NoCoverage, &NoProgress);
            if let Err(DoorstepError::SyncFailed { code, .. }) = tried {
                say(&format!(
                    "{}  sync tried: {code}; {} changes wait on the phone",
                    local_hhmm(clock.now()),
                    doorstep.pending_outbox_count().map_err(err("outbox"))?
                ));
            }
        }
    }

    clock.set(day_start + Duration::hours(10));
    let waiting = doorstep.pending_outbox_count().map_err(err("outbox"))?;
    let evening = doorstep
        .sync_now(&online, &Shown { say })
        .map_err(err("evening sync"))?;
    say(&format!(
        "18:00  back in coverage: {waiting} changes waiting, {} applied, {} refused, {} left",
        evening.applied,
        evening.rejected,
        doorstep.pending_outbox_count().map_err(err("outbox"))?
    ));
    Ok(AgentDay {
        username: username.to_owned(),
        visits: visits.into_iter().map(|(v, _, _)| v).collect(),
        pushed: evening.applied,
        rejected: evening.rejected,
    })
}

/// 09:30, 11:15, 13:30, 15:15, … in Beijing.
fn visit_time(day_start: DateTime<Utc>, slot: usize) -> DateTime<Utc> {
    let lunch = if slot >= 2 { 30 } else { 0 };
    day_start + Duration::minutes(90 + 105 * slot as i64 + lunch)
}

fn local_hhmm(at: DateTime<Utc>) -> String {
    (at + Duration::minutes(480)).format("%H:%M").to_string()
}

/// A short label for progress lines.
pub fn scenario_label(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::PromiseToPay => "promise to pay",
        Scenario::Plan => "repayment plan",
        Scenario::Dispute => "dispute",
        Scenario::NotHome => "not home",
        Scenario::FlaggedPromise => "promise to pay (far from the address, poor GPS)",
    }
}

fn fix(at: DateTime<Utc>, home: GeoPoint, north_m: f64, accuracy_m: f64) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            latitude: home.latitude + north_m / 111_000.0,
            longitude: home.longitude,
        },
        accuracy_m,
        mocked: false,
        taken_at: at,
    }
}

fn cny(yuan: i64) -> Money {
    Money {
        minor_units: yuan * 100,
        currency: "CNY".into(),
    }
}

/// A drawing of a building entrance (320×240), the demo's stand-in for a
/// photo taken on site.
const ENTRANCE_JPEG: &[u8] = include_bytes!("entrance.jpg");

/// A real JPEG photo of the building entrance that browsers can show, made
/// distinct per visit slot by a JPEG comment segment right after the
/// start-of-image marker.
fn photo(slot: usize) -> Vec<u8> {
    let comment = format!("doorstep demo, visit slot {slot}");
    let length = u16::try_from(comment.len() + 2).unwrap_or(u16::MAX);
    let mut bytes = Vec::with_capacity(ENTRANCE_JPEG.len() + comment.len() + 4);
    bytes.extend_from_slice(&ENTRANCE_JPEG[..2]);
    bytes.extend_from_slice(&[0xff, 0xfe]);
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.extend_from_slice(comment.as_bytes());
    bytes.extend_from_slice(&ENTRANCE_JPEG[2..]);
    bytes
}

fn visit_one(
    doorstep: &Doorstep,
    clock: &FixedClock,
    visit: VisitId,
    home: GeoPoint,
    scenario: Scenario,
    slot: usize,
) -> Result<(), DoorstepError> {
    let (north_m, accuracy_m) = match scenario {
        Scenario::FlaggedPromise => (650.0, 180.0),
        _ => (20.0 + slot as f64 * 7.0, 12.0),
    };
    doorstep.check_in(visit, fix(clock.now(), home, north_m, accuracy_m))?;
    let day = clock.now().date_naive();

    if scenario == Scenario::NotHome {
        clock.advance(Duration::minutes(10));
        doorstep.add_note(
            visit,
            "敲门十分钟无人应答，邻居称客户白天上班，晚上七点后在家。",
        )?;
        doorstep.attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &photo(slot),
            AttachmentLink::Visit,
        )?;
        doorstep.set_outcome(
            visit,
            Outcome {
                code: OutcomeCode::NotHome,
                promise: None,
                plan: None,
                ability_to_repay: None,
                willingness_to_repay: None,
                summary: "客户不在家，已留联系卡，建议晚间再访".into(),
            },
        )?;
        clock.advance(Duration::minutes(5));
        doorstep.check_out(visit, fix(clock.now(), home, north_m, accuracy_m))?;
        return doorstep.submit(visit);
    }

    let (reason, ability, willingness) = match scenario {
        Scenario::Plan => ("job_loss", 2, 4),
        Scenario::Dispute => ("dispute", 3, 1),
        _ => ("business_failure", 3, 4),
    };
    let answers = [
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("address_confirmed", AnswerValue::YesNo(true)),
        (
            "residence_status",
            AnswerValue::Choice(
                if slot.is_multiple_of(2) {
                    "rented"
                } else {
                    "owned"
                }
                .into(),
            ),
        ),
        (
            "employment_status",
            AnswerValue::Choice(
                match scenario {
                    Scenario::Plan => "unemployed",
                    Scenario::Dispute => "employed",
                    _ => "self_employed",
                }
                .into(),
            ),
        ),
        (
            "monthly_income",
            AnswerValue::Money(cny(4_500 + slot as i64 * 1_500)),
        ),
        ("overdue_reason", AnswerValue::Choice(reason.into())),
        (
            "household_situation",
            AnswerValue::Text("夫妻二人，孩子上小学；妻子在超市上班".into()),
        ),
        ("ability_to_repay", AnswerValue::Integer(ability)),
        ("willingness_to_repay", AnswerValue::Integer(willingness)),
        (
            "contact_details_updated",
            AnswerValue::YesNo(slot.is_multiple_of(2)),
        ),
        (
            "customer_statement",
            AnswerValue::Text(
                match scenario {
                    Scenario::Plan => "去年下半年公司裁员，现在在找工作，希望分期慢慢还。",
                    Scenario::Dispute => "我没有办过这张卡，要求银行提供签字的申请材料。",
                    _ => "饭馆去年关了，现在朋友店里帮工，月底发工资后可以先还一部分。",
                }
                .into(),
            ),
        ),
    ];
    for (item, value) in answers {
        if item == "contact_details_updated" && matches!(value, AnswerValue::YesNo(true)) {
            doorstep.answer(
                visit,
                "new_phone",
                AnswerValue::Text("+86 139 0000 1234".into()),
            )?;
        }
        doorstep.answer(visit, item, value)?;
        clock.advance(Duration::minutes(2));
    }
    doorstep.attach(
        visit,
        AttachmentKind::Photo,
        "image/jpeg",
        &photo(slot),
        AttachmentLink::ChecklistItem {
            item_id: "premises_photos".into(),
        },
    )?;
    doorstep.add_note(visit, "客户本人开门，态度配合。出示身份证，与档案一致。")?;
    clock.advance(Duration::minutes(5));
    doorstep.add_note(
        visit,
        match scenario {
            Scenario::Dispute => "客户否认申请过该卡，情绪激动，已告知争议处理流程和客服电话。",
            Scenario::Plan => "客户出示失业证明，配偶收入可承担每月两千元。",
            _ => "客户出示工资条，承诺月底先还一部分，其余下月结清。",
        },
    )?;
    let rating = |r: u8| Rating::new(r);
    let (code, promise, plan, summary) = match scenario {
        Scenario::PromiseToPay | Scenario::FlaggedPromise => (
            OutcomeCode::PromiseToPay,
            Some(PromiseToPay {
                amount: cny(5_000),
                due_on: day + Duration::days(12),
            }),
            None,
            "承诺十二天内还款五千元",
        ),
        Scenario::Plan => (
            OutcomeCode::RepaymentPlan,
            None,
            Some(RepaymentPlan {
                instalments: 6,
                instalment_amount: cny(2_000),
                first_due_on: day + Duration::days(14),
            }),
            "申请分六期还款，每期两千元",
        ),
        _ => (
            OutcomeCode::Dispute,
            None,
            None,
            "客户对欠款有异议，转争议处理",
        ),
    };
    doorstep.set_outcome(
        visit,
        Outcome {
            code,
            promise,
            plan,
            ability_to_repay: rating(ability as u8),
            willingness_to_repay: rating(willingness as u8),
            summary: summary.into(),
        },
    )?;
    clock.advance(Duration::minutes(35));
    doorstep.check_out(visit, fix(clock.now(), home, north_m, accuracy_m))?;
    doorstep.submit(visit)
}
