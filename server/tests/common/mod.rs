//! A small world for the server tests: two teams, three agents with phones,
//! two cases, and helpers to write visit log entries and send requests.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, TimeZone, Utc};
use doorstep_core::checklist::AnswerValue;
use doorstep_core::clock::{FixedClock, Hlc};
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Attachment, AttachmentKind, AttachmentLink, Case,
    CaseStatus, Customer, InterviewNote, Notice, NoticeChannel, Outcome, OutcomeCode, PhoneNumber,
    SiteCheck, VisitChange,
};
use doorstep_core::event_log::{EntryDraft, LogEntry, append};
use doorstep_core::money::Money;
use doorstep_core::policy::{GeoPoint, GpsFix};
pub use doorstep_core::sync::protocol::PushRequest;
use doorstep_core::sync::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, Role};
use doorstep_server::blobs::{BlobStore, FsBlobStore, S3BlobStore, S3Config};
use doorstep_server::store::Store;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{AppState, admin, app};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap()
}

pub struct World {
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub agent1: Uuid,
    pub agent2: Uuid,
    pub agent3: Uuid,
    pub phone1: Uuid,
    pub phone2: Uuid,
    pub phone3: Uuid,
    pub sup_a_phone: Uuid,
    pub sup_b_phone: Uuid,
    /// Team A, agent1 with agent2 as partner.
    pub case1: Case,
    /// Team B, agent3.
    pub case2: Case,
    /// Where the attachment bytes are kept (removed with the last world using
    /// it), unless the world keeps them in S3 ([`World::with_blobs`]): then
    /// it stays empty.
    pub blob_dir: Arc<tempfile::TempDir>,
}

pub fn sample_case(primary: Uuid, partner: Option<Uuid>) -> Case {
    Case {
        revisit_after: None,
        id: Uuid::now_v7(),
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
        overdue_amount: Money::new(1_250_000, "CNY").unwrap(),
        days_past_due: 45,
        assigned: AssignedAgents { primary, partner },
        priority: 3,
        due_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
    }
}

/// A fresh, empty S3 blob store for `test`: a key prefix of its own in the
/// bucket of `DOORSTEP_TEST_S3_URL` (`http://127.0.0.1:PORT/BUCKET`, an
/// S3-compatible server on loopback: `scripts/s3` starts moto). Without that
/// variable the test prints SKIPPED and is skipped, and fails when `CI` is
/// set.
pub fn s3_blobs(test: &str) -> Option<Arc<S3BlobStore>> {
    Some(Arc::new(S3BlobStore::open(&s3_config(test)?).unwrap()))
}

/// The configuration [`s3_blobs`] opens: a fresh prefix, test credentials.
pub fn s3_config(test: &str) -> Option<S3Config> {
    let url = match std::env::var("DOORSTEP_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "{test}: DOORSTEP_TEST_S3_URL must be set on CI"
            );
            let line = format!("SKIPPED {test}: DOORSTEP_TEST_S3_URL is not set\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            return None;
        }
    };
    let (scheme, rest) = url
        .split_once("://")
        .expect("DOORSTEP_TEST_S3_URL: http://HOST:PORT/BUCKET");
    let (host, bucket) = rest
        .split_once('/')
        .expect("DOORSTEP_TEST_S3_URL names no bucket");
    Some(S3Config {
        bucket: bucket.trim_matches('/').to_owned(),
        prefix: format!("t-{}", Uuid::now_v7().simple()),
        endpoint: Some(format!("{scheme}://{host}")),
        region: Some("us-east-1".into()),
        credentials: Some(("doorstep-test".into(), "doorstep-test-secret".into())),
    })
}

impl World {
    pub fn new() -> World {
        World::with_store(Arc::new(SqliteStore::open_in_memory().unwrap()))
    }

    /// The same world on any (empty) store.
    pub fn with_store(store: Arc<dyn Store>) -> World {
        World::with_stores(store, None)
    }

    /// The same world on SQLite in memory, with attachment bytes in `blobs`.
    pub fn with_blobs(blobs: Arc<dyn BlobStore>) -> World {
        World::with_stores(
            Arc::new(SqliteStore::open_in_memory().unwrap()),
            Some(blobs),
        )
    }

