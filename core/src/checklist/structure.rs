//! Structural validation of checklist templates: the limits, the errors, and the
//! checks every template passes before it exists as a
//! [`ChecklistTemplate`](super::ChecklistTemplate).

use std::collections::{BTreeMap, BTreeSet};

use super::template::{ChecklistItem, ChoiceOption, Condition, FORMAT, ItemKind, Label};
use crate::money::Money;

/// Most items a template may have.
pub const MAX_ITEMS: usize = 200;
/// Most options a choice item may offer.
pub const MAX_OPTIONS: usize = 50;
/// Longest template key, item id or option id, in characters.
pub const MAX_ID_CHARS: usize = 64;
/// Longest label or help text, in characters, per language.
pub const MAX_LABEL_CHARS: usize = 500;
/// Largest `max_chars` a text item may declare.
pub const MAX_TEXT_CHARS: u32 = 20_000;
/// Largest `max_count` a photo item may declare.
pub const MAX_PHOTOS: u32 = 30;

/// Why a template was refused. Messages name keys, item and option ids, never answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Not JSON, or JSON of the wrong shape (missing or unknown fields, wrong types).
    #[error("template JSON is malformed: {detail}")]
    Malformed {
        /// The parser's description, with line and column.
        detail: String,
    },
    /// The `"format"` field is absent or not a whole number.
    #[error("template has no \"format\" number")]
    MissingFormat,
    /// The template is written in a format this build does not read.
    #[error("template format {found} is not supported (this build reads format {FORMAT})")]
    UnsupportedFormat {
        /// The format found.
        found: u64,
    },
    /// The key is empty, too long or not `[a-z0-9_-]+`.
    #[error("template key {key:?} must be 1 to {MAX_ID_CHARS} characters of a-z, 0-9, _ and -")]
    InvalidKey {
        /// The key, shortened.
        key: String,
    },
    /// Version 0: published versions start at 1.
    #[error("template version must be 1 or more")]
    InvalidVersion,
    /// The template has no items.
    #[error("template has no items")]
    NoItems,
    /// More than [`MAX_ITEMS`] items.
    #[error("template has {count} items, more than {MAX_ITEMS}")]
    TooManyItems {
        /// How many items the template has.
        count: usize,
    },
    /// An item id is empty, too long or not `[a-z0-9_]+`.
    #[error(
        "item #{position} has id {item_id:?}; ids are 1 to {MAX_ID_CHARS} characters of a-z, 0-9 and _"
    )]
    InvalidItemId {
        /// Zero-based position of the item.
        position: usize,
        /// The id, shortened.
        item_id: String,
    },
    /// Two items share an id.
    #[error("item id {item_id} appears more than once")]
    DuplicateItemId {
        /// The repeated id.
        item_id: String,
    },
    /// A label or help text is empty (after trimming) or too long in some language.
    #[error("{at}: labels need both zh-CN and en text of 1 to {MAX_LABEL_CHARS} characters")]
    InvalidLabel {
        /// `title`, an item id, or `item_id.option_id`.
        at: String,
    },
    /// A choice item has no options, or more than [`MAX_OPTIONS`].
    #[error("item {item_id} must offer 1 to {MAX_OPTIONS} options")]
    OptionCount {
        /// The item.
        item_id: String,
    },
    /// An option id is empty, too long or not `[a-z0-9_]+`.
    #[error(
        "item {item_id} has option id {option_id:?}; ids are 1 to {MAX_ID_CHARS} characters of a-z, 0-9 and _"
    )]
    InvalidOptionId {
        /// The item.
        item_id: String,
        /// The option id, shortened.
        option_id: String,
    },
    /// Two options of one item share an id.
    #[error("item {item_id} has option id {option_id} more than once")]
    DuplicateOptionId {
        /// The item.
        item_id: String,
        /// The repeated option id.
        option_id: String,
    },
    /// A lower limit is above its upper limit.
    #[error("item {item_id}: {limit} has its minimum above its maximum")]
    MinAboveMax {
        /// The item.
        item_id: String,
        /// Which pair of limits, e.g. `min_count/max_count`.
        limit: &'static str,
    },
    /// A limit is outside what any visit could need (zero maximum, more selections
    /// than options, text or photo limits beyond [`MAX_TEXT_CHARS`] / [`MAX_PHOTOS`]).
    #[error("item {item_id}: {limit} is out of bounds")]
    AbsurdLimit {
        /// The item.
        item_id: String,
        /// Which limit.
        limit: &'static str,
    },
    /// A money item's currency is not an ISO 4217 style code.
    #[error("item {item_id} has an invalid currency code")]
    InvalidCurrency {
        /// The item.
        item_id: String,
    },
    /// A condition names an item that does not exist.
    #[error("item {item_id} has a condition on unknown item {refers_to:?}")]
    ConditionUnknownItem {
        /// The item carrying the condition.
        item_id: String,
        /// The id it names, shortened.
        refers_to: String,
    },
    /// A condition names the item itself or a later item.
    #[error("item {item_id} has a condition on {refers_to}, which does not come before it")]
    ConditionNotEarlier {
        /// The item carrying the condition.
        item_id: String,
        /// The item it names.
        refers_to: String,
    },
    /// A condition tests an item whose kind cannot satisfy it.
    #[error("item {item_id} has a condition that item {refers_to} cannot satisfy")]
    ConditionKindMismatch {
        /// The item carrying the condition.
        item_id: String,
        /// The item it names.
        refers_to: String,
    },
    /// A condition names an option the tested item does not have, or lists none.
    #[error("item {item_id} has a condition on a missing option of item {refers_to}")]
    ConditionUnknownOption {
        /// The item carrying the condition.
        item_id: String,
        /// The item it names.
        refers_to: String,
    },
}

