//! A [`Transport`] over plain HTTP with `ureq`, for Rust tools and tests
//! (feature `ureq-transport`). The phone shells bring their own HTTP stacks.

use std::time::Duration;

use crate::sync::protocol::MAX_BODY_BYTES;
use crate::sync::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// Sends requests to one server with `ureq`.
#[derive(Debug)]
pub struct UreqTransport {
    base_url: String,
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport to `base_url` (e.g. `http://127.0.0.1:8080`), giving up on a
    /// request after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> UreqTransport {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build();
        UreqTransport {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent: ureq::Agent::new_with_config(config),
        }
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let io = |reason: String| TransportError::Io { reason };
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(format!("{}{}", self.base_url, request.path));
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .body(request.body)
            .map_err(|e| io(format!("bad request: {e}")))?;
        let mut response = self.agent.run(http_request).map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES as u64 * 2)
            .read_to_vec()
            .map_err(transport_error)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn transport_error(error: ureq::Error) -> TransportError {
    match error {
        ureq::Error::Timeout(_) => TransportError::Timeout {
            reason: error.to_string(),
        },
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => TransportError::Offline {
            reason: error.to_string(),
        },
        ureq::Error::Io(ref e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            TransportError::Offline {
                reason: error.to_string(),
            }
        }
        other => TransportError::Io {
            reason: other.to_string(),
        },
    }
}
