//! Property tests for the checklist engine: submit validation agrees with an
//! independent, deliberately plain restatement of the rules (the oracle) for
//! arbitrary templates and arbitrary answer sheets, and sheets built to satisfy a
//! template validate clean.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use proptest::prelude::*;

use super::*;
use crate::money::Money;
use AnswerValue as V;
use ProblemReason as R;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const OPTION_POOL: [&str; 4] = ["a", "b", "c", "d"];

fn base_date() -> NaiveDate {
    date(2024, 1, 1)
}

fn arb_kind() -> impl Strategy<Value = ItemKind> {
    let opts = |n: usize| -> Vec<crate::checklist::ChoiceOption> {
        OPTION_POOL[..n]
            .iter()
            .map(|id| crate::checklist::ChoiceOption {
                id: id.to_string(),
                label: crate::checklist::Label::new("选项", "Option"),
            })
            .collect()
    };
    let day = |d: i64| base_date() + chrono::Duration::days(d);
    prop_oneof![
        Just(ItemKind::YesNo),
        Just(ItemKind::Signature),
        (1usize..=4).prop_map(move |n| ItemKind::SingleChoice { options: opts(n) }),
        (1usize..=4, 0u32..4, 0u32..5).prop_map(move |(n, a, b)| {
            let max = a % n as u32 + 1;
            ItemKind::MultipleChoice {
                options: opts(n),
                min_selected: b % (max + 1),
                max_selected: max,
            }
        }),
        (-3i64..3, 0i64..4).prop_map(|(min, w)| ItemKind::Integer { min, max: min + w }),
        (
            prop::sample::select(vec!["CNY", "USD"]),
            prop::option::of(-2i64..5),
            prop::option::of(0i64..10)
        )
            .prop_map(|(c, min, w)| ItemKind::Money {
                currency: c.into(),
                min_minor_units: min,
                max_minor_units: w.map(|w| min.unwrap_or(0) + w),
            }),
        (1u32..6).prop_map(|max_chars| ItemKind::Text { max_chars }),
        (prop::option::of(0i64..5), prop::option::of(0i64..5)).prop_map(move |(nb, w)| {
            ItemKind::Date {
                not_before: nb.map(day),
                not_after: w.map(|w| day(nb.unwrap_or(0) + w)),
            }
        }),
        (0u32..3, 0u32..3).prop_map(|(min, w)| ItemKind::Photo {
            min_count: min,
            max_count: (min + w).max(1)
        }),
    ]
}

/// A condition fitting the kind of `target`, picked by `seed`.
fn condition_on(target: &ChecklistItem, seed: u64) -> Condition {
    let item = target.id.clone();
    let ids: Vec<String> = target.kind.options().iter().map(|o| o.id.clone()).collect();
    match &target.kind {
        _ if seed.is_multiple_of(3) => Condition::Answered { item },
        ItemKind::YesNo => Condition::YesNoEquals {
            item,
            value: seed.is_multiple_of(2),
        },
        ItemKind::SingleChoice { .. } => {
            let mut chosen: Vec<String> = ids
                .iter()
                .enumerate()
                .filter(|(i, _)| seed >> i & 1 == 1)
                .map(|(_, id)| id.clone())
                .collect();
            if chosen.is_empty() {
                chosen.push(ids[0].clone());
            }
            Condition::ChoiceIn {
                item,
                options: chosen,
            }
        }
        ItemKind::MultipleChoice { .. } => Condition::ChoicesContain {
            item,
            option: ids[seed as usize % ids.len()].clone(),
        },
        _ => Condition::Answered { item },
    }
}

