//! Compressed responses: a JSON response is sent zstd-compressed
//! (`Content-Encoding: zstd`) when the request's `Accept-Encoding` accepts
//! `zstd`. Other responses, and requests that do not ask, get plain bodies.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ServiceError;

/// zstd level for responses: fast, and most of the gain on JSON.
pub const RESPONSE_ZSTD_LEVEL: i32 = 3;

/// Largest response body the server compresses (a pull page is far below).
const MAX_COMPRESSED_INPUT: usize = 256 * 1024 * 1024;

/// Whether an `Accept-Encoding` header accepts zstd (`zstd`, `zstd;q=0.5`,
/// `*`), and not with `q=0`.
pub fn accepts_zstd(headers: &HeaderMap) -> bool {
    let mut accepted = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            if !(coding.eq_ignore_ascii_case("zstd") || coding == "*") {
                continue;
            }
            let refused = parts.any(|param| {
                let param = param.trim();
                param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if coding.eq_ignore_ascii_case("zstd") {
                // An explicit zstd entry decides, whatever `*` says.
                return !refused;
            }
            accepted = !refused;
        }
    }
    accepted
}

/// Middleware: compresses JSON responses for clients that accept zstd.
pub async fn compress_json_responses(request: Request, next: Next) -> Response {
    let wants_zstd = accepts_zstd(request.headers());
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !is_json || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !wants_zstd {
        return Response::from_parts(parts, body);
    }
    let bytes = match to_bytes(body, MAX_COMPRESSED_INPUT).await {
        Ok(bytes) => bytes,
        Err(e) => return ServiceError::internal(&e).into_response(),
    };
    let compressed = match zstd::bulk::compress(&bytes, RESPONSE_ZSTD_LEVEL) {
        Ok(compressed) => compressed,
        Err(e) => return ServiceError::internal(&e).into_response(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
    Response::from_parts(parts, Body::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        accepts_zstd(&headers)
    }

    #[test]
    fn accept_encoding_is_read_as_http_says() {
        assert!(accepts(&["zstd"]));
        assert!(accepts(&["gzip, ZSTD;q=0.5"]));
        assert!(accepts(&["gzip", "zstd"]));
        assert!(accepts(&["*"]));
        assert!(!accepts(&[]));
        assert!(!accepts(&["gzip, br"]));
        assert!(!accepts(&["zstd;q=0"]));
        assert!(!accepts(&["*, zstd;q=0"]));
        assert!(!accepts(&["zstd; q=0.0"]));
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["zstdx"]));
    }
}
