//! Server-only load driver: what the server takes, without the phones.
//!
//! Prepares (untimed, cached on disk) what real device cores send for a day
//! of visits each: their sign-ins and push bodies, byte for byte; then
//! starts `doorstep-server serve` as a separate process on loopback (SQLite
//! in a fresh data directory, or an empty PostgreSQL database with
//! `--database-url`, as one or several replicas) and replays them over many
//! concurrent connections (`doorstep_tests::server_load`). It reports
//! per-request latency (HDR histograms), throughput against the
//! single-device rate measured first in the same run, the server
//! processes' CPU time from `/proc`, and checks afterwards that the store
//! holds every pushed op exactly once. Exits non-zero on any error or
//! mismatch.
//!
//! ```sh
//! cargo build --release -p doorstep-tests --bin server_load -p doorstep-server --bin doorstep-server
//! target/release/server_load --devices 2000 --scenario all
//! target/release/server_load --devices 2000 --scenario spread --window-secs 600
//! target/release/server_load --devices 2000 --scenario spread --replicas 2 \
//!     --database-url postgres://…/empty_db --postgres-pid PID
//! ```
//!
//! Scenarios: `all` (every device signs in, pushes and pulls at the same
//! instant: drain time, aggregate ops/s) and `spread` (arrivals of a
//! Poisson process over `--window-secs`, default 600).
//!
//! Options: `--devices N` (default 2,000), `--baseline-devices N` (devices
//! replayed one at a time first, for the single-device rate; default 20),
//! `--visits N` (a day's visits per device, 38 ops each; default 4),
//! `--photo-kib N` (each visit also gets a photo of N KiB and is
//! submitted; its upload is replayed too and reported on the `other` line;
//! default 0, no photos), `--agents N` (default: one per device), `--replicas N` (needs
//! `--database-url`), `--server-bin PATH` (default: `doorstep-server` next
//! to this binary, or `$DOORSTEP_SERVER_BIN`), `--cache DIR` (default
//! `target/server-load-cache`), `--no-cache`, `--fresh` (prepare again),
//! `--work-dir DIR` (the server's data and logs; default a temporary
//! directory, removed afterwards), `--timeout-secs N` (per request, default
//! 120), `--client-threads N` (default 1), `--seed N` (arrival times),
//! `--postgres-pid PID` (the postmaster, to count the database's CPU too),
//! `--signed-in` (every device signs in before the clock starts, four at a
//! time, reported apart: the timed part is then push and pull only),
//! `--honour-retry-after` (a sign-in turned away with `503 sign_in_busy` or
//! `429` is tried again after the answer's `Retry-After`, 1 s, instead of
//! after the device core's own backoff: 5 s, 10 s, 20 s … with full jitter),
//! `--no-pull` (sessions leave out their pulls: the write path alone).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, Store};
use doorstep_tests::server_load::prepare;
use doorstep_tests::server_load::process::{self, ServerProcess, StoreArgs};
use doorstep_tests::server_load::replay::{self, Config, Part, Retry, Target};
use doorstep_tests::server_load::stats::{Summary, ms};
use doorstep_tests::server_load::{seed, verify};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    All,
    Spread,
}

