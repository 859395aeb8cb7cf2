//! P11: the supervisor's pages (queue, dashboard, export, the visits list
//! plain, filtered and sorted, and searched, a case's page, the audit
//! trail) for a team of 50 agents with 30 days of
//! visits (4 a day each: 6,000 visits, about 80,000 log entries), on the
//! SQLite store (see `docs/BENCHMARKS.md`, "Console"). Each page is timed as
//! the server answers it (the request through the router, HTML or CSV out);
//! the team read under it is timed both ways in the same run: from the
//! stored visit summaries (what the pages do) and by folding every visit's
//! log (what they did before summaries, the baseline).
//!
//! The visits are pushed through the server's own push and review services,
//! as phones and a supervisor would make them: submitted, a third approved,
//! a third returned. Under `cargo test --benches` (no `--bench` argument)
//! the team shrinks to 2 agents and 2 days so the smoke run stays fast.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::Hlc;
use doorstep_core::domain::review::ReviewDecision;
use doorstep_core::domain::{
    Case, InterviewNote, Notice, NoticeChannel, Outcome, OutcomeCode, SiteCheck, VisitChange,
    VisitState,
};
use doorstep_core::event_log::{EntryDraft, LogEntry, append};
use doorstep_core::policy::GpsFix;
use doorstep_core::sync::protocol::Role;
use doorstep_server::access::Access;
use doorstep_server::blobs::FsBlobStore;
use doorstep_server::console::queue::{team_visits_in, team_visits_refolded};
use doorstep_server::service::Session;
use doorstep_server::service::push::{MAX_CLOCK_SKEW_HOURS, PushRules, push};
use doorstep_server::service::review::review_as;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, Store, UserRecord};
use doorstep_server::{AppState, admin, app_with_console, console};
use doorstep_tests::workload::{self, HOME};
use tower::ServiceExt;
use uuid::Uuid;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Agents in the team and days of visits.
fn team_size() -> (usize, usize) {
    if full_run() { (50, 30) } else { (2, 2) }
}

const VISITS_PER_DAY: usize = 4;
const PASSWORD: &str = "pw-bench-console-1";

/// A team's store, and what the pages need to be asked for.
struct Team {
    store: Arc<dyn Store>,
    router: axum::Router,
    supervisor: UserRecord,
    cookie: String,
    visits: usize,
    _dir: tempfile::TempDir,
}

fn site(at: DateTime<Utc>) -> SiteCheck {
    SiteCheck {
        at,
        utc_offset_minutes: 480,
        fix: GpsFix {
            point: HOME,
            accuracy_m: 8.0,
            mocked: false,
            taken_at: at,
        },
        distance_m: Some(0.0),
        flags: Vec::new(),
    }
}

/// One visit to `case` planned at `at`, as its agent's phone records it up
/// to submission: notice, check-in, answers, notes, outcome, check-out.
fn visit_changes(case: &Case, at: DateTime<Utc>) -> Vec<VisitChange> {
    let hour = chrono::Duration::hours(1);
    let mut changes = vec![
        VisitChange::Planned {
            case_id: case.id,
            agent: case.assigned.primary,
            partner: None,
            template_key: "home-verification".into(),
            template_version: 1,
            planned_for: at,
        },
        VisitChange::NoticeRecorded {
            notice: Notice {
                channel: NoticeChannel::PhoneCall,
                given_at: at - hour * 2,
                planned_visit_at: at,
                purpose: "overdue review".into(),
                acknowledged: true,
            },
        },
        VisitChange::CheckedIn { check: site(at) },
    ];
    for (item, value) in [
        ("identity_confirmed", AnswerValue::YesNo(true)),
        ("address_confirmed", AnswerValue::YesNo(true)),
        ("residence_status", AnswerValue::Choice("rented".into())),
        ("ability_to_repay", AnswerValue::Integer(3)),
        ("willingness_to_repay", AnswerValue::Integer(4)),
    ] {
        changes.push(VisitChange::Answered {
            item_id: item.into(),
            value,
        });
    }
    for text in [
        "customer's shop closed in October; looking for work",
        "spouse works at the district hospital",
    ] {
        changes.push(VisitChange::NoteAdded {
            note: InterviewNote {
                id: Uuid::now_v7(),
                author: case.assigned.primary,
                written_at: at,
                text: text.into(),
            },
        });
    }
    changes.push(VisitChange::OutcomeSet {
        outcome: Outcome {
            code: OutcomeCode::NotHome,
            promise: None,
            plan: None,
            ability_to_repay: None,
            willingness_to_repay: None,
            summary: "nobody answered the door".into(),
        },
    });
    changes.push(VisitChange::CheckedOut {
        check: site(at + chrono::Duration::minutes(40)),
    });
    changes.push(VisitChange::Submitted {
        at: at + chrono::Duration::minutes(45),
    });
    changes
}

