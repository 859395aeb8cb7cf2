//! Every protocol version the server has shipped keeps working: golden request
//! and answer bodies of each version live under `tests/fixtures/protocol/vN/`
//! (at the repository's root), and this test replays them against today's
//! server and compares the answers byte for byte (as JSON values).
//!
//! - v1: a push of whole entries (`{"ops": [...]}`), no version header; the
//!   answer names every entry's outcome, in version 1's seven codes.
//! - v2: a push grouped by chain (`{"chains": [...]}`), no version header;
//!   the answer lists what was not applied, in the seven codes.
//! - v3: the same body with `Doorstep-Protocol: 3`; the rules' own codes; the
//!   chain endpoint. A sign-in answers a token only: the phone signs in with
//!   the password again when it expires.
//! - v4: the same push; a sign-in also answers a refresh credential, which
//!   `POST /v1/refresh` exchanges for the next token and credential.
//!
//! The v3 request fixture is also what today's `PushRequest::new` writes for
//! the same entries, so a change of the wire format without a new version
//! fails here. `DOORSTEP_WRITE_FIXTURES=1` writes the files instead of
//! comparing (only when a new version is added, never to make this pass).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use doorstep_core::checklist::home_verification;
use doorstep_core::clock::{FixedClock, Hlc};
use doorstep_core::domain::{AssignedAgents, InterviewNote, VisitChange};
use doorstep_core::event_log::{EntryDraft, LogEntry, append, derived_op_id};
use doorstep_core::sync::protocol::{PushRequest, Role, v1};
use doorstep_server::blobs::FsBlobStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{
    self, CaseRecord, DeviceRecord, Store, StoreError, TokenRecord, UserRecord,
};
use doorstep_server::{AppState, app};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

const AGENT: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00a1);
const DEVICE: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00d1);
const CASE: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00c1);
const PASSWORD: &str = "golden-fixture-password";
const TOKEN: &str = "golden-fixture-token-0000000000000000000000000000000000000000000000";

/// 2026-03-02 17:00 in Beijing.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn fixtures(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/protocol")
        .join(format!("v{version}"))
}

/// A server with one agent, their device (signed in with [`TOKEN`]), one case
/// and the default template, all with fixed ids, at [`t0`].
fn server() -> (AppState, tempfile::TempDir) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let mut case = common::sample_case(AGENT, None);
    case.id = CASE;
    case.assigned = AssignedAgents {
        primary: AGENT,
        partner: None,
    };
    store::write(store.as_ref(), |tx| {
        tx.insert_user(&UserRecord {
            id: AGENT,
            username: "wang.agent".into(),
            password_hash: doorstep_server::auth::hash_password(PASSWORD).unwrap(),
            role: Role::Agent,
            supervisor: None,
            active: true,
        })?;
        tx.insert_device(&DeviceRecord {
            id: DEVICE,
            user: AGENT,
            active: true,
        })?;
        tx.insert_token(&TokenRecord {
            token_sha256: doorstep_server::auth::token_digest(TOKEN),
            device: DEVICE,
            user: AGENT,
            expires_at: t0() + Duration::hours(12),
            revoked: false,
        })?;
        tx.upsert_case(&CaseRecord {
            case,
            supervisor: None,
        })?;
        tx.insert_template(&home_verification())?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
    let blobs = tempfile::tempdir().unwrap();
    let state = AppState {
        clock: Arc::new(FixedClock::new(t0())),
        ..AppState::new(store, Arc::new(FsBlobStore::open(blobs.path()).unwrap()))
    };
    (state, blobs)
}

/// The visit every fixture pushes: planned, noticed, checked in, a note, and
/// a note in another user's name (refused by the rules).
fn entries(visit: Uuid, derived_ids: bool) -> Vec<LogEntry> {
    let changes = [
        VisitChange::Planned {
            case_id: CASE,
            agent: AGENT,
            partner: None,
            template_key: "home-verification".into(),
            template_version: 1,
            planned_for: t0(),
        },
        common::notice(),
        VisitChange::CheckedIn {
            check: common::site(),
        },
        note(AGENT, "客户称下月发工资后还款"),
        note(Uuid::from_u128(7), "冒名的记录"),
    ];
    let mut out: Vec<LogEntry> = Vec::new();
    for (n, change) in changes.iter().enumerate() {
        let seq = n as u64;
        let op_id = if derived_ids {
            derived_op_id(visit, DEVICE, seq)
        } else {
            // Version 1 phones gave each entry a random op id.
            Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_1000 + n as u128)
        };
        let entry = append(
            out.last(),
            EntryDraft {
                visit_id: visit,
                author: DEVICE,
                op_id,
                kind: change.kind().into(),
                payload: serde_json::to_string(change).unwrap(),
                hlc: Hlc {
                    millis: 1_772_442_000_000 + seq * 1_000,
                    counter: 0,
                    node: DEVICE,
                },
                device_time: t0() + Duration::seconds(n as i64),
                utc_offset_minutes: 480,
            },
        )
        .unwrap();
        out.push(entry);
    }
    out
}

fn note(author: Uuid, text: &str) -> VisitChange {
    VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_2000 + text.len() as u128),
            author,
            written_at: t0(),
            text: text.into(),
        },
    }
}