/// Checks everything [`ChecklistTemplate::new`](super::ChecklistTemplate::new)
/// promises and returns the item index (id → position).
pub(super) fn check_template(
    key: &str,
    version: u32,
    title: &Label,
    items: &[ChecklistItem],
) -> Result<BTreeMap<String, usize>, TemplateError> {
    let key_ok = !key.is_empty()
        && key.chars().count() <= MAX_ID_CHARS
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !key_ok {
        return Err(TemplateError::InvalidKey { key: clip(key) });
    }
    if version == 0 {
        return Err(TemplateError::InvalidVersion);
    }
    check_label(title, || "title".to_owned())?;
    if items.is_empty() {
        return Err(TemplateError::NoItems);
    }
    if items.len() > MAX_ITEMS {
        return Err(TemplateError::TooManyItems { count: items.len() });
    }
    let all_ids: BTreeSet<&str> = items.iter().map(|item| item.id.as_str()).collect();
    let mut index = BTreeMap::new();
    for (position, item) in items.iter().enumerate() {
        if !is_valid_id(&item.id) {
            return Err(TemplateError::InvalidItemId {
                position,
                item_id: clip(&item.id),
            });
        }
        if index.contains_key(&item.id) {
            return Err(TemplateError::DuplicateItemId {
                item_id: item.id.clone(),
            });
        }
        check_item(item)?;
        if let Some(condition) = &item.visible_when {
            check_condition(item, condition, &index, items, &all_ids)?;
        }
        index.insert(item.id.clone(), position);
    }
    Ok(index)
}

/// `[a-z0-9_]+`, at most [`MAX_ID_CHARS`].
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Shortens a rejected id for an error message, so a hostile template cannot make
/// errors (and logs) arbitrarily large.
fn clip(text: &str) -> String {
    text.chars().take(MAX_ID_CHARS).collect()
}

fn check_label(label: &Label, at: impl Fn() -> String) -> Result<(), TemplateError> {
    let ok = |text: &str| !text.trim().is_empty() && text.chars().count() <= MAX_LABEL_CHARS;
    if ok(&label.zh_cn) && ok(&label.en) {
        Ok(())
    } else {
        Err(TemplateError::InvalidLabel { at: at() })
    }
}

