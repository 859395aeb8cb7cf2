//! XLSForm question types mapped onto the template's [`ItemKind`], with the
//! limits read from the `constraint` column (and, for photos, `parameters`).
//!
//! | type | kind | limits from |
//! | --- | --- | --- |
//! | `acknowledge` | yes/no | — |
//! | `select_one L` | single choice, options of list L | — |
//! | `select_multiple L` | multiple choice | `count-selected(.) >= n`, `<= n` |
//! | `integer` | integer | `. >= n`, `. <= n` (else −2³¹ … 2³¹−1) |
//! | `decimal` + `currency` | money | `. >= n`, `. <= n` in major units |
//! | `text` | text | `string-length(.) <= n` (else 2000) |
//! | `date` | date | `. >= date('…')`, `. <= date('…')` |
//! | `image` | photos | `parameters`: `min_count=n max_count=n` (else 1 and 1) |
//! | `image`, appearance `signature` | signature | — |

use chrono::{Days, NaiveDate};
use doorstep_core::checklist::{ChoiceOption, ItemKind};

use super::expressions::{Compare, Expr};

/// The longest text when the form gives no `string-length(.)` limit.
pub const DEFAULT_TEXT_CHARS: u32 = 2_000;

/// What a row says about its question's kind.
pub struct Question<'a> {
    /// The type word, e.g. `select_one`, `integer`.
    pub type_name: &'a str,
    /// The options of the list a select names.
    pub options: Option<Vec<ChoiceOption>>,
    /// The parsed `constraint`, if any.
    pub constraint: Option<&'a Expr>,
    /// The `parameters` cell.
    pub parameters: &'a str,
    /// The `appearance` cell.
    pub appearance: &'a str,
    /// The `currency` cell (Doorstep's column for `decimal` amounts).
    pub currency: &'a str,
}

/// Which column a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// The `type` column.
    Type,
    /// The `constraint` column.
    Constraint,
    /// The `parameters` column.
    Parameters,
    /// The `appearance` column.
    Appearance,
    /// The `currency` column.
    Currency,
}

/// The kinds of question Doorstep reads, as written in the `type` column.
pub const TYPES: &[&str] = &[
    "acknowledge",
    "select_one",
    "select_multiple",
    "integer",
    "decimal",
    "text",
    "date",
    "image",
];

