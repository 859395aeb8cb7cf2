//! A fault-injecting HTTP/1.1 proxy on loopback, for sync tests.
//!
//! It sits between a device and the server and, request by request, chooses a
//! fault from a seeded schedule: pass, delay, drop the request, drop the response
//! after the server handled it (a lost response), send the request twice (a
//! duplicate), cut the response short, or reset the connection. Everything is
//! bounded: it serves at most `max_requests` requests and stops by itself when
//! dropped. Only loopback addresses are used.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Forward the request and the response untouched.
    Pass,
    /// Wait, then forward.
    Delay(Duration),
    /// Close the connection without forwarding the request.
    DropRequest,
    /// Forward the request, let the server handle it, then close without
    /// answering: the client cannot know whether it was applied.
    DropResponse,
    /// Forward the request twice; answer with the second response.
    Duplicate,
    /// Forward, then send only the first half of the response and close.
    TruncateResponse,
    /// Reset the connection (RST) instead of answering, after the server handled it.
    Reset,
}

/// How often each fault happens, out of 100 requests; the rest pass.
#[derive(Debug, Clone, Copy)]
pub struct FaultMix {
    /// Percentage of delayed requests.
    pub delay: u8,
    /// Percentage of dropped requests.
    pub drop_request: u8,
    /// Percentage of lost responses.
    pub drop_response: u8,
    /// Percentage of duplicated requests.
    pub duplicate: u8,
    /// Percentage of truncated responses.
    pub truncate: u8,
    /// Percentage of resets.
    pub reset: u8,
}

impl FaultMix {
    /// Every fault at `percent` each.
    pub fn uniform(percent: u8) -> FaultMix {
        FaultMix {
            delay: percent,
            drop_request: percent,
            drop_response: percent,
            duplicate: percent,
            truncate: percent,
            reset: percent,
        }
    }

    fn choose(&self, roll: u64, delay: Duration) -> Fault {
        let roll = (roll % 100) as u8;
        let table = [
            (self.delay, Fault::Delay(delay)),
            (self.drop_request, Fault::DropRequest),
            (self.drop_response, Fault::DropResponse),
            (self.duplicate, Fault::Duplicate),
            (self.truncate, Fault::TruncateResponse),
            (self.reset, Fault::Reset),
        ];
        let mut bound = 0u8;
        for (percent, fault) in table {
            bound = bound.saturating_add(percent);
            if roll < bound {
                return fault;
            }
        }
        Fault::Pass
    }
}

