//! The served OpenAPI document describes the routes and bodies the server uses.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::*;
use doorstep_core::sync::protocol::{
    ChainEntry, ChainResponse, ErrorBody, LoginRequest, LoginResponse, OpOutcome, OpResult,
    PullResponse, PushRequest, PushResponse, RefreshRequest, RegisterDeviceRequest,
    RegisterDeviceResponse, RejectCode, Role, UploadState, WrongOffset,
};
use serde_json::Value;
use uuid::Uuid;

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn schema_props(doc: &Value, name: &str) -> BTreeSet<String> {
    keys(&doc["components"]["schemas"][name]["properties"])
}

fn required(doc: &Value, name: &str) -> BTreeSet<String> {
    doc["components"]["schemas"][name]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_served_document_matches_the_routes_and_the_wire_types() {
    let w = World::new();
    let (status, doc) = w.send("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = keys(&doc["paths"]);
    let expected: BTreeSet<String> = [
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/v1/login",
        "/v1/refresh",
        "/v1/logout",
        "/v1/push",
        "/v1/pull",
        "/v1/visits/{visit_id}/review",
        "/v1/visits/{visit_id}/chain",
        "/v1/attachments/{sha256}",
        "/v1/attachments/{sha256}/upload",
        "/v1/devices",
        "/v1/devices/wiped",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(paths, expected);
    for path in &paths {
        let probe = path
            .replace("{visit_id}", &Uuid::now_v7().to_string())
            .replace("{sha256}", &"ab".repeat(32));
        for method in keys(&doc["paths"][path]) {
            let method = method.to_uppercase();
            let (status, _) = w.send(&method, &probe, None, None).await;
            assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }

    // Every field the Rust types put on the wire is declared, and every
    // declared required field is there.
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let entry = phone.act(&planned(&w.case1));
    // An entry that needs every optional field of a pushed entry: a random op
    // id, a counter, another clock node, and a hash that is not its content's.
    let mut odd = phone.act(&notice());
    odd.hlc.counter = 3;
    odd.hlc.node = Uuid::nil();
    let push = PushRequest::new([&entry, &odd]);
    assert_eq!(push.chains.len(), 1);
    let samples: Vec<(&str, Value)> = vec![
        ("LogEntry", serde_json::to_value(&entry).unwrap()),
        (
            "LoginRequest",
            serde_json::to_value(LoginRequest {
                username: "a".into(),
                password: "b".into(),
                device_id: Uuid::nil(),
            })
            .unwrap(),
        ),
        (
            "LoginResponse",
            serde_json::to_value(LoginResponse {
                token: "0".repeat(64),
                expires_at: t0(),
                user_id: Uuid::nil(),
                role: Role::Agent,
                refresh_token: Some("1".repeat(64)),
            })
            .unwrap(),
        ),
        (
            "RefreshRequest",
            serde_json::to_value(RefreshRequest {
                device_id: Uuid::nil(),
                refresh_token: "1".repeat(64),
            })
            .unwrap(),
        ),
        ("PushRequest", serde_json::to_value(&push).unwrap()),
        ("PushedRun", serde_json::to_value(&push.chains[0]).unwrap()),
        (
            "PushedEntry",
            serde_json::to_value(&push.chains[0].entries[1]).unwrap(),
        ),
        (
            "PushResponse",
            serde_json::to_value(PushResponse {
                applied: 0,
                not_applied: vec![],
            })
            .unwrap(),
        ),
        (
            "OpResult",
            serde_json::to_value(OpResult {
                op_id: Uuid::nil(),
                outcome: OpOutcome::Rejected {
                    code: RejectCode::NotAssigned,
                },
            })
            .unwrap(),
        ),
        (
            "PullResponse",
            serde_json::to_value(PullResponse {
                changes: vec![],
                cursor: 0,
                more: false,
                deactivated: false,
                policy: Some(doorstep_core::policy::PublishedPolicy {
                    version: 2,
                    policy: doorstep_core::policy::Policy::default(),
                }),
            })
            .unwrap(),
        ),
        (
            "ChainResponse",
            serde_json::to_value(ChainResponse {
                entries: vec![],
                more: false,
            })
            .unwrap(),
        ),
        (
            "ChainEntry",
            serde_json::to_value(ChainEntry {
                entry: entry.clone(),
                refused: Some(RejectCode::IllegalTransition),
            })
            .unwrap(),
        ),
        (
            "UploadState",
            serde_json::to_value(UploadState {
                sha256: "ab".repeat(32),
                received: 0,
                total: 1,
                complete: false,
            })
            .unwrap(),
        ),
        (
            "RegisterDeviceRequest",
            serde_json::to_value(RegisterDeviceRequest {
                username: "a".into(),
                password: "b".into(),
                device_id: Uuid::nil(),
            })
            .unwrap(),
        ),
        (
            "WrongOffset",
            serde_json::to_value(WrongOffset {
                code: "wrong_offset".into(),
                message: "m".into(),
                received: 0,
            })
            .unwrap(),
        ),
        (
            "RegisterDeviceResponse",
            serde_json::to_value(RegisterDeviceResponse {
                device_id: Uuid::nil(),
                user_id: Uuid::nil(),
            })
            .unwrap(),
        ),
        (
            "ErrorBody",
            serde_json::to_value(ErrorBody {
                code: "x".into(),
                message: "y".into(),
            })
            .unwrap(),
        ),
    ];
    for (name, sample) in samples {
        let sent = keys(&sample);
        assert!(
            sent.is_subset(&schema_props(&doc, name)),
            "{name}: {sent:?}"
        );
        assert!(required(&doc, name).is_subset(&sent), "{name}");
    }
}
