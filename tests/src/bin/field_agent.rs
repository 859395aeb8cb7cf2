//! A Rust agent's phone for the end-to-end test (android-demo/shell's
//! `EndToEndTest`): one `doorstep-core` device, driven one step per run.
//!
//! ```text
//! field_agent --db FILE --key HEX --server URL --username U [--password P] STEP [options]
//!   register                       sign in with --password (which registers this phone,
//!                                  POST /v1/devices), then sync; the password is not kept
//!   work --case ID --offset MIN --photo FILE --note TEXT
//!                                  a whole visit offline; prints visit= and sha256=
//!   sync [--visit ID]              sync now; prints the report (and the visit's state)
//!   resubmit --visit ID --note TEXT
//!                                  edit a returned visit and submit it again
//! ```
//!
//! The later steps sync with the refresh credential the core kept; they need
//! no password. Prints `name=value` lines. A failed step prints `error=<code>` (for a sync,
//! the sync failure's code, e.g. `offline`) and exits with status 1; a wrong
//! command line exits with status 2. Every rule is the core's: this only calls
//! the facade, with the wall clock and the ureq transport.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, Notice, NoticeChannel, Outcome, OutcomeCode, PromiseToPay,
    Rating, ReviewDecision,
};
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{DatabaseKey, Doorstep, DoorstepError, Money, NoProgress};
use uuid::Uuid;

/// The registered position of the test cases' home address.
const HOME: GeoPoint = GeoPoint {
    latitude: 39.9087,
    longitude: 116.4605,
};

/// What went wrong, for the exit status.
enum Failure {
    /// The command line: exit status 2.
    Usage(String),
    /// The core refused or the sync failed: `error=<code>`, exit status 1.
    Core(DoorstepError),
}

impl From<DoorstepError> for Failure {
    fn from(e: DoorstepError) -> Self {
        Failure::Core(e)
    }
}

/// The parsed command line: the step and its `--name value` options.
struct Args {
    step: String,
    options: HashMap<String, String>,
}

impl Args {
    fn parse() -> Result<Args, Failure> {
        let mut step = None;
        let mut options = HashMap::new();
        let mut words = std::env::args().skip(1);
        while let Some(word) = words.next() {
            if let Some(name) = word.strip_prefix("--") {
                let value = words
                    .next()
                    .ok_or_else(|| Failure::Usage(format!("--{name} needs a value")))?;
                options.insert(name.to_owned(), value);
            } else if step.replace(word).is_some() {
                return Err(Failure::Usage("one step per run".into()));
            }
        }
        let step = step.ok_or_else(|| Failure::Usage("no step given".into()))?;
        Ok(Args { step, options })
    }

    fn get(&self, name: &str) -> Result<&str, Failure> {
        self.options
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Failure::Usage(format!("--{name} is required")))
    }

    fn uuid(&self, name: &str) -> Result<Uuid, Failure> {
        self.get(name)?
            .parse()
            .map_err(|_| Failure::Usage(format!("--{name} is not a UUID")))
    }
}

