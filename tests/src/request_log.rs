//! A transport that keeps a log of every request a phone sent and how it
//! ended, around the transport that really sends it: which attachment chunks
//! went up, from which offset, and whether the server answered. The field day
//! over a lossy link reads it to tell an upload that resumed from one that
//! started again from zero.

use std::sync::Mutex;

use doorstep_core::{HttpRequest, HttpResponse, Transport, TransportError};

/// One request as the phone sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// `GET`, `POST` or `PUT`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Bytes of the body.
    pub body_bytes: usize,
    /// The status the server answered, or `None` when no answer came.
    pub status: Option<u16>,
}

/// One attachment chunk sent (`PUT /v1/attachments/{sha256}?offset=&total=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkSent {
    /// The attachment's hash.
    pub sha256: String,
    /// Where the chunk starts.
    pub offset: u64,
    /// The chunk's length.
    pub bytes: u64,
    /// Whether the server answered (any status); `false` when the connection
    /// failed on the way.
    pub answered: bool,
}

/// Wraps a transport and logs every request.
pub struct RequestLog<T> {
    inner: T,
    log: Mutex<Vec<LoggedRequest>>,
}

impl<T: Transport> RequestLog<T> {
    /// Logs the requests sent through `inner`.
    pub fn new(inner: T) -> RequestLog<T> {
        RequestLog {
            inner,
            log: Mutex::new(Vec::new()),
        }
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Every attachment chunk sent so far, in order.
    pub fn chunks(&self) -> Vec<ChunkSent> {
        self.requests().iter().filter_map(chunk).collect()
    }
}

/// The chunk a request carried, if it is an attachment chunk.
fn chunk(request: &LoggedRequest) -> Option<ChunkSent> {
    if request.method != "PUT" {
        return None;
    }
    let rest = request.path.strip_prefix("/v1/attachments/")?;
    let (sha256, query) = rest.split_once('?')?;
    let offset = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("offset="))?
        .parse()
        .ok()?;
    Some(ChunkSent {
        sha256: sha256.to_owned(),
        offset,
        bytes: request.body_bytes as u64,
        answered: request.status.is_some(),
    })
}

impl<T: Transport> Transport for RequestLog<T> {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut entry = LoggedRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            body_bytes: request.body.len(),
            status: None,
        };
        let result = self.inner.send(request);
        entry.status = result.as_ref().ok().map(|r| r.status);
        if let Ok(mut log) = self.log.lock() {
            log.push(entry);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every request with 200, except that it fails every third.
    struct Flaky(Mutex<u32>);

    impl Transport for Flaky {
        fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
            let mut n = self.0.lock().unwrap();
            *n += 1;
            if n.is_multiple_of(3) {
                return Err(TransportError::Io {
                    reason: "cut".into(),
                });
            }
            Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: vec![],
            })
        }
    }

    fn put(path: &str, len: usize) -> HttpRequest {
        HttpRequest {
            method: "PUT".into(),
            path: path.into(),
            headers: vec![],
            body: vec![7; len],
        }
    }

    #[test]
    fn chunks_are_read_from_the_puts_with_their_offsets_and_outcomes() {
        let log = RequestLog::new(Flaky(Mutex::new(0)));
        let get = HttpRequest {
            method: "GET".into(),
            path: "/v1/attachments/ab/upload".into(),
            headers: vec![],
            body: vec![],
        };
        let _ = log.send(get);
        let _ = log.send(put("/v1/attachments/ab?offset=0&total=30", 10));
        let _ = log.send(put("/v1/attachments/ab?offset=10&total=30", 20));
        assert_eq!(log.requests().len(), 3);
        assert_eq!(
            log.chunks(),
            vec![
                ChunkSent {
                    sha256: "ab".into(),
                    offset: 0,
                    bytes: 10,
                    answered: true
                },
                ChunkSent {
                    sha256: "ab".into(),
                    offset: 10,
                    bytes: 20,
                    answered: false
                },
            ]
        );
    }
}
