//! Preparation, untimed: every device's day worked by a real device core and
//! the requests its sync engine sends for it, recorded byte for byte, then
//! cached on disk.
//!
//! Each device is a real `Doorstep` (encrypted database, on `/dev/shm` when
//! there is one: its durability is not what is measured) on a fixed clock.
//! It signs in and pulls its cases from a preparation server (in process,
//! SQLite, seeded with the same [`Seed`] the measured server gets), works
//! its visits offline ([`workload::play_visits`]: 38 ops a visit; with
//! photos, each visit also gets one photo of the premises and is submitted,
//! 40 ops), then syncs through a [`Transport`] that records every request
//! before passing it on. So the push bodies are exactly what the engine
//! sends: grouped `PushRequest` JSON, batched at `MAX_PUSH_OPS`, zstd at
//! `PUSH_ZSTD_LEVEL`, with the engine's headers (`doorstep-protocol: 2`,
//! `content-encoding: zstd`, …). The sign-in is the one the engine sent for
//! its first sync (the same body it sends whenever it signs in again); the
//! bearer token is left out and filled in at replay. The preparation server
//! applies every push, which checks the bodies are good before they are
//! kept. With photos, the engine's uploads (`GET …/upload`, `PUT` chunks of
//! at most 1 MiB) are recorded and replayed as they were.
//!
//! The cache is a directory named by the parameters and
//! [`FORMAT`]/[`PROTOCOL_VERSION`]: `manifest.json` (the seed, each device's
//! requests and the chains it must end up with on the server) and
//! `bodies.bin` (the bodies, back to back). It is written under a temporary
//! name and renamed when complete. A change to how the core encodes a push
//! does not change the key: delete the cache (or pass `--fresh`) after one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use doorstep_core::NoProgress;
use doorstep_core::domain::{AttachmentKind, AttachmentLink};
use doorstep_core::sync::protocol::{MAX_BODY_BYTES, PROTOCOL_VERSION, PushRequest};
use doorstep_core::sync::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_server::store::sqlite::SqliteStore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::seed::{self, Seed, SeedDevice};
use crate::server::TestServer;
use crate::workload::{self, PASSWORD};

/// Version of the cache's layout; bumped when it changes.
pub const FORMAT: u32 = 1;

/// What one recorded request is, for the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `POST /v1/login`; its answer's token goes on every later request.
    Login,
    /// `POST /v1/push` carrying `ops` operations.
    Push {
        /// Operations in the body.
        ops: u64,
    },
    /// The first `GET /v1/pull` of the sync: replayed as the engine's loop
    /// (pages until `more` is false), from the cursor every device held
    /// after its morning pull.
    Pull {
        /// The page size the engine asks for.
        limit: u32,
    },
    /// Anything else the engine sent (attachment uploads), replayed as is.
    Other,
}

/// One request as the engine sent it, without its bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    /// What it is.
    pub kind: Kind,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The engine's headers, `authorization` left out.
    pub headers: Vec<(String, String)>,
    /// Where its body starts in [`Prepared::bodies`].
    pub offset: usize,
    /// Its body's length.
    pub len: usize,
}

/// A chain a device pushes: what the server must hold of it afterwards.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpectedChain {
    /// The visit.
    pub visit: Uuid,
    /// Position of its first pushed entry.
    pub first_seq: u64,
    /// Position of its last pushed entry.
    pub last_seq: u64,
    /// How many entries were pushed.
    pub count: u64,
    /// The hash of the last one.
    pub head_hash: String,
}

/// One device's day: who it is, what it sends, what the server must hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceDay {
    /// The device id.
    pub device: Uuid,
    /// Its agent's index in the seed.
    pub agent: usize,
    /// The requests, in the engine's order: the sign-in first.
    pub requests: Vec<Recorded>,
    /// The chains it pushes.
    pub chains: Vec<ExpectedChain>,
    /// Operations it pushes.
    pub ops: u64,
}

/// Everything a run replays.
#[derive(Debug, Serialize, Deserialize)]
pub struct Prepared {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// The cache key (the parameters).
    pub key: String,
    /// Visits each device works.
    pub visits: usize,
    /// Bytes of each visit's photo (0: no photos).
    pub photo_bytes: usize,
    /// The server's users, cases and devices.
    pub seed: Seed,
    /// Every device's day, in seed order.
    pub days: Vec<DeviceDay>,
    /// The bodies of every recorded request, back to back.
    #[serde(skip)]
    pub bodies: Bytes,
}