/// A running proxy. Dropping it stops it.
pub struct FaultProxy {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Fault>>>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream` (a loopback address),
    /// choosing faults from `mix` with a generator seeded by `seed`. After
    /// `max_requests` requests it only passes traffic through.
    pub fn start(
        upstream: SocketAddr,
        mix: FaultMix,
        seed: u64,
        max_requests: u64,
    ) -> io::Result<FaultProxy> {
        if !upstream.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the proxy only forwards to loopback",
            ));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rng = Arc::new(AtomicU64::new(seed | 1));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            thread::spawn(move || {
                accept_loop(listener, upstream, mix, rng, max_requests, stop, seen)
            })
        };
        Ok(FaultProxy {
            address,
            stop,
            seen,
            thread: Some(thread),
        })
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The faults applied so far, in order.
    pub fn faults(&self) -> Vec<Fault> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    mix: FaultMix,
    rng: Arc<AtomicU64>,
    max_requests: u64,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Fault>>>,
) {
    let mut workers = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let (rng, seen, stop) = (rng.clone(), seen.clone(), stop.clone());
                workers.push(thread::spawn(move || {
                    let _ = serve(client, upstream, mix, &rng, max_requests, &seen, &stop);
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::park_timeout(Duration::from_millis(5))
            }
            Err(_) => break,
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

/// Serves one client connection, request by request (keep-alive).
fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    mix: FaultMix,
    rng: &AtomicU64,
    max_requests: u64,
    seen: &Mutex<Vec<Fault>>,
    stop: &AtomicBool,
) -> io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client = client;
    while !stop.load(Ordering::SeqCst) {
        let Some(request) = read_message(&mut reader, false)? else {
            return Ok(());
        };
        let fault = {
            let mut seen = seen.lock().map_err(|_| io::Error::other("poisoned"))?;
            let fault = if (seen.len() as u64) < max_requests {
                mix.choose(
                    next_random(rng),
                    Duration::from_millis(next_random(rng) % 200),
                )
            } else {
                Fault::Pass
            };
            seen.push(fault);
            fault
        };
        match fault {
            Fault::DropRequest => return client.shutdown(Shutdown::Both),
            Fault::Delay(pause) => thread::sleep(pause),
            _ => {}
        }
        let mut response = exchange(upstream, &request)?;
        if fault == Fault::Duplicate {
            response = exchange(upstream, &request)?;
        }
        match fault {
            Fault::DropResponse => return client.shutdown(Shutdown::Both),
            Fault::Reset => {
                // A zero linger makes closing send RST instead of FIN.
                socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
                drop(reader);
                drop(client);
                return Ok(());
            }
            Fault::TruncateResponse => {
                client.write_all(&response[..response.len() / 2])?;
                return client.shutdown(Shutdown::Both);
            }
            _ => client.write_all(&response)?,
        }
    }
    Ok(())
}

/// Sends one request on a fresh upstream connection and reads one response.
fn exchange(upstream: SocketAddr, request: &[u8]) -> io::Result<Vec<u8>> {
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(Duration::from_secs(30)))?;
    server.write_all(request)?;
    let mut reader = BufReader::new(server);
    read_message(&mut reader, true)?.ok_or_else(|| io::Error::other("upstream closed"))
}

/// Reads one HTTP/1.1 message (head and a Content-Length body) as raw bytes.
/// `None` when the peer closed before a message started. Requests are rewritten
/// to `Connection: close` upstream by forcing a fresh connection per exchange.
fn read_message(reader: &mut impl BufRead, is_response: bool) -> io::Result<Option<Vec<u8>>> {
    let mut message = Vec::new();
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        let mut line = Vec::new();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return if message.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::other("truncated head"))
            };
        }
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if let Some(value) = text.strip_prefix("content-length:") {
            content_length = value
                .trim()
                .parse()
                .map_err(|_| io::Error::other("bad content-length"))?;
        }
        if text.starts_with("transfer-encoding:") && text.contains("chunked") {
            chunked = true;
        }
        message.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    if chunked {
        return Err(io::Error::other(if is_response {
            "chunked responses are not supported"
        } else {
            "chunked requests are not supported"
        }));
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    message.extend_from_slice(&body);
    Ok(Some(message))
}

/// xorshift64*: enough randomness for a reproducible fault schedule.
fn next_random(state: &AtomicU64) -> u64 {
    let mut x = state.load(Ordering::SeqCst);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.store(x, Ordering::SeqCst);
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback HTTP server that answers every request with how many it has
    /// handled so far.
    fn counting_server() -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let handled = Arc::new(AtomicU64::new(0));
        let counter = handled.clone();
        thread::spawn(move || {
            for stream in listener.incoming().take(64) {
                let mut stream = stream.unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if read_message(&mut reader, false).unwrap().is_none() {
                    continue;
                }
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let body = n.to_string();
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).unwrap();
            }
        });
        (address, handled)
    }

    /// Sends one request through the proxy; `Ok(None)` when no complete response came.
    fn request(proxy: &FaultProxy) -> io::Result<Option<Vec<u8>>> {
        let mut stream = TcpStream::connect(proxy.address())?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(b"POST /v1/push HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}")?;
        let mut reader = BufReader::new(stream);
        match read_message(&mut reader, true) {
            Ok(response) => Ok(response),
            Err(e)
                if e.kind() == io::ErrorKind::UnexpectedEof
                    || e.to_string() == "truncated head" =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn only(fault: &str) -> FaultMix {
        let mut mix = FaultMix::uniform(0);
        match fault {
            "duplicate" => mix.duplicate = 100,
            "drop_request" => mix.drop_request = 100,
            "drop_response" => mix.drop_response = 100,
            "truncate" => mix.truncate = 100,
            "reset" => mix.reset = 100,
            _ => {}
        }
        mix
    }

    #[test]
    fn passes_requests_through_untouched() {
        let (server, handled) = counting_server();
        let proxy = FaultProxy::start(server, only("none"), 7, 10).unwrap();
        let response = request(&proxy).unwrap().unwrap();
        assert!(
            response.ends_with(b"\r\n\r\n1"),
            "{}",
            String::from_utf8_lossy(&response)
        );
        assert_eq!(handled.load(Ordering::SeqCst), 1);
        assert_eq!(proxy.faults(), vec![Fault::Pass]);
    }

    #[test]
    fn a_duplicate_reaches_the_server_twice() {
        let (server, handled) = counting_server();
        let proxy = FaultProxy::start(server, only("duplicate"), 7, 10).unwrap();
        let response = request(&proxy).unwrap().unwrap();
        assert!(response.ends_with(b"2"));
        assert_eq!(handled.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_lost_response_was_still_handled_by_the_server() {
        let (server, handled) = counting_server();
        let proxy = FaultProxy::start(server, only("drop_response"), 7, 10).unwrap();
        assert_eq!(request(&proxy).unwrap(), None);
        assert_eq!(handled.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_dropped_request_never_reaches_the_server() {
        let (server, handled) = counting_server();
        let proxy = FaultProxy::start(server, only("drop_request"), 7, 10).unwrap();
        assert_eq!(request(&proxy).unwrap(), None);
        assert_eq!(handled.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn truncated_and_reset_responses_are_incomplete() {
        let (server, _) = counting_server();
        let proxy = FaultProxy::start(server, only("truncate"), 7, 10).unwrap();
        assert_eq!(request(&proxy).unwrap(), None);
        let proxy = FaultProxy::start(server, only("reset"), 7, 10).unwrap();
        match request(&proxy) {
            Ok(response) => assert_eq!(response, None),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        }
    }

    #[test]
    fn faults_stop_after_the_budget_and_the_schedule_is_reproducible() {
        let (server, _) = counting_server();
        let first = FaultProxy::start(server, FaultMix::uniform(10), 42, 5).unwrap();
        for _ in 0..8 {
            let _ = request(&first);
        }
        let faults = first.faults();
        assert!(faults[5..].iter().all(|f| *f == Fault::Pass));
        let second = FaultProxy::start(server, FaultMix::uniform(10), 42, 5).unwrap();
        for _ in 0..8 {
            let _ = request(&second);
        }
        let again = second.faults();
        let kinds = |v: &[Fault]| v.iter().map(std::mem::discriminant).collect::<Vec<_>>();
        assert_eq!(kinds(&faults), kinds(&again));
    }

    #[test]
    fn only_loopback_upstreams_are_accepted() {
        let outside: SocketAddr = "192.0.2.1:80".parse().unwrap();
        assert!(FaultProxy::start(outside, FaultMix::uniform(0), 1, 1).is_err());
    }
}
