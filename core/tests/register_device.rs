//! `Doorstep::register_device`: what the phone sends, and how each answer of
//! the server is reported.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Mutex;

use common::*;
use doorstep_core::{DoorstepError, HttpRequest, HttpResponse, Transport, TransportError};

/// Answers every request with one canned response and keeps the requests.
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    seen: Mutex<Vec<HttpRequest>>,
}

impl Transport for Canned {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.lock().unwrap().push(request);
        Ok(HttpResponse {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
        })
    }
}

fn canned(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: vec![("Retry-After".into(), "600".into())],
        body: body.as_bytes().to_vec(),
        seen: Mutex::new(Vec::new()),
    }
}

fn code(error: DoorstepError) -> (String, String) {
    match error {
        DoorstepError::SyncFailed { code, reason } => (code, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_phone_sends_its_own_device_id_and_reads_the_answer_even_compressed() {
    let field = field();
    let device = field.doorstep.device_id();
    let answer = format!(r#"{{"device_id":"{device}","user_id":"{}"}}"#, field.agent);
    let mut server = canned(200, "");
    server.body = zstd::bulk::compress(answer.as_bytes(), 3).unwrap();
    server
        .headers
        .push(("Content-Encoding".into(), "zstd".into()));
    let registered = field
        .doorstep
        .register_device(&server, "agent.wang", "secret")
        .unwrap();
    assert_eq!(
        (registered.device_id, registered.user_id),
        (device, field.agent)
    );
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v1/devices");
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["device_id"], serde_json::json!(device));
    assert_eq!(body["username"], "agent.wang");
}

#[test]
fn refusals_are_typed_sync_failures() {
    let field = field();
    let other = format!(
        r#"{{"device_id":"{}","user_id":"{}"}}"#,
        uuid::Uuid::now_v7(),
        field.agent
    );
    for (status, body, expected, detail) in [
        (
            401,
            r#"{"code":"unauthorized","message":"x"}"#,
            "unauthorized",
            "",
        ),
        (
            429,
            r#"{"code":"too_many_attempts","message":"x"}"#,
            "too_many_attempts",
            "600",
        ),
        (
            409,
            r#"{"code":"device_taken","message":"x"}"#,
            "refused",
            "device_taken",
        ),
        (
            403,
            r#"{"code":"device_deactivated","message":"x"}"#,
            "refused",
            "device_deactivated",
        ),
        (502, "bad gateway", "server_error", "502"),
        (200, "not json", "protocol", ""),
        (200, other.as_str(), "protocol", ""),
    ] {
        let error = field
            .doorstep
            .register_device(&canned(status, body), "agent.wang", "secret")
            .unwrap_err();
        let (code, reason) = code(error);
        assert_eq!(code, expected, "{status} {body}");
        assert!(reason.contains(detail), "{reason}");
    }
}