impl Prepared {
    /// The body of `request`.
    pub fn body(&self, request: &Recorded) -> Bytes {
        let end = request
            .offset
            .saturating_add(request.len)
            .min(self.bodies.len());
        self.bodies.slice(request.offset.min(end)..end)
    }
}

/// What to prepare.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Devices.
    pub devices: usize,
    /// Agents they are shared out among.
    pub agents: usize,
    /// Visits each device works.
    pub visits: usize,
    /// Bytes of each visit's photo (0: no photos, no submit).
    pub photo_bytes: usize,
}

impl Shape {
    /// The cache key for these parameters.
    pub fn cache_key(&self) -> String {
        format!(
            "f{FORMAT}-p{PROTOCOL_VERSION}-devices{}-agents{}-visits{}-photo{}",
            self.devices, self.agents, self.visits, self.photo_bytes
        )
    }
}

/// The prepared run for these parameters: from `cache` when it holds it
/// (unless `fresh`), otherwise made now (and written there when `cache` is
/// given). Prints what it does to stderr.
pub fn load_or_prepare(
    cache: Option<&Path>,
    fresh: bool,
    shape: Shape,
) -> Result<Prepared, String> {
    let key = shape.cache_key();
    if let (Some(root), false) = (cache, fresh) {
        let dir = root.join(&key);
        if dir.join("manifest.json").is_file() {
            let started = Instant::now();
            let prepared = read_cache(&dir, &key)?;
            eprintln!(
                "server_load: {} prepared devices read from {} in {:.1} s",
                prepared.days.len(),
                dir.display(),
                started.elapsed().as_secs_f64()
            );
            return Ok(prepared);
        }
    }
    let prepared = prepare(shape, key)?;
    if let Some(root) = cache {
        write_cache(root, &prepared)?;
    }
    Ok(prepared)
}

fn read_cache(dir: &Path, key: &str) -> Result<Prepared, String> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| format!("cannot read {}/{name}: {e}", dir.display()))
    };
    let mut prepared: Prepared = serde_json::from_slice(&read("manifest.json")?)
        .map_err(|e| format!("cache manifest in {} unreadable: {e}", dir.display()))?;
    if prepared.format != FORMAT || prepared.key != key {
        return Err(format!(
            "the cache in {} is of another format: delete it",
            dir.display()
        ));
    }
    prepared.bodies = Bytes::from(read("bodies.bin")?);
    let fits = prepared.days.iter().flat_map(|day| &day.requests).all(|r| {
        r.offset
            .checked_add(r.len)
            .is_some_and(|end| end <= prepared.bodies.len())
    });
    if !fits || prepared.days.len() != prepared.seed.devices.len() {
        return Err(format!(
            "the cache in {} is incomplete: delete it",
            dir.display()
        ));
    }
    Ok(prepared)
}

fn write_cache(root: &Path, prepared: &Prepared) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write the cache in {}: {e}", root.display());
    std::fs::create_dir_all(root).map_err(err)?;
    let partial = root.join(format!("{}.partial-{}", prepared.key, std::process::id()));
    std::fs::create_dir_all(&partial).map_err(err)?;
    let manifest = serde_json::to_vec(prepared).map_err(|e| e.to_string())?;
    std::fs::write(partial.join("manifest.json"), manifest).map_err(err)?;
    std::fs::write(partial.join("bodies.bin"), &prepared.bodies).map_err(err)?;
    let done = root.join(&prepared.key);
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(err)?;
    }
    std::fs::rename(&partial, &done).map_err(err)?;
    eprintln!("server_load: prepared devices cached in {}", done.display());
    Ok(())
}

/// A transport that records every request before sending it.
struct Recorder {
    inner: UreqTransport,
    seen: Mutex<Vec<HttpRequest>>,
}

