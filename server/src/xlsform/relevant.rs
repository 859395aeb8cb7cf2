//! A `relevant` expression mapped onto the template's [`Condition`]: the
//! forms a checklist condition can express (one test on one earlier
//! question), and a refusal naming what it cannot.
//!
//! | XLSForm | condition |
//! | --- | --- |
//! | `${q} = 'yes'` / `'no'` (q acknowledge) | `yes_no_equals` |
//! | `${q} = 'a'`, `selected(${q}, 'a')` (q select_one) | `choice_in [a]` |
//! | `${q} = 'a' or ${q} = 'b'` (q select_one) | `choice_in [a, b]` |
//! | `selected(${q}, 'a')` (q select_multiple) | `choices_contain a` |
//! | `${q} != ''` | `answered` |
//!
//! `and`, `not(...)`, `or` across questions or on a multiple choice, and
//! comparisons of numbers, texts and dates are refused: the conditions of
//! template format 1, which every phone in the field reads, test one earlier
//! question (see `docs/XLSFORM.md`).

use doorstep_core::checklist::{Condition, ItemKind};

use super::expressions::{Compare, Expr};

/// Maps a parsed `relevant` expression onto a condition, looking up the
/// earlier questions with `earlier`; the refusal says what is not supported.
pub fn condition(
    expr: &Expr,
    earlier: &dyn Fn(&str) -> Option<ItemKind>,
) -> Result<Condition, String> {
    match expr {
        Expr::Or(parts) => {
            let mut item = None;
            let mut options: Vec<String> = Vec::new();
            for part in parts {
                match condition(part, earlier)? {
                    Condition::ChoiceIn {
                        item: tested,
                        options: more,
                    } if item.as_ref().is_none_or(|first| *first == tested) => {
                        item = Some(tested);
                        for option in more {
                            if !options.contains(&option) {
                                options.push(option);
                            }
                        }
                    }
                    _ => {
                        return Err("`or` is supported only between answers to one \
                                    select_one question (${q} = 'a' or ${q} = 'b')"
                            .into());
                    }
                }
            }
            match item {
                Some(item) => Ok(Condition::ChoiceIn { item, options }),
                None => Err("an empty `or`".into()),
            }
        }
        Expr::And(_) => Err("`and` is not supported in relevant: a checklist condition \
                             tests one earlier question"
            .into()),
        Expr::Call { name, args } if name == "selected" => match args.as_slice() {
            [Expr::Field(item), Expr::Text(option)] => match kind_of(item, earlier)? {
                ItemKind::MultipleChoice { .. } => Ok(Condition::ChoicesContain {
                    item: item.clone(),
                    option: option.clone(),
                }),
                ItemKind::SingleChoice { .. } => Ok(Condition::ChoiceIn {
                    item: item.clone(),
                    options: vec![option.clone()],
                }),
                _ => Err(format!(
                    "selected() needs a select_one or select_multiple question; ${{{item}}} is neither"
                )),
            },
            _ => Err("selected() is supported as selected(${question}, 'option')".into()),
        },
        Expr::Call { name, .. } if name == "not" => Err("not() is not supported in relevant: \
                                                         a checklist condition cannot be negated"
            .into()),
        Expr::Call { name, .. } => Err(format!("the function {name}() is not supported")),
        Expr::Comparison { left, op, right } => {
            let (item, op, value) = match (left.as_ref(), right.as_ref()) {
                (Expr::Field(item), value) => (item, *op, value),
                (value, Expr::Field(item)) => (item, op.swapped(), value),
                _ => {
                    return Err("a comparison in relevant must test a question, ${question}".into());
                }
            };
            comparison(item, op, value, earlier)
        }
        Expr::Field(_) | Expr::Current | Expr::Text(_) | Expr::Number(_) => {
            Err("relevant must be a test, e.g. ${question} = 'option'".into())
        }
    }
}

fn kind_of(item: &str, earlier: &dyn Fn(&str) -> Option<ItemKind>) -> Result<ItemKind, String> {
    earlier(item).ok_or_else(|| format!("${{{item}}} is not a question before this one"))
}

