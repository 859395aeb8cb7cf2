//! The console's glossary: one term per concept in each language, and the
//! synonyms the console must not use for it. The texts of [`super::zh`] and
//! [`super::en`], the pages and the demo's printed output use these terms
//! only; `server/tests/console_glossary.rs` renders every page in both
//! languages and fails on a forbidden synonym. docs/CONSOLE.md shows the
//! table.

use super::Lang;

/// One concept: its term in each language and the synonyms not to use.
#[derive(Debug, Clone, Copy)]
pub struct Term {
    /// What the concept is, in a few English words.
    pub concept: &'static str,
    /// The Simplified Chinese term.
    pub zh: &'static str,
    /// The English term (capitalised as a sentence needs).
    pub en: &'static str,
    /// Chinese synonyms the console must not use.
    pub zh_forbidden: &'static [&'static str],
    /// English synonyms the console must not use (matched ignoring case).
    pub en_forbidden: &'static [&'static str],
}

impl Term {
    /// The term in `lang`.
    pub fn term(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }

    /// The synonyms not to use in `lang`.
    pub fn forbidden(&self, lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::Zh => self.zh_forbidden,
            Lang::En => self.en_forbidden,
        }
    }
}

/// Every concept of the glossary.
pub const GLOSSARY: [Term; 6] = [
    Term {
        concept: "the bank's field agent who visits customers",
        zh: "外访员",
        en: "agent",
        zh_forbidden: &["催收员", "外勤", "业务员"],
        en_forbidden: &["collector", "field worker", "field officer"],
    },
    Term {
        concept: "who reviews the team's visits",
        zh: "督导",
        en: "supervisor",
        zh_forbidden: &["主管", "组长"],
        en_forbidden: &["manager", "team lead"],
    },
    Term {
        concept: "the date by which the case is to be visited",
        zh: "到期日",
        en: "due date",
        zh_forbidden: &["应访日期", "应还款日", "最后还款日"],
        en_forbidden: &["due by", "deadline"],
    },
    Term {
        concept: "a visit the supervisor accepted",
        zh: "通过",
        en: "approved",
        zh_forbidden: &["批准"],
        en_forbidden: &["accepted"],
    },
    Term {
        concept: "a visit sent back to the agent to change",
        zh: "退回",
        en: "returned",
        zh_forbidden: &["驳回", "打回"],
        en_forbidden: &["sent back", "rejected"],
    },
    Term {
        concept: "repayment in instalments agreed with the customer",
        zh: "分期还款",
        en: "repayment plan",
        zh_forbidden: &["还款计划", "分期计划"],
        en_forbidden: &["instalment plan", "installment plan", "payment plan"],
    },
];

/// The forbidden synonyms `text` uses in `lang`, as (concept's term,
/// synonym). The glossary's own terms are taken out first, so a synonym that
/// is part of a term ("payment plan" in "repayment plan") is not counted.
pub fn forbidden_in(text: &str, lang: Lang) -> Vec<(&'static str, &'static str)> {
    let mut text = text.to_lowercase();
    for term in &GLOSSARY {
        text = text.replace(&term.term(lang).to_lowercase(), " ");
    }
    GLOSSARY
        .iter()
        .flat_map(|term| {
            term.forbidden(lang)
                .iter()
                .filter(|synonym| text.contains(&synonym.to_lowercase()))
                .map(|synonym| (term.term(lang), *synonym))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_of_both_languages_uses_the_glossarys_terms_only() {
        for lang in [Lang::Zh, Lang::En] {
            let texts = format!("{:?}", lang.text());
            assert_eq!(forbidden_in(&texts, lang), [], "{lang:?}");
        }
    }

    #[test]
    fn synonyms_inside_a_term_do_not_count() {
        assert!(forbidden_in("Repayment plan", Lang::En).is_empty());
        assert_eq!(
            forbidden_in("an instalment plan", Lang::En),
            [("repayment plan", "instalment plan")]
        );
        assert_eq!(forbidden_in("主管", Lang::Zh), [("督导", "主管")]);
    }
}