impl Recorder {
    fn new(url: &str) -> Recorder {
        Recorder {
            inner: UreqTransport::new(url, Duration::from_secs(120)),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn take(&self) -> Vec<HttpRequest> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Transport for Recorder {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request.clone());
        self.inner.send(request)
    }
}

/// A device's day before its bodies go into the shared blob.
struct Made {
    device: SeedDevice,
    day: DeviceDay,
    bodies: Vec<Vec<u8>>,
}

fn prepare(shape: Shape, key: String) -> Result<Prepared, String> {
    let started = Instant::now();
    let Shape {
        devices,
        agents,
        visits,
        photo_bytes,
    } = shape;
    eprintln!(
        "server_load: preparing {devices} devices ({visits} visits each, photos of {photo_bytes} bytes) with real device cores"
    );
    let mut seed = Seed::new(devices, agents, visits);
    let dir = match Path::new("/dev/shm").is_dir() {
        true => tempfile::Builder::new()
            .prefix("server-load-")
            .tempdir_in("/dev/shm"),
        false => tempfile::tempdir(),
    }
    .map_err(|e| format!("no room for the device databases: {e}"))?;
    let store = SqliteStore::open_dir(&dir.path().join("server")).map_err(|e| e.to_string())?;
    seed::seed_store(&store, &seed, false)?;
    let server = TestServer::serve(std::sync::Arc::new(store), &dir.path().join("blobs"))
        .map_err(|e| e.to_string())?;
    let url = server.url();

    let next = AtomicUsize::new(0);
    let made: Mutex<Vec<Option<Made>>> = Mutex::new((0..devices).map(|_| None).collect());
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    std::thread::scope(|scope| -> Result<(), String> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<(), String> {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= devices {
                            return Ok(());
                        }
                        let one = prepare_device(n, &seed, shape, dir.path(), &server, &url)?;
                        made.lock().unwrap_or_else(|p| p.into_inner())[n] = Some(one);
                        if (n + 1).is_multiple_of(100) {
                            eprintln!(
                                "server_load: {} devices prepared, {:.0} s",
                                n + 1,
                                started.elapsed().as_secs_f64()
                            );
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .unwrap_or_else(|_| Err("a preparation thread panicked".into()))?;
        }
        Ok(())
    })?;
    drop(server);

    let mut bodies = Vec::new();
    let mut days = Vec::with_capacity(devices);
    for (n, one) in made
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .enumerate()
    {
        let mut one = one.ok_or_else(|| format!("device {n} was not prepared"))?;
        for (request, body) in one.day.requests.iter_mut().zip(&one.bodies) {
            request.offset = bodies.len();
            request.len = body.len();
            bodies.extend_from_slice(body);
        }
        seed.devices.push(one.device);
        days.push(one.day);
    }
    eprintln!(
        "server_load: {devices} devices prepared in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Prepared {
        format: FORMAT,
        key,
        visits,
        photo_bytes,
        seed,
        days,
        bodies: Bytes::from(bodies),
    })
}

