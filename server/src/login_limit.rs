//! Limits on sign-ins, per user name and per client address, so that
//! passwords cannot be guessed at speed. Used by `POST /v1/login`,
//! `POST /v1/devices` and the console's sign-in form, through
//! [`crate::sign_in::guarded`].
//!
//! An attempt is **counted before its password is checked**: in one write
//! transaction the limiter reads what is counted against the user name and
//! the address, refuses the attempt if that reaches
//! [`LimitPolicy::max_failures`], and otherwise counts it as *in progress*.
//! The check then turns it into a failure (wrong user name or password) or
//! forgets it (anything else). So a burst of parallel guesses for one name is
//! checked at most `max_failures` times; the rest are refused with
//! `429 too_many_attempts` and a `Retry-After`:
//!
//! * when failures alone reach the limit, until the oldest of the latest
//!   `max_failures` leaves [`LimitPolicy::window`];
//! * when attempts still being checked make up the rest, one second (an
//!   attempt left in progress for longer than [`STALE_AFTER_SECONDS`], by a
//!   server that stopped during the check, counts as a failure).
//!
//! A success clears the user name's failures (not the address's, so one
//! known password does not reset guessing at others from the same place).
//! An admin's unlock ([`LoginLimiter::unlock`]) forgives every failure made
//! under the name, those counted against its addresses included: the user
//! signs in again from the very place they failed.
//!
//! The counts live in the store ([`crate::store::StoreTx::sign_in_attempts`]):
//! replicas on one PostgreSQL database share them and a restart keeps them.
//! User names are kept only as their SHA-256. Attempts older than the window
//! are forgotten, and at most [`LimitPolicy::max_tracked`] are kept (the
//! oldest are forgotten first). Time comes from the caller, so tests are
//! deterministic.

use std::net::IpAddr;

use axum::http::{HeaderValue, header};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::store::{Lock, SignInAttempt, StoreError, StoreTx};

/// How long an attempt may stay in progress before it counts as a failure.
pub const STALE_AFTER_SECONDS: i64 = 60;

/// How many failures, in how long, before sign-ins are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitPolicy {
    /// Attempts allowed within the window (failed or in progress); the next
    /// is refused.
    pub max_failures: usize,
    /// The sliding window.
    pub window: Duration,
    /// The most attempts kept at once; beyond it the oldest are forgotten.
    pub max_tracked: usize,
}

impl Default for LimitPolicy {
    /// Five failures in fifteen minutes; 100,000 attempts kept.
    fn default() -> Self {
        LimitPolicy {
            max_failures: 5,
            window: Duration::minutes(15),
            max_tracked: 100_000,
        }
    }
}

/// A refused sign-in attempt: try again after this many seconds (answered as
/// [`crate::error::ServiceError::TooManyAttempts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAttempts {
    /// Seconds until an attempt will be considered again (at least 1).
    pub retry_after_seconds: u64,
}

/// `Retry-After` with `seconds`, on `response`.
pub fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The limit key of a user name: its SHA-256, so a key is small whatever was
/// typed and the store never holds the name.
pub fn user_key(username: &str) -> String {
    format!("user:{}", hex::encode(Sha256::digest(username.as_bytes())))
}

/// The limit key of a client address: IPv4 as it is (an IPv4-mapped IPv6
/// address is its IPv4 address), IPv6 by its /64 prefix, the block one
/// subscriber usually holds.
pub fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => format!("addr:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("addr:{v4}"),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("addr:{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

/// An attempt allowed to check its password, with what was counted for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    /// The attempt's rows: one per limit key.
    ids: Vec<u64>,
    /// The user name's limit key.
    user_key: String,
}

/// How a counted attempt ended, as the limit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Signed in: the attempt is forgotten and the user name's failures cleared.
    Succeeded,
    /// A wrong user name or password: the attempt stays counted, as a failure.
    WrongCredentials,
    /// Refused for another reason (a device, a role), or the server failed:
    /// the attempt is forgotten.
    NotCounted,
}