fn arb_template() -> impl Strategy<Value = ChecklistTemplate> {
    let item = (
        arb_kind(),
        any::<bool>(),
        prop::option::of((any::<usize>(), any::<u64>())),
    );
    prop::collection::vec(item, 1..8).prop_map(|specs| {
        let mut items: Vec<ChecklistItem> = Vec::new();
        for (i, (kind, required, cond)) in specs.into_iter().enumerate() {
            let visible_when = cond
                .filter(|_| i > 0)
                .map(|(pick, seed)| condition_on(&items[pick % i], seed));
            let label = crate::checklist::Label::new("问题", "Question");
            items.push(ChecklistItem {
                id: format!("q{i}"),
                label,
                help: None,
                kind,
                required,
                visible_when,
            });
        }
        let title = crate::checklist::Label::new("测试", "Test");
        ChecklistTemplate::new("prop".into(), 1, title, items)
            .expect("generated templates are valid")
    })
}

fn arb_value(options: Vec<String>) -> impl Strategy<Value = AnswerValue> {
    let option = prop::sample::select(options);
    prop_oneof![
        any::<bool>().prop_map(V::YesNo),
        option.clone().prop_map(V::Choice),
        prop::collection::vec(option, 0..4).prop_map(V::Choices),
        prop_oneof![-5i64..10, Just(i64::MIN), Just(i64::MAX)].prop_map(V::Integer),
        (
            prop_oneof![-5i64..20, Just(i64::MAX)],
            prop::sample::select(vec!["CNY", "USD", "cny", ""])
        )
            .prop_map(|(minor_units, c)| V::Money(Money {
                minor_units,
                currency: c.into()
            })),
        prop_oneof!["[a 逾😀\n]{0,8}", "[0-9]{30,40}"].prop_map(V::Text),
        (-3i64..10).prop_map(|d| V::Date(base_date() + chrono::Duration::days(d))),
    ]
}

/// Values of the item's own kind, mostly at and just beyond its limits.
fn near_value(kind: &ItemKind, pool: Vec<String>) -> BoxedStrategy<AnswerValue> {
    let edges = |lo: i64, hi: i64| vec![lo.saturating_sub(1), lo, hi, hi.saturating_add(1)];
    let day = |d: NaiveDate, n: i64| d.checked_add_signed(chrono::Duration::days(n));
    match kind.clone() {
        ItemKind::YesNo => any::<bool>().prop_map(V::YesNo).boxed(),
        ItemKind::SingleChoice { .. } => prop::sample::select(pool).prop_map(V::Choice).boxed(),
        ItemKind::MultipleChoice {
            options,
            max_selected,
            ..
        } => {
            let own: Vec<String> = options.into_iter().map(|o| o.id).collect();
            let most = max_selected as usize + 1;
            prop_oneof![
                3 => prop::sample::subsequence(own.clone(), 0..=own.len()),
                1 => prop::collection::vec(prop::sample::select(pool), 0..=most),
            ]
            .prop_map(V::Choices)
            .boxed()
        }
        ItemKind::Integer { min, max } => prop::sample::select(edges(min, max))
            .prop_map(V::Integer)
            .boxed(),
        ItemKind::Money {
            currency,
            min_minor_units: lo,
            max_minor_units: hi,
        } => (
            prop::sample::select(edges(lo.unwrap_or(-1), hi.unwrap_or(1))),
            prop::sample::select(vec![currency.clone(), currency, "USD".into(), "usd".into()]),
        )
            .prop_map(|(minor_units, currency)| {
                V::Money(Money {
                    minor_units,
                    currency,
                })
            })
            .boxed(),
        ItemKind::Text { max_chars } => {
            let n = max_chars as usize;
            prop::collection::vec(
                prop::sample::select(vec!['a', ' ', '逾', '😀', '\n']),
                n - 1..=n + 1,
            )
            .prop_map(|chars| V::Text(chars.into_iter().collect()))
            .boxed()
        }
        ItemKind::Date {
            not_before,
            not_after,
        } => {
            let first = not_before.unwrap_or(base_date());
            let last = not_after.unwrap_or(first);
            let dates = [day(first, -1), Some(first), Some(last), day(last, 1)];
            prop::sample::select(dates.into_iter().flatten().collect::<Vec<_>>())
                .prop_map(V::Date)
                .boxed()
        }
        ItemKind::Photo { .. } | ItemKind::Signature => Just(V::YesNo(true)).boxed(),
    }
}

