//! The measured server as a process of its own (`doorstep-server serve` on
//! loopback), and the CPU time of processes read from `/proc`, so that the
//! driver's own work is not counted as the server's.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `doorstep-server serve`.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

/// How a server finds its store: `--data DIR`, or `--database-url URL
/// --blob-dir DIR`.
pub enum StoreArgs {
    /// Embedded SQLite in a data directory.
    Sqlite(PathBuf),
    /// PostgreSQL, with a blob directory shared by the replicas.
    Postgres {
        /// The database URL.
        url: String,
        /// The shared blob directory.
        blobs: PathBuf,
    },
}

impl ServerProcess {
    /// Starts `bin serve` on a port of 127.0.0.1 the system picks, its output
    /// in `log`, and waits (at most a minute) until it answers `/healthz`.
    pub fn start(bin: &Path, store: &StoreArgs, log: &Path) -> Result<ServerProcess, String> {
        let stderr = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(bin);
        match store {
            StoreArgs::Sqlite(data) => command.arg("--data").arg(data),
            StoreArgs::Postgres { url, blobs } => command
                .arg("--database-url")
                .arg(url)
                .arg("--blob-dir")
                .arg(blobs),
        };
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no server output")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Reads the server's output to its end, so it never blocks on a
            // full pipe; the first "listening on" line gives the address.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = tx.send(address.trim().to_owned());
                }
            }
        });
        let mut server = ServerProcess {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let address = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| format!("the server did not start; see {}", log.display()))?;
        server.address = address
            .parse()
            .map_err(|_| format!("the server listens on {address}?"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(server.address, "/healthz").is_err() {
            if Instant::now() > deadline {
                return Err(format!("the server does not answer; see {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET /metrics`.
    pub fn metrics(&self) -> Result<String, String> {
        get(self.address, "/metrics")
    }

    /// Asks the server to stop (SIGTERM, a graceful shutdown) and waits up to
    /// 30 s, then kills it.
    pub fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("the server did not stop within 30 s; killed".into())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn get(address: SocketAddr, path: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    agent
        .get(format!("http://{address}{path}"))
        .call()
        .map_err(|e| e.to_string())?
        .body_mut()
        .read_to_string()
        .map_err(|e| e.to_string())
}

/// The sum of a counter over its labels in Prometheus text, for the lines
/// of `name` whose labels contain `label` (empty: all).
pub fn counter(metrics: &str, name: &str, label: &str) -> u64 {
    amount(metrics, name, label) as u64
}

/// As [`counter`], for a counter of fractions (seconds).
pub fn amount(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            let matches =
                key == name || (key.starts_with(name) && key[name.len()..].starts_with('{'));
            (matches && key.contains(label)).then(|| value.trim().parse::<f64>().ok())?
        })
        .sum()
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`,
/// 100 if that cannot be asked).
pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// The fields of `/proc/<pid>/stat` after the command name: index 0 is the
/// state (field 3), so field `k` is at `k - 3`.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = text.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_owned).collect())
}

/// User plus system CPU time of a process (all its threads), in ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let fields = stat_fields(pid)?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU time (user + system) of the process `pid` so far.
pub fn cpu_time(pid: u32, ticks: u64) -> Duration {
    Duration::from_secs_f64(cpu_ticks(&pid.to_string()).unwrap_or(0) as f64 / ticks as f64)
}

/// CPU time of this process so far.
pub fn own_cpu_time(ticks: u64) -> Duration {
    Duration::from_secs_f64(cpu_ticks("self").unwrap_or(0) as f64 / ticks as f64)
}

/// CPU time of `pid` and of its children alive now (a PostgreSQL
/// postmaster and its backends). A child that exited meanwhile is not
/// counted; the servers keep their database connections open for the run.
pub fn tree_cpu_time(pid: u32, ticks: u64) -> Duration {
    let parent = pid.to_string();
    let mut total = cpu_ticks(&parent).unwrap_or(0);
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some(fields) = stat_fields(&name)
                && fields.get(1).map(String::as_str) == Some(parent.as_str())
            {
                total += cpu_ticks(&name).unwrap_or(0);
            }
        }
    }
    Duration::from_secs_f64(total as f64 / ticks as f64)
}

/// The load average, as `/proc/loadavg` has it (1, 5, 15 minutes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