/// The chain of one visit by `device`, stamped from `at` on.
fn chain(device: Uuid, visit: Uuid, changes: &[VisitChange], at: DateTime<Utc>) -> Vec<LogEntry> {
    let mut entries: Vec<LogEntry> = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let stamp = at + chrono::Duration::seconds(i as i64 * 30);
        let draft = EntryDraft {
            visit_id: visit,
            author: device,
            op_id: Uuid::now_v7(),
            kind: change.kind().into(),
            payload: serde_json::to_string(change).unwrap(),
            hlc: Hlc {
                millis: stamp.timestamp_millis() as u64,
                counter: 0,
                node: device,
            },
            device_time: stamp,
            utc_offset_minutes: 480,
        };
        entries.push(append(entries.last(), draft).unwrap());
    }
    entries
}

fn prepare() -> Team {
    let (agents, days) = team_size();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).unwrap());
    let s = store.as_ref();
    let now = Utc::now();
    admin::create_user(s, "lead", PASSWORD, Role::Supervisor, None, now).unwrap();
    admin::publish_template(s, &home_verification(), now).unwrap();
    let read_user = |name: &str| store::read(s, |tx| tx.user_by_name(name)).unwrap().unwrap();
    let supervisor = read_user("lead");
    // The first day's 09:00 in Beijing, `days` days ago.
    let first = workload::morning() - chrono::Duration::days(days as i64 + 7);
    let rules = PushRules {
        now,
        max_clock_skew: chrono::Duration::hours(MAX_CLOCK_SKEW_HOURS),
        protocol: None,
        app_version: None,
    };
    let mut visits = 0;
    for a in 0..agents {
        let name = format!("agent-{a:03}");
        admin::create_user(s, &name, PASSWORD, Role::Agent, Some("lead"), now).unwrap();
        let device = Uuid::now_v7();
        admin::create_device(s, &name, device, now).unwrap();
        let agent = read_user(&name);
        let cases: Vec<Case> = (0..days * VISITS_PER_DAY)
            .map(|i| workload::sample_case(agent.id, a * 1_000 + i))
            .collect();
        admin::import_cases(s, &cases, now).unwrap();
        let session = Session {
            user: agent,
            device: store::read(s, |tx| tx.device(device)).unwrap().unwrap(),
            token_sha256: String::new(),
        };
        for day in 0..days {
            let mut ops = Vec::new();
            let mut day_visits = Vec::new();
            for v in 0..VISITS_PER_DAY {
                let case = &cases[day * VISITS_PER_DAY + v];
                let at = first
                    + chrono::Duration::days(day as i64)
                    + chrono::Duration::hours(2 * v as i64);
                let visit = Uuid::now_v7();
                ops.extend(chain(device, visit, &visit_changes(case, at), at));
                day_visits.push(visit);
            }
            let (answer, _) = push(s, &session, &ops, &rules).unwrap();
            assert!(answer.not_applied.is_empty(), "{:?}", answer.not_applied);
            // A third approved, a third returned, a third left to review.
            for (i, visit) in day_visits.iter().enumerate() {
                let decision = match (a + day + i) % 3 {
                    0 => ReviewDecision::Approve,
                    1 => ReviewDecision::Return {
                        reason_code: "missing_photos".into(),
                        comment: "add the premises photos".into(),
                    },
                    _ => continue,
                };
                review_as(s, &supervisor, None, *visit, decision, now).unwrap();
            }
            visits += day_visits.len();
        }
    }
    let blobs = Arc::new(FsBlobStore::open(&dir.path().join("blobs")).unwrap());
    let router = app_with_console(
        AppState::new(Arc::clone(&store), blobs),
        console::ConsoleConfig::default(),
    );
    let session = console::sign_in::sign_in(s, "lead", PASSWORD, now).unwrap();
    Team {
        store,
        router,
        supervisor,
        cookie: format!(
            "{}={session}; doorstep_lang=en",
            console::sign_in::SESSION_COOKIE
        ),
        visits,
        _dir: dir,
    }
}

