//! The checklist engine: versioned templates of questions asked on a home
//! verification visit (上门核实), the agent's answers, and the validation both the
//! phone and the server run, so they never disagree about what a complete visit is.
//!
//! - [`template`]: [`ChecklistTemplate`] and its parts, parsed from JSON and
//!   structurally validated; immutable once published, identified by `key` +
//!   `version` and fingerprinted by [`ChecklistTemplate::content_hash`].
//! - [`answer`]: [`AnswerValue`], [`AnswerSheet`] and the [`ItemProblem`]s found in them.
//! - [`validate`]: per-answer checks, submit validation and item visibility.
//!
//! [`home_verification`] is the default template shipped with the app.
//!
//! ```
//! use doorstep_core::checklist::{home_verification, AnswerSheet, AnswerValue};
//!
//! let template = home_verification();
//! let mut sheet = AnswerSheet::new();
//! sheet.set("identity_confirmed", AnswerValue::YesNo(true));
//! assert!(template.check_answer("ability_to_repay", &AnswerValue::Integer(9)).is_err());
//! assert!(!template.validate(&sheet).is_empty());
//! ```

pub mod answer;
#[cfg(test)]
mod proptests;
mod structure;
pub mod template;
pub mod validate;

pub use answer::{AnswerSheet, AnswerValue, ItemProblem, ProblemReason};
pub use template::{
    ChecklistItem, ChecklistTemplate, ChoiceOption, Condition, FORMAT, ItemKind, Label,
    TemplateError,
};

/// The shipped default template, as JSON.
pub const HOME_VERIFICATION_JSON: &str = include_str!("home_verification.json");

/// The default home verification template (`home-verification`, version 1).
///
/// # Panics
///
/// Only if the JSON compiled into the library is invalid, which the test
/// `shipped_template_parses_and_round_trips` rules out; no runtime input reaches it.
pub fn home_verification() -> ChecklistTemplate {
    match ChecklistTemplate::from_json(HOME_VERIFICATION_JSON) {
        Ok(template) => template,
        Err(err) => panic!("the shipped home verification template is invalid: {err}"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::money::Money;
    use AnswerValue as V;
    use ProblemReason as R;

    fn cny(minor_units: i64) -> V {
        V::Money(Money {
            minor_units,
            currency: "CNY".into(),
        })
    }

    #[test]
    fn shipped_template_parses_and_round_trips() {
        let template = home_verification();
        assert_eq!(template.key(), "home-verification");
        assert_eq!(template.version(), 1);
        let again = ChecklistTemplate::from_json(&template.to_json()).unwrap();
        assert_eq!(again, template);
        assert_eq!(again.content_hash(), template.content_hash());
        let via_serde: ChecklistTemplate = serde_json::from_str(HOME_VERIFICATION_JSON).unwrap();
        assert_eq!(via_serde.content_hash(), template.content_hash());
    }

    /// Version 1 is published: any change to its content must ship as version 2.
    #[test]
    fn shipped_template_content_is_frozen() {
        assert_eq!(
            home_verification().content_hash(),
            "aa6537b8f89e216eeec585f627e91299f131fa7f41002e6595109a0799143f41"
        );
    }

    #[test]
    fn shipped_template_asks_what_a_visit_needs() {
        let template = home_verification();
        let ids: Vec<&str> = template
            .items()
            .iter()
            .map(|item| item.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "identity_confirmed",
                "address_confirmed",
                "residence_status",
                "employment_status",
                "monthly_income",
                "overdue_reason",
                "overdue_reason_other",
                "household_situation",
                "ability_to_repay",
                "willingness_to_repay",
                "contact_details_updated",
                "new_phone",
                "customer_statement",
                "premises_photos",
                "customer_signature",
            ]
        );
        let zh = |id: &str| template.item(id).unwrap().label.zh_cn.clone();
        assert_eq!(zh("overdue_reason"), "逾期原因");
        assert_eq!(zh("ability_to_repay"), "还款能力");
        assert_eq!(zh("willingness_to_repay"), "还款意愿");
        assert!(zh("household_situation").contains("经济状况"));
        assert!(!template.item("customer_signature").unwrap().required);
        assert_eq!(
            template
                .item("overdue_reason")
                .unwrap()
                .kind
                .options()
                .len(),
            7
        );
    }

    #[test]
    fn a_real_visit_on_the_shipped_template() {
        let template = home_verification();
        let mut sheet = AnswerSheet::new();
        assert!(!template.is_visible("overdue_reason_other", &sheet));
        assert!(!template.is_visible("new_phone", &sheet));
        sheet
            .set("identity_confirmed", V::YesNo(true))
            .set("address_confirmed", V::YesNo(true))
            .set("residence_status", V::Choice("rented".into()))
            .set("employment_status", V::Choice("unemployed".into()))
            .set("monthly_income", cny(0))
            .set("overdue_reason", V::Choice("other".into()))
            .set(
                "household_situation",
                V::Text("夫妻二人，一个孩子上小学；房租每月2500元。".into()),
            )
            .set("ability_to_repay", V::Integer(2))
            .set("willingness_to_repay", V::Integer(4))
            .set("contact_details_updated", V::YesNo(true))
            .set_attachments("premises_photos", 2);
        let missing: Vec<(String, R)> = template
            .validate(&sheet)
            .into_iter()
            .map(|p| (p.item_id, p.reason))
            .collect();
        assert_eq!(
            missing,
            [
                ("overdue_reason_other".to_owned(), R::Missing),
                ("new_phone".to_owned(), R::Missing)
            ]
        );
        sheet
            .set(
                "overdue_reason_other",
                V::Text("合伙人卷款，店铺关门".into()),
            )
            .set("new_phone", V::Text("+86 138 0000 0000".into()));
        assert_eq!(template.validate(&sheet), vec![]);
        // Changing the answers that show them hides the follow-ups again, and their
        // stale answers are ignored rather than reported.
        sheet
            .set("overdue_reason", V::Choice("illness".into()))
            .set("contact_details_updated", V::YesNo(false))
            .set("new_phone", V::Text("x".repeat(100)));
        assert_eq!(template.validate(&sheet), vec![]);
        assert_eq!(template.visible_items(&sheet).len(), 13);
        assert_eq!(
            template.check_answer(
                "monthly_income",
                &V::Money(Money {
                    minor_units: 100,
                    currency: "HKD".into()
                })
            ),
            Err(ItemProblem::new("monthly_income", R::CurrencyMismatch))
        );
        assert_eq!(
            template.check_answer("premises_photos", &V::YesNo(true)),
            Err(ItemProblem::new("premises_photos", R::WrongKind))
        );
    }
}