fn comparison(
    item: &str,
    op: Compare,
    value: &Expr,
    earlier: &dyn Fn(&str) -> Option<ItemKind>,
) -> Result<Condition, String> {
    let kind = kind_of(item, earlier)?;
    match (op, value) {
        (Compare::NotEqual, Expr::Text(text)) if text.is_empty() => Ok(Condition::Answered {
            item: item.to_owned(),
        }),
        (Compare::Equal, Expr::Text(text)) => match kind {
            ItemKind::YesNo => match text.to_ascii_lowercase().as_str() {
                "yes" | "true" | "ok" | "1" => Ok(Condition::YesNoEquals {
                    item: item.to_owned(),
                    value: true,
                }),
                "no" | "false" | "0" => Ok(Condition::YesNoEquals {
                    item: item.to_owned(),
                    value: false,
                }),
                _ => Err(format!(
                    "${{{item}}} is answered yes or no; compare it with 'yes' or 'no'"
                )),
            },
            ItemKind::SingleChoice { .. } if !text.is_empty() => Ok(Condition::ChoiceIn {
                item: item.to_owned(),
                options: vec![text.clone()],
            }),
            ItemKind::MultipleChoice { .. } => Err(format!(
                "${{{item}}} is a select_multiple: test it with selected(${{{item}}}, 'option')"
            )),
            _ => Err(format!(
                "comparing ${{{item}}} with a value is not supported: a checklist condition \
                 tests a yes/no or a choice, or that a question is answered"
            )),
        },
        _ => Err(format!(
            "the comparison ${{{item}}} {} ... is not supported: a checklist condition tests \
             a yes/no or a choice (=), or that a question is answered (!= '')",
            op.symbol()
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::xlsform::expressions::parse;
    use doorstep_core::checklist::{ChoiceOption, Label};

    fn earlier(item: &str) -> Option<ItemKind> {
        let options = vec![
            ChoiceOption {
                id: "a".into(),
                label: Label::new("甲", "A"),
            },
            ChoiceOption {
                id: "b".into(),
                label: Label::new("乙", "B"),
            },
        ];
        match item {
            "ok" => Some(ItemKind::YesNo),
            "one" => Some(ItemKind::SingleChoice { options }),
            "many" => Some(ItemKind::MultipleChoice {
                options,
                min_selected: 1,
                max_selected: 2,
            }),
            "count" => Some(ItemKind::Integer { min: 0, max: 9 }),
            _ => None,
        }
    }

    fn map(text: &str) -> Result<Condition, String> {
        condition(&parse(text).unwrap(), &earlier)
    }

    #[test]
    fn the_forms_a_condition_expresses_are_mapped() {
        assert_eq!(
            map("${ok} = 'yes'").unwrap(),
            Condition::YesNoEquals {
                item: "ok".into(),
                value: true
            }
        );
        assert_eq!(
            map("'no' = ${ok}").unwrap(),
            Condition::YesNoEquals {
                item: "ok".into(),
                value: false
            }
        );
        assert_eq!(
            map("${one} = 'a' or selected(${one}, 'b')").unwrap(),
            Condition::ChoiceIn {
                item: "one".into(),
                options: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            map("selected(${many}, 'b')").unwrap(),
            Condition::ChoicesContain {
                item: "many".into(),
                option: "b".into()
            }
        );
        assert_eq!(
            map("${count} != ''").unwrap(),
            Condition::Answered {
                item: "count".into()
            }
        );
    }

    #[test]
    fn what_a_condition_cannot_express_is_refused() {
        for text in [
            "${ok} = 'yes' and ${one} = 'a'",
            "${ok} = 'yes' or ${one} = 'a'",
            "not(${ok} = 'yes')",
            "${count} > 3",
            "${count} = 3",
            "${many} = 'a'",
            "${one} != 'a'",
            "${later} = 'x'",
            "${ok}",
            "today()",
            "selected(${ok}, 'yes')",
        ] {
            assert!(map(text).is_err(), "{text}");
        }
    }
}
