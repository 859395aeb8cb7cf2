//! Sync benchmarks against the real server on a loopback port (see
//! `docs/BENCHMARKS.md`, "Sync"). Each one runs with its baseline in the same
//! process:
//!
//! - `push_10k`: a device pushes 10,000 queued ops (`sync_now`) against the same
//!   push bodies POSTed raw with a plain HTTP client (no device work);
//! - `pull_10k`: an empty device's first sync pulls 10,000 cases against the
//!   same cases applied locally with `apply_snapshot`;
//! - wire bytes of one complete visit, printed before the benchmarks.
//!
//! Under `cargo test --benches` (no `--bench` argument) the sizes shrink to a
//! few hundred so the smoke run stays fast.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use doorstep_core::checklist::home_verification;
use doorstep_core::sync::protocol::{
    LoginRequest, LoginResponse, PUSH_ZSTD_LEVEL, PushRequest, PushResponse,
};
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, NoProgress, ServerSnapshot, SyncPhase};
use doorstep_server::admin;
use doorstep_tests::server::TestServer;
use doorstep_tests::workload::{self, PASSWORD, PhaseTimer};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn ops_target() -> u64 {
    if full_run() { 10_000 } else { 300 }
}

/// Signs the bench's agent in on `doorstep`, once, as the sign-in screen does.
fn sign_in(doorstep: &Doorstep, transport: &UreqTransport) {
    doorstep
        .sign_in(transport, &workload::agent_name(0), PASSWORD)
        .unwrap();
}

fn transport(server: &TestServer) -> UreqTransport {
    UreqTransport::new(&server.url(), Duration::from_secs(60))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// A server with one agent and a device that has pulled its cases and then
/// queued `ops` operations offline, both closed and kept on disk to be copied.
struct PushFixture {
    dir: tempfile::TempDir,
    bodies: Vec<Vec<u8>>,
    ops: u64,
    device_id: uuid::Uuid,
}

impl PushFixture {
    fn new(ops: u64) -> PushFixture {
        let dir = tempfile::tempdir().unwrap();
        let device_dir = dir.path().join("device");
        std::fs::create_dir_all(&device_dir).unwrap();
        let (doorstep, clock) = workload::open_device(&device_dir.join("d.db")).unwrap();
        let device_id = doorstep.device_id();
        let server = TestServer::start(&dir.path().join("server")).unwrap();
        // A complete visit is 37 ops; one case per visit.
        let visits = (ops as usize).div_ceil(37) + 1;
        let agents = workload::prepare_server(server.store(), 1, &[device_id], visits).unwrap();
        sign_in(&doorstep, &transport(&server));
        doorstep.sync_now(&transport(&server), &NoProgress).unwrap();
        let cases: Vec<_> = agents[0].1.iter().map(|c| c.id).collect();
        workload::play_visits(&doorstep, &clock, &cases, ops).unwrap();
        assert_eq!(doorstep.pending_outbox_count().unwrap(), ops);
        let entries = workload::pending_entries(&doorstep, ops as u32).unwrap();
        // Compressed as the engine sends them.
        let bodies = workload::push_bodies(&entries)
            .unwrap()
            .iter()
            .map(|json| zstd::bulk::compress(json, PUSH_ZSTD_LEVEL).unwrap())
            .collect();
        drop(doorstep);
        drop(server);
        PushFixture {
            dir,
            bodies,
            ops,
            device_id,
        }
    }

    /// A fresh copy of the server and the device, in `into`.
    fn copy(&self, into: &Path) -> (TestServer, PathBuf) {
        copy_dir(self.dir.path(), into);
        let server = TestServer::start(&into.join("server")).unwrap();
        (server, into.join("device").join("d.db"))
    }
}

fn push_10k(c: &mut Criterion) {
    let fixture = PushFixture::new(ops_target());
    let mut group = c.benchmark_group("push_10k");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    group.throughput(criterion::Throughput::Elements(fixture.ops));
    let push_phase = Mutex::new(Vec::new());
    // Per sync: the sign-in, and from the last push progress to the last pull
    // progress (the closing pull).
    let rest = Mutex::new(Vec::new());

    group.bench_function("device_sync_now", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let scratch = tempfile::tempdir().unwrap();
                let (server, device) = fixture.copy(scratch.path());
                let (doorstep, clock) = workload::open_device(&device).unwrap();
                clock.advance(chrono::Duration::hours(3));
                let transport = transport(&server);
                let timer = PhaseTimer::default();
                let start = Instant::now();
                let report = doorstep.sync_now(&transport, &timer).unwrap();
                total += start.elapsed();
                assert_eq!(report.applied, fixture.ops, "{report:?}");
                assert_eq!(doorstep.pending_outbox_count().unwrap(), 0);
                if let Some(push) = timer.elapsed(SyncPhase::Push) {
                    push_phase.lock().unwrap().push(push);
                }
                let login = timer.elapsed(SyncPhase::Login).unwrap_or_default();
                let to_pull_end = timer.between(SyncPhase::Push, SyncPhase::Pull);
                let push = timer.elapsed(SyncPhase::Push).unwrap_or_default();
                rest.lock()
                    .unwrap()
                    .push((login, to_pull_end.unwrap_or_default().saturating_sub(push)));
            }
            total
        });
    });

    group.bench_function("raw_post_same_bodies", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let scratch = tempfile::tempdir().unwrap();
                let (server, _) = fixture.copy(scratch.path());
                let agent = ureq::Agent::new_with_defaults();
                let login: LoginResponse = agent
                    .post(&format!("{}/v1/login", server.url()))
                    .send_json(LoginRequest {
                        username: workload::agent_name(0),
                        password: PASSWORD.into(),
                        device_id: fixture.device_id,
                    })
                    .unwrap()
                    .body_mut()
                    .read_json()
                    .unwrap();
                let bearer = format!("Bearer {}", login.token);
                let url = format!("{}/v1/push", server.url());
                let start = Instant::now();
                let mut applied = 0;
                for body in &fixture.bodies {
                    let response: PushResponse = agent
                        .post(&url)
                        .header("Authorization", &bearer)
                        .content_type("application/json")
                        .header("Content-Encoding", "zstd")
                        .send(&body[..])
                        .unwrap()
                        .body_mut()
                        .with_config()
                        .limit(u64::MAX)
                        .read_json()
                        .unwrap();
                    assert!(response.not_applied.is_empty());
                    applied += response.applied;
                }
                total += start.elapsed();
                assert_eq!(applied, fixture.ops);
            }
            total
        });
    });
    group.finish();
    let (mut logins, mut pulls): (Vec<_>, Vec<_>) = rest.into_inner().unwrap().into_iter().unzip();
    println!(
        "push_10k: median sign-in {:?}, median closing pull {:?}",
        median(&mut logins),
        median(&mut pulls)
    );
    let mut phases = push_phase.into_inner().unwrap();
    let push = median(&mut phases);
    println!(
        "push_10k: median push phase alone (first to last push progress) {push:?} over {} syncs: {:.0} ops/s",
        phases.len(),
        fixture.ops as f64 / push.as_secs_f64().max(1e-9)
    );
}

