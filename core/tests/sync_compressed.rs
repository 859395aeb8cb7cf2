//! The device compresses its push bodies, asks for zstd-compressed responses
//! and decodes them itself; a broken or inflating (bomb) response is a typed
//! sync failure that loses nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use std::io::Read as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use doorstep_core::sync::transport::MAX_DECODED_RESPONSE_BYTES;
use doorstep_core::{HttpRequest, HttpResponse, NoProgress, Transport, TransportError};
use fake_server::*;

/// What the compressing front of the fake server does to each body.
enum Body {
    /// Compress it.
    Zstd,
    /// Replace it with a few kilobytes that inflate past the limit.
    Bomb,
    /// Claim zstd, send garbage.
    Garbage,
}

/// The fake server behind a front that compresses responses when the request
/// accepts zstd, as the real server does.
struct Compressing<'a> {
    server: &'a FakeServer,
    body: Body,
    compressed: AtomicUsize,
    /// Push requests seen (each checked to be compressed).
    pushes: AtomicUsize,
}

impl Transport for Compressing<'_> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let asks = request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("accept-encoding") && v.contains("zstd"));
        assert!(asks, "every request asks for zstd");
        if request.path.starts_with("/v1/push") {
            let compressed = request
                .headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "zstd");
            assert!(compressed, "push bodies go compressed");
            let json = zstd::decode_all(&request.body[..]).unwrap();
            assert!(
                json.len() > request.body.len(),
                "and smaller than their JSON"
            );
            self.pushes.fetch_add(1, Ordering::Relaxed);
        }
        let mut response = self.server.send(request)?;
        response.body = match self.body {
            Body::Zstd => zstd::bulk::compress(&response.body, 3).unwrap(),
            Body::Bomb => zstd::stream::encode_all(
                std::io::repeat(b' ').take(MAX_DECODED_RESPONSE_BYTES as u64 + 1),
                19,
            )
            .unwrap(),
            Body::Garbage => b"{\"not\":\"zstd\"}".to_vec(),
        };
        response
            .headers
            .push(("Content-Encoding".into(), "zstd".into()));
        self.compressed.fetch_add(1, Ordering::Relaxed);
        Ok(response)
    }
}

fn front(server: &FakeServer, body: Body) -> Compressing<'_> {
    Compressing {
        server,
        body,
        compressed: AtomicUsize::new(0),
        pushes: AtomicUsize::new(0),
    }
}

#[test]
fn compressed_responses_are_decoded_and_the_sync_completes() {
    let field = field();
    let server = FakeServer::new(field.agent);
    play_complete_visit(&field, field.cases[0].id);
    let pending = field.doorstep.pending_outbox_count().unwrap();
    let transport = front(&server, Body::Zstd);
    field
        .doorstep
        .sign_in(&transport, USERNAME, PASSWORD)
        .unwrap();
    let report = field.doorstep.sync_now(&transport, &NoProgress).unwrap();
    assert_eq!(report.applied, pending);
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    // login, push, pull at least, every one compressed
    assert!(transport.compressed.load(Ordering::Relaxed) >= 3);
    assert_eq!(transport.pushes.load(Ordering::Relaxed), 1);
}

#[test]
fn a_zstd_bomb_or_garbage_is_a_typed_failure_and_nothing_is_lost() {
    for (body, code) in [
        (Body::Bomb, "response_too_large"),
        (Body::Garbage, "malformed_zstd"),
    ] {
        let field = field();
        let server = FakeServer::new(field.agent);
        play_complete_visit(&field, field.cases[0].id);
        let pending = field.doorstep.pending_outbox_count().unwrap();
        sign_in(&field, &server);
        let error = field
            .doorstep
            .sync_now(&front(&server, body), &NoProgress)
            .unwrap_err();
        assert_eq!(failure_code(error), code);
        assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending);
        // The next sync, over a sound link, delivers everything.
        sync(&field, &server).unwrap();
        assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    }
}
