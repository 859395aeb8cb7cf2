//! Limits on failed sign-ins, per user name and per client address, so that
//! passwords cannot be guessed at speed. Used by `POST /v1/login` and
//! `POST /v1/devices`, and meant for the supervisor console's web login.
//!
//! After [`LimitPolicy::max_failures`] failures within
//! [`LimitPolicy::window`], for the same user name or from the same address,
//! further attempts are refused with `429 too_many_attempts` and a
//! `Retry-After` until the oldest of those failures leaves the window. A
//! success clears the user name's failures (not the address's, so one known
//! password does not reset guessing at others from the same place).
//!
//! The counts live in memory, per server process: several replicas each allow
//! the limit, and a restart forgets. Time comes from the caller, so tests are
//! deterministic.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use doorstep_core::sync::protocol::ErrorBody;
use sha2::{Digest, Sha256};

/// How many failures, in how long, before sign-ins are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitPolicy {
    /// Failures allowed within the window; the next attempt is refused.
    pub max_failures: usize,
    /// The sliding window.
    pub window: Duration,
    /// The most user names and addresses tracked at once; beyond it the
    /// oldest are forgotten first.
    pub max_tracked: usize,
}

impl Default for LimitPolicy {
    /// Five failures in fifteen minutes; 100,000 keys.
    fn default() -> Self {
        LimitPolicy {
            max_failures: 5,
            window: Duration::minutes(15),
            max_tracked: 100_000,
        }
    }
}

/// A refused sign-in attempt: try again after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAttempts {
    /// Seconds until an attempt will be considered again (at least 1).
    pub retry_after_seconds: u64,
}

impl IntoResponse for TooManyAttempts {
    /// `429` with `Retry-After` and the `too_many_attempts` error body.
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: "too_many_attempts".into(),
            message: format!(
                "too many failed sign-ins; try again in {} seconds",
                self.retry_after_seconds
            ),
        };
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(self.retry_after_seconds),
        );
        response
    }
}

/// What failures are counted against. User names are kept as their SHA-256,
/// so a key is small whatever was typed; IPv6 addresses by their /64 prefix,
/// the block one subscriber usually holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User([u8; 32]),
    Address(IpAddr),
}

impl Key {
    fn user(username: &str) -> Key {
        Key::User(Sha256::digest(username.as_bytes()).into())
    }

    fn address(address: IpAddr) -> Key {
        match address {
            IpAddr::V4(v4) => Key::Address(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Key::Address(IpAddr::V6(prefix.into()))
                }
            },
        }
    }
}

/// Failed sign-ins, counted per user name and per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    policy: LimitPolicy,
    failures: Mutex<HashMap<Key, VecDeque<DateTime<Utc>>>>,
}

