//! The header cells of the three sheets: which column holds what, and in
//! which language (`label::zh`, `label::Chinese (zh)`, `hint::English (en)`,
//! or a plain `label` in the form's `default_language`).

/// The two languages of a checklist label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Simplified Chinese (`zh`, `zh-CN`, `zh-Hans`, `Chinese`).
    Zh,
    /// English (`en`, `en-GB`, `English`).
    En,
}

impl Language {
    /// How the language is named in problems.
    pub fn code(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::En => "en",
        }
    }

    /// Reads an XLSForm language: `zh`, `Chinese (zh)`, `English (en-GB)`,
    /// `中文`... `None` for any other language.
    pub fn parse(text: &str) -> Option<Language> {
        let text = text.trim();
        let code = match (text.rfind('('), text.ends_with(')')) {
            (Some(open), true) => &text[open + 1..text.len() - 1],
            _ => text,
        };
        let code = code.trim().to_ascii_lowercase().replace('_', "-");
        let primary = code.split('-').next().unwrap_or_default();
        match primary {
            "zh" | "chinese" | "中文" | "简体中文" => Some(Language::Zh),
            "en" | "english" => Some(Language::En),
            _ => None,
        }
    }
}

/// What one column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A column Doorstep reads: its base name (`type`, `label`...), and the
    /// language for `label`, `hint` and `form_title`.
    Read {
        /// The base name, lower case.
        base: String,
        /// The language of a translated column.
        language: Option<Language>,
    },
    /// A translated column in a language other than zh and en.
    OtherLanguage,
    /// A translated column (`label`, `hint`) without a language, in a form
    /// with no `default_language` of zh or en.
    NoLanguage,
    /// Any other column.
    Other,
}

/// Classifies a header cell, given the columns the sheet reads (`reads`),
/// those of them that are translated (`translated`), and the form's default
/// language.
pub fn classify(
    head: &str,
    reads: &[&str],
    translated: &[&str],
    default_language: Option<Language>,
) -> Column {
    let (base, language) = match head.split_once("::") {
        Some((base, language)) => (base.trim().to_ascii_lowercase(), Some(language)),
        None => (head.trim().to_ascii_lowercase(), None),
    };
    if !reads.contains(&base.as_str()) {
        return Column::Other;
    }
    let is_translated = translated.contains(&base.as_str());
    match (language, is_translated) {
        (None, false) => Column::Read {
            base,
            language: None,
        },
        (Some(_), false) => Column::Other,
        (Some(language), true) => match Language::parse(language) {
            Some(language) => Column::Read {
                base,
                language: Some(language),
            },
            None => Column::OtherLanguage,
        },
        (None, true) => match default_language {
            Some(language) => Column::Read {
                base,
                language: Some(language),
            },
            None => Column::NoLanguage,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_read_as_forms_write_them() {
        for zh in [
            "zh",
            "zh-CN",
            "Chinese (zh)",
            "中文 (zh-Hans)",
            "zh_CN",
            "Chinese",
        ] {
            assert_eq!(Language::parse(zh), Some(Language::Zh), "{zh}");
        }
        for en in ["en", "English (en)", "English (en-GB)", "EN"] {
            assert_eq!(Language::parse(en), Some(Language::En), "{en}");
        }
        for other in ["French (fr)", "fr", "", "(zh"] {
            assert_eq!(Language::parse(other), None, "{other}");
        }
    }

    #[test]
    fn columns_are_classified() {
        let reads = ["type", "label", "hint"];
        let translated = ["label", "hint"];
        let read = |base: &str, language| Column::Read {
            base: base.into(),
            language,
        };
        assert_eq!(
            classify("label::Chinese (zh)", &reads, &translated, None),
            read("label", Some(Language::Zh))
        );
        assert_eq!(
            classify("Type", &reads, &translated, None),
            read("type", None)
        );
        assert_eq!(
            classify("label", &reads, &translated, Some(Language::En)),
            read("label", Some(Language::En))
        );
        assert_eq!(
            classify("label", &reads, &translated, None),
            Column::NoLanguage
        );
        assert_eq!(
            classify("label::French (fr)", &reads, &translated, None),
            Column::OtherLanguage
        );
        assert_eq!(
            classify("calculation", &reads, &translated, None),
            Column::Other
        );
        assert_eq!(
            classify("type::zh", &reads, &translated, None),
            Column::Other
        );
    }
}