/// A sheet for the template's items plus two unknown ids: values mostly of the
/// item's kind near its limits, some of any kind; attachment counts around limits.
fn arb_sheet(t: &ChecklistTemplate) -> impl Strategy<Value = AnswerSheet> + use<> {
    let mut pool: Vec<String> = t
        .items()
        .iter()
        .flat_map(|i| i.kind.options())
        .map(|o| o.id.clone())
        .collect();
    pool.extend(["a", "b", "zz"].map(String::from));
    let mut entries = Vec::new();
    for id in t
        .items()
        .iter()
        .map(|i| i.id.as_str())
        .chain(["ghost", "q9"])
    {
        let item = t.item(id);
        let takes_attachments = item.is_some_and(|i| i.kind.takes_attachments());
        let value = match item {
            Some(item) => {
                prop_oneof![3 => near_value(&item.kind, pool.clone()), 1 => arb_value(pool.clone())]
                    .boxed()
            }
            None => arb_value(pool.clone()).boxed(),
        };
        let (p_value, p_count) = if takes_attachments {
            (0.15, 0.8)
        } else {
            (0.75, 0.1)
        };
        entries.push((
            Just(id.to_owned()),
            prop::option::weighted(p_value, value),
            prop::option::weighted(p_count, 0u32..8),
        ));
    }
    entries.prop_map(|entries| {
        let mut sheet = AnswerSheet::new();
        for (id, value, count) in entries {
            value.map(|v| sheet.set(id.as_str(), v));
            count.map(|n| sheet.set_attachments(id, n));
        }
        sheet
    })
}

/// The oracle's view of one item: hidden, fine, missing or otherwise invalid.
#[derive(Debug, PartialEq)]
enum Verdict {
    Hidden,
    Fine,
    Missing,
    Invalid,
}

