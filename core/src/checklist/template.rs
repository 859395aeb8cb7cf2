//! Checklist templates: the data that says which questions a visit asks, in which
//! order, with which limits, and when a question is shown at all.
//!
//! A template is published once under a `key` and `version` and never changes
//! afterwards; [`ChecklistTemplate::content_hash`] lets a store refuse a different
//! template republished under the same key and version. Every way of obtaining a
//! [`ChecklistTemplate`] (JSON, serde, [`ChecklistTemplate::new`]) runs the same
//! structural validation, so a template value in hand is always well formed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::structure::check_template;
pub use super::structure::{
    MAX_ID_CHARS, MAX_ITEMS, MAX_LABEL_CHARS, MAX_OPTIONS, MAX_PHOTOS, MAX_TEXT_CHARS,
    TemplateError,
};

/// The template JSON format this build reads and writes (the `"format"` field).
pub const FORMAT: u32 = 1;

/// A text shown to people, in Simplified Chinese and in English.
///
/// JSON: `{"zh-CN": "逾期原因", "en": "Reason for overdue"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Simplified Chinese text.
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
    /// English text.
    pub en: String,
}

impl Label {
    /// Builds a label from its two texts.
    pub fn new(zh_cn: impl Into<String>, en: impl Into<String>) -> Self {
        Label {
            zh_cn: zh_cn.into(),
            en: en.into(),
        }
    }
}

/// One option of a single- or multiple-choice item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// Stable id, `[a-z0-9_]+`, unique within its item; this is what answers store.
    pub id: String,
    /// What the agent sees.
    pub label: Label,
}

/// What kind of answer an item takes, with its limits.
///
/// JSON is internally tagged by `"type"`, e.g. `{"type": "integer", "min": 1, "max": 5}`.
/// Photo and signature items take attachments, not answer values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemKind {
    /// Yes or no.
    YesNo,
    /// Exactly one of the options.
    SingleChoice {
        /// The options offered.
        options: Vec<ChoiceOption>,
    },
    /// Several distinct options.
    MultipleChoice {
        /// The options offered.
        options: Vec<ChoiceOption>,
        /// Fewest options a non-empty selection may have.
        min_selected: u32,
        /// Most options a selection may have.
        max_selected: u32,
    },
    /// A whole number within `min..=max`.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// An amount in one currency, optionally bounded (in minor units).
    Money {
        /// ISO 4217 code every answer must use.
        currency: String,
        /// Smallest allowed amount in minor units.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_minor_units: Option<i64>,
        /// Largest allowed amount in minor units.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_minor_units: Option<i64>,
    },
    /// Free text of at most `max_chars` characters (Unicode scalar values, not bytes).
    Text {
        /// Most characters allowed.
        max_chars: u32,
    },
    /// A calendar date, optionally bounded.
    Date {
        /// Earliest allowed date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_before: Option<NaiveDate>,
        /// Latest allowed date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_after: Option<NaiveDate>,
    },
    /// Photos attached to the item.
    Photo {
        /// Fewest photos once any is attached (and when the item is required).
        min_count: u32,
        /// Most photos.
        max_count: u32,
    },
    /// The customer's signature, one attachment.
    Signature,
}

impl ItemKind {
    /// Whether the item is answered with attachments (photo, signature) rather than a value.
    pub fn takes_attachments(&self) -> bool {
        matches!(self, ItemKind::Photo { .. } | ItemKind::Signature)
    }

    /// The options of a choice item; empty for every other kind.
    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            ItemKind::SingleChoice { options } | ItemKind::MultipleChoice { options, .. } => {
                options
            }
            _ => &[],
        }
    }

    /// Whether `option_id` is one of this item's options.
    pub fn has_option(&self, option_id: &str) -> bool {
        self.options().iter().any(|option| option.id == option_id)
    }
}