fn check_item(item: &ChecklistItem) -> Result<(), TemplateError> {
    let id = &item.id;
    check_label(&item.label, || id.clone())?;
    if let Some(help) = &item.help {
        check_label(help, || id.clone())?;
    }
    let inverted = |limit| TemplateError::MinAboveMax {
        item_id: id.clone(),
        limit,
    };
    let absurd = |limit| TemplateError::AbsurdLimit {
        item_id: id.clone(),
        limit,
    };
    match &item.kind {
        ItemKind::YesNo | ItemKind::Signature => {}
        ItemKind::SingleChoice { options } => check_options(id, options)?,
        ItemKind::MultipleChoice {
            options,
            min_selected,
            max_selected,
        } => {
            check_options(id, options)?;
            if min_selected > max_selected {
                return Err(inverted("min_selected/max_selected"));
            }
            if *max_selected == 0 || *max_selected as usize > options.len() {
                return Err(absurd("max_selected"));
            }
        }
        ItemKind::Integer { min, max } => {
            if min > max {
                return Err(inverted("min/max"));
            }
        }
        ItemKind::Money {
            currency,
            min_minor_units,
            max_minor_units,
        } => {
            let probe = Money {
                minor_units: 0,
                currency: currency.clone(),
            };
            if probe.check().is_err() {
                return Err(TemplateError::InvalidCurrency {
                    item_id: id.clone(),
                });
            }
            if let (Some(min), Some(max)) = (min_minor_units, max_minor_units)
                && min > max
            {
                return Err(inverted("min_minor_units/max_minor_units"));
            }
        }
        ItemKind::Text { max_chars } => {
            if *max_chars == 0 || *max_chars > MAX_TEXT_CHARS {
                return Err(absurd("max_chars"));
            }
        }
        ItemKind::Date {
            not_before,
            not_after,
        } => {
            if let (Some(first), Some(last)) = (not_before, not_after)
                && first > last
            {
                return Err(inverted("not_before/not_after"));
            }
        }
        ItemKind::Photo {
            min_count,
            max_count,
        } => {
            if min_count > max_count {
                return Err(inverted("min_count/max_count"));
            }
            if *max_count == 0 || *max_count > MAX_PHOTOS {
                return Err(absurd("max_count"));
            }
        }
    }
    Ok(())
}

fn check_options(item_id: &str, options: &[ChoiceOption]) -> Result<(), TemplateError> {
    if options.is_empty() || options.len() > MAX_OPTIONS {
        return Err(TemplateError::OptionCount {
            item_id: item_id.to_owned(),
        });
    }
    let mut seen = BTreeSet::new();
    for option in options {
        if !is_valid_id(&option.id) {
            return Err(TemplateError::InvalidOptionId {
                item_id: item_id.to_owned(),
                option_id: clip(&option.id),
            });
        }
        if !seen.insert(option.id.as_str()) {
            return Err(TemplateError::DuplicateOptionId {
                item_id: item_id.to_owned(),
                option_id: option.id.clone(),
            });
        }
        check_label(&option.label, || format!("{item_id}.{}", option.id))?;
    }
    Ok(())
}