    /// The same world on any (empty) store, with attachment bytes in `blobs`
    /// (default: a fresh directory, [`World::blob_dir`]).
    pub fn with_stores(store: Arc<dyn Store>, blobs: Option<Arc<dyn BlobStore>>) -> World {
        let clock = Arc::new(FixedClock::new(t0()));
        let blob_dir = Arc::new(tempfile::tempdir().unwrap());
        let blobs = blobs.unwrap_or_else(|| Arc::new(FsBlobStore::open(blob_dir.path()).unwrap()));
        let state = AppState {
            clock: clock.clone(),
            ..AppState::new(store.clone(), blobs)
        };
        let s = store.as_ref();
        let now = t0();
        admin::create_user(s, "sup_a", "pw-sup_a-secret", Role::Supervisor, None, now).unwrap();
        admin::create_user(s, "sup_b", "pw-sup_b-secret", Role::Supervisor, None, now).unwrap();
        let mut agents = Vec::new();
        for (name, team) in [
            ("agent1", "sup_a"),
            ("agent2", "sup_a"),
            ("agent3", "sup_b"),
        ] {
            let pw = format!("pw-{name}-secret");
            agents.push(admin::create_user(s, name, &pw, Role::Agent, Some(team), now).unwrap());
        }
        let mut phones = Vec::new();
        for name in ["agent1", "agent2", "agent3", "sup_a", "sup_b"] {
            let phone = Uuid::now_v7();
            admin::create_device(s, name, phone, now).unwrap();
            phones.push(phone);
        }
        let case1 = sample_case(agents[0], Some(agents[1]));
        let case2 = sample_case(agents[2], None);
        admin::import_cases(s, &[case1.clone(), case2.clone()], now).unwrap();
        admin::publish_template(s, &doorstep_core::checklist::home_verification(), now).unwrap();
        World {
            state,
            clock,
            agent1: agents[0],
            agent2: agents[1],
            agent3: agents[2],
            phone1: phones[0],
            phone2: phones[1],
            phone3: phones[2],
            sup_a_phone: phones[3],
            sup_b_phone: phones[4],
            case1,
            case2,
            blob_dir,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        }
        .unwrap();
        self.raw(request).await
    }

    pub async fn raw(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    pub async fn login(&self, username: &str, device: Uuid) -> String {
        let body = serde_json::json!({
            "username": username,
            "password": format!("pw-{username}-secret"),
            "device_id": device,
        });
        let (status, value) = self
            .send("POST", "/v1/login", None, Some(body.to_string()))
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["token"].as_str().unwrap().to_owned()
    }

    /// Pushes as a phone of this build does (the current protocol version).
    pub async fn push(&self, token: &str, ops: &[LogEntry]) -> (StatusCode, Value) {
        self.push_as(PROTOCOL_VERSION, token, ops).await
    }

    /// Pushes as a phone speaking protocol `version` (2 or later: entries
    /// grouped by chain); phones of versions 1 and 2 sent no version header.
    pub async fn push_as(
        &self,
        version: u32,
        token: &str,
        ops: &[LogEntry],
    ) -> (StatusCode, Value) {
        let body = serde_json::to_string(&PushRequest::new(ops)).unwrap();
        let mut request = Request::builder()
            .method("POST")
            .uri("/v1/push")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if version > 2 {
            request = request.header(PROTOCOL_HEADER, version.to_string());
        }
        self.raw(request.body(Body::from(body)).unwrap()).await
    }

    /// Pushes and returns each op's outcome ("applied", "duplicate" or the reject code).
    pub async fn push_outcomes(&self, token: &str, ops: &[LogEntry]) -> Vec<String> {
        let (status, value) = self.push(token, ops).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        outcomes_of(ops, &value)
    }

    pub async fn pull(&self, token: &str, cursor: u64, limit: u32) -> Value {
        let uri = format!("/v1/pull?cursor={cursor}&limit={limit}");
        let (status, value) = self.send("GET", &uri, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }

    /// Every change visible to `token`, paging through.
    pub async fn pull_all(&self, token: &str) -> Vec<Value> {
        let mut cursor = 0;
        let mut all = Vec::new();
        loop {
            let page = self.pull(token, cursor, 1000).await;
            all.extend(page["changes"].as_array().unwrap().iter().cloned());
            cursor = page["cursor"].as_u64().unwrap();
            if !page["more"].as_bool().unwrap() {
                return all;
            }
        }
    }
}

/// Each pushed op's outcome in a push answer, in the order of `ops`: "applied"
/// when it is not listed, else "duplicate" or the reject code. Checks that the
/// answer's applied count matches.
pub fn outcomes_of(ops: &[LogEntry], answer: &Value) -> Vec<String> {
    let listed: std::collections::HashMap<String, String> = answer["not_applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let outcome = match r["outcome"].as_str().unwrap() {
                "rejected" => r["code"].as_str().unwrap().to_owned(),
                other => other.to_owned(),
            };
            (r["op_id"].as_str().unwrap().to_owned(), outcome)
        })
        .collect();
    let outcomes: Vec<String> = ops
        .iter()
        .map(|op| {
            listed
                .get(&op.op_id.to_string())
                .cloned()
                .unwrap_or_else(|| "applied".into())
        })
        .collect();
    let applied = outcomes.iter().filter(|o| *o == "applied").count() as u64;
    assert_eq!(answer["applied"].as_u64(), Some(applied), "{answer}");
    outcomes
}