/// When an item is shown, as a test on the answer to an earlier item.
///
/// JSON is internally tagged by `"type"`, e.g.
/// `{"type": "choice_in", "item": "overdue_reason", "options": ["other"]}`.
/// A condition on an item that is itself hidden never holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The item has a non-blank answer of its kind (at least one attachment for
    /// photo and signature items).
    Answered {
        /// The earlier item tested.
        item: String,
    },
    /// The yes/no item was answered with `value`.
    YesNoEquals {
        /// The earlier yes/no item tested.
        item: String,
        /// The answer that shows this item.
        value: bool,
    },
    /// The single-choice item was answered with one of `options`.
    ChoiceIn {
        /// The earlier single-choice item tested.
        item: String,
        /// Option ids of that item, any of which shows this item.
        options: Vec<String>,
    },
    /// The multiple-choice item's selection contains `option`.
    ChoicesContain {
        /// The earlier multiple-choice item tested.
        item: String,
        /// Option id of that item.
        option: String,
    },
}

impl Condition {
    /// The id of the item the condition tests.
    pub fn item(&self) -> &str {
        match self {
            Condition::Answered { item }
            | Condition::YesNoEquals { item, .. }
            | Condition::ChoiceIn { item, .. }
            | Condition::ChoicesContain { item, .. } => item,
        }
    }
}

/// One question of a checklist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Stable id, `[a-z0-9_]+`, unique in the template, e.g. `identity_confirmed`.
    pub id: String,
    /// The question.
    pub label: Label,
    /// Guidance for the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Label>,
    /// The kind of answer and its limits.
    pub kind: ItemKind,
    /// Whether a submitted visit must answer the item when it is shown.
    pub required: bool,
    /// Shows the item only when this holds; absent means always shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_when: Option<Condition>,
}

/// A published, structurally valid checklist template.
///
/// Immutable: the fields are read through accessors. Serializes to the template
/// JSON (see [`ChecklistTemplate::to_json`]); deserializing validates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTemplate")]
pub struct ChecklistTemplate {
    format: u32,
    key: String,
    version: u32,
    title: Label,
    items: Vec<ChecklistItem>,
    #[serde(skip)]
    index: BTreeMap<String, usize>,
}

/// The template JSON before validation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    format: u32,
    key: String,
    version: u32,
    title: Label,
    items: Vec<ChecklistItem>,
}

impl TryFrom<RawTemplate> for ChecklistTemplate {
    type Error = TemplateError;

    fn try_from(raw: RawTemplate) -> Result<Self, TemplateError> {
        if raw.format != FORMAT {
            return Err(TemplateError::UnsupportedFormat {
                found: u64::from(raw.format),
            });
        }
        ChecklistTemplate::new(raw.key, raw.version, raw.title, raw.items)
    }
}

impl ChecklistTemplate {
    /// Builds a template after the full structural validation.
    pub fn new(
        key: String,
        version: u32,
        title: Label,
        items: Vec<ChecklistItem>,
    ) -> Result<Self, TemplateError> {
        let index = check_template(&key, version, &title, &items)?;
        Ok(ChecklistTemplate {
            format: FORMAT,
            key,
            version,
            title,
            items,
            index,
        })
    }

    /// Parses and validates template JSON.
    ///
    /// The `"format"` field is read first, so a template written for a later format
    /// is refused as [`TemplateError::UnsupportedFormat`] whatever its shape.
    pub fn from_json(json: &str) -> Result<Self, TemplateError> {
        #[derive(Deserialize)]
        struct FormatProbe {
            format: Option<serde_json::Value>,
        }
        let malformed = |err: serde_json::Error| TemplateError::Malformed {
            detail: err.to_string(),
        };
        let probe: FormatProbe = serde_json::from_str(json).map_err(malformed)?;
        match probe.format.as_ref().and_then(serde_json::Value::as_u64) {
            None => return Err(TemplateError::MissingFormat),
            Some(found) if found != u64::from(FORMAT) => {
                return Err(TemplateError::UnsupportedFormat { found });
            }
            Some(_) => {}
        }
        let raw: RawTemplate = serde_json::from_str(json).map_err(malformed)?;
        ChecklistTemplate::try_from(raw)
    }