fn check_condition(
    item: &ChecklistItem,
    condition: &Condition,
    earlier: &BTreeMap<String, usize>,
    items: &[ChecklistItem],
    all_ids: &BTreeSet<&str>,
) -> Result<(), TemplateError> {
    let refers_to = condition.item();
    let Some(target) = earlier.get(refers_to).and_then(|at| items.get(*at)) else {
        return Err(if all_ids.contains(refers_to) {
            TemplateError::ConditionNotEarlier {
                item_id: item.id.clone(),
                refers_to: refers_to.to_owned(),
            }
        } else {
            TemplateError::ConditionUnknownItem {
                item_id: item.id.clone(),
                refers_to: clip(refers_to),
            }
        });
    };
    let mismatch = || TemplateError::ConditionKindMismatch {
        item_id: item.id.clone(),
        refers_to: refers_to.to_owned(),
    };
    let unknown_option = || TemplateError::ConditionUnknownOption {
        item_id: item.id.clone(),
        refers_to: refers_to.to_owned(),
    };
    match (condition, &target.kind) {
        (Condition::Answered { .. }, _) => Ok(()),
        (Condition::YesNoEquals { .. }, ItemKind::YesNo) => Ok(()),
        (Condition::ChoiceIn { options, .. }, kind @ ItemKind::SingleChoice { .. }) => {
            if options.is_empty() || !options.iter().all(|option| kind.has_option(option)) {
                Err(unknown_option())
            } else {
                Ok(())
            }
        }
        (Condition::ChoicesContain { option, .. }, kind @ ItemKind::MultipleChoice { .. }) => {
            if kind.has_option(option) {
                Ok(())
            } else {
                Err(unknown_option())
            }
        }
        _ => Err(mismatch()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(super) mod tests {
    use super::*;
    use crate::checklist::template::ChecklistTemplate;
    use serde_json::{Value, json};

    fn label(text: &str) -> Value {
        json!({"zh-CN": format!("{text}（中文）"), "en": text})
    }

    fn options(ids: &[&str]) -> Value {
        ids.iter()
            .map(|id| json!({"id": id, "label": label(id)}))
            .collect()
    }

    /// A small valid template touching every kind and condition.
    pub(in crate::checklist) fn base() -> Value {
        json!({
            "format": 1,
            "key": "test-template_2",
            "version": 3,
            "title": label("Test"),
            "items": [
                {"id": "seen", "label": label("Seen"), "kind": {"type": "yes_no"}, "required": true},
                {"id": "pick", "label": label("Pick"), "required": true,
                 "kind": {"type": "single_choice", "options": options(&["a", "b", "other"])}},
                {"id": "many", "label": label("Many"), "required": false,
                 "kind": {"type": "multiple_choice", "options": options(&["x", "y", "z"]),
                          "min_selected": 1, "max_selected": 2}},
                {"id": "score", "label": label("Score"), "required": true,
                 "kind": {"type": "integer", "min": 1, "max": 5},
                 "visible_when": {"type": "yes_no_equals", "item": "seen", "value": true}},
                {"id": "income", "label": label("Income"), "required": false,
                 "kind": {"type": "money", "currency": "CNY", "min_minor_units": 0}},
                {"id": "note", "label": label("Note"), "help": label("Help"), "required": true,
                 "kind": {"type": "text", "max_chars": 10},
                 "visible_when": {"type": "choice_in", "item": "pick", "options": ["other"]}},
                {"id": "when", "label": label("When"), "required": false,
                 "kind": {"type": "date", "not_before": "2020-01-01", "not_after": "2030-12-31"},
                 "visible_when": {"type": "choices_contain", "item": "many", "option": "z"}},
                {"id": "photos", "label": label("Photos"), "required": true,
                 "kind": {"type": "photo", "min_count": 1, "max_count": 3},
                 "visible_when": {"type": "answered", "item": "note"}},
                {"id": "sign", "label": label("Sign"), "required": false, "kind": {"type": "signature"}}
            ]
        })
    }

    pub(in crate::checklist) fn parse(value: &Value) -> Result<ChecklistTemplate, TemplateError> {
        ChecklistTemplate::from_json(&value.to_string())
    }

    /// Parses `base()` after `edit`, expecting an error.
    pub(in crate::checklist) fn rejected(edit: impl FnOnce(&mut Value)) -> TemplateError {
        let mut value = base();
        edit(&mut value);
        parse(&value).expect_err("template should be refused")
    }

    #[test]
    fn key_and_version_are_checked() {
        for key in ["", "Home", "home verification", "家访", &"k".repeat(65)] {
            let err = rejected(|v| v["key"] = json!(key));
            assert!(matches!(err, TemplateError::InvalidKey { .. }), "{key:?}");
        }
        assert_eq!(
            rejected(|v| v["version"] = json!(0)),
            TemplateError::InvalidVersion
        );
    }

    #[test]
    fn item_list_must_be_sensible() {
        assert_eq!(rejected(|v| v["items"] = json!([])), TemplateError::NoItems);
        let many: Vec<Value> = (0..=MAX_ITEMS)
            .map(|n| json!({"id": format!("q{n}"), "label": label("Q"), "kind": {"type": "yes_no"}, "required": false}))
            .collect();
        let err = rejected(|v| v["items"] = json!(many));
        assert_eq!(
            err,
            TemplateError::TooManyItems {
                count: MAX_ITEMS + 1
            }
        );
    }

    #[test]
    fn item_ids_must_be_lower_snake_case() {
        let long = "a".repeat(MAX_ID_CHARS + 1);
        for id in [
            "",
            "Seen",
            "a-b",
            "a b",
            "身份",
            "emoji_😀",
            "x';drop",
            long.as_str(),
        ] {
            let err = rejected(|v| v["items"][1]["id"] = json!(id));
            assert!(
                matches!(&err, TemplateError::InvalidItemId { position: 1, item_id } if item_id.chars().count() <= MAX_ID_CHARS),
                "{id:?}: {err:?}"
            );
        }
        let at_limit = "a".repeat(MAX_ID_CHARS);
        let mut value = base();
        value["items"][8]["id"] = json!(at_limit);
        assert!(parse(&value).is_ok());
    }

    #[test]
    fn duplicate_item_ids_are_refused_with_the_id_in_the_message() {
        let err = rejected(|v| v["items"][1]["id"] = json!("seen"));
        assert_eq!(
            err,
            TemplateError::DuplicateItemId {
                item_id: "seen".into()
            }
        );
        assert!(err.to_string().contains("seen"));
    }

    #[test]
    fn options_are_checked() {
        let err = rejected(|v| v["items"][1]["kind"]["options"] = options(&["a", "b", "a"]));
        assert_eq!(
            err,
            TemplateError::DuplicateOptionId {
                item_id: "pick".into(),
                option_id: "a".into()
            }
        );
        let err = rejected(|v| v["items"][2]["kind"]["options"][0]["id"] = json!("X"));
        assert!(matches!(err, TemplateError::InvalidOptionId { .. }));
        let err = rejected(|v| v["items"][1]["kind"]["options"] = json!([]));
        assert_eq!(
            err,
            TemplateError::OptionCount {
                item_id: "pick".into()
            }
        );
        let too_many: Vec<String> = (0..=MAX_OPTIONS).map(|n| format!("o{n}")).collect();
        let ids: Vec<&str> = too_many.iter().map(String::as_str).collect();
        let err = rejected(|v| v["items"][1]["kind"]["options"] = options(&ids));
        assert_eq!(
            err,
            TemplateError::OptionCount {
                item_id: "pick".into()
            }
        );
    }

    #[test]
    fn labels_must_have_both_languages() {
        let err = rejected(|v| v["items"][0]["label"]["zh-CN"] = json!("  "));
        assert_eq!(err, TemplateError::InvalidLabel { at: "seen".into() });
        let err =
            rejected(|v| v["items"][5]["help"]["en"] = json!("x".repeat(MAX_LABEL_CHARS + 1)));
        assert_eq!(err, TemplateError::InvalidLabel { at: "note".into() });
        let err = rejected(|v| v["items"][1]["kind"]["options"][1]["label"]["en"] = json!(""));
        assert_eq!(
            err,
            TemplateError::InvalidLabel {
                at: "pick.b".into()
            }
        );
        let err = rejected(|v| v["title"]["en"] = json!(""));
        assert_eq!(err, TemplateError::InvalidLabel { at: "title".into() });
    }

    #[test]
    fn inverted_ranges_are_refused() {
        let cases: [(usize, [&str; 2], Value, Value); 5] = [
            (2, ["min_selected", "max_selected"], json!(2), json!(1)),
            (3, ["min", "max"], json!(6), json!(5)),
            (
                4,
                ["min_minor_units", "max_minor_units"],
                json!(10),
                json!(9),
            ),
            (
                6,
                ["not_before", "not_after"],
                json!("2031-01-01"),
                json!("2030-12-31"),
            ),
            (7, ["min_count", "max_count"], json!(3), json!(2)),
        ];
        for (at, [min_field, max_field], min, max) in cases {
            let err = rejected(|v| {
                v["items"][at]["kind"][min_field] = min;
                v["items"][at]["kind"][max_field] = max;
            });
            assert!(
                matches!(err, TemplateError::MinAboveMax { .. }),
                "{min_field}: {err:?}"
            );
        }
        // Equal bounds are fine.
        let mut value = base();
        value["items"][3]["kind"] = json!({"type": "integer", "min": i64::MIN, "max": i64::MIN});
        assert!(parse(&value).is_ok());
    }

    #[test]
    fn absurd_limits_are_refused() {
        let cases: [(usize, &str, Value); 6] = [
            (5, "max_chars", json!(0)),
            (5, "max_chars", json!(MAX_TEXT_CHARS + 1)),
            (7, "max_count", json!(MAX_PHOTOS + 1)),
            (2, "max_selected", json!(4)),
            (2, "max_selected", json!(0)),
            (7, "max_count", json!(0)),
        ];
        for (at, field, limit) in cases {
            let err = rejected(|v| {
                v["items"][at]["kind"][field] = limit;
                if field == "max_selected" || field == "max_count" {
                    v["items"][at]["kind"][field.replace("max", "min").as_str()] = json!(0);
                }
            });
            assert!(
                matches!(err, TemplateError::AbsurdLimit { .. }),
                "{field}: {err:?}"
            );
        }
    }

    #[test]
    fn money_items_need_a_valid_currency() {
        for currency in ["cny", "RMB1", "", "元"] {
            let err = rejected(|v| v["items"][4]["kind"]["currency"] = json!(currency));
            assert_eq!(
                err,
                TemplateError::InvalidCurrency {
                    item_id: "income".into()
                }
            );
        }
    }

    #[test]
    fn conditions_must_test_an_earlier_item_of_a_fitting_kind() {
        let when = |v: &mut Value, condition: Value| v["items"][3]["visible_when"] = condition;
        let err = rejected(|v| when(v, json!({"type": "answered", "item": "ghost"})));
        assert!(matches!(err, TemplateError::ConditionUnknownItem { .. }));
        for later in ["score", "note", "sign"] {
            let err = rejected(|v| when(v, json!({"type": "answered", "item": later})));
            assert!(
                matches!(err, TemplateError::ConditionNotEarlier { .. }),
                "{later}"
            );
        }
        let mismatches = [
            json!({"type": "yes_no_equals", "item": "pick", "value": true}),
            json!({"type": "choice_in", "item": "many", "options": ["x"]}),
            json!({"type": "choice_in", "item": "seen", "options": ["a"]}),
            json!({"type": "choices_contain", "item": "pick", "option": "a"}),
        ];
        for condition in mismatches {
            let err = rejected(|v| when(v, condition.clone()));
            assert!(
                matches!(err, TemplateError::ConditionKindMismatch { .. }),
                "{condition}"
            );
        }
        let unknown_options = [
            json!({"type": "choice_in", "item": "pick", "options": ["a", "zz"]}),
            json!({"type": "choice_in", "item": "pick", "options": []}),
            json!({"type": "choices_contain", "item": "many", "option": "a"}),
        ];
        for condition in unknown_options {
            let err = rejected(|v| when(v, condition.clone()));
            assert!(
                matches!(err, TemplateError::ConditionUnknownOption { .. }),
                "{condition}"
            );
        }
        let mut value = base();
        when(&mut value, json!({"type": "answered", "item": "many"}));
        assert!(parse(&value).is_ok());
    }
}
