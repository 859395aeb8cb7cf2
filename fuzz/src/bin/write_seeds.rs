//! Writes the seed corpora of the fuzz targets into `fuzz/seeds/<target>/`:
//! push bodies made by `PushRequest::new` (from the fixed visit, and from a
//! real device core working a visit offline), checklist templates and case
//! CSV files.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --bin write-seeds
//! ```
//! The fixed bodies come out the same on every run; the real device's body
//! has fresh ids each time.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use doorstep_core::checklist::{AnswerValue, HOME_VERIFICATION_JSON, home_verification};
use doorstep_core::clock::{FixedClock, WallClock};
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, Feedback, InterviewNote, Notice, NoticeChannel, Outcome,
    OutcomeCode, Rating, Review, ReviewDecision, VisitChange,
};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::sync::protocol::PushRequest;
use doorstep_core::{DatabaseKey, Doorstep, ServerSnapshot};
use doorstep_fuzz::fixture;
use uuid::Uuid;

/// A template that uses every item kind and every condition.
const EVERY_KIND_TEMPLATE: &str = r#"{"format":1,"key":"test-template_2","version":3,
"title":{"zh-CN":"测试","en":"Test"},
"items":[
 {"id":"seen","label":{"zh-CN":"见到","en":"Seen"},"kind":{"type":"yes_no"},"required":true},
 {"id":"pick","label":{"zh-CN":"选","en":"Pick"},"required":true,
  "kind":{"type":"single_choice","options":[{"id":"a","label":{"zh-CN":"甲","en":"A"}},{"id":"b","label":{"zh-CN":"乙","en":"B"}},{"id":"other","label":{"zh-CN":"其他","en":"Other"}}]}},
 {"id":"many","label":{"zh-CN":"多","en":"Many"},"required":false,
  "kind":{"type":"multiple_choice","options":[{"id":"x","label":{"zh-CN":"x","en":"x"}},{"id":"y","label":{"zh-CN":"y","en":"y"}},{"id":"z","label":{"zh-CN":"z","en":"z"}}],"min_selected":1,"max_selected":2}},
 {"id":"score","label":{"zh-CN":"分","en":"Score"},"required":true,"kind":{"type":"integer","min":1,"max":5},
  "visible_when":{"type":"yes_no_equals","item":"seen","value":true}},
 {"id":"income","label":{"zh-CN":"收入","en":"Income"},"required":false,"kind":{"type":"money","currency":"CNY","min_minor_units":0,"max_minor_units":100000000}},
 {"id":"note","label":{"zh-CN":"备注","en":"Note"},"help":{"zh-CN":"帮助","en":"Help"},"required":true,"kind":{"type":"text","max_chars":10},
  "visible_when":{"type":"choice_in","item":"pick","options":["other"]}},
 {"id":"when","label":{"zh-CN":"日期","en":"When"},"required":false,"kind":{"type":"date","not_before":"2020-01-01","not_after":"2030-12-31"},
  "visible_when":{"type":"choices_contain","item":"many","option":"z"}},
 {"id":"photos","label":{"zh-CN":"照片","en":"Photos"},"required":true,"kind":{"type":"photo","min_count":1,"max_count":3},
  "visible_when":{"type":"answered","item":"note"}},
 {"id":"sign","label":{"zh-CN":"签名","en":"Sign"},"required":false,"kind":{"type":"signature"}}
]}
"#;

/// The example of docs/CASES_CSV.md.
const EXAMPLE_CSV: &str = include_str!("../../seeds/case_csv/example.csv");

/// Every column, a byte order mark, CRLF, quotes and a newline in a field.
const EVERY_COLUMN_CSV: &str = "\u{feff}case_id,external_ref,customer_name,national_id_masked,phone,address,latitude,longitude,product,overdue_amount,currency,days_past_due,agent,partner,priority,due_date,utc_offset_minutes\r\n\
0190a000-0000-7000-8000-000000000001,CC-2026-000123,王小明,**************123X,+86 138 0000 0001,\"北京市朝阳区建国路 88 号, 3 单元\",39.9087,116.4605,白金信用卡,12500.00,CNY,45,agent1,agent2,3,2026-03-20,480\r\n\
0190a000-0000-7000-8000-000000000002,CC-2026-9,\"张\"\"小\"\"红\",**************8888,,\"上海市浦东新区\n世纪大道 100 号\",,,,0.5,CNY,1,agent2,,5,2026-04-01,\r\n";