/// Maps a question onto an item kind, or says which column holds what is
/// not supported.
pub fn kind(question: &Question<'_>) -> Result<ItemKind, (At, String)> {
    let constraint = || -> Result<Vec<Limit<'_>>, (At, String)> {
        question
            .constraint
            .map(limits)
            .transpose()
            .map(Option::unwrap_or_default)
            .map_err(|what| (At::Constraint, what))
    };
    let no_constraint = |kind: &str| match question.constraint {
        Some(_) => Err((
            At::Constraint,
            format!("a constraint on a {kind} question is not supported"),
        )),
        None => Ok(()),
    };
    let appearance_ok = question.appearance.is_empty()
        || (question.type_name == "image" && question.appearance == "signature");
    if !appearance_ok {
        return Err((
            At::Appearance,
            format!(
                "appearance {:?} is not supported (only signature, on an image)",
                question.appearance
            ),
        ));
    }
    if !question.parameters.is_empty() && question.type_name != "image" {
        return Err((
            At::Parameters,
            "parameters are read on image questions only".into(),
        ));
    }
    if !question.currency.is_empty() && question.type_name != "decimal" {
        return Err((
            At::Currency,
            "currency is read on decimal questions only".into(),
        ));
    }
    match question.type_name {
        "acknowledge" => no_constraint("acknowledge").map(|()| ItemKind::YesNo),
        "select_one" => {
            no_constraint("select_one")?;
            Ok(ItemKind::SingleChoice {
                options: question.options.clone().unwrap_or_default(),
            })
        }
        "select_multiple" => {
            let options = question.options.clone().unwrap_or_default();
            let count = u32::try_from(options.len()).unwrap_or(u32::MAX);
            let (mut min, mut max) = (1_i64, i64::from(count));
            for (subject, op, value) in constraint()? {
                let n = whole(subject, Subject::CountSelected, value)?;
                apply_bound(op, n, &mut min, &mut max, next_whole)?;
            }
            let selections = |n: i64| u32::try_from(n).map_err(|_| out_of_range());
            Ok(ItemKind::MultipleChoice {
                options,
                min_selected: selections(min)?,
                max_selected: selections(max)?,
            })
        }
        "integer" => {
            let (mut min, mut max) = (i64::from(i32::MIN), i64::from(i32::MAX));
            for (subject, op, value) in constraint()? {
                let n = whole(subject, Subject::Answer, value)?;
                apply_bound(op, n, &mut min, &mut max, next_whole)?;
            }
            Ok(ItemKind::Integer { min, max })
        }
        "decimal" => {
            if question.currency.is_empty() {
                return Err((
                    At::Currency,
                    "a decimal is an amount of money in the checklist: name its currency \
                     (e.g. CNY) in the currency column"
                        .into(),
                ));
            }
            let (mut min, mut max) = (None, None);
            for (subject, op, value) in constraint()? {
                if subject != Subject::Answer {
                    return Err(unsupported_limit());
                }
                let minor = match value {
                    Expr::Number(n) => minor_units(n),
                    _ => None,
                }
                .ok_or_else(|| {
                    (
                        At::Constraint,
                        "an amount limit is a number with at most two decimals".into(),
                    )
                })?;
                let (mut lo, mut hi) = (min.unwrap_or(i64::MIN), max.unwrap_or(i64::MAX));
                apply_bound(op, minor, &mut lo, &mut hi, next_whole)?;
                min = (lo != i64::MIN).then_some(lo);
                max = (hi != i64::MAX).then_some(hi);
            }
            Ok(ItemKind::Money {
                currency: question.currency.to_ascii_uppercase(),
                min_minor_units: min,
                max_minor_units: max,
            })
        }
        "text" => {
            let mut max = DEFAULT_TEXT_CHARS;
            for (subject, op, value) in constraint()? {
                let n = whole(subject, Subject::StringLength, value)?;
                max = match op {
                    Compare::LessOrEqual => u32::try_from(n).map_err(|_| out_of_range())?,
                    Compare::Less => u32::try_from(n - 1).map_err(|_| out_of_range())?,
                    _ => {
                        return Err((
                            At::Constraint,
                            "a text limit is string-length(.) <= n; a shortest length is not \
                             supported"
                                .into(),
                        ));
                    }
                };
            }
            Ok(ItemKind::Text { max_chars: max })
        }
        "date" => {
            let (mut first, mut last) = (NaiveDate::MIN, NaiveDate::MAX);
            for (subject, op, value) in constraint()? {
                if subject != Subject::Answer {
                    return Err(unsupported_limit());
                }
                let day = date(value)?;
                apply_bound(op, day, &mut first, &mut last, |d, up| {
                    if up {
                        d.checked_add_days(Days::new(1))
                    } else {
                        d.checked_sub_days(Days::new(1))
                    }
                })?;
            }
            Ok(ItemKind::Date {
                not_before: (first != NaiveDate::MIN).then_some(first),
                not_after: (last != NaiveDate::MAX).then_some(last),
            })
        }
        "image" => {
            no_constraint("image")?;
            if question.appearance == "signature" {
                if !question.parameters.is_empty() {
                    return Err((At::Parameters, "a signature takes no parameters".into()));
                }
                return Ok(ItemKind::Signature);
            }
            let (mut min_count, mut max_count) = (1, 1);
            for pair in question.parameters.split_whitespace() {
                let parsed = pair
                    .split_once('=')
                    .and_then(|(key, value)| Some((key, value.parse::<u32>().ok()?)));
                match parsed {
                    Some(("min_count", n)) => min_count = n,
                    Some(("max_count", n)) => max_count = n,
                    _ => {
                        return Err((
                            At::Parameters,
                            format!(
                                "parameter {pair:?} is not supported (min_count=n and \
                                 max_count=n are)"
                            ),
                        ));
                    }
                }
            }
            Ok(ItemKind::Photo {
                min_count,
                max_count,
            })
        }
        other => Err((At::Type, format!("type {other} is not supported"))),
    }
}

/// One limit of a constraint: what it tests, how, and against what.
type Limit<'a> = (Subject, Compare, &'a Expr);

/// What a limit in a constraint tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// `.`
    Answer,
    /// `string-length(.)`
    StringLength,
    /// `count-selected(.)`
    CountSelected,
}

fn unsupported_limit() -> (At, String) {
    (
        At::Constraint,
        "this limit is not supported: a constraint is limits joined by `and`, such as \
         . >= 0 and . <= 60"
            .into(),
    )
}

fn out_of_range() -> (At, String) {
    (At::Constraint, "a limit is out of range".into())
}

/// Splits a constraint into its limits: `subject op value` joined by `and`.
fn limits(expr: &Expr) -> Result<Vec<Limit<'_>>, String> {
    let parts: Vec<&Expr> = match expr {
        Expr::And(parts) => parts.iter().collect(),
        other => vec![other],
    };
    parts
        .into_iter()
        .map(|part| {
            let Expr::Comparison { left, op, right } = part else {
                return Err(unsupported_limit().1);
            };
            match (subject(left), subject(right)) {
                (Some(subject), None) => Ok((subject, *op, right.as_ref())),
                (None, Some(subject)) => Ok((subject, op.swapped(), left.as_ref())),
                _ => Err(unsupported_limit().1),
            }
        })
        .collect()
}

