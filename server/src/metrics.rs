//! Counters served at `/metrics` in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::service::push::PushCounts;

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    ops_applied: AtomicU64,
    ops_duplicate: AtomicU64,
    ops_rejected: AtomicU64,
}

impl Metrics {
    /// Counts one answered request by route template and status.
    pub fn count_request(&self, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests.entry((route.to_owned(), status)).or_insert(0) += 1;
    }

    /// Counts the ops of one push.
    pub fn count_ops(&self, counts: PushCounts) {
        self.ops_applied
            .fetch_add(counts.applied, Ordering::Relaxed);
        self.ops_duplicate
            .fetch_add(counts.duplicate, Ordering::Relaxed);
        self.ops_rejected
            .fetch_add(counts.rejected, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP doorstep_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE doorstep_http_requests_total counter\n");
        let requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        for ((route, status), count) in requests.iter() {
            let route = route.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "doorstep_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP doorstep_push_ops_total Pushed operations by outcome.\n");
        out.push_str("# TYPE doorstep_push_ops_total counter\n");
        for (outcome, counter) in [
            ("applied", &self.ops_applied),
            ("duplicate", &self.ops_duplicate),
            ("rejected", &self.ops_rejected),
        ] {
            let _ = writeln!(
                out,
                "doorstep_push_ops_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        out
    }
}
