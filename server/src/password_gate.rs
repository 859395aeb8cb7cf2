//! How many sign-in attempts check a password at once.
//!
//! A password check is one argon2id verification: tens of milliseconds of one
//! core and 19 MiB of memory. Run for every request of a burst at once, a few
//! hundred parallel sign-ins would take gigabytes. The gate lets at most
//! [`PasswordGate::size`] checks run (one per core by default); the next
//! [`PasswordGate::max_waiting`] wait their turn, in order, and beyond that an
//! attempt is turned away at once with `503 sign_in_busy` and a `Retry-After`
//! ([`SignInBusy`]), not counted as a failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How many attempts may wait per running check, by default.
pub const WAITING_PER_CHECK: usize = 256;

/// A sign-in turned away because too many are waiting to check a password
/// (answered as [`crate::error::ServiceError::SignInBusy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInBusy {
    /// Seconds to wait before trying again (at least 1).
    pub retry_after_seconds: u64,
}

/// Bounds the password checks running at once; see the module documentation.
#[derive(Debug)]
pub struct PasswordGate {
    permits: Arc<Semaphore>,
    size: usize,
    max_waiting: usize,
    waiting: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    passed: AtomicU64,
    turned_away: AtomicU64,
}

impl Default for PasswordGate {
    /// One check per core, [`WAITING_PER_CHECK`] waiting per check.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        PasswordGate::new(cores, cores.saturating_mul(WAITING_PER_CHECK))
    }
}

impl PasswordGate {
    /// A gate letting `size` checks run at once (at least 1) and
    /// `max_waiting` attempts wait.
    pub fn new(size: usize, max_waiting: usize) -> Self {
        let size = size.max(1);
        PasswordGate {
            permits: Arc::new(Semaphore::new(size)),
            size,
            max_waiting,
            waiting: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            passed: AtomicU64::new(0),
            turned_away: AtomicU64::new(0),
        }
    }

    /// How many checks may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many attempts may wait for their turn.
    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Attempts waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    /// Checks running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// The most checks that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// How many attempts went through the gate.
    pub fn passed(&self) -> u64 {
        self.passed.load(Ordering::SeqCst)
    }

    /// How many attempts were turned away.
    pub fn turned_away(&self) -> u64 {
        self.turned_away.load(Ordering::SeqCst)
    }

    /// The gate's figures in the Prometheus text format, for `/metrics`.
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        for (name, kind, help, value) in [
            (
                "doorstep_password_checks_running",
                "gauge",
                "Password checks running now.",
                self.running() as u64,
            ),
            (
                "doorstep_password_checks_waiting",
                "gauge",
                "Sign-ins waiting for their turn to check a password.",
                self.waiting() as u64,
            ),
            (
                "doorstep_password_checks_peak",
                "gauge",
                "The most password checks that ever ran at once.",
                self.peak() as u64,
            ),
            (
                "doorstep_password_checks_total",
                "counter",
                "Sign-ins that got a turn to check a password.",
                self.passed(),
            ),
            (
                "doorstep_sign_ins_turned_away_total",
                "counter",
                "Sign-ins turned away because too many were waiting.",
                self.turned_away(),
            ),
        ] {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        out
    }

    /// Waits for a turn to check a password; [`SignInBusy`] at once when too
    /// many are already waiting. The turn lasts as long as the [`GatePass`].
    pub async fn enter(self: &Arc<Self>) -> Result<GatePass, SignInBusy> {
        if let Ok(permit) = self.permits.clone().try_acquire_owned() {
            return Ok(self.pass(permit));
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            self.turned_away.fetch_add(1, Ordering::SeqCst);
            return Err(SignInBusy {
                retry_after_seconds: 1,
            });
        }
        // Counted as waiting until the permit comes or the wait is dropped.
        let waiter = Waiter(self);
        let permit = self.permits.clone().acquire_owned().await;
        drop(waiter);
        match permit {
            Ok(permit) => Ok(self.pass(permit)),
            // The semaphore is never closed; if it were, nobody could sign in.
            Err(_) => Err(SignInBusy {
                retry_after_seconds: 1,
            }),
        }
    }

    fn pass(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> GatePass {
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(running, Ordering::SeqCst);
        self.passed.fetch_add(1, Ordering::SeqCst);
        GatePass {
            _permit: permit,
            gate: self.clone(),
        }
    }
}

struct Waiter<'a>(&'a PasswordGate);

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A turn to check a password; the next waiting attempt goes when it drops.
#[derive(Debug)]
pub struct GatePass {
    _permit: OwnedSemaphorePermit,
    gate: Arc<PasswordGate>,
}

impl Drop for GatePass {
    fn drop(&mut self) {
        self.gate.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_most_size_run_the_next_wait_and_the_rest_are_turned_away() {
        let gate = Arc::new(PasswordGate::new(2, 1));
        let first = gate.enter().await.unwrap();
        let second = gate.enter().await.unwrap();
        assert_eq!((gate.running(), gate.peak()), (2, 2));
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter().await.map(|_| ()) })
        };
        while gate.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            gate.enter().await.unwrap_err(),
            SignInBusy {
                retry_after_seconds: 1
            }
        );
        drop(first);
        waiting.await.unwrap().unwrap();
        drop(second);
        assert_eq!((gate.running(), gate.waiting(), gate.peak()), (0, 0, 2));
        assert_eq!((gate.passed(), gate.turned_away()), (3, 1));
    }

    #[tokio::test]
    async fn a_wait_given_up_is_no_longer_counted() {
        let gate = Arc::new(PasswordGate::new(1, 4));
        let held = gate.enter().await.unwrap();
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter().await.map(|_| ()) })
        };
        while gate.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        waiting.abort();
        let _ = waiting.await;
        assert_eq!(gate.waiting(), 0);
        drop(held);
    }
}
