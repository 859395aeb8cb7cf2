//! Time: the wall clock behind a trait, and the hybrid logical clock (HLC) that
//! orders every change made in the field.
//!
//! Phone clocks are wrong, sometimes by days, and jump when the network or the user
//! corrects them. Ordering therefore never relies on wall time alone: a [`Hlc`]
//! stamp follows the wall clock when it can and falls back to a logical counter
//! when the wall clock stands still or goes backwards, so the stamps a device
//! issues are strictly increasing, also across restarts (the last stamp is
//! persisted and handed back to [`HybridClock::new`]).

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// A source of the current wall-clock time.
///
/// Production code uses [`SystemClock`]; tests and demos use [`FixedClock`] so
/// time is under their control.
pub trait WallClock: Send + Sync + fmt::Debug {
    /// The current instant as the device believes it to be.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for tests and demos.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    /// A clock standing at `t`.
    pub fn new(t: DateTime<Utc>) -> Self {
        FixedClock { now: Mutex::new(t) }
    }

    /// Moves the clock to `t` (backwards too, as a corrected phone clock does).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = t;
    }

    /// Moves the clock by `by` (negative moves it back). A step beyond the range
    /// chrono can represent leaves the clock where it is.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = now.checked_add_signed(by) {
            *now = t;
        }
    }
}

impl WallClock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A hybrid logical clock stamp: wall-clock milliseconds, a logical counter and
/// the issuing device, ordered in that order.
///
/// The text form (`Display` / `FromStr`, and serde) is fixed width:
/// `{millis:020}-{counter:010}-{node as 32 lower-case hex digits}`, 64 characters,
/// so comparing the text (for example in SQLite) gives the same order as `Ord`.
/// Both numbers are padded to the width of their full type, so every value has a
/// text form of the same width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, as the clock believed them to be.
    pub millis: u64,
    /// Logical counter breaking ties between stamps with the same `millis`.
    pub counter: u32,
    /// The device that issued the stamp; makes stamps from two devices distinct.
    pub node: Uuid,
}

const MILLIS_WIDTH: usize = 20;
const COUNTER_WIDTH: usize = 10;
const NODE_WIDTH: usize = 32;
/// Length of the text form of a [`Hlc`].
pub const HLC_TEXT_LEN: usize = MILLIS_WIDTH + 1 + COUNTER_WIDTH + 1 + NODE_WIDTH;

impl Hlc {
    /// The stamp that directly follows `(millis, counter)` on the same node: the
    /// counter goes up by one and carries into `millis` when it is full. At the
    /// very top of the range (584 million years away) it stays put rather than
    /// wrap around.
    fn successor(millis: u64, counter: u32, node: Uuid) -> Hlc {
        let (millis, counter) = match counter.checked_add(1) {
            Some(counter) => (millis, counter),
            None => match millis.checked_add(1) {
                Some(millis) => (millis, 0),
                None => (millis, counter),
            },
        };
        Hlc {
            millis,
            counter,
            node,
        }
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0mw$}-{:0cw$}-{}",
            self.millis,
            self.counter,
            self.node.simple(),
            mw = MILLIS_WIDTH,
            cw = COUNTER_WIDTH
        )
    }
}

/// Why a text did not parse as a [`Hlc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HlcParseError {
    /// The text is not exactly [`HLC_TEXT_LEN`] characters long.
    #[error("hlc text must be {HLC_TEXT_LEN} characters")]
    WrongLength,
    /// The two `-` separators are not where they belong.
    #[error("hlc separators misplaced")]
    BadSeparator,
    /// The milliseconds are not 20 decimal digits within `u64`.
    #[error("hlc millis must be 20 decimal digits within u64")]
    BadMillis,
    /// The counter is not 10 decimal digits within `u32`.
    #[error("hlc counter must be 10 decimal digits within u32")]
    BadCounter,
    /// The node is not 32 lower-case hexadecimal digits.
    #[error("hlc node must be 32 lower-case hex digits")]
    BadNode,
}

