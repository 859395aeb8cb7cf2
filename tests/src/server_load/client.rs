//! The replay's HTTP client: HTTP/1.1 over one keep-alive connection per
//! device (and server replica), hyper's low-level connection API on tokio.
//!
//! Why this and not the devices' own `UreqTransport` on threads: a device
//! core and a thread per device are what the end-to-end driver (`load`)
//! already measures; here the client should cost as little CPU as possible
//! on the two cores the server also runs on. Thousands of connections wait
//! on the server at once in the "all at once" run, which is cheap as tokio
//! tasks on one thread and dear as thousands of OS threads. The
//! connection-level API (rather than a pooled client such as reqwest) keeps
//! what a phone does explicit: its own connection, kept alive across its
//! requests, opened from its own address. Each device connects from its own
//! loopback address (`127.10.x.y`, [`source_address`]), as phones come from
//! their own addresses: the server limits sign-ins per client address, and a
//! real fleet does not share one.
//!
//! Responses are decoded as the core decodes them
//! (`doorstep_core::sync::transport::decode_response`: zstd, bounded).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use doorstep_core::sync::transport::{HttpResponse, decode_response};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

/// The loopback address device `n` connects from: `127.10.0.1` upwards,
/// never a `.0` or `.255` in the last two places.
pub fn source_address(n: usize) -> IpAddr {
    let d = (n % 250) as u8 + 1;
    let c = ((n / 250) % 250) as u8 + 1;
    let b = 10u8.saturating_add(u8::try_from(n / 62_500).unwrap_or(u8::MAX - 10));
    IpAddr::V4(Ipv4Addr::new(127, b, c, d))
}

/// One open keep-alive connection to a server.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    /// Connects from `source` (port picked by the system) to `server`.
    pub async fn open(source: IpAddr, server: SocketAddr) -> Result<Connection, String> {
        let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| format!("bind {source}: {e}"))?;
        let stream = socket
            .connect(server)
            .await
            .map_err(|e| format!("connect {server}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            // Ends when the connection closes (the device is done, or the
            // server went away); a failure shows on the next request.
            let _ = connection.await;
        });
        Ok(Connection {
            sender,
            host: server.to_string(),
        })
    }

    /// Whether the connection can still take requests.
    pub fn is_open(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Sends one request with `headers` (and `Bearer token` when given) and
    /// reads the whole answer, decoded.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        token: Option<&str>,
        body: Bytes,
    ) -> Result<HttpResponse, String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection lost: {e}"))?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.host);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(token) = token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes()
            .to_vec();
        decode_response(HttpResponse {
            status,
            headers,
            body,
        })
        .map_err(|e| format!("decoding the answer: {e}"))
    }
}
