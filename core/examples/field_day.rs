//! Plays one complete home verification visit offline against an encrypted
//! device database and prints the visit report.
//!
//! ```text
//! cargo run -p doorstep-core --example field_day -- --db /tmp/field.db
//! cargo run -p doorstep-core --example field_day -- --db /tmp/field.db --key <64 hex digits>
//! ```
//! Run it again on the same file with another key and it stops with a clear
//! message and a non-zero exit status; the database is left as it was.
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use clap::Parser;
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::{FixedClock, WallClock};
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, AttachmentKind, AttachmentLink, Case, CaseStatus,
    Customer, Notice, NoticeChannel, Outcome, OutcomeCode, PhoneNumber, PromiseToPay, Rating,
};
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::report::LogVerification;
use doorstep_core::{DatabaseKey, Doorstep, DoorstepError, Money, ServerSnapshot, VisitReport};
use uuid::Uuid;

/// The demo key: a fixed raw key, as a phone would keep in its keystore.
const DEMO_KEY: &str = "d00257e9d00257e9d00257e9d00257e9d00257e9d00257e9d00257e9d00257e9";

#[derive(Parser)]
#[command(about = "Play one home verification visit offline and print its report")]
struct Args {
    /// Path of the device database (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Database key: 64 hex digits for a raw key, anything else is a passphrase.
    #[arg(long, default_value = DEMO_KEY)]
    key: String,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(DoorstepError::WrongKey) => {
            eprintln!(
                "error: the key does not open {} (wrong key). Nothing was changed.",
                args.db.display()
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), DoorstepError> {
    let key = match DatabaseKey::from_hex(&args.key) {
        Ok(raw) => raw,
        Err(_) => DatabaseKey::Passphrase(args.key.clone()),
    };
    // A fixed morning in Beijing, so the visit falls inside contact hours
    // whenever the example is run.
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 0, 30, 0)
            .single()
            .unwrap_or_default(),
    ));
    let doorstep = Doorstep::open_with_clock(&args.db, &key, Policy::default(), clock.clone())?;
    doorstep.set_device_utc_offset(480)?;
    let agent = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_a9e7);
    let case = demo_case(agent);
    doorstep.apply_snapshot(&ServerSnapshot {
        agent,
        templates: vec![home_verification()],
        cases: vec![case.clone()],
    })?;

    step("plan the visit and call the customer");
    let visit = doorstep.plan_visit(case.id, clock.now() + Duration::hours(2))?;
    doorstep.record_notice(
        visit,
        Notice {
            channel: NoticeChannel::PhoneCall,
            given_at: clock.now(),
            planned_visit_at: clock.now() + Duration::hours(2),
            purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
            acknowledged: true,
        },
    )?;

    step("two hours later: check in at the door");
    clock.advance(Duration::hours(2));
    let check_in = doorstep.check_in(visit, fix(clock.now(), 0.0004))?;
    println!(
        "    {:.0} m from the registered address, flags: {:?}",
        check_in.distance_m.unwrap_or(f64::NAN),
        check_in.flags
    );

    step("work through the checklist");
    let answers = [
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("address_confirmed", AnswerValue::YesNo(true)),
        ("residence_status", AnswerValue::Choice("rented".into())),
        (
            "employment_status",
            AnswerValue::Choice("self_employed".into()),
        ),
        (
            "monthly_income",
            AnswerValue::Money(Money {
                minor_units: 650_000,
                currency: "CNY".into(),
            }),
        ),
        (
            "overdue_reason",
            AnswerValue::Choice("business_failure".into()),
        ),
        (
            "household_situation",
            AnswerValue::Text("夫妻二人，孩子上小学；妻子在超市上班".into()),
        ),
        ("ability_to_repay", AnswerValue::Integer(3)),
        ("willingness_to_repay", AnswerValue::Integer(4)),
        ("contact_details_updated", AnswerValue::YesNo(true)),
        ("new_phone", AnswerValue::Text("+86 139 0000 1234".into())),
        (
            "customer_statement",
            AnswerValue::Text(
                "饭馆去年关了，现在朋友店里帮工，月底发工资后可以先还一部分。".into(),
            ),
        ),
    ];
    for (item, value) in answers {
        doorstep.answer(visit, item, value)?;
    }
    doorstep.attach(
        visit,
        AttachmentKind::Photo,
        "image/jpeg",
        b"\xff\xd8\xff\xe0 demo photo of the building entrance",
        AttachmentLink::ChecklistItem {
            item_id: "premises_photos".into(),
        },
    )?;

    step("take interview notes");
    doorstep.add_note(visit, "客户本人开门，态度配合。出示身份证，与档案一致。")?;
    doorstep.add_note(
        visit,
        "Customer shows pay slips; proposes ¥5,000 at month end.",
    )?;

    step("record the outcome, check out and submit");
    doorstep.set_outcome(
        visit,
        Outcome {
            code: OutcomeCode::PromiseToPay,
            promise: Some(PromiseToPay {
                amount: Money {
                    minor_units: 500_000,
                    currency: "CNY".into(),
                },
                due_on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default(),
            }),
            plan: None,
            ability_to_repay: Rating::new(3),
            willingness_to_repay: Rating::new(4),
            summary: "承诺月底前还款五千元".into(),
        },
    )?;
    clock.advance(Duration::minutes(35));
    doorstep.check_out(visit, fix(clock.now(), 0.0003))?;
    doorstep.submit(visit)?;

    let report = doorstep.visit_report(visit)?;
    if args.json {
        let json =
            serde_json::to_string_pretty(&report).map_err(|e| DoorstepError::InvalidInput {
                field: "report".into(),
                reason: e.to_string(),
            })?;
        println!("{json}");
    } else {
        print_report(&report);
    }
    println!(
        "\n{} operation(s) wait in the outbox for the next sync.",
        doorstep.pending_outbox_count()?
    );
    Ok(())
}