/// Independent restatement of the rules, item by item, in template order.
fn oracle(t: &ChecklistTemplate, sheet: &AnswerSheet) -> BTreeMap<String, Verdict> {
    let mut verdicts: BTreeMap<String, Verdict> = BTreeMap::new();
    let mut answered: BTreeMap<&str, bool> = BTreeMap::new();
    for item in t.items() {
        let value = sheet.values.get(&item.id);
        let count = sheet.attachments.get(&item.id).copied().unwrap_or(0);
        let blank = match value {
            None => true,
            Some(V::Text(s)) if matches!(item.kind, ItemKind::Text { .. }) => s.trim().is_empty(),
            Some(V::Choices(c)) if matches!(item.kind, ItemKind::MultipleChoice { .. }) => {
                c.is_empty()
            }
            _ => false,
        };
        let valid = |v: &AnswerValue| match (&item.kind, v) {
            (ItemKind::YesNo, V::YesNo(_)) => true,
            (ItemKind::SingleChoice { options }, V::Choice(c)) => {
                options.iter().any(|o| &o.id == c)
            }
            (
                ItemKind::MultipleChoice {
                    options,
                    min_selected,
                    max_selected,
                },
                V::Choices(cs),
            ) => {
                let known = cs.iter().all(|c| options.iter().any(|o| &o.id == c));
                let distinct =
                    cs.iter().collect::<std::collections::HashSet<_>>().len() == cs.len();
                known
                    && distinct
                    && cs.len() >= *min_selected as usize
                    && cs.len() <= *max_selected as usize
            }
            (ItemKind::Integer { min, max }, V::Integer(n)) => min <= n && n <= max,
            (
                ItemKind::Money {
                    currency,
                    min_minor_units: lo,
                    max_minor_units: hi,
                },
                V::Money(m),
            ) => {
                &m.currency == currency
                    && lo.is_none_or(|lo| m.minor_units >= lo)
                    && hi.is_none_or(|hi| m.minor_units <= hi)
            }
            (ItemKind::Text { max_chars }, V::Text(s)) => s.chars().count() <= *max_chars as usize,
            (
                ItemKind::Date {
                    not_before,
                    not_after,
                },
                V::Date(d),
            ) => not_before.is_none_or(|b| *d >= b) && not_after.is_none_or(|a| *d <= a),
            _ => false,
        };
        // The answer's "type" tag names the item kind's "type" (choice ↔ single_choice).
        let tag = |json: serde_json::Value| {
            let tag = json["type"].as_str().unwrap_or_default().to_owned();
            tag.replace("single_choice", "choice")
                .replace("multiple_choice", "choices")
        };
        let kind_json = serde_json::to_value(&item.kind).unwrap();
        let kind_ok =
            |v: &AnswerValue| tag(serde_json::to_value(v).unwrap()) == tag(kind_json.clone());
        let shown = match &item.visible_when {
            None => true,
            Some(c) => {
                let target = t.item(c.item()).unwrap();
                let tv = sheet.values.get(c.item());
                verdicts[c.item()] != Verdict::Hidden
                    && match c {
                        Condition::Answered { .. } => answered[c.item()],
                        Condition::YesNoEquals { value, .. } => tv == Some(&V::YesNo(*value)),
                        Condition::ChoiceIn { options, .. } => {
                            options.iter().any(|o| tv == Some(&V::Choice(o.clone())))
                        }
                        Condition::ChoicesContain { option, .. } => {
                            matches!(tv, Some(V::Choices(cs)) if cs.contains(option))
                                && matches!(target.kind, ItemKind::MultipleChoice { .. })
                        }
                    }
            }
        };
        let attachments = matches!(item.kind, ItemKind::Photo { .. } | ItemKind::Signature);
        answered.insert(
            &item.id,
            if attachments {
                count > 0
            } else {
                !blank && value.is_some_and(kind_ok)
            },
        );
        let verdict = if !shown {
            Verdict::Hidden
        } else if attachments {
            let bad_count = match item.kind {
                ItemKind::Photo {
                    min_count,
                    max_count,
                } => count > 0 && (count < min_count || count > max_count),
                _ => count > 1,
            };
            match (count == 0 && item.required, value.is_some() || bad_count) {
                (true, _) => Verdict::Missing,
                (false, true) => Verdict::Invalid,
                (false, false) => Verdict::Fine,
            }
        } else if blank && item.required {
            Verdict::Missing
        } else if count > 0 || (!blank && !valid(value.unwrap())) {
            Verdict::Invalid
        } else {
            Verdict::Fine
        };
        verdicts.insert(item.id.clone(), verdict);
    }
    verdicts
}

/// Checks `validate` against the oracle, including ordering.
fn agrees_with_oracle(t: &ChecklistTemplate, sheet: &AnswerSheet) -> Result<(), TestCaseError> {
    let problems = t.validate(sheet);
    let verdicts = oracle(t, sheet);
    for item in t.items() {
        let reasons: Vec<R> = problems
            .iter()
            .filter(|p| p.item_id == item.id)
            .map(|p| p.reason)
            .collect();
        match verdicts[&item.id] {
            Verdict::Hidden | Verdict::Fine => {
                prop_assert!(reasons.is_empty(), "{}: {reasons:?}", item.id)
            }
            Verdict::Missing => {
                prop_assert!(reasons.contains(&R::Missing), "{}: {reasons:?}", item.id)
            }
            Verdict::Invalid => prop_assert!(
                !reasons.is_empty() && !reasons.contains(&R::Missing),
                "{}: {reasons:?}",
                item.id
            ),
        }
    }
    let unknown: std::collections::BTreeSet<&String> = sheet
        .values
        .keys()
        .chain(
            sheet
                .attachments
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(id, _)| id),
        )
        .filter(|id| t.item(id).is_none())
        .collect();
    let positions: Vec<usize> = problems
        .iter()
        .map(|p| t.position(&p.item_id).unwrap_or(usize::MAX))
        .collect();
    prop_assert!(positions.is_sorted(), "problems out of template order");
    let reported: Vec<&String> = problems
        .iter()
        .filter(|p| p.reason == R::UnknownItem)
        .map(|p| &p.item_id)
        .collect();
    prop_assert_eq!(reported, unknown.into_iter().collect::<Vec<_>>());
    Ok(())
}