struct Options {
    devices: usize,
    baseline: usize,
    visits: usize,
    photo_kib: usize,
    agents: Option<usize>,
    scenario: Scenario,
    window: Duration,
    replicas: usize,
    database_url: Option<String>,
    server_bin: Option<PathBuf>,
    cache: Option<PathBuf>,
    no_cache: bool,
    fresh: bool,
    work_dir: Option<PathBuf>,
    timeout: Duration,
    client_threads: usize,
    seed: u64,
    postgres_pid: Option<u32>,
    signed_in: bool,
    honour_retry_after: bool,
    no_pull: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        devices: 2_000,
        baseline: 20,
        visits: 4,
        photo_kib: 0,
        agents: None,
        scenario: Scenario::All,
        window: Duration::from_secs(600),
        replicas: 1,
        database_url: None,
        server_bin: std::env::var_os("DOORSTEP_SERVER_BIN").map(PathBuf::from),
        cache: None,
        no_cache: false,
        fresh: false,
        work_dir: None,
        timeout: Duration::from_secs(120),
        client_threads: 1,
        seed: 1,
        postgres_pid: None,
        signed_in: false,
        honour_retry_after: false,
        no_pull: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut text = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{arg} needs a number"))
        };
        let size = |v: String| number(v).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        match arg.as_str() {
            "--devices" => o.devices = size(text()?)?,
            "--baseline-devices" => o.baseline = size(text()?)?,
            "--visits" => o.visits = size(text()?)?,
            "--photo-kib" => o.photo_kib = size(text()?)?,
            "--agents" => o.agents = Some(size(text()?)?),
            "--scenario" => {
                o.scenario = match text()?.as_str() {
                    "all" => Scenario::All,
                    "spread" => Scenario::Spread,
                    other => return Err(format!("unknown scenario {other} (all, spread)")),
                }
            }
            "--window-secs" => o.window = Duration::from_secs(number(text()?)?),
            "--replicas" => o.replicas = size(text()?)?,
            "--database-url" => o.database_url = Some(text()?),
            "--server-bin" => o.server_bin = Some(PathBuf::from(text()?)),
            "--cache" => o.cache = Some(PathBuf::from(text()?)),
            "--no-cache" => o.no_cache = true,
            "--fresh" => o.fresh = true,
            "--signed-in" => o.signed_in = true,
            "--honour-retry-after" => o.honour_retry_after = true,
            "--no-pull" => o.no_pull = true,
            "--work-dir" => o.work_dir = Some(PathBuf::from(text()?)),
            "--timeout-secs" => o.timeout = Duration::from_secs(number(text()?)?),
            "--client-threads" => o.client_threads = size(text()?)?,
            "--seed" => o.seed = number(text()?)?,
            "--postgres-pid" => {
                o.postgres_pid = Some(u32::try_from(number(text()?)?).map_err(|e| e.to_string())?)
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !(1..=20_000).contains(&o.devices) || o.baseline > 1_000 {
        return Err("--devices must be 1..=20000 and --baseline-devices at most 1000".into());
    }
    if !(1..=20).contains(&o.visits) || o.photo_kib > 20 * 1024 {
        return Err("--visits must be 1..=20, --photo-kib at most 20480".into());
    }
    if o.window > Duration::from_secs(24 * 3600)
        || o.timeout.is_zero()
        || o.timeout > Duration::from_secs(3600)
    {
        return Err("--window-secs at most a day, --timeout-secs 1..=3600".into());
    }
    if !(1..=16).contains(&o.replicas) || !(1..=16).contains(&o.client_threads) {
        return Err("--replicas and --client-threads must be 1..=16".into());
    }
    if o.replicas > 1 && o.database_url.is_none() {
        return Err("several --replicas share one database: give --database-url".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("server_load: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            println!("server_load: FAILED");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("server_load: {e}");
            ExitCode::from(1)
        }
    }
}

/// Next to this binary (`target/<profile>/`), or its parent.
fn beside_exe(name: &str, up: usize) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let mut dir = exe.parent()?;
    for _ in 0..up {
        dir = dir.parent()?;
    }
    Some(dir.join(name))
}

fn run(o: &Options) -> Result<bool, String> {
    let total = o.devices + o.baseline;
    let agents = o.agents.unwrap_or(total).clamp(1, total);
    let cache = match (&o.cache, o.no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => beside_exe("server-load-cache", 1),
    };
    let server_bin = o
        .server_bin
        .clone()
        .or_else(|| beside_exe("doorstep-server", 0))
        .ok_or("no server binary: give --server-bin")?;
    if !server_bin.is_file() {
        return Err(format!(
            "no server binary at {}: build it (cargo build -p doorstep-server --bin doorstep-server, \
             --release for a release run) or give --server-bin",
            server_bin.display()
        ));
    }
    let shape = prepare::Shape {
        devices: total,
        agents,
        visits: o.visits,
        photo_bytes: o.photo_kib * 1024,
    };
    let prepared = Arc::new(prepare::load_or_prepare(cache.as_deref(), o.fresh, shape)?);
    let temp = match &o.work_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| e.to_string())?),
    };
    let work = match (&o.work_dir, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => return Err("no work directory".into()),
    };
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;

    // The measured server's store, seeded as the preparation server was.
    let store_args = match &o.database_url {
        None => StoreArgs::Sqlite(work.join("server")),
        Some(url) => StoreArgs::Postgres {
            url: url.clone(),
            blobs: work.join("blobs"),
        },
    };
    let cursor = {
        let store = open_store(&store_args)?;
        seed::seed_store(store.as_ref(), &prepared.seed, true)?;
        store::read(store.as_ref(), |tx| tx.feed_last()).map_err(|e| e.to_string())?
    };
    let store_name = match o.database_url {
        None => "SQLite",
        Some(_) => "PostgreSQL",
    };
    let mut servers = Vec::with_capacity(o.replicas);
    for i in 0..o.replicas {
        servers.push(ServerProcess::start(
            &server_bin,
            &store_args,
            &work.join(format!("server-{i}.log")),
        )?);
    }
    let target = Arc::new(Target::new(servers.iter().map(|s| s.address).collect()));
    let config = Config {
        retry: if o.honour_retry_after {
            Retry::RetryAfter
        } else {
            Retry::Engine
        },
        seed: o.seed,
        pull: !o.no_pull,
        timeout: o.timeout,
        cursor,
    };
    let runtime = match o.client_threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
    .map_err(|e| e.to_string())?;
    let ticks = process::clock_ticks();
    let server_cpu = |servers: &[ServerProcess]| -> Vec<Duration> {
        servers
            .iter()
            .map(|s| process::cpu_time(s.pid(), ticks))
            .collect()
    };
    let database_cpu = || o.postgres_pid.map(|pid| process::tree_cpu_time(pid, ticks));
    println!(
        "server_load: {} store, {} replica(s), {} devices + {} baseline, {} agents, {} visits ({} ops) per device; server {}",
        store_name,
        o.replicas,
        o.devices,
        o.baseline,
        agents,
        o.visits,
        prepared.days.first().map_or(0, |d| d.ops),
        server_bin.display()
    );

    // The single-device rate: baseline devices one after another.
    let baseline: Vec<usize> = (o.devices..total).collect();
    let before = server_cpu(&servers);
    let base =
        Summary::of(&runtime.block_on(replay::run_serially(&prepared, &target, config, &baseline)));
    let base_cpu: Duration = server_cpu(&servers)
        .iter()
        .zip(&before)
        .map(|(a, b)| a.saturating_sub(*b))
        .sum();
    base.print("baseline (one device at a time)");
    let single_push = base.serial_push_ops_per_second();
    let single_session = base.ops_applied as f64 / base.session_total.as_secs_f64().max(1e-9);
    println!(
        "baseline (one device at a time): single-device push rate {single_push:.0} ops/s (ops / push answer time); whole session {single_session:.0} ops/s; server CPU {:.0} µs per op",
        per_op(base_cpu, base.ops_applied)
    );

    // The scenario.
    let main: Vec<usize> = (0..o.devices).collect();
    let (label, offsets) = match o.scenario {
        Scenario::All => ("all at once".to_owned(), vec![Duration::ZERO; main.len()]),
        Scenario::Spread => (
            format!("spread over {} s", o.window.as_secs()),
            replay::poisson_offsets(main.len(), o.window, o.seed),
        ),
    };
    let tokens = if o.signed_in {
        let signed = runtime.block_on(replay::sign_in_all(
            prepared.clone(),
            target.clone(),
            config,
            main.clone(),
            4,
        ));
        Summary::of(&signed)
            .print("sign-in before the clock, 4 at a time (not in the figures below)");
        signed.into_iter().map(|s| s.token).collect()
    } else {
        Vec::new()
    };
    let label = match (o.signed_in, o.no_pull) {
        (true, true) => format!("{label}, signed in before, no pulls"),
        (true, false) => format!("{label}, signed in before"),
        (false, true) => format!("{label}, no pulls"),
        (false, false) => label,
    };
    let load_before = process::load_average();
    let (cpu_before, db_before, own_before) = (
        server_cpu(&servers),
        database_cpu(),
        process::own_cpu_time(ticks),
    );
    let started = Instant::now();
    let sessions = runtime.block_on(replay::run_concurrently(
        prepared.clone(),
        target.clone(),
        config,
        Part::All,
        main.clone(),
        offsets,
        tokens,
    ));
    let wall = started.elapsed();
    let cpu: Vec<Duration> = server_cpu(&servers)
        .iter()
        .zip(&cpu_before)
        .map(|(a, b)| a.saturating_sub(*b))
        .collect();
    let db = database_cpu()
        .zip(db_before)
        .map(|(a, b)| a.saturating_sub(b));
    let own = process::own_cpu_time(ticks).saturating_sub(own_before);
    let load_after = process::load_average();
    let summary = Summary::of(&sessions);
    summary.print(&label);
    let server_total: Duration = cpu.iter().sum();
    match o.scenario {
        Scenario::All => println!(
            "{label}: aggregate {:.0} ops/s over the drain = {:.2}× the single-device push rate (target ≥ 0.7×); push window {:.0} ops/s = {:.2}×",
            summary.ops_per_second(),
            summary.ops_per_second() / single_push.max(1e-9),
            summary.push_window_ops_per_second(),
            summary.push_window_ops_per_second() / single_push.max(1e-9)
        ),
        Scenario::Spread => println!(
            "{label}: offered {:.0} ops/s on average ({:.2}× the single-device push rate)",
            summary.ops_sent as f64 / o.window.as_secs_f64().max(1e-9),
            summary.ops_sent as f64 / o.window.as_secs_f64().max(1e-9) / single_push.max(1e-9)
        ),
    }
    println!(
        "{label}: server CPU {:.1} s over {:.1} s ({:.2} cores; {:.0} µs per op){}; database CPU {}; this driver {:.1} s",
        server_total.as_secs_f64(),
        wall.as_secs_f64(),
        server_total.as_secs_f64() / wall.as_secs_f64().max(1e-9),
        per_op(server_total, summary.ops_applied),
        if cpu.len() > 1 {
            format!(
                " (per replica: {})",
                cpu.iter()
                    .map(|c| format!("{:.1} s", c.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        },
        db.map_or("not measured (--postgres-pid)".into(), |d| format!(
            "{:.1} s",
            d.as_secs_f64()
        )),
        own.as_secs_f64()
    );
    println!("{label}: load average before {load_before}, after {load_after}");

    // The servers' own counts, then the store itself.
    let mut counted = Counted::default();
    for server in &servers {
        let text = server.metrics()?;
        counted.applied +=
            process::counter(&text, "doorstep_push_ops_total", "outcome=\"applied\"");
        counted.duplicate +=
            process::counter(&text, "doorstep_push_ops_total", "outcome=\"duplicate\"");
        counted.rejected +=
            process::counter(&text, "doorstep_push_ops_total", "outcome=\"rejected\"");
        // 503 is `sign_in_busy` (turned away, retried); any other 5xx is a fault.
        let busy = process::counter(&text, "doorstep_http_requests_total", "status=\"503\"");
        counted.server_errors +=
            process::counter(&text, "doorstep_http_requests_total", "status=\"5")
                .saturating_sub(busy);
        counted.turned_away += process::counter(&text, "doorstep_sign_ins_turned_away_total", "");
        counted.locks += process::counter(&text, "doorstep_store_locks_total", "");
        counted.lock_waits += process::counter(&text, "doorstep_store_lock_waits_total", "");
        counted.lock_wait_s += process::amount(&text, "doorstep_store_lock_wait_seconds_total", "");
    }
    let mut stopped = Ok(());
    for server in servers {
        stopped = stopped.and(server.stop());
    }
    stopped?;
    let everyone: Vec<usize> = (0..total).collect();
    let expected: u64 = everyone
        .iter()
        .filter_map(|&n| prepared.days.get(n))
        .map(|d| d.ops)
        .sum();
    let verdict = verify::check(open_store(&store_args)?.as_ref(), &prepared, &everyone)?;
    println!(
        "server_load: server counts: {} ops applied, {} duplicate, {} rejected, {} 5xx answers (503 sign_in_busy aside), {} sign-ins turned away",
        counted.applied,
        counted.duplicate,
        counted.rejected,
        counted.server_errors,
        counted.turned_away
    );
    println!(
        "server_load: store locks: {} taken, {} found held and waited for, {:.2} s waited in all",
        counted.locks, counted.lock_waits, counted.lock_wait_s
    );
    println!(
        "server_load: store check: {} chains, {} entries as pushed, {} mismatches (of {expected} ops sent)",
        verdict.chains, verdict.entries, verdict.mismatch_count
    );
    let photos_expected = if o.photo_kib > 0 {
        expected_photos(&prepared)
    } else {
        0
    };
    let blob_dir = match &store_args {
        StoreArgs::Sqlite(data) => data.join("blobs"),
        StoreArgs::Postgres { blobs, .. } => blobs.clone(),
    };
    let photos = verify::blob_count(&blob_dir);
    if o.photo_kib > 0 {
        println!("server_load: photos: {photos} stored of {photos_expected} taken");
    }
    for m in &verdict.mismatches {
        println!("server_load: mismatch: {m}");
    }
    print_result(
        o,
        store_name,
        &base,
        &summary,
        single_push,
        server_total,
        wall,
        &load_before,
        &load_after,
    );
    let ok = base.errors == 0
        && summary.errors == 0
        && verdict.mismatch_count == 0
        && verdict.entries == expected
        && counted.applied == expected
        && counted.duplicate == 0
        && counted.rejected == 0
        && counted.server_errors == 0
        && base.ops_applied + summary.ops_applied == expected
        && photos == photos_expected;
    if ok {
        println!("server_load: OK: 0 errors, every op applied exactly once ({expected} ops)");
    }
    Ok(ok)
}

/// Photos taken on every prepared device (one per visit).
fn expected_photos(prepared: &prepare::Prepared) -> u64 {
    prepared.days.iter().map(|d| d.chains.len() as u64).sum()
}

#[derive(Default)]
struct Counted {
    applied: u64,
    duplicate: u64,
    rejected: u64,
    server_errors: u64,
    turned_away: u64,
    /// Store locks taken, of which found held, and the seconds waited.
    locks: u64,
    lock_waits: u64,
    lock_wait_s: f64,
}

fn per_op(cpu: Duration, ops: u64) -> f64 {
    cpu.as_secs_f64() * 1e6 / (ops.max(1) as f64)
}

fn open_store(args: &StoreArgs) -> Result<Box<dyn Store>, String> {
    Ok(match args {
        StoreArgs::Sqlite(dir) => Box::new(SqliteStore::open_dir(dir).map_err(|e| e.to_string())?),
        StoreArgs::Postgres { url, .. } => {
            Box::new(PostgresStore::open(url).map_err(|e| e.to_string())?)
        }
    })
}

/// One line of JSON with the run's figures, for the record.
#[allow(clippy::too_many_arguments)]
fn print_result(
    o: &Options,
    store: &str,
    base: &Summary,
    main: &Summary,
    single_push: f64,
    server_cpu: Duration,
    wall: Duration,
    load_before: &str,
    load_after: &str,
) {
    let scenario = match o.scenario {
        Scenario::All => "all".to_owned(),
        Scenario::Spread => format!("spread {} s", o.window.as_secs()),
    };
    let result = serde_json::json!({
        "store": store,
        "replicas": o.replicas,
        "scenario": scenario,
        "signed_in_before": o.signed_in,
        "honour_retry_after": o.honour_retry_after,
        "no_pull": o.no_pull,
        "devices": o.devices,
        "ops": main.ops_applied,
        "errors": main.errors + base.errors,
        "turned_away": main.turned_away,
        "drain_s": main.drain.as_secs_f64(),
        "ops_per_s": main.ops_per_second(),
        "push_window_ops_per_s": main.push_window_ops_per_second(),
        "single_device_push_ops_per_s": single_push,
        "ratio": main.ops_per_second() / single_push.max(1e-9),
        "push_ms": [ms(main.push.at(0.5)), ms(main.push.at(0.99)), ms(main.push.max())],
        "sign_in_ms": [ms(main.sign_in.at(0.5)), ms(main.sign_in.at(0.99)), ms(main.sign_in.max())],
        "session_ms": [ms(main.session.at(0.5)), ms(main.session.at(0.99)), ms(main.session.max())],
        "baseline_push_ms": [ms(base.push.at(0.5)), ms(base.push.at(0.99))],
        "baseline_sign_in_ms": [ms(base.sign_in.at(0.5)), ms(base.sign_in.at(0.99))],
        "server_cpu_s": server_cpu.as_secs_f64(),
        "wall_s": wall.as_secs_f64(),
        "load_before": load_before,
        "load_after": load_after,
    });
    println!("server_load: result {result}");
}