async fn send(
    state: &AppState,
    uri: &str,
    version: Option<u32>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if let Some(version) = version {
        request = request.header("doorstep-protocol", version.to_string());
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Compares `actual` with the golden file `name` of `version` (or writes it).
fn golden(version: u32, name: &str, actual: &Value) {
    let path = fixtures(version).join(name);
    if std::env::var_os("DOORSTEP_WRITE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(actual).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (golden fixtures are committed)", path.display()));
    let expected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        actual, &expected,
        "v{version}/{name} differs from what the server answers today"
    );
}

fn read(version: u32, name: &str) -> Value {
    let path = fixtures(version).join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Each version: the request a phone of that version sends (built here the
/// way that phone builds it, and checked against the committed one), and the
/// server's answer, checked against the committed answer.
#[tokio::test]
async fn every_shipped_protocol_version_is_answered_as_it_expects() {
    let cases: [(u32, Option<u32>, Uuid, bool); 4] = [
        (
            1,
            None,
            Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0f01),
            false,
        ),
        (
            2,
            None,
            Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0f02),
            true,
        ),
        (
            3,
            Some(3),
            Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0f03),
            true,
        ),
        (
            4,
            Some(4),
            Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0f04),
            true,
        ),
    ];
    for (version, header, visit, derived) in cases {
        let (state, _blobs) = server();
        let entries = entries(visit, derived);
        let request = if version == 1 {
            serde_json::to_value(v1::PushRequest { ops: entries }).unwrap()
        } else {
            serde_json::to_value(PushRequest::new(&entries)).unwrap()
        };
        golden(version, "push_request.json", &request);
        // What the phone sends is the committed request.
        let sent = read(version, "push_request.json");
        let (status, answer) = send(&state, "/v1/push", header, Some(&sent)).await;
        assert_eq!(status, StatusCode::OK, "v{version}: {answer}");
        golden(version, "push_response.json", &answer);
        // A retry after a lost answer: every entry a duplicate, or the same
        // refusal again.
        let (_, again) = send(&state, "/v1/push", header, Some(&sent)).await;
        golden(version, "push_retry_response.json", &again);
        if version >= 3 {
            let (status, chain) =
                send(&state, &format!("/v1/visits/{visit}/chain"), header, None).await;
            assert_eq!(status, StatusCode::OK, "{chain}");
            golden(version, "chain_response.json", &chain);
        }
    }
}

/// `value` with the random secrets (tokens, refresh credentials) written as
/// their shape, so that an answer compares with its golden file.
fn masked(mut value: Value) -> Value {
    for field in ["token", "refresh_token"] {
        if let Some(secret) = value.get_mut(field) {
            let hex = secret
                .as_str()
                .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
            *secret = Value::String(if hex { "<64 hex digits>" } else { "<not hex>" }.into());
        }
    }
    value
}

/// Signing in, by version: up to version 3 a token only (the phone keeps
/// signing in with the password); from version 4 a refresh credential too,
/// and `POST /v1/refresh` turns it into the next token and credential.
#[tokio::test]
async fn every_shipped_protocol_version_signs_in_as_it_expects() {
    let login = serde_json::json!({
        "username": "wang.agent",
        "password": PASSWORD,
        "device_id": DEVICE,
    });
    for (version, header) in [(3, Some(3)), (4, Some(4))] {
        let (state, _blobs) = server();
        golden(version, "login_request.json", &login);
        let sent = read(version, "login_request.json");
        let (status, answer) = send(&state, "/v1/login", header, Some(&sent)).await;
        assert_eq!(status, StatusCode::OK, "v{version}: {answer}");
        golden(version, "login_response.json", &masked(answer.clone()));
        if version < 4 {
            // An old phone sends no header at all: the same answer.
            let (_, unnamed) = send(&state, "/v1/login", None, Some(&sent)).await;
            assert_eq!(masked(unnamed), masked(answer));
            continue;
        }
        let refresh = serde_json::json!({
            "device_id": DEVICE,
            "refresh_token": answer["refresh_token"],
        });
        golden(version, "refresh_request.json", &masked(refresh.clone()));
        let (status, renewed) = send(&state, "/v1/refresh", header, Some(&refresh)).await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
        golden(version, "refresh_response.json", &masked(renewed.clone()));
        assert_ne!(renewed["refresh_token"], answer["refresh_token"]);
    }
}

/// The answers an older phone reads parse with that phone's own types: a
/// version 1 phone's `PushResponse` had `results`, a version 2 phone's the
/// seven codes only.
#[test]
fn older_phones_can_read_what_the_server_answers_them() {
    let v1_answer: v1::PushResponse =
        serde_json::from_value(read(1, "push_response.json")).unwrap();
    assert_eq!(v1_answer.results.len(), 5);
    for version in [1, 2] {
        let text = serde_json::to_string(&read(version, "push_response.json")).unwrap();
        for new_code in [
            "wrong_author",
            "invalid_note",
            "policy_violation",
            "incomplete_checklist",
        ] {
            assert!(!text.contains(new_code), "v{version} hears {new_code}");
        }
    }
    let v3 = serde_json::to_string(&read(3, "push_response.json")).unwrap();
    assert!(v3.contains("wrong_author"));
}
