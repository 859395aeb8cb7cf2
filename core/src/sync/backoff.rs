//! When to try again after a failed sync: exponential backoff with full jitter.
//!
//! After `n` failures in a row the ceiling is `BASE * 2^(n-1)`, capped at `MAX`,
//! and the delay is drawn uniformly below it ("full jitter"), so a fleet of
//! phones that lost the server at the same moment does not come back in step.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The ceiling after the first failure.
pub const BASE_DELAY: Duration = Duration::from_secs(5);
/// The highest ceiling, reached after about ten failures.
pub const MAX_DELAY: Duration = Duration::from_secs(60 * 60);

/// The ceiling of the delay after `failures` failures in a row: zero for none.
pub fn ceiling(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = (failures - 1).min(31);
    BASE_DELAY
        .checked_mul(1u32 << doublings)
        .map_or(MAX_DELAY, |d| d.min(MAX_DELAY))
}

/// The delay before the next attempt after `failures` failures in a row, with
/// `rng_value` a uniform random number in `[0, 1)` (values outside are clamped).
pub fn next_delay(failures: u32, rng_value: f64) -> Duration {
    let fraction = if rng_value.is_finite() {
        rng_value.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ceiling(failures).mul_f64(fraction)
}

/// A uniform random number in `[0, 1)`, from the standard library's randomly
/// keyed hasher (enough for jitter; no cryptographic use).
pub fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    // 53 random bits make every double in [0, 1) of that spacing equally likely.
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_failure_means_no_wait() {
        assert_eq!(next_delay(0, 0.99), Duration::ZERO);
    }

    #[test]
    fn the_ceiling_doubles_and_then_stays_at_the_cap() {
        assert_eq!(ceiling(1), BASE_DELAY);
        assert_eq!(ceiling(2), BASE_DELAY * 2);
        assert_eq!(ceiling(5), BASE_DELAY * 16);
        let mut previous = Duration::ZERO;
        for failures in 1..200 {
            let c = ceiling(failures);
            assert!(c >= previous, "{failures}");
            assert!(c <= MAX_DELAY, "{failures}");
            previous = c;
        }
        assert_eq!(ceiling(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn the_delay_is_drawn_below_the_ceiling() {
        for failures in 0..50 {
            for rng in [0.0, 0.25, 0.5, 0.999_999, 1.5, -1.0, f64::NAN] {
                let delay = next_delay(failures, rng);
                assert!(delay <= ceiling(failures), "{failures} {rng}");
            }
        }
        assert_eq!(next_delay(3, 0.5), ceiling(3) / 2);
        assert_eq!(next_delay(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn random_values_are_in_the_unit_interval_and_vary() {
        let values: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }
}