    /// The canonical JSON form: compact, fields in declaration order, absent
    /// optional fields left out. Parsing it gives back an equal template.
    pub fn to_json(&self) -> String {
        // serde_json fails only on non-string map keys or failing Serialize impls;
        // these types have neither, so the default is never used.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Hex SHA-256 of [`ChecklistTemplate::to_json`]. Two templates with the same
    /// content hash the same however their JSON was laid out.
    pub fn content_hash(&self) -> String {
        hex::encode(Sha256::digest(self.to_json().as_bytes()))
    }

    /// The template key, e.g. `home-verification`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The published version, 1 or more.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The template's title.
    pub fn title(&self) -> &Label {
        &self.title
    }

    /// The items, in the order they are asked.
    pub fn items(&self) -> &[ChecklistItem] {
        &self.items
    }

    /// The item with this id.
    pub fn item(&self, item_id: &str) -> Option<&ChecklistItem> {
        self.position(item_id).and_then(|at| self.items.get(at))
    }

    /// Zero-based position of the item with this id.
    pub(super) fn position(&self, item_id: &str) -> Option<usize> {
        self.index.get(item_id).copied()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::checklist::structure::tests::{base, parse, rejected};
    use serde_json::{Value, json};

    #[test]
    fn base_template_is_valid_and_round_trips() {
        let template = parse(&base()).unwrap();
        assert_eq!(template.key(), "test-template_2");
        assert_eq!(template.version(), 3);
        assert_eq!(template.items().len(), 9);
        assert_eq!(
            template.item("note").unwrap().kind,
            ItemKind::Text { max_chars: 10 }
        );
        assert!(template.item("nope").is_none());
        let again = ChecklistTemplate::from_json(&template.to_json()).unwrap();
        assert_eq!(again, template);
        assert_eq!(again.to_json(), template.to_json());
        assert_eq!(again.content_hash(), template.content_hash());
        let pretty = serde_json::to_string_pretty(&base()).unwrap();
        let from_pretty = ChecklistTemplate::from_json(&pretty).unwrap();
        assert_eq!(from_pretty.content_hash(), template.content_hash());
        assert_eq!(template.content_hash().len(), 64);
    }

    #[test]
    fn content_hash_changes_with_content() {
        let original = parse(&base()).unwrap().content_hash();
        let mut edited = base();
        edited["items"][3]["kind"]["max"] = json!(6);
        assert_ne!(parse(&edited).unwrap().content_hash(), original);
        let mut relabelled = base();
        relabelled["items"][0]["label"]["en"] = json!("Seen it");
        assert_ne!(parse(&relabelled).unwrap().content_hash(), original);
    }

    #[test]
    fn serde_deserialize_validates_too() {
        let mut value = base();
        value["items"] = json!([]);
        assert!(serde_json::from_value::<ChecklistTemplate>(value).is_err());
        assert!(serde_json::from_value::<ChecklistTemplate>(base()).is_ok());
    }

    #[test]
    fn malformed_json_is_refused() {
        for bad in ["", "{", "[]", "null", "{\"format\": 1, \"key\": }"] {
            assert!(
                matches!(
                    ChecklistTemplate::from_json(bad),
                    Err(TemplateError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
        let shapes: [fn(&mut Value); 6] = [
            |v| v["items"][0]["colour"] = json!("red"),
            |v| v["items"][0]["kind"] = json!({"type": "slider"}),
            |v| v["items"][3]["kind"]["step"] = json!(1),
            |v| v["items"][0]["required"] = json!("yes"),
            |v| {
                v["items"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("required")
                    .map(drop)
                    .unwrap()
            },
            |v| v["items"][6]["kind"]["not_after"] = json!("2030-02-30"),
        ];
        for edit in shapes {
            assert!(matches!(rejected(edit), TemplateError::Malformed { .. }));
        }
    }

    #[test]
    fn format_is_checked_before_shape() {
        let missing = rejected(|v| {
            v.as_object_mut()
                .unwrap()
                .remove("format")
                .map(drop)
                .unwrap()
        });
        assert_eq!(missing, TemplateError::MissingFormat);
        assert_eq!(
            rejected(|v| v["format"] = json!("1")),
            TemplateError::MissingFormat
        );
        let future = json!({"format": 2, "sections": [{"anything": "new"}]});
        assert_eq!(
            parse(&future).unwrap_err(),
            TemplateError::UnsupportedFormat { found: 2 }
        );
    }
}