/// The phone: its core and transport.
struct Phone {
    doorstep: Doorstep,
    transport: UreqTransport,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("usage: {message} (see the source's header)");
            ExitCode::from(2)
        }
        Err(Failure::Core(e)) => {
            let code = match &e {
                DoorstepError::SyncFailed { code, .. } => code.as_str(),
                other => other.code(),
            };
            println!("error={code}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Failure> {
    let args = Args::parse()?;
    let key = DatabaseKey::from_hex(args.get("key")?)
        .map_err(|_| Failure::Usage("--key must be 64 hex digits".into()))?;
    let phone = Phone {
        doorstep: Doorstep::open(&PathBuf::from(args.get("db")?), &key, Policy::default())?,
        transport: UreqTransport::new(args.get("server")?, Duration::from_secs(30)),
    };
    match args.step.as_str() {
        "register" => register(&phone, args.get("username")?, args.get("password")?),
        "work" => work(&phone, &args),
        "sync" => sync(&phone, &args),
        "resubmit" => resubmit(&phone, &args),
        other => Err(Failure::Usage(format!("unknown step {other:?}"))),
    }
}

fn register(phone: &Phone, username: &str, password: &str) -> Result<(), Failure> {
    let user = phone
        .doorstep
        .sign_in(&phone.transport, username, password)?;
    println!("device_id={}", phone.doorstep.device_id());
    println!("user_id={user}");
    let report = phone.doorstep.sync_now(&phone.transport, &NoProgress)?;
    println!("pulled={}", report.pulled);
    Ok(())
}

fn work(phone: &Phone, args: &Args) -> Result<(), Failure> {
    let doorstep = &phone.doorstep;
    let case = args.uuid("case")?;
    let offset: i32 = args
        .get("offset")?
        .parse()
        .map_err(|_| Failure::Usage("--offset is minutes".into()))?;
    let photo = std::fs::read(args.get("photo")?)
        .map_err(|e| Failure::Usage(format!("--photo unreadable: {e}")))?;
    doorstep.set_device_utc_offset(offset)?;

    let now = Utc::now();
    let visit = doorstep.plan_visit(case, now)?;
    doorstep.record_notice(
        visit,
        Notice {
            channel: NoticeChannel::Sms,
            given_at: now - chrono::Duration::hours(3),
            planned_visit_at: now,
            purpose: "核实逾期情况".into(),
            acknowledged: true,
        },
    )?;
    doorstep.check_in(visit, fix_at_home())?;
    let answers = [
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("address_confirmed", AnswerValue::YesNo(true)),
        ("residence_status", AnswerValue::Choice("owned".into())),
        ("employment_status", AnswerValue::Choice("employed".into())),
        ("monthly_income", AnswerValue::Money(cny(820_000))),
        ("overdue_reason", AnswerValue::Choice("illness".into())),
        (
            "household_situation",
            AnswerValue::Text("独居，母亲住院".into()),
        ),
        ("ability_to_repay", AnswerValue::Integer(2)),
        ("willingness_to_repay", AnswerValue::Integer(5)),
        ("contact_details_updated", AnswerValue::YesNo(false)),
    ];
    for (item, value) in answers {
        doorstep.answer(visit, item, value)?;
    }
    let attachment = doorstep.attach(
        visit,
        AttachmentKind::Photo,
        "image/png",
        &photo,
        AttachmentLink::ChecklistItem {
            item_id: "premises_photos".into(),
        },
    )?;
    doorstep.add_note(visit, args.get("note")?)?;
    // The promise falls due a week after the visit day, in the case's time zone.
    let visit_day = (now + chrono::Duration::minutes(offset.into())).date_naive();
    doorstep.set_outcome(
        visit,
        Outcome {
            code: OutcomeCode::PromiseToPay,
            promise: Some(PromiseToPay {
                amount: cny(300_000),
                due_on: visit_day + chrono::Duration::days(7),
            }),
            plan: None,
            ability_to_repay: Rating::new(2),
            willingness_to_repay: Rating::new(5),
            summary: "承诺一周内还款三千元".into(),
        },
    )?;
    doorstep.check_out(visit, fix_at_home())?;
    doorstep.submit(visit)?;

    let report = doorstep.visit_report(visit)?;
    let sha256 = report
        .attachments
        .iter()
        .find(|a| a.id == attachment)
        .map(|a| a.sha256.clone())
        .unwrap_or_default();
    println!("visit={visit}");
    println!("sha256={sha256}");
    println!("state={}", report.visit.state.code());
    println!("pending={}", doorstep.pending_outbox_count()?);
    Ok(())
}

fn sync(phone: &Phone, args: &Args) -> Result<(), Failure> {
    let report = phone.doorstep.sync_now(&phone.transport, &NoProgress)?;
    println!("applied={}", report.applied);
    println!("duplicates={}", report.duplicates);
    println!("rejected={}", report.rejected);
    println!("pulled={}", report.pulled);
    println!("uploaded={}", report.uploaded);
    println!("upload_refused={}", report.upload_refused);
    println!("pending={}", phone.doorstep.pending_outbox_count()?);
    if args.options.contains_key("visit") {
        let visit = phone.doorstep.visit_report(args.uuid("visit")?)?.visit;
        println!("state={}", visit.state.code());
        println!("submissions={}", visit.submissions);
        if let Some(review) = visit.reviews.last() {
            match &review.decision {
                ReviewDecision::Approve => println!("review=approve"),
                ReviewDecision::Return {
                    reason_code,
                    comment,
                } => {
                    println!("review=return");
                    println!("reason_code={reason_code}");
                    println!("comment={comment}");
                }
            }
        }
    }
    Ok(())
}

fn resubmit(phone: &Phone, args: &Args) -> Result<(), Failure> {
    let visit = args.uuid("visit")?;
    let doorstep = &phone.doorstep;
    // The supervisor's comment asked for the repayment ability to be reassessed.
    doorstep.answer(visit, "ability_to_repay", AnswerValue::Integer(3))?;
    doorstep.add_note(visit, args.get("note")?)?;
    doorstep.submit(visit)?;
    let report = doorstep.visit_report(visit)?;
    println!("state={}", report.visit.state.code());
    println!("pending={}", doorstep.pending_outbox_count()?);
    Ok(())
}

fn fix_at_home() -> GpsFix {
    GpsFix {
        point: GeoPoint {
            latitude: HOME.latitude + 0.0001,
            longitude: HOME.longitude,
        },
        accuracy_m: 10.0,
        mocked: false,
        taken_at: Utc::now(),
    }
}

fn cny(minor_units: i64) -> Money {
    Money {
        minor_units,
        currency: "CNY".into(),
    }
}
