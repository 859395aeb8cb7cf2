//! How values are shown: text people typed, money, instants in a case's local
//! time, checklist answers in the page's language.

use chrono::{DateTime, FixedOffset, Offset as _, Utc};
use doorstep_core::checklist::{AnswerValue, ChecklistTemplate};
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::money::Money;

use super::i18n::Lang;

/// Text someone typed (a customer's name or address, a note, an answer, a
/// user name), made safe to show: every bidirectional and control character
/// is replaced by a visible escape such as `⟨U+202E⟩` ([`crate::text`]), so
/// it can neither reorder nor hide what the page says. Templates escape it as
/// any text and show it inside `<bdi>`, which isolates its direction from the
/// text around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    /// One line of text (names, addresses, references): line breaks and tabs
    /// are escaped too.
    pub fn line(text: &str) -> Shown {
        Shown(crate::text::visible_line(text))
    }

    /// Free text (notes, comments, answers): line breaks and tabs stay.
    pub fn text(text: &str) -> Shown {
        Shown(crate::text::visible_text(text))
    }

    /// The text as shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An instant in a case's local time.
pub fn local(at: DateTime<Utc>, offset_minutes: i32) -> DateTime<FixedOffset> {
    let offset =
        FixedOffset::east_opt(offset_minutes.saturating_mul(60)).unwrap_or_else(|| Utc.fix());
    at.with_timezone(&offset)
}

/// An instant shown in a case's local time, e.g. `2026-03-02 17:00 (UTC+08:00)`.
pub fn show_time(at: DateTime<Utc>, offset_minutes: i32) -> String {
    local(at, offset_minutes)
        .format("%Y-%m-%d %H:%M (UTC%:z)")
        .to_string()
}

/// Money as `12,500.00 CNY`.
pub fn money(amount: &Money) -> String {
    let minor = amount.minor_units.unsigned_abs();
    let whole = (minor / 100).to_string();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount.minor_units < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02} {}", minor % 100, amount.currency)
}

/// An answer as shown: option labels from the template in `lang`, yes/no,
/// money and dates formatted.
pub fn answer_text(
    lang: Lang,
    template: Option<&ChecklistTemplate>,
    item_id: &str,
    value: &AnswerValue,
) -> String {
    let t = lang.text();
    let option = |id: &str| {
        template
            .and_then(|tpl| tpl.item(item_id))
            .and_then(|item| item.kind.options().iter().find(|o| o.id == id))
            .map_or_else(|| id.to_owned(), |o| lang.label(&o.label))
    };
    match value {
        AnswerValue::YesNo(true) => t.yes.to_owned(),
        AnswerValue::YesNo(false) => t.no.to_owned(),
        AnswerValue::Choice(id) => option(id),
        AnswerValue::Choices(ids) => ids
            .iter()
            .map(|id| option(id))
            .collect::<Vec<_>>()
            .join(lang_separator(lang)),
        AnswerValue::Integer(n) => n.to_string(),
        AnswerValue::Money(m) => money(m),
        // A phone or id number the agent typed is masked as the case's are.
        AnswerValue::Text(text) if is_phone_item(item_id) || is_a_number(text) => {
            mask_national_id(text)
        }
        AnswerValue::Text(text) => text.clone(),
        AnswerValue::Date(d) => d.to_string(),
    }
}

/// Whether a checklist item holds a phone number (`phone`, or an id ending
/// in `_phone` such as the home verification's `new_phone`): its answers are
/// masked like the case's phones.
pub fn is_phone_item(item_id: &str) -> bool {
    item_id == "phone" || item_id.ends_with("_phone")
}

/// Whether a text answer is a phone or identity number, whatever its item:
/// nothing but digits and the marks numbers are written with (spaces, `+`,
/// `-`, `.`, `/`, parentheses), with at least seven digits. An agent who
/// writes the customer's other number into a free-text item (the household
/// notes, the statement) does not show it to whoever reads the report.
pub fn is_a_number(text: &str) -> bool {
    let written_as_number = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-./()".contains(c));
    written_as_number && text.chars().filter(char::is_ascii_digit).count() >= 7
}

/// A case phone as shown: its label in `lang` when it is one of the known
/// labels (`mobile`, `home`, `work`, in any case), else as typed, and its
/// number masked to the last four characters.
pub fn phone_line(lang: Lang, label: &str, number: &str) -> String {
    format!(
        "{} {}",
        lang.text().phone_label(label),
        mask_national_id(number)
    )
}

fn lang_separator(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    }
}

#[cfg(test)]
mod tests {
    use super::is_a_number;

    #[test]
    fn numbers_written_any_way_are_told_from_words_and_short_figures() {
        for number in [
            "13800138000",
            "+86 139 1234 5678",
            "(010) 8765-4321",
            "110101.19900307",
        ] {
            assert!(is_a_number(number), "{number}");
        }
        for text in [
            "Lost the job in 2024",
            "2024-03",
            "12,500",
            "",
            "三个月 1380013",
        ] {
            assert!(!is_a_number(text), "{text}");
        }
    }
}
