//! The replay: each device's recorded requests sent again, from its own
//! connection, timed one by one.
//!
//! A device's session is what its engine does on an evening sync: sign in
//! (the recorded `POST /v1/login`; a `503 sign_in_busy` or `429` fails the
//! phone's sync, and it tries again when its next sync is due: after the
//! core's own backoff, exponential from 5 s with full jitter,
//! `doorstep_core::sync::backoff`, which does not read `Retry-After`; or,
//! with [`Retry::RetryAfter`], after the answer's `Retry-After`, as a client
//! that honours it would; either way counted as turned away), push every
//! recorded body with the new token,
//! send anything else it sent (uploads) as it was, then pull pages from the
//! cursor every device held after its morning pull until the server says
//! there is no more. Every answer is checked: a push must come back with
//! all its ops applied. Anything else is an error for that device, which
//! stops its session.
//!
//! Every wait is bounded: each request by the timeout, sign-in retries by
//! [`SIGN_IN_TRIES`] and [`SIGN_IN_DEADLINE`], pull pages by
//! [`MAX_PULL_PAGES`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use doorstep_core::sync::backoff;
use doorstep_core::sync::protocol::{ErrorBody, LoginResponse, PullResponse, PushResponse};
use doorstep_core::sync::transport::HttpResponse;

use super::client::{Connection, source_address};
use super::prepare::{Kind, Prepared, Recorded};

/// Most sign-in attempts of one device.
pub const SIGN_IN_TRIES: u32 = 600;
/// Longest time one device keeps trying to sign in.
pub const SIGN_IN_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// Longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Most pull pages of one session.
pub const MAX_PULL_PAGES: u32 = 1_000;

/// The servers requests go to: one, or replicas taken in turn request by
/// request (as a round-robin load balancer in front of them would).
pub struct Target {
    servers: Vec<SocketAddr>,
    next: AtomicUsize,
}

impl Target {
    /// Requests go to `servers` in turn.
    pub fn new(servers: Vec<SocketAddr>) -> Target {
        Target {
            servers,
            next: AtomicUsize::new(0),
        }
    }

    fn pick(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.servers.len().max(1)
    }
}

/// What part of its session a device plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Only the sign-in (to sign every device in before the clock starts).
    SignIn,
    /// Everything; the sign-in too unless the device holds a token.
    All,
}

/// When a turned-away sign-in is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// When the phone's next sync is due after a failed one: the core's
    /// backoff (`backoff::next_delay`, full jitter below 5 s, 10 s, 20 s, …).
    Engine,
    /// After the answer's `Retry-After` (at most [`MAX_RETRY_AFTER`]).
    RetryAfter,
}

/// How sessions run.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// When a turned-away sign-in is tried again.
    pub retry: Retry,
    /// Seeds the jitter of [`Retry::Engine`].
    pub seed: u64,
    /// Whether sessions pull (without: sign-in and pushes only, the write
    /// path alone).
    pub pull: bool,
    /// Longest wait for one answer.
    pub timeout: Duration,
    /// The pull cursor every device starts from.
    pub cursor: u64,
}

/// What one device's session did and how long each part took.
#[derive(Debug)]
pub struct Session {
    /// The device's index.
    pub device: usize,
    /// When it was due to start.
    pub arrival: Instant,
    /// When it ended (done or failed).
    pub finished: Instant,
    /// Opening each connection.
    pub connects: Vec<Duration>,
    /// Each sign-in attempt's answer time.
    pub login_attempts: Vec<Duration>,
    /// From the first sign-in attempt to the token.
    pub sign_in: Option<Duration>,
    /// Sign-ins answered `503 sign_in_busy` or `429` and tried again.
    pub turned_away: u32,
    /// Each push's answer time.
    pub pushes: Vec<Duration>,
    /// When the first push was sent and the last one answered.
    pub push_span: Option<(Instant, Instant)>,
    /// Each pull page's answer time.
    pub pulls: Vec<Duration>,
    /// Each other request's answer time.
    pub others: Vec<Duration>,
    /// Operations pushed.
    pub ops_sent: u64,
    /// Operations the server said it applied.
    pub ops_applied: u64,
    /// Why the session stopped early, if it did.
    pub error: Option<String>,
    /// The bearer token it held at the end.
    pub token: Option<String>,
}

impl Session {
    fn new(device: usize, arrival: Instant) -> Session {
        Session {
            device,
            arrival,
            finished: arrival,
            connects: Vec::new(),
            login_attempts: Vec::new(),
            sign_in: None,
            turned_away: 0,
            pushes: Vec::new(),
            push_span: None,
            pulls: Vec::new(),
            others: Vec::new(),
            ops_sent: 0,
            ops_applied: 0,
            error: None,
            token: None,
        }
    }

    /// From the due start to the end: what the agent waits for.
    pub fn duration(&self) -> Duration {
        self.finished.saturating_duration_since(self.arrival)
    }
}

