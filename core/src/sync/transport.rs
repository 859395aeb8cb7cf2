//! The transport: one HTTP request in, one HTTP response out.
//!
//! The core never opens a socket itself. The phone shells implement [`Transport`]
//! with the platform's HTTP stack (through the bindings), Rust tools and tests use
//! [`super::ureq_transport`] (feature `ureq-transport`) or a fake. The trait is
//! plain and synchronous so that it crosses the FFI boundary as a callback
//! interface: the sync engine runs on a background thread of the shell.

/// One HTTP request to the Doorstep server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST` or `PUT` (attachment chunks).
    pub method: String,
    /// Path and query relative to the server's base URL, e.g. `/v1/pull?cursor=0&limit=500`.
    pub path: String,
    /// Header names and values, e.g. `("content-type", "application/json")`.
    pub headers: Vec<(String, String)>,
    /// The body; empty for a `GET`.
    pub body: Vec<u8>,
}

/// The server's answer to an [`HttpRequest`], whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why a request got no response. Reasons describe the failure, never the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No network, or the server cannot be reached.
    #[error("offline: {reason}")]
    Offline {
        /// What the platform reported.
        reason: String,
    },
    /// The request or the response took too long; the server may or may not have
    /// acted on it (a push is safe to repeat).
    #[error("timed out: {reason}")]
    Timeout {
        /// What the platform reported.
        reason: String,
    },
    /// Any other failure on the way (connection reset, TLS, malformed response).
    #[error("transport failure: {reason}")]
    Io {
        /// What the platform reported.
        reason: String,
    },
}

impl TransportError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TransportError::Offline { .. } => "offline",
            TransportError::Timeout { .. } => "timeout",
            TransportError::Io { .. } => "io",
        }
    }
}

/// Sends one HTTP request to the Doorstep server and returns its response.
///
/// Implementations send the request as given (adding the base URL), return every
/// status (4xx and 5xx included) as an [`HttpResponse`], and report only a missing
/// response as a [`TransportError`].
pub trait Transport: Send + Sync {
    /// Sends `request` and waits for the response.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}