/// Rows with problems: an unknown agent, a supervisor as agent, a bad
/// amount, an unmasked id, half a position, a duplicate id, a short row.
const PROBLEMS_CSV: &str = "case_id,external_ref,customer_name,national_id_masked,address,latitude,longitude,overdue_amount,currency,days_past_due,agent,partner,priority,due_date\n\
0190a000-0000-7000-8000-000000000003,R1,李四,110105198001011234,北京,39.9,,1e3,CNY,-1,nobody,lin,9,2026-02-30\n\
0190a000-0000-7000-8000-000000000003,R2,李四,**************1234,北京,,,300,XX,2,lin,agent1,1,2026-02-01\n\
not-a-uuid,R3\n";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("write-seeds: {message}");
            ExitCode::FAILURE
        }
    }
}

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

fn write(target: &str, name: &str, bytes: &[u8]) -> Result<(), String> {
    let dir = seeds_dir().join(target);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{}", path.display());
    Ok(())
}

fn body(entries: &[LogEntry]) -> Result<Vec<u8>, String> {
    serde_json::to_vec(&PushRequest::new(entries)).map_err(|e| e.to_string())
}

fn run() -> Result<(), String> {
    let chain = fixture::visit_chain();
    let rest = chain
        .get(fixture::HISTORY_LEN..)
        .ok_or("the fixed visit is shorter than its history")?;
    write("push_body", "continue_visit.json", &body(rest)?)?;

    let new_visit = fixture::chain(
        fixture::NEW_VISIT,
        fixture::DEVICE,
        &fixture::full_visit(),
        fixture::FIRST_MILLIS + 3_600_000,
    );
    write("push_body", "new_visit.json", &body(&new_visit)?)?;

    // Two visits interleaved, as an outbox holds them.
    let mut interleaved = Vec::new();
    for (a, b) in rest.iter().zip(&new_visit) {
        interleaved.push(a.clone());
        interleaved.push(b.clone());
    }
    write("push_body", "interleaved.json", &body(&interleaved)?)?;

    // The partner's phone adds a note to the fixed visit.
    let partner_note = VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0e02),
            author: fixture::PARTNER,
            written_at: fixture::t0(),
            text: "邻居证实客户住在此处".into(),
        },
    };
    let partner = fixture::chain(
        fixture::VISIT,
        fixture::PARTNER_DEVICE,
        &[partner_note],
        fixture::FIRST_MILLIS + 10_500,
    );
    write("push_body", "partner.json", &body(&partner)?)?;

    // Every optional field of a pushed entry: a random op id, a counter and
    // another clock node on entries that still link; then an entry altered
    // after it was hashed (its hash is sent), and a gap.
    let mut odd: Vec<LogEntry> = rest.to_vec();
    if let [first, second, ..] = odd.as_mut_slice() {
        first.op_id = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_00dd);
        first.hlc.counter = 3;
        second.hlc.node = Uuid::nil();
    }
    let mut prev_hash = chain[fixture::HISTORY_LEN - 1].hash.clone();
    for entry in &mut odd {
        entry.prev_hash = prev_hash;
        entry.hash = entry.compute_hash();
        prev_hash = entry.hash.clone();
    }
    let last = odd.len() - 1;
    odd[last - 2].payload.push(' ');
    odd.remove(last - 1);
    write("push_body", "odd_fields.json", &body(&odd)?)?;

    write("push_body", "real_device.json", &real_device_body()?)?;

    // Each change of the fixed visit at its own place (the first byte), and
    // a few that only some states take.
    let mut changes: Vec<(u8, VisitChange)> = (0u8..).zip(fixture::full_visit()).collect();
    let after_all = u8::try_from(changes.len()).map_err(|e| e.to_string())?;
    changes.push((
        3,
        VisitChange::Cancelled {
            reason: "客户住院".into(),
        },
    ));
    changes.push((
        after_all,
        VisitChange::FeedbackRecorded {
            feedback: Feedback {
                channel: NoticeChannel::PhoneCall,
                delivered_at: fixture::t0(),
                summary: "已告知还款计划".into(),
                customer_confirmed: true,
            },
        },
    ));
    changes.push((
        after_all,
        VisitChange::Reviewed {
            review: Review {
                decision: ReviewDecision::Approve,
                reviewer: fixture::SUPERVISOR,
                decided_at: fixture::t0(),
            },
        },
    ));
    for (at, change) in changes {
        let mut data = vec![at];
        data.extend(serde_json::to_vec(&change).map_err(|e| e.to_string())?);
        write(
            "visit_change",
            &format!("{at:02}_{}.bin", change.kind()),
            &data,
        )?;
    }

    write(
        "checklist_template",
        "home_verification.json",
        HOME_VERIFICATION_JSON.as_bytes(),
    )?;
    write(
        "checklist_template",
        "home_verification_canonical.json",
        home_verification().to_json().as_bytes(),
    )?;
    write(
        "checklist_template",
        "every_kind.json",
        EVERY_KIND_TEMPLATE.as_bytes(),
    )?;

    write("case_csv", "example.csv", EXAMPLE_CSV.as_bytes())?;
    write("case_csv", "every_column.csv", EVERY_COLUMN_CSV.as_bytes())?;
    write("case_csv", "problems.csv", PROBLEMS_CSV.as_bytes())?;
    Ok(())
}

