//! Integers in request bodies read as JSON Schema reads them: `2` and `2.0`
//! are the same integer (the OpenAPI document is JSON Schema 2020-12), so a
//! whole number written with a fraction or an exponent is taken as that
//! integer. A number that is not whole, out of the field's range, or beyond
//! 2^53 in its float spelling (where a float no longer names one integer) is
//! refused like any value of the wrong shape.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{Error, Unexpected, Visitor};

/// Largest magnitude a float spells exactly as one integer.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0;

struct WholeNumber<T>(PhantomData<T>);

impl<'de, T: TryFrom<u64> + TryFrom<i64>> Visitor<'de> for WholeNumber<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number in range")
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: Error>(self, v: f64) -> Result<T, E> {
        if v.fract() != 0.0 || !(-EXACT_FLOAT_LIMIT..=EXACT_FLOAT_LIMIT).contains(&v) {
            return Err(E::invalid_value(Unexpected::Float(v), &self));
        }
        // Whole and within ±2^53: the casts are exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        if v >= 0.0 {
            self.visit_u64(v as u64)
        } else {
            self.visit_i64(v as i64)
        }
    }
}

/// Deserializes an integer field that may be written as a whole float;
/// for `#[serde(deserialize_with = "whole_number::deserialize")]`.
pub(super) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64> + TryFrom<i64>,
{
    deserializer.deserialize_any(WholeNumber(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Fields {
        #[serde(deserialize_with = "super::deserialize")]
        seq: u64,
        #[serde(default, deserialize_with = "super::deserialize")]
        counter: u32,
        #[serde(default, deserialize_with = "super::deserialize")]
        offset: i32,
    }

    fn read(json: &str) -> Option<Fields> {
        serde_json::from_str(json).ok()
    }

    #[test]
    fn whole_floats_are_the_integers_they_spell() {
        let plain = read(r#"{"seq": 7, "counter": 2, "offset": -480}"#).unwrap();
        assert_eq!(
            plain,
            Fields {
                seq: 7,
                counter: 2,
                offset: -480
            }
        );
        assert_eq!(
            read(r#"{"seq": 7.0, "counter": 2e0, "offset": -480.0}"#),
            Some(plain)
        );
        assert_eq!(
            read(r#"{"seq": 9007199254740992.0}"#).map(|f| f.seq),
            Some(1 << 53)
        );
        assert_eq!(
            read(r#"{"seq": 18446744073709551615}"#).map(|f| f.seq),
            Some(u64::MAX)
        );
        assert_eq!(read(r#"{"seq": 0}"#).map(|f| f.counter), Some(0));
    }

    /// Found by schemathesis: without serde_json's `float_roundtrip`, these
    /// whole floats parsed a fraction off (2251799813685247.2) and were
    /// refused as not whole.
    #[test]
    fn large_whole_floats_parse_exactly() {
        for n in [
            2_251_799_813_685_247u64,
            3_617_573_881_090_022,
            (1 << 53) - 1,
        ] {
            let json = format!(r#"{{"seq": {n}.0}}"#);
            assert_eq!(read(&json).map(|f| f.seq), Some(n), "{json}");
        }
    }

    #[test]
    fn fractions_strings_and_out_of_range_numbers_are_refused() {
        for bad in [
            r#"{"seq": 1.5}"#,
            r#"{"seq": -1}"#,
            r#"{"seq": -1.0}"#,
            r#"{"seq": "1"}"#,
            r#"{"seq": null}"#,
            r#"{"seq": 18446744073709551616}"#,
            r#"{"seq": 1e300}"#,
            r#"{"seq": 9007199254740994.0}"#,
            r#"{"seq": 1, "counter": 4294967296}"#,
            r#"{"seq": 1, "counter": 4294967296.0}"#,
            r#"{"seq": 1, "offset": 2147483648}"#,
            r#"{"seq": 1, "offset": -2147483649.0}"#,
        ] {
            assert_eq!(read(bad), None, "{bad}");
        }
    }
}
