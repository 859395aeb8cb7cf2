//! Latency histograms (HDR, microseconds) and the summary of a set of
//! sessions.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::replay::Session;

/// Latencies in microseconds, from 1 µs to one hour, 3 significant digits.
pub struct Latencies {
    histogram: Option<Histogram<u64>>,
}

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Latencies {
        Latencies {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000, 3).ok(),
        }
    }

    /// Records `took` (clamped to the histogram's range).
    pub fn record(&mut self, took: Duration) {
        if let Some(h) = &mut self.histogram {
            let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
            h.saturating_record(micros.max(1));
        }
    }

    /// How many were recorded.
    pub fn count(&self) -> u64 {
        self.histogram.as_ref().map_or(0, Histogram::len)
    }

    /// The value at `quantile` (0..=1).
    pub fn at(&self, quantile: f64) -> Duration {
        Duration::from_micros(
            self.histogram
                .as_ref()
                .map_or(0, |h| h.value_at_quantile(quantile)),
        )
    }

    /// The largest value.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.histogram.as_ref().map_or(0, Histogram::max))
    }

    /// `p50 … p90 … p99 … max … (n)`, in milliseconds.
    pub fn line(&self) -> String {
        if self.count() == 0 {
            return "none".into();
        }
        format!(
            "p50 {} ms  p90 {} ms  p99 {} ms  max {} ms  (n = {})",
            ms(self.at(0.5)),
            ms(self.at(0.9)),
            ms(self.at(0.99)),
            ms(self.max()),
            self.count()
        )
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// What a set of sessions did.
#[derive(Default)]
pub struct Summary {
    /// Sessions.
    pub devices: usize,
    /// Sessions that failed.
    pub errors: usize,
    /// The first few failures.
    pub error_samples: Vec<String>,
    /// Operations pushed and applied.
    pub ops_sent: u64,
    /// Operations the server said it applied.
    pub ops_applied: u64,
    /// Sign-ins turned away and retried.
    pub turned_away: u64,
    /// From the first due start to the last session's end.
    pub drain: Duration,
    /// From the first push sent to the last push answered.
    pub push_window: Duration,
    /// Sum of every push's answer time.
    pub push_time: Duration,
    /// Sum of every session's time.
    pub session_total: Duration,
    /// Connection set-up.
    pub connect: Latencies,
    /// Each sign-in attempt.
    pub login_attempt: Latencies,
    /// First attempt to token, retries included.
    pub sign_in: Latencies,
    /// Each push.
    pub push: Latencies,
    /// Each pull page.
    pub pull: Latencies,
    /// Other requests (uploads).
    pub other: Latencies,
    /// Due start to end of each session.
    pub session: Latencies,
}

impl Summary {
    /// Sums up `sessions`.
    pub fn of(sessions: &[Session]) -> Summary {
        let mut s = Summary {
            devices: sessions.len(),
            ..Summary::default()
        };
        let first = sessions.iter().map(|x| x.arrival).min();
        let last = sessions.iter().map(|x| x.finished).max();
        if let (Some(first), Some(last)) = (first, last) {
            s.drain = last.saturating_duration_since(first);
        }
        let spans: Vec<(Instant, Instant)> = sessions.iter().filter_map(|x| x.push_span).collect();
        if let (Some(a), Some(b)) = (
            spans.iter().map(|x| x.0).min(),
            spans.iter().map(|x| x.1).max(),
        ) {
            s.push_window = b.saturating_duration_since(a);
        }
        for x in sessions {
            if let Some(e) = &x.error {
                s.errors += 1;
                if s.error_samples.len() < 5 {
                    s.error_samples.push(e.clone());
                }
            }
            s.ops_sent += x.ops_sent;
            s.ops_applied += x.ops_applied;
            s.turned_away += u64::from(x.turned_away);
            x.connects.iter().for_each(|d| s.connect.record(*d));
            x.login_attempts
                .iter()
                .for_each(|d| s.login_attempt.record(*d));
            x.sign_in.iter().for_each(|d| s.sign_in.record(*d));
            x.pushes.iter().for_each(|d| {
                s.push.record(*d);
                s.push_time += *d;
            });
            x.pulls.iter().for_each(|d| s.pull.record(*d));
            x.others.iter().for_each(|d| s.other.record(*d));
            s.session.record(x.duration());
            s.session_total += x.duration();
        }
        s
    }

    /// Applied operations per second over the drain time.
    pub fn ops_per_second(&self) -> f64 {
        self.ops_applied as f64 / self.drain.as_secs_f64().max(1e-9)
    }

    /// Applied operations per second over the push window.
    pub fn push_window_ops_per_second(&self) -> f64 {
        self.ops_applied as f64 / self.push_window.as_secs_f64().max(1e-9)
    }

    /// Applied operations per second of push answer time (one push at a
    /// time: the single-device rate).
    pub fn serial_push_ops_per_second(&self) -> f64 {
        self.ops_applied as f64 / self.push_time.as_secs_f64().max(1e-9)
    }

    /// Prints every line, each prefixed with `label`.
    pub fn print(&self, label: &str) {
        println!(
            "{label}: {} devices, {} errors, ops sent {}, applied {}, sign-ins turned away and retried {}",
            self.devices, self.errors, self.ops_sent, self.ops_applied, self.turned_away
        );
        println!(
            "{label}: drain {:.2} s ({:.0} ops/s); push window {:.2} s ({:.0} ops/s)",
            self.drain.as_secs_f64(),
            self.ops_per_second(),
            self.push_window.as_secs_f64(),
            self.push_window_ops_per_second()
        );
        for (name, h) in [
            ("connect", &self.connect),
            ("sign-in attempt", &self.login_attempt),
            ("sign-in (to token)", &self.sign_in),
            ("push", &self.push),
            ("pull page", &self.pull),
            ("upload (other)", &self.other),
            ("session", &self.session),
        ] {
            if h.count() > 0 {
                println!("{label}: {name:<18} {}", h.line());
            }
        }
        for e in &self.error_samples {
            println!("{label}: error: {e}");
        }
    }
}