fn step(text: &str) {
    println!("==> {text}");
}

fn fix(at: chrono::DateTime<Utc>, north_degrees: f64) -> GpsFix {
    GpsFix {
        point: GeoPoint {
            latitude: 39.9087 + north_degrees,
            longitude: 116.4605,
        },
        accuracy_m: 12.0,
        mocked: false,
        taken_at: at,
    }
}

fn demo_case(agent: Uuid) -> Case {
    Case {
        revisit_after: None,
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_ca5e),
        external_ref: "CC-2026-004711".into(),
        customer: Customer {
            name: "王建国".into(),
            national_id_masked: mask_national_id("11010519800101123X"),
            phones: vec![PhoneNumber {
                label: "mobile".into(),
                number: "+86 138 0000 4711".into(),
            }],
            addresses: vec![Address {
                kind: AddressKind::Home,
                text: "北京市朝阳区建国路 88 号 3 单元 502".into(),
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
        days_past_due: 47,
        assigned: AssignedAgents {
            primary: agent,
            partner: None,
        },
        priority: 4,
        due_date: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default(),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
    }
}

fn print_report(report: &VisitReport) {
    let case = &report.case;
    let visit = &report.visit;
    println!("\n──────── visit report ────────");
    println!(
        "case {}  {}  id {}  overdue {} ({} days, {})",
        case.external_ref,
        case.customer.name,
        case.customer.national_id_masked,
        case.overdue_amount,
        case.days_past_due,
        case.bucket().code()
    );
    println!(
        "state: {}  (submitted {} time(s))",
        visit.state.code(),
        visit.submissions
    );
    for notice in &visit.notices {
        println!(
            "notice: {:?} at {}, acknowledged: {}",
            notice.channel, notice.given_at, notice.acknowledged
        );
    }
    for (label, check) in [
        ("check-in ", &visit.check_in),
        ("check-out", &visit.check_out),
    ] {
        if let Some(check) = check {
            println!(
                "{label}: {}  ±{:.0} m  {:.0} m from address  flags {:?}",
                check.at,
                check.fix.accuracy_m,
                check.distance_m.unwrap_or(f64::NAN),
                check.flags
            );
        }
    }
    println!(
        "checklist ({} answers, {} problem(s)):",
        report.answers.len(),
        report.checklist_problems.len()
    );
    for answer in &report.answers {
        println!(
            "  {:<28} {}",
            answer.label.en,
            serde_json::to_string(&answer.value).unwrap_or_default()
        );
    }
    println!("notes:");
    for note in &report.notes {
        println!("  [{}] {}", note.written_at, note.text);
    }
    for attachment in &report.attachments {
        println!(
            "attachment: {:?} {} {} bytes sha256 {}",
            attachment.kind,
            attachment.mime_type,
            attachment.size_bytes,
            &attachment.sha256[..16]
        );
    }
    if let Some(outcome) = &visit.outcome {
        println!("outcome: {}", outcome.code.code());
        if let Some(promise) = &outcome.promise {
            println!("  promise to pay {} by {}", promise.amount, promise.due_on);
        }
    }
    match &report.log {
        LogVerification::Intact { chains } => println!(
            "event log: intact, {} entries in {} chain(s)",
            chains.iter().map(|c| c.length).sum::<u64>(),
            chains.len()
        ),
        LogVerification::Broken { index, reason } => {
            println!("event log: BROKEN at entry {index} ({})", reason.code())
        }
    }
}