fn parse_digits<T: FromStr>(text: &str) -> Option<T> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

impl FromStr for Hlc {
    type Err = HlcParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != HLC_TEXT_LEN {
            return Err(HlcParseError::WrongLength);
        }
        let dash1 = MILLIS_WIDTH;
        let dash2 = MILLIS_WIDTH + 1 + COUNTER_WIDTH;
        if bytes[dash1] != b'-' || bytes[dash2] != b'-' {
            return Err(HlcParseError::BadSeparator);
        }
        // All three parts are checked to be ASCII before slicing, so the slice
        // boundaries are character boundaries.
        let millis_text = s.get(..dash1).ok_or(HlcParseError::BadMillis)?;
        let millis = parse_digits(millis_text).ok_or(HlcParseError::BadMillis)?;
        let counter_text = s.get(dash1 + 1..dash2).ok_or(HlcParseError::BadCounter)?;
        let counter = parse_digits(counter_text).ok_or(HlcParseError::BadCounter)?;
        let node_text = s.get(dash2 + 1..).ok_or(HlcParseError::BadNode)?;
        // Upper case would parse as the same UUID but sort differently as text.
        if !node_text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(HlcParseError::BadNode);
        }
        let node = Uuid::try_parse(node_text).map_err(|_| HlcParseError::BadNode)?;
        Ok(Hlc {
            millis,
            counter,
            node,
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Milliseconds since the epoch; instants before 1970 count as 0.
fn wall_millis(wall: DateTime<Utc>) -> u64 {
    u64::try_from(wall.timestamp_millis()).unwrap_or(0)
}

/// The hybrid logical clock of one device.
///
/// Every stamp it returns is greater than every stamp it returned before, and
/// greater than every remote stamp it has observed, whatever the wall clock does.
/// Remote stamps from the future are accepted, never refused: the clock then runs
/// on its counter until the wall clock catches up.
#[derive(Debug, Clone)]
pub struct HybridClock {
    node: Uuid,
    last: Option<Hlc>,
}

impl HybridClock {
    /// A clock for device `node`, continuing after `last`, the last stamp issued
    /// before the restart (as persisted), so stamps stay monotonic across restarts.
    pub fn new(node: Uuid, last: Option<Hlc>) -> Self {
        HybridClock { node, last }
    }

    /// The device this clock stamps for.
    pub fn node(&self) -> Uuid {
        self.node
    }

    /// The last stamp issued (or the persisted one the clock was created with).
    pub fn last(&self) -> Option<Hlc> {
        self.last
    }

    /// A stamp for a local event happening at wall time `wall`.
    pub fn tick(&mut self, wall: DateTime<Utc>) -> Hlc {
        let physical = wall_millis(wall);
        let next = match self.last {
            Some(last) if last.millis >= physical => {
                Hlc::successor(last.millis, last.counter, self.node)
            }
            _ => Hlc {
                millis: physical,
                counter: 0,
                node: self.node,
            },
        };
        self.last = Some(next);
        next
    }

    /// Takes in a stamp received from another device at wall time `wall`, and
    /// returns the stamp for the receipt: above both the local history and
    /// `remote`.
    pub fn observe(&mut self, remote: &Hlc, wall: DateTime<Utc>) -> Hlc {
        let physical = wall_millis(wall);
        // The highest (millis, counter) seen so far, local or remote; the next
        // stamp must be above it.
        let seen = match self.last {
            Some(last) if (last.millis, last.counter) >= (remote.millis, remote.counter) => {
                (last.millis, last.counter)
            }
            _ => (remote.millis, remote.counter),
        };
        let next = if physical > seen.0 {
            Hlc {
                millis: physical,
                counter: 0,
                node: self.node,
            }
        } else {
            Hlc::successor(seen.0, seen.1, self.node)
        };
        self.last = Some(next);
        next
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn node(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 9, 30, 0).unwrap()
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::new(t0());
        assert_eq!(clock.now(), t0());
        clock.advance(Duration::minutes(5));
        assert_eq!(clock.now(), t0() + Duration::minutes(5));
        clock.set(t0() - Duration::days(3));
        assert_eq!(clock.now(), t0() - Duration::days(3));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), t0() - Duration::days(3));
        let _: &dyn WallClock = &SystemClock;
    }

    #[test]
    fn text_form_is_fixed_width_and_round_trips() {
        let stamp = Hlc {
            millis: 1_741_944_600_000,
            counter: 7,
            node: node(0xab),
        };
        let text = stamp.to_string();
        assert_eq!(
            text,
            "00000001741944600000-0000000007-abababababababababababababababab"
        );
        assert_eq!(text.len(), HLC_TEXT_LEN);
        assert_eq!(text.parse::<Hlc>().unwrap(), stamp);
        let max = Hlc {
            millis: u64::MAX,
            counter: u32::MAX,
            node: Uuid::max(),
        };
        assert_eq!(max.to_string().len(), HLC_TEXT_LEN);
        assert_eq!(max.to_string().parse::<Hlc>().unwrap(), max);

        let json = serde_json::to_string(&stamp).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Hlc>(&json).unwrap(), stamp);
        assert!(serde_json::from_str::<Hlc>("\"nope\"").is_err());
    }

    #[test]
    fn malformed_text_is_refused_with_a_reason() {
        let good = "00000001741944600000-0000000007-abababababababababababababababab";
        let cases = [
            ("", HlcParseError::WrongLength),
            (&good[1..], HlcParseError::WrongLength),
            (
                "00000001741944600000_0000000007-abababababababababababababababab",
                HlcParseError::BadSeparator,
            ),
            (
                "0000000174194460000x-0000000007-abababababababababababababababab",
                HlcParseError::BadMillis,
            ),
            (
                "+0000001741944600000-0000000007-abababababababababababababababab",
                HlcParseError::BadMillis,
            ),
            (
                "99999999999999999999-0000000007-abababababababababababababababab",
                HlcParseError::BadMillis,
            ),
            (
                "00000001741944600000-9999999999-abababababababababababababababab",
                HlcParseError::BadCounter,
            ),
            (
                "00000001741944600000-0000000007-ABABABABABABABABABABABABABABABAB",
                HlcParseError::BadNode,
            ),
            (
                "00000001741944600000-0000000007-ababababababababababababababab-b",
                HlcParseError::BadNode,
            ),
            (
                "00000001741944600000-0000000007-abababababababababababababababé",
                HlcParseError::BadNode,
            ),
        ];
        for (text, err) in cases {
            assert_eq!(text.parse::<Hlc>(), Err(err), "{text}");
        }
    }

    #[test]
    fn ticks_increase_when_the_wall_clock_stands_still_or_goes_back() {
        let mut clock = HybridClock::new(node(1), None);
        let a = clock.tick(t0());
        let b = clock.tick(t0());
        let c = clock.tick(t0() - Duration::days(2));
        let d = clock.tick(t0() + Duration::seconds(1));
        assert!(a < b && b < c && c < d);
        assert_eq!((b.millis, b.counter), (a.millis, 1));
        assert_eq!((c.millis, c.counter), (a.millis, 2));
        assert_eq!(d.counter, 0);
        assert_eq!(clock.last(), Some(d));
    }

    #[test]
    fn remote_stamp_from_the_future_is_accepted_and_stays_below_later_ticks() {
        let mut clock = HybridClock::new(node(1), None);
        clock.tick(t0());
        let remote = Hlc {
            millis: wall_millis(t0() + Duration::days(5)),
            counter: 3,
            node: node(2),
        };
        let seen = clock.observe(&remote, t0());
        assert!(seen > remote);
        assert_eq!((seen.millis, seen.counter), (remote.millis, 4));
        let next = clock.tick(t0() + Duration::minutes(1));
        assert!(next > seen && next > remote);
    }

    #[test]
    fn pre_epoch_wall_time_clamps_to_zero() {
        let mut clock = HybridClock::new(node(1), None);
        let before = Utc.with_ymd_and_hms(1960, 1, 1, 0, 0, 0).unwrap();
        let a = clock.tick(before);
        assert_eq!((a.millis, a.counter), (0, 0));
        assert!(clock.tick(before) > a);
    }

    #[test]
    fn counter_overflow_carries_into_millis() {
        let last = Hlc {
            millis: 10,
            counter: u32::MAX,
            node: node(1),
        };
        let mut clock = HybridClock::new(node(1), Some(last));
        let next = clock.tick(DateTime::UNIX_EPOCH);
        assert_eq!((next.millis, next.counter), (11, 0));
        let remote = Hlc {
            millis: 50,
            counter: u32::MAX,
            node: node(2),
        };
        let seen = clock.observe(&remote, DateTime::UNIX_EPOCH);
        assert_eq!((seen.millis, seen.counter), (51, 0));
        // At the very top there is nowhere to go; it must still not panic.
        let top = Hlc {
            millis: u64::MAX,
            counter: u32::MAX,
            node: node(2),
        };
        let stuck = clock.observe(&top, t0());
        assert_eq!((stuck.millis, stuck.counter), (u64::MAX, u32::MAX));
        clock.tick(t0());
    }

    #[derive(Debug, Clone)]
    enum Step {
        Tick,
        Observe(i64, u32, u8),
        Restart,
    }

    /// Wall-time offsets in milliseconds from `t0`: small steps and jumps of up
    /// to seven days either way.
    fn offset() -> impl Strategy<Value = i64> {
        let week = 7 * 24 * 3600 * 1000_i64;
        prop_oneof![-5_i64..5, -60_000_i64..60_000, -week..=week]
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => Just(Step::Tick),
            3 => (offset(), 0_u32..4, 2_u8..5).prop_map(|(o, c, n)| Step::Observe(o, c, n)),
            1 => Just(Step::Restart),
        ]
    }

    /// Parts drawn from small ranges often, so ties in millis and counter happen.
    fn stamp() -> impl Strategy<Value = (u64, u32, u128)> {
        (
            prop_oneof![0_u64..3, any::<u64>()],
            prop_oneof![0_u32..3, any::<u32>()],
            prop_oneof![0_u128..3, any::<u128>()],
        )
    }

    proptest! {
        #[test]
        fn stamps_strictly_increase(
            steps in proptest::collection::vec(step(), 1..120),
            walls in proptest::collection::vec(offset(), 120),
        ) {
            let base = t0();
            let mut clock = HybridClock::new(node(1), None);
            let mut previous: Option<Hlc> = None;
            for (i, step) in steps.iter().enumerate() {
                let wall = base + Duration::milliseconds(walls[i]);
                let stamp = match *step {
                    Step::Tick => clock.tick(wall),
                    Step::Observe(o, counter, n) => {
                        let remote = Hlc {
                            millis: wall_millis(base + Duration::milliseconds(o)),
                            counter,
                            node: node(n),
                        };
                        let stamp = clock.observe(&remote, wall);
                        prop_assert!(stamp > remote);
                        stamp
                    }
                    Step::Restart => {
                        // Persist through the text form, as the store does.
                        let persisted = clock.last().map(|h| h.to_string().parse().unwrap());
                        clock = HybridClock::new(node(1), persisted);
                        clock.tick(wall)
                    }
                };
                prop_assert_eq!(stamp.node, node(1));
                if let Some(prev) = previous {
                    prop_assert!(stamp > prev, "{} !> {}", stamp, prev);
                }
                previous = Some(stamp);
            }
        }

        #[test]
        fn text_round_trips_and_sorts_like_ord(a in stamp(), b in stamp()) {
            let a = Hlc { millis: a.0, counter: a.1, node: Uuid::from_u128(a.2) };
            let b = Hlc { millis: b.0, counter: b.1, node: Uuid::from_u128(b.2) };
            prop_assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a);
            prop_assert_eq!(a.to_string().cmp(&b.to_string()), a.cmp(&b));
        }
    }
}