/// Makes device `n`: registers it, signs in and pulls, works its visits,
/// syncs, and keeps what its engine sent.
fn prepare_device(
    n: usize,
    seed: &Seed,
    shape: Shape,
    dir: &Path,
    server: &TestServer,
    url: &str,
) -> Result<Made, String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("device {n}, {what}: {e}");
    let path: PathBuf = dir.join(format!("device-{n}.db"));
    let agent = n % seed.agents.len().max(1);
    let (doorstep, clock) = workload::open_device(&path).map_err(|e| fail("open", &e))?;
    let device = SeedDevice {
        id: doorstep.device_id(),
        agent,
    };
    seed::register_devices(server.store(), seed, std::slice::from_ref(&device))?;
    let morning = Recorder::new(url);
    doorstep
        .sign_in(&morning, &workload::agent_name(agent), PASSWORD)
        .map_err(|e| fail("sign-in", &e))?;
    doorstep
        .sync_now(&morning, &NoProgress)
        .map_err(|e| fail("first sync", &e))?;
    let login = morning
        .take()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/v1/login")
        .ok_or_else(|| format!("device {n}: the sign-in was not recorded"))?;
    let cases = seed.cases_of(n, shape.visits);
    let worked = workload::play_visits(&doorstep, &clock, &cases, u64::MAX)
        .map_err(|e| fail("visits", &e))?;
    if shape.photo_bytes > 0 {
        for (i, visit) in worked.iter().enumerate() {
            doorstep
                .attach(
                    *visit,
                    AttachmentKind::Photo,
                    "image/jpeg",
                    &photo(n, i, shape.photo_bytes),
                    AttachmentLink::ChecklistItem {
                        item_id: "premises_photos".into(),
                    },
                )
                .map_err(|e| fail("photo", &e))?;
            doorstep.submit(*visit).map_err(|e| fail("submit", &e))?;
        }
    }
    let entries = workload::pending_entries(&doorstep, u32::MAX).map_err(|e| fail("outbox", &e))?;
    let chains = expected_chains(&entries);
    let evening = Recorder::new(url);
    let report = doorstep
        .sync_now(&evening, &NoProgress)
        .map_err(|e| fail("sync", &e))?;
    let ops = entries.len() as u64;
    let photos = if shape.photo_bytes > 0 {
        worked.len() as u64
    } else {
        0
    };
    if report.uploaded != photos {
        return Err(format!(
            "device {n}: {} of {photos} photos uploaded",
            report.uploaded
        ));
    }
    if report.applied != ops || report.rejected != 0 || report.duplicates != 0 {
        return Err(format!(
            "device {n}: the preparation server applied {} of {ops} ops ({} rejected)",
            report.applied, report.rejected
        ));
    }
    let mut requests = Vec::new();
    let mut bodies = Vec::new();
    let mut pulled = false;
    for request in std::iter::once(login).chain(evening.take()) {
        let kind = kind_of(&request)?;
        match kind {
            Kind::Login if !requests.is_empty() => continue,
            Kind::Pull { .. } if pulled => continue,
            Kind::Pull { .. } => pulled = true,
            _ => {}
        }
        requests.push(Recorded {
            kind,
            method: request.method,
            path: request.path,
            headers: request
                .headers
                .into_iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("authorization"))
                .collect(),
            offset: 0,
            len: request.body.len(),
        });
        bodies.push(request.body);
    }
    drop(doorstep);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(dir.join(format!("device-{n}.db{suffix}")));
    }
    Ok(Made {
        device,
        day: DeviceDay {
            device: device.id,
            agent,
            requests,
            chains,
            ops,
        },
        bodies,
    })
}

/// `len` bytes that do not compress (as a JPEG's do not), different for
/// each device `n` and visit `i`.
fn photo(n: usize, i: usize, len: usize) -> Vec<u8> {
    let mut state = ((n as u64) << 20) ^ (i as u64) ^ 0x5EED;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// The chains `entries` (one device's outbox) extend, in order of first
/// appearance.
fn expected_chains(entries: &[doorstep_core::event_log::LogEntry]) -> Vec<ExpectedChain> {
    let mut chains: Vec<ExpectedChain> = Vec::new();
    for entry in entries {
        match chains.iter_mut().find(|c| c.visit == entry.visit_id) {
            Some(chain) => {
                chain.first_seq = chain.first_seq.min(entry.seq);
                if entry.seq >= chain.last_seq {
                    chain.last_seq = entry.seq;
                    chain.head_hash = entry.hash.clone();
                }
                chain.count += 1;
            }
            None => chains.push(ExpectedChain {
                visit: entry.visit_id,
                first_seq: entry.seq,
                last_seq: entry.seq,
                count: 1,
                head_hash: entry.hash.clone(),
            }),
        }
    }
    chains
}

/// What a request of the engine is.
fn kind_of(request: &HttpRequest) -> Result<Kind, String> {
    let path = request.path.split('?').next().unwrap_or_default();
    Ok(match (request.method.as_str(), path) {
        ("POST", "/v1/login") => Kind::Login,
        ("POST", "/v1/push") => Kind::Push {
            ops: push_ops(request)?,
        },
        ("GET", "/v1/pull") => Kind::Pull {
            limit: request
                .path
                .split(['?', '&'])
                .find_map(|part| part.strip_prefix("limit="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(doorstep_core::sync::protocol::MAX_PULL_LIMIT),
        },
        _ => Kind::Other,
    })
}

/// How many operations a recorded push carries.
fn push_ops(request: &HttpRequest) -> Result<u64, String> {
    let zstd = request
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "zstd");
    let json = if zstd {
        zstd::bulk::decompress(&request.body, 8 * MAX_BODY_BYTES).map_err(|e| e.to_string())?
    } else {
        request.body.clone()
    };
    let body: PushRequest = serde_json::from_slice(&json).map_err(|e| e.to_string())?;
    Ok(body.len() as u64)
}
