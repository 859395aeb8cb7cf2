//! Load driver: many simulated devices sync at once against one server on this
//! machine (on loopback; SQLite store by default, PostgreSQL with `--database-url`).
//!
//! Each simulated device is a real `Doorstep` (its own encrypted database) with
//! its own `UreqTransport`. Before the clock starts, every device signs in,
//! pulls its cases and works one complete visit offline (37 ops: 30 answers,
//! 3 notes). Then all devices start `sync_now` at the same moment, behind a
//! barrier, each on its own thread; the push latency is the time of the push
//! phase (one `POST /v1/push` with the whole visit), the sync latency the whole
//! `sync_now` (push + pull).
//!
//! ```sh
//! cargo run --release -p doorstep-tests --bin load -- --devices 500
//! ```
//! Options: `--devices N` (default 500, at most 2,000), `--agents N` (default
//! devices / 10; each agent has its devices and two cases per device),
//! `--timeout-secs N` (per request, default 120), `--database-url postgres://…`
//! (an empty PostgreSQL database; the server's schema is created in it).
#![allow(clippy::expect_used)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{NoProgress, SyncPhase};
use doorstep_server::store::postgres::PostgresStore;
use doorstep_tests::server::TestServer;
use doorstep_tests::workload::{self, PASSWORD, PhaseTimer};

struct Options {
    devices: usize,
    agents: usize,
    timeout: Duration,
    database_url: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut devices = 500;
    let mut agents = None;
    let mut timeout = 120;
    let mut database_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--devices" => devices = value()?,
            "--agents" => agents = Some(value()?),
            "--timeout-secs" => timeout = value()?,
            "--database-url" => {
                database_url = Some(args.next().ok_or("--database-url needs a URL")?);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !(1..=2_000).contains(&devices) {
        return Err("--devices must be 1..=2000".into());
    }
    let agents = agents.unwrap_or(devices.div_ceil(10)).clamp(1, devices);
    Ok(Options {
        devices,
        agents,
        timeout: Duration::from_secs(timeout as u64),
        database_url,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&options) {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

fn run(options: &Options) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let setup = Instant::now();
    println!(
        "load: {} devices, {} agents, {} store, load average before: {}",
        options.devices,
        options.agents,
        if options.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        load_average()
    );

    // Devices first (each makes its own id), then the server knows them.
    let mut devices = Vec::with_capacity(options.devices);
    for n in 0..options.devices {
        let (doorstep, clock) = workload::open_device(&dir.path().join(format!("device-{n}.db")))
            .map_err(|e| e.to_string())?;
        devices.push((n, doorstep, clock));
    }
    let ids: Vec<_> = devices.iter().map(|(_, d, _)| d.device_id()).collect();
    let server = match &options.database_url {
        None => TestServer::start(&dir.path().join("server")),
        Some(url) => PostgresStore::open(url)
            .map_err(std::io::Error::other)
            .and_then(|store| TestServer::serve(Arc::new(store), &dir.path().join("blobs"))),
    }
    .map_err(|e| e.to_string())?;
    let per_agent = options.devices.div_ceil(options.agents);
    let agents = workload::prepare_server(server.store(), options.agents, &ids, 2 * per_agent)?;
    let url = server.url();

    // Each device signs in, pulls, and works one visit on a case of its own.
    let prepared: Vec<_> = std::thread::scope(|scope| {
        let chunks: Vec<_> = devices.chunks(options.devices.div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let agents = &agents;
                let url = &url;
                scope.spawn(move || -> Result<(), String> {
                    for (n, doorstep, clock) in chunk {
                        let agent = n % options.agents;
                        let transport = UreqTransport::new(url, options.timeout);
                        doorstep
                            .sign_in(&transport, &workload::agent_name(agent), PASSWORD)
                            .map_err(|e| format!("device {n} sign-in: {e}"))?;
                        doorstep
                            .sync_now(&transport, &NoProgress)
                            .map_err(|e| format!("device {n} first sync: {e}"))?;
                        let case = agents[agent].1[n / options.agents].id;
                        workload::play_visits(doorstep, clock, &[case], u64::MAX)
                            .map_err(|e| format!("device {n} visit: {e}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a setup thread panicked".into()))
            })
            .collect()
    });
    for result in prepared {
        result?;
    }
    let ops_each = devices
        .first()
        .map(|(_, d, _)| d.pending_outbox_count().unwrap_or(0))
        .unwrap_or(0);
    println!(
        "load: set up in {:.1} s ({ops_each} ops queued per device); load average: {}",
        setup.elapsed().as_secs_f64(),
        load_average()
    );

    // All devices sync at once.
    let barrier = Arc::new(Barrier::new(options.devices));
    let started = Instant::now();
    let results: Vec<Result<(Duration, Duration, u64, u64), String>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = devices
                .iter()
                .map(|(n, doorstep, _)| {
                    let barrier = barrier.clone();
                    let url = &url;
                    std::thread::Builder::new()
                        .stack_size(512 * 1024)
                        .spawn_scoped(scope, move || {
                            let transport = UreqTransport::new(url, options.timeout);
                            let timer = PhaseTimer::default();
                            barrier.wait();
                            let start = Instant::now();
                            let report = doorstep
                                .sync_now(&transport, &timer)
                                .map_err(|e| format!("device {n}: {e}"))?;
                            let sync = start.elapsed();
                            let push = timer.elapsed(SyncPhase::Push).unwrap_or(sync);
                            Ok((push, sync, report.applied, report.rejected))
                        })
                        .expect("a device thread")
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a device thread panicked".into()))
                })
                .collect()
        });
    let wall = started.elapsed();

    let mut push = Vec::new();
    let mut sync = Vec::new();
    let (mut applied, mut rejected, mut errors) = (0u64, 0u64, 0usize);
    for result in results {
        match result {
            Ok((p, s, a, r)) => {
                push.push(p);
                sync.push(s);
                applied += a;
                rejected += r;
            }
            Err(e) => {
                errors += 1;
                if errors <= 5 {
                    eprintln!("load: {e}");
                }
            }
        }
    }
    push.sort();
    sync.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "load: store {}, {} devices syncing at once",
        if options.database_url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        },
        options.devices
    );
    println!(
        "load: push latency   p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        ms(percentile(&push, 50.0)),
        ms(percentile(&push, 99.0)),
        ms(percentile(&push, 100.0))
    );
    println!(
        "load: sync latency   p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (push + pull)",
        ms(percentile(&sync, 50.0)),
        ms(percentile(&sync, 99.0)),
        ms(percentile(&sync, 100.0))
    );
    println!(
        "load: errors {errors}, ops applied {applied}, rejected {rejected}, all done in {:.2} s ({:.0} ops/s); load average after: {}",
        wall.as_secs_f64(),
        applied as f64 / wall.as_secs_f64().max(1e-9),
        load_average()
    );
    if errors > 0 || rejected > 0 || applied != ops_each * options.devices as u64 {
        return Err("not every op was applied".into());
    }
    Ok(())
}