fn subject(expr: &Expr) -> Option<Subject> {
    match expr {
        Expr::Current => Some(Subject::Answer),
        Expr::Call { name, args } if matches!(args.as_slice(), [Expr::Current]) => {
            match name.as_str() {
                "string-length" => Some(Subject::StringLength),
                "count-selected" => Some(Subject::CountSelected),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A whole number limit on `expected`.
fn whole(subject: Subject, expected: Subject, value: &Expr) -> Result<i64, (At, String)> {
    if subject != expected {
        return Err(unsupported_limit());
    }
    match value {
        Expr::Number(n) => n.parse::<i64>().map_err(|_| {
            (
                At::Constraint,
                format!("the limit {n} is not a whole number"),
            )
        }),
        _ => Err((At::Constraint, "a limit is a number".into())),
    }
}

/// Narrows `min..=max` by `op n`; `step(n, up)` is the next value up or down
/// (for `>` and `<`).
fn apply_bound<T: Ord + Copy>(
    op: Compare,
    n: T,
    min: &mut T,
    max: &mut T,
    step: impl Fn(T, bool) -> Option<T>,
) -> Result<(), (At, String)> {
    match op {
        Compare::GreaterOrEqual => *min = (*min).max(n),
        Compare::Greater => *min = (*min).max(step(n, true).ok_or_else(out_of_range)?),
        Compare::LessOrEqual => *max = (*max).min(n),
        Compare::Less => *max = (*max).min(step(n, false).ok_or_else(out_of_range)?),
        Compare::Equal => {
            *min = (*min).max(n);
            *max = (*max).min(n);
        }
        Compare::NotEqual => {
            return Err((
                At::Constraint,
                "!= is not supported in a constraint: limits are ranges".into(),
            ));
        }
    }
    Ok(())
}

/// The next whole number up (`>`) or down (`<`).
fn next_whole(n: i64, up: bool) -> Option<i64> {
    if up {
        n.checked_add(1)
    } else {
        n.checked_sub(1)
    }
}

/// `12500`, `12500.5`, `-3.25` in major units → minor units (two decimals).
fn minor_units(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 2 {
        return None;
    }
    let negative = whole.starts_with('-');
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    let minor = whole.checked_mul(100)?;
    if negative {
        minor.checked_sub(fraction)
    } else {
        minor.checked_add(fraction)
    }
}

/// `date('2026-01-31')` or `'2026-01-31'`.
fn date(value: &Expr) -> Result<NaiveDate, (At, String)> {
    let text = match value {
        Expr::Text(text) => Some(text),
        Expr::Call { name, args } if name == "date" => match args.as_slice() {
            [Expr::Text(text)] => Some(text),
            _ => None,
        },
        _ => None,
    };
    text.and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
        .ok_or_else(|| {
            (
                At::Constraint,
                "a date limit is a fixed date, date('YYYY-MM-DD'); today() and \
                 arithmetic are not supported"
                    .into(),
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::xlsform::expressions::parse;

    fn with(type_name: &str, constraint: &str) -> Result<ItemKind, (At, String)> {
        let parsed = (!constraint.is_empty()).then(|| parse(constraint).unwrap());
        kind(&Question {
            type_name,
            options: None,
            constraint: parsed.as_ref(),
            parameters: "",
            appearance: "",
            currency: if type_name == "decimal" { "cny" } else { "" },
        })
    }

    #[test]
    fn constraints_become_limits() {
        assert_eq!(
            with("integer", ". >= 1 and . <= 5").unwrap(),
            ItemKind::Integer { min: 1, max: 5 }
        );
        assert_eq!(
            with("integer", "0 < . and . < 61").unwrap(),
            ItemKind::Integer { min: 1, max: 60 }
        );
        assert_eq!(
            with("decimal", ". >= 0 and . <= 1000000").unwrap(),
            ItemKind::Money {
                currency: "CNY".into(),
                min_minor_units: Some(0),
                max_minor_units: Some(100_000_000)
            }
        );
        assert_eq!(
            with("text", "string-length(.) <= 500").unwrap(),
            ItemKind::Text { max_chars: 500 }
        );
        assert_eq!(
            with("date", ". >= date('2026-01-01') and . < '2027-01-01'").unwrap(),
            ItemKind::Date {
                not_before: NaiveDate::from_ymd_opt(2026, 1, 1),
                not_after: NaiveDate::from_ymd_opt(2026, 12, 31),
            }
        );
        assert_eq!(minor_units("-3.5"), Some(-350));
        assert_eq!(minor_units("12.345"), None);
    }

    #[test]
    fn constraints_a_kind_cannot_hold_are_refused() {
        for (type_name, constraint) in [
            ("integer", ". != 3"),
            ("integer", ". >= 1 or . <= 5"),
            ("integer", ". >= 1.5"),
            ("integer", "${other} > 3"),
            ("text", "string-length(.) >= 3"),
            ("text", "regex(., '[0-9]+')"),
            ("date", ". <= today()"),
            ("decimal", ". >= 0.001"),
            ("acknowledge", ". = 'OK'"),
            ("select_one", "${a} = 'x'"),
        ] {
            let (at, _) = with(type_name, constraint).unwrap_err();
            assert_eq!(at, At::Constraint, "{type_name} {constraint}");
        }
        assert_eq!(with("geopoint", "").unwrap_err().0, At::Type);
    }
}
