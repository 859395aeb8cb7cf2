//! The ureq transport over loopback against a minimal HTTP responder: the request
//! arrives as sent, every status comes back as a response, and an unreachable
//! server is "offline".
#![cfg(feature = "ureq-transport")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{HttpRequest, Transport, TransportError};

/// Serves one request: answers `status` with a body naming the method, path,
/// authorization header and request body it received.
fn serve_once(status: u16) -> (String, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut length = 0usize;
        let mut authorization = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "authorization" => authorization = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let echo = serde_json::json!({
            "request_line": request_line.trim_end(),
            "authorization": authorization,
            "body": String::from_utf8(body).unwrap(),
        })
        .to_string();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{echo}",
            echo.len()
        )
        .unwrap();
    });
    (base, handle)
}

#[test]
fn a_request_goes_out_as_given_and_the_response_comes_back() {
    let (base, server) = serve_once(200);
    let transport = UreqTransport::new(&base, Duration::from_secs(5));
    let response = transport
        .send(HttpRequest {
            method: "POST".into(),
            path: "/v1/push?x=1".into(),
            headers: vec![
                ("authorization".into(), "Bearer t0k3n".into()),
                ("content-type".into(), "application/json".into()),
            ],
            body: br#"{"ops":[]}"#.to_vec(),
        })
        .unwrap();
    server.join().unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let echo: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(echo["request_line"], "POST /v1/push?x=1 HTTP/1.1");
    assert_eq!(echo["authorization"], "Bearer t0k3n");
    assert_eq!(echo["body"], r#"{"ops":[]}"#);
}

#[test]
fn a_server_error_is_a_response_not_a_transport_failure() {
    let (base, server) = serve_once(503);
    let transport = UreqTransport::new(&base, Duration::from_secs(5));
    let response = transport
        .send(HttpRequest {
            method: "GET".into(),
            path: "/v1/pull?cursor=0&limit=10".into(),
            headers: vec![],
            body: vec![],
        })
        .unwrap();
    server.join().unwrap();
    assert_eq!(response.status, 503);
}

#[test]
fn an_unreachable_server_is_offline() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let transport = UreqTransport::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5));
    let error = transport
        .send(HttpRequest {
            method: "GET".into(),
            path: "/healthz".into(),
            headers: vec![],
            body: vec![],
        })
        .unwrap_err();
    assert!(matches!(error, TransportError::Offline { .. }), "{error:?}");
}
