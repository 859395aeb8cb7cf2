//! What schemathesis (scripts/schemathesis) found where the served OpenAPI
//! document and the server disagreed, each kept as a regression: the
//! document's word and the server's answer, side by side.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use doorstep_core::sync::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use serde_json::{Value, json};
use uuid::Uuid;

async fn document(w: &World) -> Value {
    let (status, doc) = w.send("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// The schema of a query parameter of `GET path`.
fn query_schema<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| &p["schema"])
        .unwrap()
}

#[tokio::test]
async fn every_json_body_operation_documents_its_413_and_415() {
    let w = World::new();
    let doc = document(&w).await;
    let token = w.login("sup_a", w.sup_a_phone).await;
    // Found: a review without Content-Type answered an undocumented 415.
    let uri = format!("/v1/visits/{}/review", Uuid::now_v7());
    let request = Request::builder()
        .method("POST")
        .uri(&uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(r#"{"decision":{"decision":"approve"}}"#))
        .unwrap();
    let (status, body) = w.raw(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], "unsupported_media_type");
    for (path, operation) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operation.as_object().unwrap() {
            let json_body = operation["requestBody"]["content"]
                .get("application/json")
                .is_some();
            if json_body {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        operation["responses"].get(status).is_some(),
                        "{method} {path} does not document {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_pull_limit_above_the_page_size_is_clamped_as_documented() {
    let w = World::new();
    let doc = document(&w).await;
    let limit = query_schema(&doc, "/v1/pull", "limit");
    assert_eq!(limit["minimum"], 0);
    assert_eq!(limit["maximum"], u64::from(u32::MAX));
    let token = w.login("agent1", w.phone1).await;
    // Found: limit=1001 was declared out of range (maximum 1000), but served.
    let everything = w.pull(&token, 0, 1000).await;
    let clamped = w.pull(&token, 0, 1001).await;
    assert_eq!(clamped, everything);
    let (status, page) = w
        .send("GET", "/v1/pull?limit=4294967295", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, everything);
    let one = w.pull(&token, 0, 0).await;
    assert_eq!(one["changes"].as_array().unwrap().len(), 1);
    // Past the documented maximum it is refused.
    let (status, body) = w
        .send("GET", "/v1/pull?limit=4294967296", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_query");
}

/// A push body of one entry, as JSON, continuing a new chain of `author`.
fn one_entry_body(author: Uuid, case: &doorstep_core::domain::Case) -> Value {
    let mut phone = Phone::new(author, Uuid::now_v7());
    let entry = phone.act(&planned(case));
    serde_json::to_value(PushRequest::new([&entry])).unwrap()
}

async fn push_value(w: &World, token: &str, body: &Value) -> (StatusCode, Value) {
    w.send("POST", "/v1/push", Some(token), Some(body.to_string()))
        .await
}

#[tokio::test]
async fn integers_written_as_whole_floats_are_the_same_push() {
    let w = World::new();
    let token = w.login("agent1", w.phone1).await;
    // Found: JSON Schema reads 2.0 as the integer 2, the server refused it.
    let mut body = one_entry_body(w.phone1, &w.case1);
    let run = &mut body["chains"][0];
    run["seq"] = json!(0.0);
    let entry = &mut run["entries"][0];
    entry["hlc"] = json!(entry["hlc"].as_u64().unwrap() as f64);
    entry["utc_offset_minutes"] = json!(480.0);
    entry["counter"] = json!(0.0);
    let (status, answer) = push_value(&w, &token, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["applied"], 1, "{answer}");
    // Not whole, or out of the field's range: the wrong shape.
    for (field, value) in [
        ("counter", json!(0.5)),
        ("counter", json!(4_294_967_296u64)),
    ] {
        let mut bad = one_entry_body(w.phone1, &w.case1);
        bad["chains"][0]["entries"][0][field] = value;
        let (status, answer) = push_value(&w, &token, &bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["code"], "invalid_body");
    }
}

#[tokio::test]
async fn hashes_of_any_format_are_refused_per_entry_not_per_push() {
    let w = World::new();
    let doc = document(&w).await;
    let token = w.login("agent1", w.phone1).await;
    // Found: the document declared a hex pattern the server does not refuse
    // at the body level; an entry that does not match is refused on its own.
    let entry = &doc["components"]["schemas"]["PushedEntry"]["properties"];
    assert!(entry["hash"].get("pattern").is_none());
    let run = &doc["components"]["schemas"]["PushedRun"]["properties"];
    assert!(run["prev_hash"].get("pattern").is_none());
    assert_eq!(run["seq"]["maximum"], u64::MAX);
    for (hash, prev_hash, code) in [
        (json!(""), None, "hash_mismatch"),
        (json!("not hex"), None, "hash_mismatch"),
        (json!(null), Some(""), "chain_broken"),
    ] {
        let mut body = one_entry_body(w.phone1, &w.case1);
        body["chains"][0]["entries"][0]["hash"] = hash;
        if let Some(prev_hash) = prev_hash {
            body["chains"][0]["prev_hash"] = json!(prev_hash);
        }
        let (status, answer) = push_value(&w, &token, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["not_applied"][0]["code"], code, "{answer}");
    }
    // null is the same as leaving an optional field out.
    let mut body = one_entry_body(w.phone1, &w.case1);
    for field in ["op_id", "node", "hash"] {
        body["chains"][0]["entries"][0][field] = json!(null);
    }
    let (status, answer) = push_value(&w, &token, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["applied"], 1, "{answer}");
}

#[tokio::test]
async fn a_run_at_the_end_of_the_positions_is_refused_per_entry_not_as_a_push() {
    let w = World::new();
    let token = w.login("agent1", w.phone1).await;
    // Found: a run near the largest position was refused as a whole (422) or
    // taken depending on its length, which the document cannot state; now
    // each entry is refused on its own, whatever the run's length.
    for extra in [0, 2] {
        let mut body = one_entry_body(w.phone1, &w.case1);
        let entry = body["chains"][0]["entries"][0].clone();
        for _ in 0..extra {
            body["chains"][0]["entries"]
                .as_array_mut()
                .unwrap()
                .push(entry.clone());
        }
        body["chains"][0]["seq"] = json!(u64::MAX - 1);
        let request = Request::builder()
            .method("POST")
            .uri("/v1/push")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, answer) = w.raw(request).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["applied"], 0, "{answer}");
        let codes: Vec<&Value> = answer["not_applied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["code"])
            .collect();
        assert_eq!(codes.len(), 1 + extra, "{answer}");
        assert!(codes.iter().all(|c| *c == "out_of_range"), "{answer}");
    }
}

#[tokio::test]
async fn a_return_without_its_reason_is_outside_the_documented_shape() {
    let w = World::new();
    let doc = document(&w).await;
    let token = w.login("sup_a", w.sup_a_phone).await;
    // Found: {"decision":"return"} alone was declared valid, and refused.
    let shapes = doc["components"]["schemas"]["ReviewRequest"]["properties"]["decision"]["oneOf"]
        .as_array()
        .unwrap();
    let ret = shapes
        .iter()
        .find(|s| s["properties"]["decision"]["const"] == "return")
        .unwrap();
    assert_eq!(
        ret["required"],
        json!(["decision", "reason_code", "comment"])
    );
    let uri = format!("/v1/visits/{}/review", Uuid::now_v7());
    for decision in [
        json!({"decision": "return"}),
        json!({"decision": "return", "reason_code": "missing_photos"}),
    ] {
        let body = json!({ "decision": decision }).to_string();
        let (status, answer) = w.send("POST", &uri, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    }
    // The documented shapes get past the body: an unknown visit is a 404.
    for decision in [
        json!({"decision": "approve"}),
        json!({"decision": "return", "reason_code": "missing_photos", "comment": "补拍门牌"}),
    ] {
        let body = json!({ "decision": decision }).to_string();
        let (status, answer) = w.send("POST", &uri, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    }
}
