//! The sign-in burst bench (ignored by default; docs/BENCHMARKS.md): a real
//! `doorstep-server serve` process takes a burst of parallel `POST /v1/login`
//! requests, each over its own connection from its own loopback address
//! (127.0.x.y), half of them wrong passwords for one real user and half
//! unknown user names. It prints the answers by status and the server's
//! resident memory (`VmRSS`, and its peak `VmHWM`, from `/proc/PID/status`)
//! before and after, and checks that the peak grew by no more than the
//! password checks the gate lets run at once can take.
//!
//! ```sh
//! cargo test -p doorstep-server --test sign_in_burst -- --ignored --nocapture
//! ```
//!
//! `SIGN_IN_BURST` sets the number of requests (default 500);
//! `DOORSTEP_SERVER_BIN` runs another build of the server (e.g. an older one,
//! to compare), in which case nothing is asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn admin(bin: &str, data: &std::path::Path, args: &[&str]) {
    let out = Command::new(bin)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
}

/// One login over a fresh connection from `from`; the answer's status.
async fn login(server: SocketAddr, from: Ipv4Addr, body: String) -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    let request = format!(
        "POST /v1/login HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The server's `/metrics` text.
async fn get_metrics(server: SocketAddr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(server).await?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a bench: run with --ignored --nocapture"]
async fn a_burst_of_parallel_sign_ins_leaves_the_servers_memory_flat() {
    let own = env!("CARGO_BIN_EXE_doorstep-server");
    let bin = std::env::var("DOORSTEP_SERVER_BIN").unwrap_or_else(|_| own.to_owned());
    let burst: usize = std::env::var("SIGN_IN_BURST")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500);
    assert!(burst <= 60_000, "one loopback address per request");
    let dir = tempfile::tempdir().unwrap();
    let password = "the burst user's password";
    admin(
        &bin,
        dir.path(),
        &[
            "create-user",
            "--username",
            "burst",
            "--password",
            password,
            "--role",
            "agent",
        ],
    );
    let device = Uuid::now_v7().to_string();
    admin(
        &bin,
        dir.path(),
        &[
            "create-device",
            "--username",
            "burst",
            "--device-id",
            &device,
        ],
    );
    let mut child = Command::new(&bin)
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let pid = child.id();
    let _server = Server(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let server: SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();

    // One real sign-in first, so that what every sign-in needs is in memory.
    let right = format!(r#"{{"username":"burst","password":"{password}","device_id":"{device}"}}"#);
    assert_eq!(
        login(server, Ipv4Addr::new(127, 0, 0, 2), right.clone()).await,
        200
    );
    let (rss_before, hwm_before) = memory(pid);

    let started = Instant::now();
    let tasks: Vec<_> = (0..burst)
        .map(|i| {
            let from = Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250) as u8 + 1);
            let body = if i % 2 == 0 {
                format!(r#"{{"username":"burst","password":"guess {i}","device_id":"{device}"}}"#)
            } else {
                format!(r#"{{"username":"nobody-{i}","password":"guess","device_id":"{device}"}}"#)
            };
            tokio::spawn(login(server, from, body))
        })
        .collect();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for task in tasks {
        *statuses.entry(task.await.unwrap()).or_default() += 1;
    }
    let wall = started.elapsed();
    let (rss_after, hwm_after) = memory(pid);
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .map(|l| l.to_owned())
        .unwrap_or_default();
    println!("server {threads}");
    if let Ok(text) = get_metrics(server).await {
        for line in text
            .lines()
            .filter(|l| l.starts_with("doorstep_password_checks"))
        {
            println!("{line}");
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!(
        "sign-in burst: {burst} parallel logins in {:.1} s on {cores} cores; answers by status: \
         {statuses:?}",
        wall.as_secs_f64()
    );
    println!(
        "server memory (KiB): VmRSS {rss_before} -> {rss_after}, VmHWM (peak) {hwm_before} -> \
         {hwm_after} (peak grew by {} MiB)",
        hwm_after.saturating_sub(hwm_before) / 1024
    );
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    if bin != own {
        return;
    }
    // Every request was answered, none with a server failure.
    assert_eq!(statuses.values().sum::<usize>(), burst);
    assert!(
        statuses.keys().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    // Half the burst guessed one user's password: five of those were checked.
    assert_eq!(
        statuses.get(&429).copied().unwrap_or(0),
        burst / 2 - 5 + burst % 2
    );
    // One argon2id check holds 19 MiB; the gate runs one per core. Allow twice
    // that, plus 64 MiB for the connections and the allocator.
    let bound_kib = (cores as u64 * 19 * 2 + 64) * 1024;
    assert!(
        hwm_after.saturating_sub(hwm_before) <= bound_kib,
        "the peak grew by {} KiB, more than {bound_kib} KiB",
        hwm_after - hwm_before
    );
}