/// One phone's chain for one visit.
pub struct Phone {
    pub device: Uuid,
    pub visit: Uuid,
    pub entries: Vec<LogEntry>,
    pub millis: u64,
}

impl Phone {
    pub fn new(device: Uuid, visit: Uuid) -> Phone {
        Phone {
            device,
            visit,
            entries: Vec::new(),
            millis: 1_772_442_000_000,
        }
    }

    pub fn act(&mut self, change: &VisitChange) -> LogEntry {
        self.millis += 1_000;
        let draft = EntryDraft {
            visit_id: self.visit,
            author: self.device,
            op_id: Uuid::now_v7(),
            kind: change.kind().into(),
            payload: serde_json::to_string(change).unwrap(),
            hlc: Hlc {
                millis: self.millis,
                counter: 0,
                node: self.device,
            },
            device_time: t0(),
            utc_offset_minutes: 480,
        };
        let entry = append(self.entries.last(), draft).unwrap();
        self.entries.push(entry.clone());
        entry
    }
}

pub fn planned(case: &Case) -> VisitChange {
    VisitChange::Planned {
        case_id: case.id,
        agent: case.assigned.primary,
        partner: case.assigned.partner,
        template_key: "home-verification".into(),
        template_version: 1,
        planned_for: t0(),
    }
}

pub fn notice() -> VisitChange {
    VisitChange::NoticeRecorded {
        notice: Notice {
            channel: NoticeChannel::PhoneCall,
            // Two hours ahead: the policy wants at least 30 minutes.
            given_at: t0() - chrono::Duration::hours(2),
            planned_visit_at: t0(),
            purpose: "overdue review".into(),
            acknowledged: true,
        },
    }
}

pub fn site() -> SiteCheck {
    SiteCheck {
        at: t0(),
        utc_offset_minutes: 480,
        fix: GpsFix {
            point: GeoPoint {
                latitude: 39.9087,
                longitude: 116.4605,
            },
            accuracy_m: 8.0,
            mocked: false,
            taken_at: t0(),
        },
        // The fix is at the registered address: the distance the policy
        // gives it, which the server recomputes.
        distance_m: Some(0.0),
        flags: Vec::new(),
    }
}

pub fn note(author: Uuid, text: &str) -> VisitChange {
    VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::now_v7(),
            author,
            written_at: t0(),
            text: text.into(),
        },
    }
}

/// Answers to every required item of the default template, and the photo of
/// the premises it requires, as changes.
pub fn complete_checklist() -> Vec<VisitChange> {
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
            AnswerValue::Money(Money::new(650_000, "CNY").unwrap()),
        ),
        (
            "overdue_reason",
            AnswerValue::Choice("business_failure".into()),
        ),
        (
            "household_situation",
            AnswerValue::Text("two adults, one child at school".into()),
        ),
        ("ability_to_repay", AnswerValue::Integer(3)),
        ("willingness_to_repay", AnswerValue::Integer(4)),
        ("contact_details_updated", AnswerValue::YesNo(false)),
    ];
    let mut changes: Vec<VisitChange> = answers
        .into_iter()
        .map(|(item, value)| VisitChange::Answered {
            item_id: item.into(),
            value,
        })
        .collect();
    changes.push(VisitChange::Attached {
        attachment: Attachment {
            id: Uuid::now_v7(),
            kind: AttachmentKind::Photo,
            mime_type: "image/jpeg".into(),
            sha256: "5e".repeat(32),
            size_bytes: 2_048,
            link: AttachmentLink::ChecklistItem {
                item_id: "premises_photos".into(),
            },
            taken_at: t0(),
        },
    });
    changes
}

