//! The lossy-network measurement (docs/BENCHMARKS.md, "A lossy network: a
//! village day"): an agent's day, four visits with twenty camera-sized photos
//! worked offline, drained to a real server on loopback over a village link
//! (300 ms round trip, 384 kbit/s each way, 5 % of segments lost, connections
//! cut at random) and, in the same run, over an unshaped link as the baseline.
//! Reports the time to drain, the bytes on the wire each way (counted at the
//! link), the payload, the overhead, and the cuts and retries.
//!
//! ```text
//! cargo run --release -p doorstep-tests --bin lossy_day -- [--seed N] [--runs R]
//!     [--photo-kb KB] [--cut-kib KIB]
//! ```
//! `--seed` (default 1) draws the village's losses and cuts; `--runs` (default
//! 3) repeats the village day with seeds N, N+1, …; `--photo-kb` (default 250)
//! is each photo's size; `--cut-kib` (default 512) the mean bytes a direction
//! of a connection carries before it is cut. Exits non-zero when a day does
//! not drain or the server does not hold every photo.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Duration;

use doorstep_tests::field_day::{DayPlan, Drained, FieldDay};
use doorstep_tests::network_shape::{LinkTally, NetworkShape};

struct Options {
    seed: u64,
    runs: u64,
    photo_kb: usize,
    cut_kib: u64,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        seed: 1,
        runs: 3,
        photo_kb: 250,
        cut_kib: 512,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |what: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{what} must be a whole number"))
        };
        match flag.as_str() {
            "--seed" => options.seed = number("--seed")?,
            "--runs" => options.runs = number("--runs")?.max(1),
            "--photo-kb" => options.photo_kb = number("--photo-kb")?.clamp(1, 10_000) as usize,
            "--cut-kib" => options.cut_kib = number("--cut-kib")?.max(1),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

/// What one day over one link cost.
struct Measured {
    name: String,
    morning: Drained,
    drained: Drained,
    /// The link's tally over the drain only.
    link: LinkTally,
    /// Photo bytes and acknowledged push bodies: what had to go up.
    payload: u64,
    /// Bytes of the day's photos.
    photo_bytes: u64,
    requests: usize,
    chunks: usize,
    chunks_cut: usize,
    chunks_cut_mid_photo: usize,
    chunk_bytes_sent: u64,
}

fn day(name: String, shape: NetworkShape, seed: u64, plan: &DayPlan) -> Result<Measured, String> {
    let mut day = FieldDay::start(shape, seed, plan).map_err(|e| e.to_string())?;
    let morning = day.morning_sync(100)?;
    day.work(plan, seed).map_err(|e| e.to_string())?;
    let before = day.link.tally();
    let first_request = day.transport.requests().len();
    let drained = day.drain(1_000)?;
    let link = day.link.tally().since(&before);
    for photo in &day.photos {
        let held = day
            .fleet
            .server()
            .blobs()
            .read(&sha256_of(&day, photo)?)
            .map_err(|e| e.to_string())?;
        if held.as_ref() != Some(photo) {
            return Err(format!("{name}: the server lacks a photo"));
        }
    }
    let requests = day.transport.requests().split_off(first_request);
    let pushed: u64 = requests
        .iter()
        .filter(|r| r.path == "/v1/push" && r.status == Some(200))
        .map(|r| r.body_bytes as u64)
        .sum();
    let chunks = day.transport.chunks();
    let cut: Vec<_> = chunks.iter().filter(|c| !c.answered).collect();
    Ok(Measured {
        name,
        morning,
        drained,
        link,
        payload: plan.photo_bytes_in_all() + pushed,
        photo_bytes: plan.photo_bytes_in_all(),
        requests: requests.len(),
        chunks: chunks.len(),
        chunks_cut: cut.len(),
        chunks_cut_mid_photo: cut.iter().filter(|c| c.offset > 0).count(),
        chunk_bytes_sent: chunks.iter().map(|c| c.bytes).sum(),
    })
}

/// The hash the phone recorded for a photo's bytes.
fn sha256_of(day: &FieldDay, photo: &[u8]) -> Result<String, String> {
    for visit in &day.visits {
        let report = day
            .doorstep
            .visit_report(*visit)
            .map_err(|e| e.to_string())?;
        for attachment in report.attachments {
            let bytes = day
                .doorstep
                .attachment_bytes(&attachment.sha256)
                .map_err(|e| e.to_string())?;
            if bytes == photo {
                return Ok(attachment.sha256);
            }
        }
    }
    Err("a photo the phone took is not in its visits".into())
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn kb(bytes: u64) -> String {
    format!("{:.0} KB", bytes as f64 / 1000.0)
}

fn print(rows: &[Measured]) {
    println!(
        "| link | time to drain | syncs (failed) | requests | up on the wire | down on the wire | retransmitted (up+down) | payload | wire ÷ payload | cuts | segments lost | photo chunks sent (cut, cut mid-photo) | chunk bytes sent ÷ photo bytes | morning sync |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for m in rows {
        println!(
            "| {} | **{}** | {} ({}) | {} | {} | {} | {} | {} | {:.2}× | {} | {} of {} | {} ({}, {}) | {:.2}× | {} |",
            m.name,
            seconds(m.drained.elapsed),
            m.drained.syncs,
            m.drained.failed_syncs,
            m.requests,
            kb(m.link.bytes_up),
            kb(m.link.bytes_down),
            kb(m.link.retransmitted_up + m.link.retransmitted_down),
            kb(m.payload),
            m.link.wire_bytes() as f64 / m.payload as f64,
            m.link.cuts(),
            m.link.lost_segments,
            m.link.segments,
            m.chunks,
            m.chunks_cut,
            m.chunks_cut_mid_photo,
            m.chunk_bytes_sent as f64 / m.photo_bytes as f64,
            seconds(m.morning.elapsed),
        );
    }
}

fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lossy_day: {e}");
            std::process::exit(2);
        }
    };
    let plan = DayPlan::four_visits(options.photo_kb * 1000);
    let village = NetworkShape {
        mean_bytes_between_cuts: Some(options.cut_kib * 1024),
        ..NetworkShape::village()
    };
    println!(
        "lossy_day: {} visits, {} photos of {} KB; village: {village:?}; seeds {}..={}",
        plan.visits,
        plan.photos,
        options.photo_kb,
        options.seed,
        options.seed + options.runs - 1
    );
    let mut rows = Vec::new();
    let baseline = day(
        "unshaped loopback (baseline)".into(),
        NetworkShape::unshaped(),
        options.seed,
        &plan,
    );
    let runs = std::iter::once(baseline).chain((0..options.runs).map(|n| {
        let seed = options.seed + n;
        eprintln!("lossy_day: village day, seed {seed}");
        day(format!("village, seed {seed}"), village, seed, &plan)
    }));
    for run in runs {
        match run {
            Ok(measured) => rows.push(measured),
            Err(e) => {
                print(&rows);
                eprintln!("lossy_day: {e}");
                std::process::exit(1);
            }
        }
    }
    print(&rows);
}
