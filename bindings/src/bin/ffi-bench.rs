//! The Rust side of the FFI benchmark (`scripts/kotlin --bench`, results in
//! docs/BENCHMARKS.md): prepares a device database with 1,000 cases and a
//! checked-in visit, leaves a copy for the Kotlin side, then times the calls the
//! Kotlin side times, made directly in Rust on its own copy.
//!
//! Usage: `ffi-bench --dir <empty folder>`. Writes `kotlin.db`, `key.hex` and
//! `visit.txt` there and prints one `name microseconds` line per measure: listing
//! all 1,000 cases (five pages of 200), one answer, one `device_id` call (no
//! database: the cost of crossing itself). Each is the best of five rounds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Case, CaseStatus, Customer, Notice, NoticeChannel,
    PhoneNumber,
};
use doorstep_core::money::Money;
use doorstep_core::policy::{GeoPoint, GpsFix, Policy};
use doorstep_core::{CaseQuery, DatabaseKey, Doorstep, ServerSnapshot};
use uuid::Uuid;

/// Cases in the fixture.
const CASES: u32 = 1_000;
/// Cases per page of the case list (the largest page).
const PAGE: u32 = 200;
/// Times the whole list is read in one round.
const LISTS_PER_ROUND: u32 = 4;
/// Answers recorded in one round.
const ANSWERS: u32 = 1_000;
/// Calls that cross without touching the database, in one round.
const CROSSINGS: u32 = 100_000;
/// Rounds; each call's best round is reported (the machine is shared and noisy).
const ROUNDS: u32 = 5;
/// Calls made before timing, the same on both sides (the JVM compiles hot code).
const WARM_UP: u32 = 1_000;
/// The fixture's key (a benchmark fixture, not a secret).
const KEY: [u8; 32] = [0x42; 32];

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = match (args.next().as_deref(), args.next()) {
        (Some("--dir"), Some(dir)) => PathBuf::from(dir),
        _ => {
            eprintln!("usage: ffi-bench --dir <empty folder>");
            return ExitCode::from(2);
        }
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ffi-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path) -> Result<(), String> {
    let fixture = dir.join("rust.db");
    let visit = prepare(&fixture)?;
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", fixture.display()));
        if from.exists() {
            let to = dir.join(format!("kotlin.db{suffix}"));
            std::fs::copy(&from, &to).map_err(|e| format!("copy: {e}"))?;
        }
    }
    std::fs::write(dir.join("key.hex"), hex(&KEY)).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("visit.txt"), visit.to_string()).map_err(|e| e.to_string())?;

    let doorstep = Doorstep::open(&fixture, &DatabaseKey::Raw(KEY), Policy::default())
        .map_err(|e| e.to_string())?;
    let list_page = |offset: u32| {
        let query = CaseQuery {
            limit: PAGE,
            offset,
            ..CaseQuery::default()
        };
        doorstep.list_cases(&query).map(|page| page.len())
    };
    let answer = |i: u32| {
        let value = AnswerValue::Integer(i64::from(i % 5 + 1));
        doorstep.answer(visit, "ability_to_repay", value)
    };
    for i in 0..WARM_UP {
        answer(i).map_err(|e| e.to_string())?;
        list_page((i % (CASES / PAGE)) * PAGE).map_err(|e| e.to_string())?;
        std::hint::black_box(doorstep.device_id());
    }

    let (mut best_list, mut best_answer, mut best_crossing) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let mut listed = 0;
        for _ in 0..LISTS_PER_ROUND {
            for page in 0..CASES / PAGE {
                listed += list_page(page * PAGE).map_err(|e| e.to_string())?;
            }
        }
        if listed != (LISTS_PER_ROUND * CASES) as usize {
            return Err(format!("listed {listed} cases"));
        }
        best_list = best_list.min(micros(started) / f64::from(LISTS_PER_ROUND));

        let started = Instant::now();
        for i in 0..ANSWERS {
            answer(i).map_err(|e| e.to_string())?;
        }
        best_answer = best_answer.min(micros(started) / f64::from(ANSWERS));

        let started = Instant::now();
        for _ in 0..CROSSINGS {
            std::hint::black_box(doorstep.device_id());
        }
        best_crossing = best_crossing.min(micros(started) / f64::from(CROSSINGS));
    }
    println!("list_1000_cases {best_list:.1}");
    println!("answer {best_answer:.1}");
    println!("device_id {best_crossing:.3}");
    Ok(())
}

/// Creates the database: 1,000 cases of one agent, and a visit checked in at
/// 10:00 Beijing time so it can be answered.
fn prepare(path: &Path) -> Result<Uuid, String> {
    let morning = Utc
        .with_ymd_and_hms(2026, 12, 1, 2, 0, 0)
        .single()
        .ok_or("bad date")?;
    let clock = Arc::new(FixedClock::new(morning - Duration::hours(2)));
    let doorstep = Doorstep::open_with_clock(
        path,
        &DatabaseKey::Raw(KEY),
        Policy::default(),
        clock.clone(),
    )
    .map_err(|e| e.to_string())?;
    let agent = Uuid::now_v7();
    let cases: Vec<Case> = (0..CASES).map(|i| case(agent, i)).collect();
    let first = cases[0].id;
    doorstep
        .apply_snapshot(&ServerSnapshot {
            agent,
            templates: vec![home_verification()],
            cases,
        })
        .map_err(|e| e.to_string())?;
    let visit = doorstep
        .plan_visit(first, morning)
        .map_err(|e| e.to_string())?;
    doorstep
        .record_notice(
            visit,
            Notice {
                channel: NoticeChannel::PhoneCall,
                given_at: morning - Duration::hours(2),
                planned_visit_at: morning,
                purpose: "核实逾期情况".into(),
                acknowledged: true,
            },
        )
        .map_err(|e| e.to_string())?;
    clock.set(morning);
    doorstep
        .check_in(
            visit,
            GpsFix {
                point: home(),
                accuracy_m: 8.0,
                mocked: false,
                taken_at: morning,
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(visit)
}

fn home() -> GeoPoint {
    GeoPoint {
        latitude: 39.9087,
        longitude: 116.4605,
    }
}

fn case(agent: Uuid, i: u32) -> Case {
    Case {
        revisit_after: None,
        id: Uuid::now_v7(),
        external_ref: format!("CC-2026-{i:06}"),
        customer: Customer {
            name: format!("客户{i}"),
            national_id_masked: "**************123X".into(),
            phones: vec![PhoneNumber {
                label: "mobile".into(),
                number: format!("+86 138 0000 {i:04}"),
            }],
            addresses: vec![Address {
                kind: AddressKind::Home,
                text: format!("北京市朝阳区建国路 {i} 号"),
                location: Some(home()),
            }],
        },
        product: "Platinum credit card".into(),
        overdue_amount: Money {
            minor_units: 100_000 + i64::from(i) * 37,
            currency: "CNY".into(),
        },
        days_past_due: i % 180,
        assigned: AssignedAgents {
            primary: agent,
            partner: None,
        },
        priority: (i % 5 + 1) as u8,
        due_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1 + i % 28).unwrap_or_default(),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
    }
}

fn micros(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e6
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