fn pull_10k(c: &mut Criterion) {
    let n = ops_target() as usize;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server")).unwrap();
    let agents = workload::prepare_server(server.store(), 1, &[], n).unwrap();
    let (agent, cases) = agents.into_iter().next().unwrap();
    let snapshot = ServerSnapshot {
        agent,
        templates: vec![home_verification()],
        cases,
    };
    let mut group = c.benchmark_group("pull_10k");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(20));
    let phases = Mutex::new(Vec::new());

    let fresh_device = || -> (tempfile::TempDir, Doorstep) {
        let scratch = tempfile::tempdir().unwrap();
        let (doorstep, _) = workload::open_device(&scratch.path().join("d.db")).unwrap();
        (scratch, doorstep)
    };

    group.bench_function("device_first_sync", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_scratch, doorstep) = fresh_device();
                admin::create_device(
                    server.store(),
                    &workload::agent_name(0),
                    doorstep.device_id(),
                    chrono::Utc::now(),
                )
                .unwrap();
                let transport = transport(&server);
                let timer = PhaseTimer::default();
                let start = Instant::now();
                sign_in(&doorstep, &transport);
                let report = doorstep.sync_now(&transport, &timer).unwrap();
                total += start.elapsed();
                assert!(report.pulled >= n as u64, "{report:?}");
                if let Some(pull) = timer.between(SyncPhase::Push, SyncPhase::Pull) {
                    phases.lock().unwrap().push(pull);
                }
            }
            total
        });
    });

    group.bench_function("apply_snapshot_locally", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (_scratch, doorstep) = fresh_device();
                let start = Instant::now();
                doorstep.apply_snapshot(&snapshot).unwrap();
                total += start.elapsed();
            }
            total
        });
    });
    group.finish();
    let mut phases = phases.into_inner().unwrap();
    println!(
        "pull_10k: median without the sign-in (first push progress, with nothing to push, to the last pull progress) {:?}",
        median(&mut phases)
    );
}

