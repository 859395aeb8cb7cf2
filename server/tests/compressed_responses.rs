//! Responses are zstd-compressed for clients that say `Accept-Encoding: zstd`,
//! and plain for the others; the decoded body is the same JSON. On SQLite and
//! on PostgreSQL (one test per check per backend; PostgreSQL when
//! `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use doorstep_server::app;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

on_both_backends!(
    pulls_come_compressed_only_when_asked,
    errors_are_compressed_too_and_text_is_not,
);

struct Answer {
    status: StatusCode,
    encoding: Option<String>,
    vary: Option<String>,
    body: Vec<u8>,
}

async fn get(w: &World, uri: &str, token: &str, accept_encoding: Option<&str>) -> Answer {
    let mut request = Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(value) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, value);
    }
    let response = app(w.state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
    };
    let (encoding, vary) = (header(header::CONTENT_ENCODING), header(header::VARY));
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        encoding,
        vary,
        body,
    }
}

async fn pulls_come_compressed_only_when_asked(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let uri = "/v1/pull?cursor=0&limit=100";

    let plain = get(&w, uri, &token, None).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.encoding, None);
    assert_eq!(plain.vary.as_deref(), Some("accept-encoding"));
    let plain_json: Value = serde_json::from_slice(&plain.body).unwrap();
    assert!(!plain_json["changes"].as_array().unwrap().is_empty());

    let zstd = get(&w, uri, &token, Some("gzip, zstd")).await;
    assert_eq!(zstd.status, StatusCode::OK);
    assert_eq!(zstd.encoding.as_deref(), Some("zstd"));
    assert!(zstd.body.len() < plain.body.len());
    let decoded = zstd::decode_all(&zstd.body[..]).unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).unwrap(),
        plain_json
    );

    for refused in ["gzip, br", "zstd;q=0", "identity"] {
        let answer = get(&w, uri, &token, Some(refused)).await;
        assert_eq!(answer.encoding, None, "{refused}");
        assert_eq!(
            serde_json::from_slice::<Value>(&answer.body).unwrap(),
            plain_json
        );
    }
}

async fn errors_are_compressed_too_and_text_is_not(w: Arc<World>) {
    let error = get(&w, "/v1/pull", "no-such-token", Some("zstd")).await;
    assert_eq!(error.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error.encoding.as_deref(), Some("zstd"));
    let body: Value = serde_json::from_slice(&zstd::decode_all(&error.body[..]).unwrap()).unwrap();
    assert_eq!(body["code"], "unauthorized");

    let health = get(&w, "/healthz", "", Some("zstd")).await;
    assert_eq!(health.encoding, None);
    assert_eq!(health.body, b"ok\n");
}
