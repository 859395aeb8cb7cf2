//! What the shell supplies to a sync: its HTTP stack ([`HttpTransport`]) and a
//! listener for progress ([`SyncObserver`]), both implemented in Kotlin or Swift,
//! and adapters that hand them to the core's sync engine.

use std::sync::Arc;

use doorstep_core::SyncPhase;

use crate::error::TransportError;

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// Header name, e.g. `content-type`.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// One HTTP request to the Doorstep server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query relative to the server's base URL, e.g. `/v1/pull?cursor=0`.
    pub path: String,
    /// Headers to send.
    pub headers: Vec<HttpHeader>,
    /// The body; empty for a `GET`.
    pub body: Vec<u8>,
}

/// The server's answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<HttpHeader>,
    /// The body, as received.
    pub body: Vec<u8>,
}

/// The shell's HTTP stack. Send the request to the server's base URL plus
/// `request.path`, with its method, headers and body; return every status as an
/// [`HttpResponse`]; throw a [`TransportError`] only when there is no response.
/// Called on the thread that runs the sync, never the main thread.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    /// Sends `request` and waits for the response.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Receives progress while a sync runs. Must not throw.
#[uniffi::export(with_foreign)]
pub trait SyncObserver: Send + Sync {
    /// `done` of `total` units of `phase` are finished. For a pull the total
    /// is what has been received so far, plus one while more pages wait.
    fn progress(&self, phase: SyncPhase, done: u64, total: u64);
}

/// The shell's transport, as the core's sync engine sees it.
pub(crate) struct ForeignTransport(pub(crate) Arc<dyn HttpTransport>);

impl doorstep_core::Transport for ForeignTransport {
    fn send(
        &self,
        request: doorstep_core::HttpRequest,
    ) -> Result<doorstep_core::HttpResponse, doorstep_core::TransportError> {
        let request = HttpRequest {
            method: request.method,
            path: request.path,
            headers: request.headers.into_iter().map(header).collect(),
            body: request.body,
        };
        let response = self.0.send(request)?;
        Ok(doorstep_core::HttpResponse {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: response.body,
        })
    }
}

fn header((name, value): (String, String)) -> HttpHeader {
    HttpHeader { name, value }
}

/// The shell's observer, as the core's sync engine sees it.
pub(crate) struct ForeignObserver(pub(crate) Arc<dyn SyncObserver>);

impl doorstep_core::SyncObserver for ForeignObserver {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        self.0.progress(phase, done, total);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use doorstep_core::Transport;

    use super::*;

    /// A shell transport that records the request and answers as told.
    struct Recording {
        seen: Mutex<Vec<HttpRequest>>,
        answer: Result<HttpResponse, TransportError>,
    }

    impl HttpTransport for Recording {
        fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(request);
            self.answer.clone()
        }
    }

    fn core_request() -> doorstep_core::HttpRequest {
        doorstep_core::HttpRequest {
            method: "POST".into(),
            path: "/v1/push".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
        }
    }

    #[test]
    fn requests_and_responses_cross_unchanged() {
        let shell = Arc::new(Recording {
            seen: Mutex::new(Vec::new()),
            answer: Ok(HttpResponse {
                status: 503,
                headers: vec![HttpHeader {
                    name: "retry-after".into(),
                    value: "5".into(),
                }],
                body: b"busy".to_vec(),
            }),
        });
        let response = ForeignTransport(shell.clone())
            .send(core_request())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status, 503);
        assert_eq!(response.header("Retry-After"), Some("5"));
        assert_eq!(response.body, b"busy");
        let seen = shell.seen.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].path, "/v1/push");
        assert_eq!(seen[0].headers[0].name, "content-type");
        assert_eq!(seen[0].body, b"{}");
    }

    #[test]
    fn transport_failures_keep_their_kind() {
        for (shell_error, code) in [
            (TransportError::Offline { reason: "r".into() }, "offline"),
            (TransportError::Timeout { reason: "r".into() }, "timeout"),
            (TransportError::Io { reason: "r".into() }, "io"),
        ] {
            let shell = Arc::new(Recording {
                seen: Mutex::new(Vec::new()),
                answer: Err(shell_error),
            });
            let error = ForeignTransport(shell)
                .send(core_request())
                .err()
                .map(|e| e.code());
            assert_eq!(error, Some(code));
        }
    }
}