/// The outcome of a visit that found nobody home (no checklist needed).
pub fn not_home() -> VisitChange {
    VisitChange::OutcomeSet {
        outcome: Outcome {
            code: OutcomeCode::NotHome,
            promise: None,
            plan: None,
            ability_to_repay: None,
            willingness_to_repay: None,
            summary: "nobody answered the door".into(),
        },
    }
}

/// A whole visit up to submission, as a list of changes: nobody was home.
pub fn full_visit(case: &Case) -> Vec<VisitChange> {
    vec![
        planned(case),
        notice(),
        VisitChange::CheckedIn { check: site() },
        note(case.assigned.primary, "customer lost job in January"),
        not_home(),
        VisitChange::CheckedOut { check: site() },
        VisitChange::Submitted { at: t0() },
    ]
}

/// Turns a SQLite server store into a true version 1 store (as shipped before
/// attachments, the console, stored chain checks, sign-in attempts in the
/// store, uploads, the quarantine and refusal codes), to test migrations.
#[allow(dead_code)]
pub fn downgrade_sqlite_to_version_1(file: &std::path::Path) {
    let conn = rusqlite::Connection::open(file).unwrap();
    conn.execute_batch(
        "DROP TABLE IF EXISTS visit_summaries;
         DROP TABLE IF EXISTS attachment_refs;
         DROP TABLE IF EXISTS attachment_uploads;
         DROP TABLE IF EXISTS quarantine;
         ALTER TABLE audit DROP COLUMN code;
         DROP TABLE IF EXISTS console_sessions;
         DROP TABLE IF EXISTS sign_in_attempts;
         DROP INDEX IF EXISTS cases_by_supervisor;
         DROP INDEX IF EXISTS visits_by_case;
         DROP INDEX IF EXISTS users_by_supervisor;
         ALTER TABLE visits DROP COLUMN chain_checked_at;
         ALTER TABLE visits DROP COLUMN chain_entries;
         ALTER TABLE visits DROP COLUMN chain_broken_author;
         ALTER TABLE visits DROP COLUMN chain_broken_seq;
         ALTER TABLE visits DROP COLUMN chain_broken_reason;
         ALTER TABLE users DROP COLUMN active;
         ALTER TABLE devices DROP COLUMN registered_at;
         ALTER TABLE devices DROP COLUMN last_push_at;
         ALTER TABLE devices DROP COLUMN last_pull_at;
         ALTER TABLE devices DROP COLUMN pull_cursor;
         ALTER TABLE devices DROP COLUMN protocol_version;
         ALTER TABLE devices DROP COLUMN deactivated_at;
         ALTER TABLE devices DROP COLUMN wipe_confirmed_at;
         ALTER TABLE devices DROP COLUMN app_version;
         ALTER TABLE templates DROP COLUMN retired_at;
         PRAGMA user_version = 1;",
    )
    .unwrap();
}

/// Turns the PostgreSQL server store in `schema` into a true version 1 store.
#[allow(dead_code)]
pub fn downgrade_postgres_to_version_1(config: &postgres::Config, schema: &str) {
    let mut client = config.connect(postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {schema}.visit_summaries;
             DROP TABLE IF EXISTS {schema}.attachment_refs;
             DROP TABLE IF EXISTS {schema}.attachment_uploads;
             DROP TABLE IF EXISTS {schema}.quarantine;
             ALTER TABLE {schema}.audit DROP COLUMN code;
             DROP TABLE IF EXISTS {schema}.console_sessions;
             DROP TABLE IF EXISTS {schema}.sign_in_attempts;
             DROP INDEX IF EXISTS {schema}.cases_by_supervisor;
             DROP INDEX IF EXISTS {schema}.visits_by_case;
             DROP INDEX IF EXISTS {schema}.users_by_supervisor;
             ALTER TABLE {schema}.visits DROP COLUMN chain_checked_at,
                 DROP COLUMN chain_entries, DROP COLUMN chain_broken_author,
                 DROP COLUMN chain_broken_seq, DROP COLUMN chain_broken_reason;
             ALTER TABLE {schema}.users DROP COLUMN active;
             ALTER TABLE {schema}.devices DROP COLUMN registered_at, DROP COLUMN last_push_at,
                 DROP COLUMN last_pull_at, DROP COLUMN pull_cursor, DROP COLUMN protocol_version,
                 DROP COLUMN deactivated_at, DROP COLUMN wipe_confirmed_at,
                 DROP COLUMN app_version;
             ALTER TABLE {schema}.templates DROP COLUMN retired_at;
             UPDATE {schema}.doorstep_schema SET version = 1;"
        ))
        .unwrap();
}
