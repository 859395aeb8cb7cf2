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

/// The header the device sends on every request, asking for zstd-compressed
/// responses. The core decodes them itself ([`decode_response`]), so the
/// phone's HTTP stack must pass bodies through untouched.
pub const ACCEPT_ENCODING: (&str, &str) = ("accept-encoding", "zstd");

/// The most bytes a response body may inflate to.
pub const MAX_DECODED_RESPONSE_BYTES: usize = 8 * crate::sync::protocol::MAX_BODY_BYTES;

/// Why a response body could not be decoded. Reasons never quote the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `Content-Encoding: zstd` but the body is not a valid zstd frame.
    #[error("the response is not valid zstd")]
    Malformed,
    /// The body inflates beyond [`MAX_DECODED_RESPONSE_BYTES`] (a zstd bomb).
    #[error("the response inflates beyond the limit")]
    TooLarge,
    /// A content encoding other than zstd or identity.
    #[error("the response has an unsupported content encoding")]
    UnsupportedEncoding,
}

impl DecodeError {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            DecodeError::Malformed => "malformed_zstd",
            DecodeError::TooLarge => "response_too_large",
            DecodeError::UnsupportedEncoding => "unsupported_encoding",
        }
    }
}

/// Undoes the response's `Content-Encoding` (zstd or none), bounded by
/// [`MAX_DECODED_RESPONSE_BYTES`]. The returned response has a plain body and
/// no `Content-Encoding` header.
pub fn decode_response(mut response: HttpResponse) -> Result<HttpResponse, DecodeError> {
    let encoding = response
        .header("content-encoding")
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => return Ok(response),
        Some("zstd") => {}
        Some(_) => return Err(DecodeError::UnsupportedEncoding),
    }
    response.body = inflate(&response.body, MAX_DECODED_RESPONSE_BYTES)?;
    response
        .headers
        .retain(|(name, _)| !name.eq_ignore_ascii_case("content-encoding"));
    Ok(response)
}

/// Decompresses zstd, refusing to produce more than `limit` bytes.
fn inflate(compressed: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read as _;
    let decoder =
        zstd::stream::read::Decoder::new(compressed).map_err(|_| DecodeError::Malformed)?;
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| DecodeError::Malformed)?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn response(encoding: Option<&str>, body: Vec<u8>) -> HttpResponse {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(encoding) = encoding {
            headers.push(("Content-Encoding".to_owned(), encoding.to_owned()));
        }
        HttpResponse {
            status: 200,
            headers,
            body,
        }
    }

    #[test]
    fn plain_bodies_pass_through_and_zstd_bodies_are_decoded() {
        let json = br#"{"changes":[],"cursor":7,"more":false}"#.to_vec();
        assert_eq!(
            decode_response(response(None, json.clone())).unwrap(),
            response(None, json.clone())
        );
        assert_eq!(
            decode_response(response(Some("identity"), json.clone()))
                .unwrap()
                .body,
            json
        );
        let compressed = zstd::bulk::compress(&json, 3).unwrap();
        let decoded = decode_response(response(Some("ZSTD"), compressed)).unwrap();
        assert_eq!(decoded, response(None, json));
    }

    #[test]
    fn broken_unknown_and_bomb_bodies_are_typed_errors() {
        assert_eq!(
            decode_response(response(Some("zstd"), b"{\"not\":\"zstd\"}".to_vec())),
            Err(DecodeError::Malformed)
        );
        let mut truncated = zstd::bulk::compress(&[7u8; 10_000], 3).unwrap();
        truncated.truncate(truncated.len() / 2);
        assert_eq!(
            decode_response(response(Some("zstd"), truncated)),
            Err(DecodeError::Malformed)
        );
        assert_eq!(
            decode_response(response(Some("gzip"), b"x".to_vec())),
            Err(DecodeError::UnsupportedEncoding)
        );
        // A few kilobytes that inflate past the limit.
        let bomb = zstd::stream::encode_all(
            std::io::repeat(0).take(MAX_DECODED_RESPONSE_BYTES as u64 + 1),
            19,
        )
        .unwrap();
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        assert_eq!(
            decode_response(response(Some("zstd"), bomb)),
            Err(DecodeError::TooLarge)
        );
        // Exactly at the limit is fine.
        let full = zstd::stream::encode_all(
            std::io::repeat(0).take(MAX_DECODED_RESPONSE_BYTES as u64),
            1,
        )
        .unwrap();
        let decoded = decode_response(response(Some("zstd"), full)).unwrap();
        assert_eq!(decoded.body.len(), MAX_DECODED_RESPONSE_BYTES);
    }
}