/// A device core works a visit of the fixed case offline; its log as the
/// push body it would send.
fn real_device_body() -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir().join(format!("doorstep-write-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = play_visit(&dir.join("phone.db"));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn play_visit(db: &Path) -> Result<Vec<u8>, String> {
    let err = |e: doorstep_core::DoorstepError| e.to_string();
    let key = DatabaseKey::from_hex(&"d0".repeat(32)).map_err(|e| e.to_string())?;
    let start = Utc
        .with_ymd_and_hms(2026, 3, 2, 0, 30, 0)
        .single()
        .ok_or("bad start time")?;
    let clock = Arc::new(FixedClock::new(start));
    let phone =
        Doorstep::open_with_clock(db, &key, Policy::default(), clock.clone()).map_err(err)?;
    phone.set_device_utc_offset(480).map_err(err)?;
    phone
        .apply_snapshot(&ServerSnapshot {
            agent: fixture::AGENT,
            templates: vec![home_verification()],
            cases: vec![fixture::case()],
        })
        .map_err(err)?;
    let visit = phone
        .plan_visit(fixture::CASE, clock.now() + Duration::hours(2))
        .map_err(err)?;
    phone
        .record_notice(
            visit,
            Notice {
                channel: NoticeChannel::PhoneCall,
                given_at: clock.now(),
                planned_visit_at: clock.now() + Duration::hours(2),
                purpose: "核实逾期情况，了解还款能力与还款意愿".into(),
                acknowledged: true,
            },
        )
        .map_err(err)?;
    clock.advance(Duration::hours(2));
    let fix = |north: f64| GpsFix {
        point: GeoPoint {
            latitude: 39.9087 + north,
            longitude: 116.4605,
        },
        accuracy_m: 12.0,
        mocked: false,
        taken_at: clock.now(),
    };
    phone.check_in(visit, fix(0.0004)).map_err(err)?;
    let answers = [
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("residence_status", AnswerValue::Choice("rented".into())),
        ("ability_to_repay", AnswerValue::Integer(3)),
        ("willingness_to_repay", AnswerValue::Integer(4)),
        (
            "customer_statement",
            AnswerValue::Text("月底发工资后可以先还一部分。".into()),
        ),
    ];
    for (item, value) in answers {
        phone.answer(visit, item, value).map_err(err)?;
    }
    phone
        .attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            b"\xff\xd8\xff\xe0 seed photo",
            AttachmentLink::ChecklistItem {
                item_id: "premises_photos".into(),
            },
        )
        .map_err(err)?;
    phone
        .add_note(visit, "客户本人开门，态度配合。")
        .map_err(err)?;
    phone
        .set_outcome(
            visit,
            Outcome {
                code: OutcomeCode::Dispute,
                promise: None,
                plan: None,
                ability_to_repay: Rating::new(3),
                willingness_to_repay: Rating::new(4),
                summary: "客户需要考虑".into(),
            },
        )
        .map_err(err)?;
    clock.advance(Duration::minutes(30));
    phone.check_out(visit, fix(0.0003)).map_err(err)?;
    let log = phone.visit_log(visit).map_err(err)?;
    body(&log)
}