impl LoginLimiter {
    /// A limiter with its policy.
    pub fn new(policy: LimitPolicy) -> Self {
        LoginLimiter {
            policy,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> LimitPolicy {
        self.policy
    }

    fn keys(username: &str, address: Option<IpAddr>) -> impl Iterator<Item = Key> {
        std::iter::once(Key::user(username)).chain(address.map(Key::address))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<DateTime<Utc>>>> {
        // The map holds only counters: a panic elsewhere leaves it usable.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether an attempt for `username` from `address` may go ahead at `now`.
    pub fn check(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), TooManyAttempts> {
        let mut failures = self.lock();
        let mut wait: Option<Duration> = None;
        for key in Self::keys(username, address) {
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            self.expire(times, now);
            if times.len() >= self.policy.max_failures {
                // The attempt is allowed again once enough failures have left
                // the window to go below the limit.
                let index = times.len() - self.policy.max_failures;
                let until = times[index] + self.policy.window - now;
                wait = Some(wait.map_or(until, |w| w.max(until)));
            }
        }
        match wait {
            None => Ok(()),
            Some(wait) => {
                let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
                Err(TooManyAttempts {
                    retry_after_seconds: millis.div_ceil(1000).max(1),
                })
            }
        }
    }

    /// Counts a failed attempt (wrong user name or password).
    pub fn failed(&self, username: &str, address: Option<IpAddr>, now: DateTime<Utc>) {
        let mut failures = self.lock();
        for key in Self::keys(username, address) {
            if !failures.contains_key(&key) && failures.len() >= self.policy.max_tracked {
                self.make_room(&mut failures, now);
            }
            let times = failures.entry(key).or_default();
            self.expire(times, now);
            times.push_back(now);
            // Only the latest failures matter for the limit.
            while times.len() > self.policy.max_failures {
                times.pop_front();
            }
        }
    }

    /// A successful sign-in clears the user name's failures.
    pub fn succeeded(&self, username: &str) {
        self.lock().remove(&Key::user(username));
    }

    fn expire(&self, times: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
        while times
            .front()
            .is_some_and(|at| *at + self.policy.window <= now)
        {
            times.pop_front();
        }
    }

    /// Drops expired keys, then if still full the key with the oldest latest failure.
    fn make_room(&self, failures: &mut HashMap<Key, VecDeque<DateTime<Utc>>>, now: DateTime<Utc>) {
        failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|at| *at + self.policy.window > now)
        });
        if failures.len() >= self.policy.max_tracked {
            let oldest = failures
                .iter()
                .min_by_key(|(_, times)| times.back().copied())
                .map(|(key, _)| key.clone());
            if let Some(key) = oldest {
                failures.remove(&key);
            }
        }
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
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap() + Duration::minutes(minutes)
    }

    fn ip(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    #[test]
    fn five_failures_in_the_window_refuse_until_the_oldest_leaves_it() {
        let limiter = LoginLimiter::default();
        for minute in 0..5 {
            assert_eq!(limiter.check("lin", ip(1), t(minute)), Ok(()));
            limiter.failed("lin", ip(1), t(minute));
        }
        // The oldest failure (minute 0) leaves the window at minute 15.
        assert_eq!(
            limiter.check("lin", ip(1), t(6)),
            Err(TooManyAttempts {
                retry_after_seconds: 9 * 60
            })
        );
        // Per user name: another address is refused too.
        assert!(limiter.check("lin", ip(2), t(6)).is_err());
        // Per address: another user name from the same address is refused.
        assert!(limiter.check("wang", ip(1), t(6)).is_err());
        // Another user from another address is not.
        assert_eq!(limiter.check("wang", ip(2), t(6)), Ok(()));
        assert_eq!(limiter.check("lin", ip(1), t(15)), Ok(()));
    }

    #[test]
    fn a_success_clears_the_user_but_not_the_address() {
        let limiter = LoginLimiter::default();
        for minute in 0..5 {
            limiter.failed("lin", ip(1), t(minute));
        }
        limiter.succeeded("lin");
        assert_eq!(limiter.check("lin", None, t(5)), Ok(()));
        assert!(limiter.check("lin", ip(1), t(5)).is_err());
    }

    #[test]
    fn failures_spread_over_more_than_the_window_never_refuse() {
        let limiter = LoginLimiter::default();
        for i in 0..50 {
            let now = t(i * 4);
            assert_eq!(limiter.check("lin", ip(1), now), Ok(()), "attempt {i}");
            limiter.failed("lin", ip(1), now);
        }
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let limiter = LoginLimiter::default();
        let v6 = |last: u16| Some(IpAddr::from([0x2001, 0xdb8, 1, 2, 0, 0, 0, last]));
        for i in 0..5 {
            limiter.failed(&format!("user{i}"), v6(i), t(0));
        }
        assert!(limiter.check("other", v6(99), t(1)).is_err());
        let elsewhere = Some(IpAddr::from([0x2001, 0xdb8, 1, 3, 0, 0, 0, 1]));
        assert_eq!(limiter.check("other", elsewhere, t(1)), Ok(()));
        // An IPv4-mapped address is the IPv4 address.
        for i in 0..5 {
            limiter.failed(&format!("v4user{i}"), ip(9), t(0));
        }
        let mapped = Some(IpAddr::from(
            std::net::Ipv4Addr::new(10, 0, 0, 9).to_ipv6_mapped(),
        ));
        assert!(limiter.check("someone", mapped, t(1)).is_err());
    }

    #[test]
    fn the_number_of_tracked_keys_is_bounded() {
        let limiter = LoginLimiter::new(LimitPolicy {
            max_tracked: 10,
            ..LimitPolicy::default()
        });
        for i in 0..100u8 {
            limiter.failed(&format!("user{i}"), None, t(0));
        }
        assert!(limiter.lock().len() <= 10);
    }
}