/// The limits on sign-ins, kept in the store.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    policy: LimitPolicy,
}

impl LoginLimiter {
    /// A limiter with its policy.
    pub fn new(policy: LimitPolicy) -> Self {
        LoginLimiter { policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> LimitPolicy {
        self.policy
    }

    /// In the write transaction `tx`: forgets attempts out of the window (and
    /// beyond [`LimitPolicy::max_tracked`]), then refuses the attempt for
    /// `username` from `address` at `now` if the limit is reached, or counts
    /// it in progress.
    pub fn begin(
        &self,
        tx: &dyn StoreTx,
        username: &str,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Result<Counted, TooManyAttempts>, StoreError> {
        let since = now - self.policy.window;
        let keep = u64::try_from(self.policy.max_tracked).unwrap_or(u64::MAX);
        tx.forget_sign_in_attempts(since, keep)?;
        let user_key = user_key(username);
        let mut keys: Vec<String> = std::iter::once(user_key.clone())
            .chain(address.map(address_key))
            .collect();
        // Counted and checked alone per key, on every replica: two parallel
        // attempts cannot both see room under the limit. In key order, so
        // two sign-ins never wait for each other in a circle.
        keys.sort();
        for key in &keys {
            tx.lock(Lock::SignIn(key))?;
        }
        let mut wait: Option<Duration> = None;
        for key in &keys {
            let attempts = tx.sign_in_attempts(key, since)?;
            if let Some(until) = self.wait(&attempts, now) {
                wait = Some(wait.map_or(until, |w| w.max(until)));
            }
        }
        if let Some(wait) = wait {
            let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
            return Ok(Err(TooManyAttempts {
                retry_after_seconds: millis.div_ceil(1000).max(1),
            }));
        }
        let mut ids = Vec::with_capacity(keys.len());
        for key in &keys {
            ids.push(tx.insert_sign_in_attempt(key, &user_key, now)?);
        }
        Ok(Ok(Counted { ids, user_key }))
    }

    /// How long an attempt must wait, given the attempts counted against
    /// one key within the window; `None` when it may go ahead.
    fn wait(&self, attempts: &[SignInAttempt], now: DateTime<Utc>) -> Option<Duration> {
        let max = self.policy.max_failures;
        if attempts.len() < max {
            return None;
        }
        let stale = now - Duration::seconds(STALE_AFTER_SECONDS);
        let failed: Vec<DateTime<Utc>> = attempts
            .iter()
            .filter(|a| !a.in_progress || a.at <= stale)
            .map(|a| a.at)
            .collect();
        if failed.len() >= max {
            // Allowed again once enough failures have left the window to go
            // below the limit.
            Some(failed[failed.len() - max] + self.policy.window - now)
        } else {
            // Attempts being checked right now make up the rest.
            Some(Duration::seconds(1))
        }
    }

    /// In the write transaction `tx`: settles a counted attempt.
    pub fn finish(
        &self,
        tx: &dyn StoreTx,
        counted: &Counted,
        ending: Ending,
    ) -> Result<(), StoreError> {
        match ending {
            Ending::WrongCredentials => {
                for id in &counted.ids {
                    tx.fail_sign_in_attempt(*id)?;
                }
            }
            Ending::Succeeded => {
                for id in &counted.ids {
                    tx.delete_sign_in_attempt(*id)?;
                }
                tx.clear_sign_in_attempts(&counted.user_key, false)?;
            }
            Ending::NotCounted => {
                for id in &counted.ids {
                    tx.delete_sign_in_attempt(*id)?;
                }
            }
        }
        Ok(())
    }

    /// Whether sign-ins under `username` are refused at `now` for what is
    /// counted against the name (whatever the address): what the users page
    /// shows as locked out.
    pub fn is_locked(
        &self,
        tx: &dyn StoreTx,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let attempts = tx.sign_in_attempts(&user_key(username), now - self.policy.window)?;
        Ok(self.wait(&attempts, now).is_some())
    }

    /// In the write transaction `tx`: forgets every attempt made under
    /// `username` (an admin unlocking the user), those counted against the
    /// addresses they came from included, so that the user may sign in again
    /// from where they failed; guesses at other names from those addresses
    /// stay counted. How many rows were forgotten.
    pub fn unlock(&self, tx: &dyn StoreTx, username: &str) -> Result<u64, StoreError> {
        tx.forgive_sign_in_attempts(&user_key(username))
    }
}

/// The address of the client a request came from, when the server knows it
/// (it is served with connect info); `None` in-process. A reverse proxy in
/// front of the server makes every request come from the proxy's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{self, Store};
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap() + Duration::minutes(minutes)
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    struct Limits {
        store: SqliteStore,
        limiter: LoginLimiter,
    }

    impl Limits {
        fn new(policy: LimitPolicy) -> Limits {
            Limits {
                store: SqliteStore::open_in_memory().unwrap(),
                limiter: LoginLimiter::new(policy),
            }
        }

        fn begin(
            &self,
            name: &str,
            address: Option<IpAddr>,
            now: DateTime<Utc>,
        ) -> Result<Counted, TooManyAttempts> {
            store::write(&self.store as &dyn Store, |tx| {
                self.limiter.begin(tx, name, address, now)
            })
            .unwrap()
        }

        fn finish(&self, counted: &Counted, ending: Ending) {
            store::write(&self.store as &dyn Store, |tx| {
                self.limiter.finish(tx, counted, ending)
            })
            .unwrap();
        }

        fn fail(&self, name: &str, address: Option<IpAddr>, now: DateTime<Utc>) {
            let counted = self.begin(name, address, now).unwrap();
            self.finish(&counted, Ending::WrongCredentials);
        }

        fn rows(&self) -> usize {
            store::read(&self.store as &dyn Store, |tx| {
                let mut n = 0;
                for i in 0..200u8 {
                    n += tx
                        .sign_in_attempts(&user_key(&format!("user{i}")), t(-60))?
                        .len();
                }
                Ok::<_, StoreError>(n)
            })
            .unwrap()
        }
    }

    #[test]
    fn five_failures_in_the_window_refuse_until_the_oldest_leaves_it() {
        let limits = Limits::new(LimitPolicy::default());
        for minute in 0..5 {
            limits.fail("lin", ip(1), t(minute));
        }
        // The oldest failure (minute 0) leaves the window at minute 15.
        assert_eq!(
            limits.begin("lin", ip(1), t(6)),
            Err(TooManyAttempts {
                retry_after_seconds: 9 * 60
            })
        );
        // Per user name: another address is refused too.
        assert!(limits.begin("lin", ip(2), t(6)).is_err());
        // Per address: another user name from the same address is refused.
        assert!(limits.begin("wang", ip(1), t(6)).is_err());
        // Another user from another address is not.
        assert!(limits.begin("wang", ip(2), t(6)).is_ok());
        assert!(limits.begin("lin", ip(3), t(15)).is_ok());
    }

    #[test]
    fn attempts_in_progress_count_and_refuse_for_a_second() {
        let limits = Limits::new(LimitPolicy::default());
        let pending: Vec<Counted> = (0..5)
            .map(|_| limits.begin("lin", None, t(0)).unwrap())
            .collect();
        // Five are being checked: the sixth waits for them, briefly.
        assert_eq!(
            limits.begin("lin", None, t(0)),
            Err(TooManyAttempts {
                retry_after_seconds: 1
            })
        );
        // Two turn out not to be guesses (a refused device): room for two more.
        limits.finish(&pending[0], Ending::NotCounted);
        limits.finish(&pending[1], Ending::NotCounted);
        assert!(limits.begin("lin", None, t(0)).is_ok());
        assert!(limits.begin("lin", None, t(0)).is_ok());
        assert!(limits.begin("lin", None, t(0)).is_err());
        // Left in progress by a server that stopped, they count as failures.
        let later = t(0) + Duration::seconds(STALE_AFTER_SECONDS);
        assert_eq!(
            limits.begin("lin", None, later),
            Err(TooManyAttempts {
                retry_after_seconds: 15 * 60 - 60
            })
        );
    }

    #[test]
    fn a_success_clears_the_user_but_not_the_address() {
        let limits = Limits::new(LimitPolicy::default());
        for minute in 0..4 {
            limits.fail("lin", ip(1), t(minute));
        }
        let right = limits.begin("lin", ip(1), t(4)).unwrap();
        limits.finish(&right, Ending::Succeeded);
        for minute in 4..8 {
            limits.fail("lin", None, t(minute));
        }
        assert!(limits.begin("lin", None, t(8)).is_ok());
        // The address keeps its four failures and the success is not one.
        limits.fail("other", ip(1), t(8));
        assert!(limits.begin("third", ip(1), t(9)).is_err());
    }

    #[test]
    fn failures_spread_over_more_than_the_window_never_refuse() {
        let limits = Limits::new(LimitPolicy::default());
        for i in 0..50 {
            limits.fail("lin", ip(1), t(i * 4));
        }
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let limits = Limits::new(LimitPolicy::default());
        let v6 = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]));
        for i in 0..5 {
            limits.fail(&format!("user{i}"), v6(i), t(0));
        }
        assert!(limits.begin("other", v6(99), t(1)).is_err());
        let elsewhere = Some(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]));
        assert!(limits.begin("other", elsewhere, t(1)).is_ok());
        // An IPv4-mapped address is the IPv4 address.
        for i in 0..5 {
            limits.fail(&format!("v4user{i}"), ip(9), t(0));
        }
        let mapped = Some(IpAddr::from(
            std::net::Ipv4Addr::new(10, 0, 0, 9).to_ipv6_mapped(),
        ));
        assert!(limits.begin("someone", mapped, t(1)).is_err());
        assert_eq!(
            address_key(IpAddr::from([0x2001, 0xdb8, 1, 2, 9, 9, 9, 9])),
            "addr:2001:db8:1:2::/64"
        );
    }

    #[test]
    fn the_number_of_kept_attempts_is_bounded_and_names_are_digests() {
        let limits = Limits::new(LimitPolicy {
            max_tracked: 10,
            ..LimitPolicy::default()
        });
        for i in 0..100u8 {
            limits.fail(&format!("user{i}"), None, t(0));
        }
        assert!(limits.rows() <= 11, "{}", limits.rows());
        assert!(user_key("lin").starts_with("user:"));
        assert_eq!(user_key("lin").len(), "user:".len() + 64);
        assert!(!user_key("lin").contains("lin"));
    }

    #[test]
    fn unlocking_forgets_the_users_attempts_from_their_address_too() {
        let limits = Limits::new(LimitPolicy::default());
        for minute in 0..5 {
            limits.fail("lin", ip(1), t(minute));
        }
        assert!(limits.begin("lin", ip(1), t(5)).is_err());
        let cleared = store::write(&limits.store as &dyn Store, |tx| {
            limits.limiter.unlock(tx, "lin")
        })
        .unwrap();
        // Five rows against the name, five against the address.
        assert_eq!(cleared, 10);
        assert!(limits.begin("lin", ip(1), t(5)).is_ok());
        // Guesses at other names from that address stay counted.
        let limits = Limits::new(LimitPolicy::default());
        for minute in 0..5 {
            limits.fail(&format!("guess{minute}"), ip(2), t(minute));
        }
        store::write(&limits.store as &dyn Store, |tx| {
            limits.limiter.unlock(tx, "lin")
        })
        .unwrap();
        assert!(limits.begin("lin", ip(2), t(5)).is_err());
    }
}