/// A sheet answering every shown item validly (optional ones when `seed` says),
/// with junk on hidden items, which validation must ignore.
fn satisfying_sheet(t: &ChecklistTemplate, seeds: &[u64]) -> AnswerSheet {
    let mut sheet = AnswerSheet::new();
    for (item, seed) in t.items().iter().zip(seeds.iter().cycle()) {
        let id = item.id.as_str();
        if !t.is_visible(id, &sheet) {
            sheet.set(id, V::Integer(i64::MIN)).set_attachments(id, 99);
            continue;
        }
        if !item.required && seed.is_multiple_of(2) {
            continue;
        }
        let pick = |lo: u64, hi: u64| lo + (seed >> 8) % (hi - lo + 1);
        let value = match &item.kind {
            ItemKind::YesNo => V::YesNo(seed & 2 == 0),
            ItemKind::SingleChoice { options } => V::Choice(
                options[pick(0, options.len() as u64 - 1) as usize]
                    .id
                    .clone(),
            ),
            ItemKind::MultipleChoice {
                options,
                min_selected,
                max_selected,
            } => {
                let take = pick(u64::from((*min_selected).max(1)), u64::from(*max_selected));
                V::Choices(
                    options
                        .iter()
                        .take(take as usize)
                        .map(|o| o.id.clone())
                        .collect(),
                )
            }
            ItemKind::Integer { min, max } => V::Integer(if seed & 4 == 0 { *min } else { *max }),
            ItemKind::Money {
                currency,
                min_minor_units: lo,
                max_minor_units: hi,
            } => V::Money(Money {
                minor_units: lo.or(*hi).unwrap_or(12_345),
                currency: currency.clone(),
            }),
            ItemKind::Text { max_chars } => {
                V::Text("逾".repeat(pick(1, u64::from(*max_chars)) as usize))
            }
            ItemKind::Date {
                not_before,
                not_after,
            } => V::Date(not_before.or(*not_after).unwrap_or(base_date())),
            ItemKind::Photo {
                min_count,
                max_count,
            } => {
                let count = pick(u64::from((*min_count).max(1)), u64::from(*max_count));
                sheet.set_attachments(id, count as u32);
                continue;
            }
            ItemKind::Signature => {
                sheet.set_attachments(id, 1);
                continue;
            }
        };
        sheet.set(id, value);
    }
    sheet
}

proptest! {
    #[test]
    fn checklist_validation_agrees_with_the_template_for_arbitrary_answers(
        (t, sheet) in arb_template().prop_flat_map(|t| (arb_sheet(&t), Just(t)).prop_map(|(s, t)| (t, s)))
    ) {
        agrees_with_oracle(&t, &sheet)?;
    }

    #[test]
    fn shipped_template_validation_agrees_with_the_oracle(
        sheet in arb_sheet(&home_verification())
    ) {
        agrees_with_oracle(&home_verification(), &sheet)?;
    }

    #[test]
    fn sheets_built_to_satisfy_a_template_validate_clean(
        t in arb_template(),
        seeds in prop::collection::vec(any::<u64>(), 1..8),
    ) {
        let sheet = satisfying_sheet(&t, &seeds);
        prop_assert_eq!(t.validate(&sheet), vec![]);
        agrees_with_oracle(&t, &sheet)?;
        let shipped = home_verification();
        prop_assert_eq!(shipped.validate(&satisfying_sheet(&shipped, &seeds)), vec![]);
    }
}