/// Bytes on the wire for one complete visit: the push body as JSON and
/// zstd-compressed (level 3), against the raw payloads; and what the body is made of.
fn visit_wire_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (doorstep, clock) = workload::open_device(&dir.path().join("d.db")).unwrap();
    let server = TestServer::start(&dir.path().join("server")).unwrap();
    let agents = workload::prepare_server(server.store(), 1, &[doorstep.device_id()], 1).unwrap();
    sign_in(&doorstep, &transport(&server));
    doorstep.sync_now(&transport(&server), &NoProgress).unwrap();
    workload::play_visits(&doorstep, &clock, &[agents[0].1[0].id], u64::MAX).unwrap();
    let entries = workload::pending_entries(&doorstep, 1_000).unwrap();
    let bodies = workload::push_bodies(&entries).unwrap();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    let compressed = zstd::bulk::compress(body, 3).unwrap();
    let payloads: usize = entries.iter().map(|e| e.payload.len()).sum();
    let payloads_compressed = {
        let joined: Vec<u8> = entries
            .iter()
            .flat_map(|e| e.payload.as_bytes().iter().copied())
            .collect();
        zstd::bulk::compress(&joined, 3).unwrap().len()
    };

    // The same entries in the first v1 body (a flat list of whole log
    // entries, before the grouped format), for comparison in the same run.
    let flat = serde_json::to_vec(&serde_json::json!({ "ops": entries })).unwrap();
    let flat_compressed = zstd::bulk::compress(&flat, 3).unwrap().len();

    // What the body is made of: its compressed size without each group of
    // fields (a run's fields are in its header, an entry's in each entry).
    let request: serde_json::Value = serde_json::to_value(PushRequest::new(&entries)).unwrap();
    let groups: [(&str, &[&str], &[&str]); 6] = [
        (
            "run headers (visit_id, author, seq, prev_hash)",
            &["visit_id", "author", "seq", "prev_hash"],
            &[],
        ),
        ("explicit op_id", &[], &["op_id"]),
        (
            "stamps (hlc, counter, node, device_time, utc_offset_minutes)",
            &[],
            &[
                "hlc",
                "counter",
                "node",
                "device_time",
                "utc_offset_minutes",
            ],
        ),
        ("kind", &[], &["kind"]),
        ("payload", &[], &["payload"]),
        ("explicit hash", &[], &["hash"]),
    ];
    let mut without: Vec<(String, usize)> = Vec::new();
    for (name, run_keys, entry_keys) in groups {
        let mut stripped = request.clone();
        for run in stripped["chains"].as_array_mut().unwrap() {
            let run = run.as_object_mut().unwrap();
            for key in run_keys {
                run.remove(*key);
            }
            for entry in run["entries"].as_array_mut().unwrap() {
                for key in entry_keys {
                    entry.as_object_mut().unwrap().remove(*key);
                }
            }
        }
        let json = serde_json::to_vec(&stripped).unwrap();
        let z = zstd::bulk::compress(&json, 3).unwrap().len();
        without.push((name.to_owned(), body.len().saturating_sub(json.len())));
        without.push((format!("{name} zstd"), compressed.len().saturating_sub(z)));
    }

    // The server takes the compressed body and applies every op.
    let agent = ureq::Agent::new_with_defaults();
    let login: LoginResponse = agent
        .post(&format!("{}/v1/login", server.url()))
        .send_json(LoginRequest {
            username: workload::agent_name(0),
            password: PASSWORD.into(),
            device_id: doorstep.device_id(),
        })
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let mut response = agent
        .post(&format!("{}/v1/push", server.url()))
        .header("Authorization", &format!("Bearer {}", login.token))
        .header("Content-Encoding", "zstd")
        .content_type("application/json")
        .send(&compressed[..])
        .unwrap();
    let mut answer = String::new();
    response
        .body_mut()
        .as_reader()
        .read_to_string(&mut answer)
        .unwrap();
    let answer: PushResponse = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer.applied,
        entries.len() as u64,
        "the server applied every op"
    );
    assert!(answer.not_applied.is_empty());
    let kinds: std::collections::BTreeMap<&str, usize> =
        entries.iter().fold(Default::default(), |mut m, e| {
            *m.entry(e.kind.as_str()).or_default() += 1;
            m
        });

    println!(
        "wire_bytes: one complete visit, {} ops {kinds:?}",
        entries.len()
    );
    println!("wire_bytes: push body JSON            {:>6} B", body.len());
    println!(
        "wire_bytes: push body zstd level 3    {:>6} B  (target < 2048 B: {})",
        compressed.len(),
        if compressed.len() < 2048 {
            "met"
        } else {
            "missed"
        }
    );
    println!(
        "wire_bytes: first v1 body (flat list)  {:>6} B JSON, {:>5} B zstd level 3",
        flat.len(),
        flat_compressed
    );
    println!("wire_bytes: baseline payloads JSON    {:>6} B", payloads);
    println!(
        "wire_bytes: baseline payloads zstd 3  {:>6} B",
        payloads_compressed
    );
    println!(
        "wire_bytes: ratio body/payloads       {:.2}x JSON, {:.2}x zstd",
        body.len() as f64 / payloads as f64,
        compressed.len() as f64 / payloads_compressed as f64
    );
    for pair in without.chunks(2) {
        println!(
            "wire_bytes: {:<52} {:>6} B JSON, {:>5} B of the zstd body",
            pair[0].0, pair[0].1, pair[1].1
        );
    }
}

fn wire(c: &mut Criterion) {
    visit_wire_bytes();
    let _ = c;
}

criterion_group!(benches, wire, push_10k, pull_10k);
criterion_main!(benches);