/// Runs `part` of the sessions of `devices` concurrently, device
/// `devices[i]` starting `offsets[i]` after a common start a little from now
/// (all at once: every offset zero), holding `tokens[i]` if given (then it
/// does not sign in). Returns the sessions in the order given.
pub async fn run_concurrently(
    prepared: Arc<Prepared>,
    target: Arc<Target>,
    config: Config,
    part: Part,
    devices: Vec<usize>,
    offsets: Vec<Duration>,
    tokens: Vec<Option<String>>,
) -> Vec<Session> {
    let start = Instant::now() + Duration::from_millis(100);
    let mut tokens = tokens.into_iter();
    let mut tasks = Vec::with_capacity(devices.len());
    for (n, offset) in devices.iter().copied().zip(offsets) {
        let prepared = prepared.clone();
        let target = target.clone();
        let arrival = start + offset;
        let token = tokens.next().flatten();
        tasks.push((
            n,
            arrival,
            tokio::spawn(async move {
                tokio::time::sleep_until(arrival.into()).await;
                session(&prepared, &target, config, part, n, arrival, token).await
            }),
        ));
    }
    let mut sessions = Vec::with_capacity(tasks.len());
    for (n, arrival, task) in tasks {
        sessions.push(task.await.unwrap_or_else(|e| {
            let mut failed = Session::new(n, arrival);
            failed.error = Some(format!("the session task failed: {e}"));
            failed.finished = Instant::now();
            failed
        }));
    }
    sessions
}

/// Signs `devices` in, at most `at_once` at a time (so that none is turned
/// away); the sessions hold their tokens.
pub async fn sign_in_all(
    prepared: Arc<Prepared>,
    target: Arc<Target>,
    config: Config,
    devices: Vec<usize>,
    at_once: usize,
) -> Vec<Session> {
    let permits = Arc::new(tokio::sync::Semaphore::new(at_once.max(1)));
    let mut tasks = Vec::with_capacity(devices.len());
    for n in devices {
        let (prepared, target, permits) = (prepared.clone(), target.clone(), permits.clone());
        tasks.push((
            n,
            tokio::spawn(async move {
                let _turn = permits.acquire_owned().await;
                session(
                    &prepared,
                    &target,
                    config,
                    Part::SignIn,
                    n,
                    Instant::now(),
                    None,
                )
                .await
            }),
        ));
    }
    let mut sessions = Vec::with_capacity(tasks.len());
    for (n, task) in tasks {
        sessions.push(task.await.unwrap_or_else(|e| {
            let mut failed = Session::new(n, Instant::now());
            failed.error = Some(format!("the sign-in task failed: {e}"));
            failed
        }));
    }
    sessions
}

/// Runs the sessions of `devices` one after another.
pub async fn run_serially(
    prepared: &Prepared,
    target: &Target,
    config: Config,
    devices: &[usize],
) -> Vec<Session> {
    let mut sessions = Vec::with_capacity(devices.len());
    for &n in devices {
        sessions.push(session(prepared, target, config, Part::All, n, Instant::now(), None).await);
    }
    sessions
}

/// `part` of one device's session, with `token` if it holds one.
pub async fn session(
    prepared: &Prepared,
    target: &Target,
    config: Config,
    part: Part,
    n: usize,
    arrival: Instant,
    token: Option<String>,
) -> Session {
    let mut session = Session::new(n, arrival);
    let mut device = Device {
        prepared,
        target,
        config,
        source: source_address(n),
        connections: (0..target.servers.len()).map(|_| None).collect(),
        token,
    };
    if let Err(e) = device.run(part, &mut session).await {
        session.error = Some(format!("device {n}: {e}"));
    }
    session.finished = Instant::now();
    session.token = device.token.take();
    session
}

struct Device<'a> {
    prepared: &'a Prepared,
    target: &'a Target,
    config: Config,
    source: std::net::IpAddr,
    connections: Vec<Option<Connection>>,
    token: Option<String>,
}