/// Asks for `path` as the supervisor; the body's length.
async fn page(team: &Team, path: &str) -> usize {
    let request = Request::builder()
        .uri(path)
        .header(header::COOKIE, &team.cookie)
        .body(Body::empty())
        .unwrap();
    answer(team, request, path).await.len()
}

/// Posts `form` (url-encoded) to `path` as the supervisor; the body's length.
async fn posted(team: &Team, path: &str, form: &str) -> usize {
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::COOKIE, &team.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    answer(team, request, path).await.len()
}

async fn answer(team: &Team, request: Request<Body>, path: &str) -> String {
    let response = team.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The session's CSRF token, from a page's form.
async fn csrf(team: &Team) -> String {
    let request = Request::builder()
        .uri("/console/visits")
        .header(header::COOKIE, &team.cookie)
        .body(Body::empty())
        .unwrap();
    let body = answer(team, request, "/console/visits").await;
    let field = "name=\"csrf\" value=\"";
    let at = body.find(field).unwrap() + field.len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

fn console_pages(c: &mut Criterion) {
    let team = prepare();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let access = Access::of(&team.supervisor, None);
    let store = team.store.as_ref();
    let lead = team.supervisor.id;
    // Both reads list the same visits, the same way.
    let (summarised, _) = team_visits_in(store, &access, lead, |_| true).unwrap();
    let (refolded, _) = team_visits_refolded(store, &access, lead, |_| true).unwrap();
    assert_eq!(summarised.len(), team.visits);
    assert_eq!(
        summarised.iter().map(|i| &i.visit).collect::<Vec<_>>(),
        refolded.iter().map(|i| &i.visit).collect::<Vec<_>>()
    );
    let waiting = summarised
        .iter()
        .filter(|i| i.visit.state == VisitState::Submitted)
        .count();
    println!(
        "console: a team of {} visits, {} waiting for review",
        team.visits, waiting
    );
    // A case with a visit, and a search for the last digits of its account.
    let sample = &summarised[summarised.len() / 2];
    let case_path = format!("/console/cases/{}", sample.case.id);
    let digits = &sample.case.external_ref[sample.case.external_ref.len() - 4..];
    let token = runtime.block_on(csrf(&team));
    let search = format!("csrf={token}&q={digits}&sort=amount&dir=desc");
    let filtered = "/console/visits?state=approved&bucket=M2&sort=amount&dir=desc&page=2";
    for path in [
        "/console/queue",
        "/console/dashboard",
        "/console/cases/export.csv",
        "/console/visits",
        filtered,
        case_path.as_str(),
        "/console/audit",
    ] {
        let bytes = runtime.block_on(page(&team, path));
        println!("console: {path} answers {bytes} bytes");
    }
    let bytes = runtime.block_on(posted(&team, "/console/visits", &search));
    println!("console: a search of the visits list answers {bytes} bytes");

    let mut group = c.benchmark_group("console");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("team_read/summaries", |b| {
        b.iter(|| team_visits_in(store, &access, lead, |_| true).unwrap())
    });
    group.bench_function("team_read/refold", |b| {
        b.iter(|| team_visits_refolded(store, &access, lead, |_| true).unwrap())
    });
    for (name, path) in [
        ("page/queue", "/console/queue"),
        ("page/dashboard", "/console/dashboard"),
        ("page/export", "/console/cases/export.csv"),
        ("page/visits", "/console/visits"),
        ("page/visits_filtered_sorted", filtered),
        ("page/case", case_path.as_str()),
        ("page/audit", "/console/audit"),
    ] {
        group.bench_function(name, |b| b.iter(|| runtime.block_on(page(&team, path))));
    }
    group.bench_function("page/visits_search", |b| {
        b.iter(|| runtime.block_on(posted(&team, "/console/visits", &search)))
    });
    group.finish();
}

criterion_group!(benches, console_pages);
criterion_main!(benches);