impl Device<'_> {
    async fn run(&mut self, part: Part, session: &mut Session) -> Result<(), String> {
        let day = self
            .prepared
            .days
            .get(session.device)
            .ok_or("no such prepared device")?;
        for request in &day.requests {
            match (part, request.kind) {
                (Part::SignIn, Kind::Login) => return self.sign_in(request, session).await,
                (Part::SignIn, _) => continue,
                (Part::All, Kind::Login) if self.token.is_some() => continue,
                (Part::All, Kind::Login) => self.sign_in(request, session).await?,
                (Part::All, Kind::Push { ops }) => self.push(request, ops, session).await?,
                (Part::All, Kind::Pull { .. }) if !self.config.pull => continue,
                (Part::All, Kind::Pull { limit }) => self.pull(request, limit, session).await?,
                (Part::All, Kind::Other) => {
                    let (answer, took) = self.send(request, None, session).await?;
                    session.others.push(took);
                    ok(&answer, "request")?;
                }
            }
        }
        Ok(())
    }

    /// Sends `request` (its recorded body, or `path` instead of its path) to
    /// the next server, with the token; the answer and how long it took.
    async fn send(
        &mut self,
        request: &Recorded,
        path: Option<&str>,
        session: &mut Session,
    ) -> Result<(HttpResponse, Duration), String> {
        let replica = self.target.pick();
        let server = *self.target.servers.get(replica).ok_or("no server")?;
        let timeout = self.config.timeout;
        let slot = self.connections.get_mut(replica).ok_or("no server")?;
        if !slot.as_ref().is_some_and(Connection::is_open) {
            let started = Instant::now();
            let opened = tokio::time::timeout(timeout, Connection::open(self.source, server))
                .await
                .map_err(|_| "timed out connecting".to_owned())??;
            session.connects.push(started.elapsed());
            *slot = Some(opened);
        }
        let connection = slot.as_mut().ok_or("no connection")?;
        let body: Bytes = self.prepared.body(request);
        let started = Instant::now();
        let answer = tokio::time::timeout(
            timeout,
            connection.send(
                &request.method,
                path.unwrap_or(&request.path),
                &request.headers,
                self.token.as_deref(),
                body,
            ),
        )
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))??;
        Ok((answer, started.elapsed()))
    }

    async fn sign_in(&mut self, request: &Recorded, session: &mut Session) -> Result<(), String> {
        let started = Instant::now();
        self.token = None;
        let mut jitter = self.config.seed ^ (session.device as u64).wrapping_mul(0x9E37_79B9);
        for failures in 1..=SIGN_IN_TRIES {
            let (answer, took) = self.send(request, None, session).await?;
            session.login_attempts.push(took);
            if answer.status == 503 || answer.status == 429 {
                session.turned_away += 1;
                let wait = match self.config.retry {
                    Retry::Engine => backoff::next_delay(failures, unit(&mut jitter)),
                    Retry::RetryAfter => answer
                        .header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map_or(Duration::from_secs(1), Duration::from_secs)
                        .clamp(Duration::from_millis(100), MAX_RETRY_AFTER),
                };
                if started.elapsed() + wait > SIGN_IN_DEADLINE {
                    break;
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            ok(&answer, "sign-in")?;
            let login: LoginResponse = serde_json::from_slice(&answer.body)
                .map_err(|e| format!("sign-in answer unreadable: {e}"))?;
            self.token = Some(login.token);
            session.sign_in = Some(started.elapsed());
            return Ok(());
        }
        Err(format!(
            "still turned away after {} sign-ins in {:.0} s",
            session.login_attempts.len(),
            started.elapsed().as_secs_f64()
        ))
    }

    async fn push(
        &mut self,
        request: &Recorded,
        ops: u64,
        session: &mut Session,
    ) -> Result<(), String> {
        let sent = Instant::now();
        let (answer, took) = self.send(request, None, session).await?;
        session.pushes.push(took);
        let first = session.push_span.map_or(sent, |(first, _)| first);
        session.push_span = Some((first, Instant::now()));
        session.ops_sent += ops;
        ok(&answer, "push")?;
        let result: PushResponse = serde_json::from_slice(&answer.body)
            .map_err(|e| format!("push answer unreadable: {e}"))?;
        session.ops_applied += result.applied;
        if result.applied != ops || !result.not_applied.is_empty() {
            return Err(format!(
                "push of {ops} ops: {} applied, {} not applied (first: {:?})",
                result.applied,
                result.not_applied.len(),
                result.not_applied.first()
            ));
        }
        Ok(())
    }

    async fn pull(
        &mut self,
        request: &Recorded,
        limit: u32,
        session: &mut Session,
    ) -> Result<(), String> {
        let mut cursor = self.config.cursor;
        for _ in 0..MAX_PULL_PAGES {
            let path = format!("/v1/pull?cursor={cursor}&limit={limit}");
            let (answer, took) = self.send(request, Some(&path), session).await?;
            session.pulls.push(took);
            ok(&answer, "pull")?;
            let page: PullResponse = serde_json::from_slice(&answer.body)
                .map_err(|e| format!("pull answer unreadable: {e}"))?;
            if page.cursor < cursor || (page.more && page.cursor == cursor) {
                return Err("the pull cursor did not advance".into());
            }
            if !page.more {
                return Ok(());
            }
            cursor = page.cursor;
        }
        Err(format!("still more to pull after {MAX_PULL_PAGES} pages"))
    }
}

/// `Ok` for a 2xx answer, otherwise its status and error code.
fn ok(answer: &HttpResponse, what: &str) -> Result<(), String> {
    if (200..300).contains(&answer.status) {
        return Ok(());
    }
    let code = serde_json::from_slice::<ErrorBody>(&answer.body)
        .map(|body| body.code)
        .unwrap_or_default();
    Err(format!("{what}: HTTP {} {code}", answer.status))
}

/// The next number of a SplitMix64 sequence kept in `state`.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from the sequence in `state`.
fn unit(state: &mut u64) -> f64 {
    (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// `count` arrival offsets of a Poisson process over `window`, in order: a
/// Poisson process that brings `count` arrivals in a window puts them at
/// `count` independent uniform times, sorted. Deterministic for a `seed`.
pub fn poisson_offsets(count: usize, window: Duration, seed: u64) -> Vec<Duration> {
    let mut state = seed;
    let mut offsets: Vec<Duration> = (0..count)
        .map(|_| window.mul_f64(unit(&mut state)))
        .collect();
    offsets.sort();
    offsets
}
