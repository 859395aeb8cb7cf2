//! XLSForm import (`server/src/xlsform/`, `docs/XLSFORM.md`): the shipped
//! home-verification checklist written as an XLSForm workbook imports to a
//! template equal to the built-in one, and every feature the checklist
//! cannot hold is refused with its sheet, row and column.
//!
//! The workbook `tests/fixtures/xlsform/home_verification.xlsx` is written by
//! [`home_verification_sheets`] through `rust_xlsxwriter`; rebuild it with
//! `DOORSTEP_WRITE_FIXTURES=1 cargo test -p doorstep-server --test xlsform`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use doorstep_core::checklist::home_verification;
use doorstep_server::xlsform::{self, Problem, sheets};

mod xlsform_support;

use xlsform_support::*;

/// The committed workbook `name`: rewritten from `sheets` when
/// `DOORSTEP_WRITE_FIXTURES` is set.
fn committed_workbook(name: &str, sheets: &Sheets<'_>) -> Vec<u8> {
    let path = fixture_path(name);
    if std::env::var_os("DOORSTEP_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, workbook(sheets)).unwrap();
    }
    std::fs::read(&path).expect("the committed XLSForm fixture")
}

#[test]
fn the_committed_workbooks_hold_what_the_generator_writes() {
    for (name, generated) in [
        ("home_verification.xlsx", home_verification_sheets()),
        ("home_verification_v2.xlsx", home_verification_v2_sheets()),
    ] {
        holds(&committed_workbook(name, &generated), &generated);
    }
}

fn holds(bytes: &[u8], generated: &Sheets<'_>) {
    let committed = sheets::read(bytes).unwrap();
    let found = [
        committed.survey.unwrap(),
        committed.choices.unwrap(),
        committed.settings.unwrap(),
    ];
    for ((name, rows), sheet) in generated.iter().zip(&found) {
        assert_eq!(sheet.name, *name);
        let mut read = vec![sheet.header.clone()];
        read.extend(sheet.rows.iter().map(|row| row.cells.clone()));
        let written: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                let mut cells: Vec<String> = row.iter().map(|c| (*c).to_owned()).collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                cells
            })
            .collect();
        assert_eq!(read, written, "sheet {name}");
    }
}

#[test]
fn the_home_verification_workbook_imports_as_the_built_in_template() {
    let imported = xlsform::read(&committed_workbook(
        "home_verification.xlsx",
        &home_verification_sheets(),
    ))
    .unwrap();
    let built_in = home_verification();
    assert_eq!(imported, built_in);
    assert_eq!(imported.content_hash(), built_in.content_hash());
}

#[test]
fn version_two_adds_its_questions_after_the_built_in_ones() {
    let v2 = xlsform::read(&committed_workbook(
        "home_verification_v2.xlsx",
        &home_verification_v2_sheets(),
    ))
    .unwrap();
    assert_eq!((v2.key(), v2.version()), ("home-verification", 2));
    let total = v2.item("other_debts_total").unwrap();
    assert_eq!(
        total.visible_when,
        Some(doorstep_core::checklist::Condition::ChoicesContain {
            item: "other_debts".into(),
            option: "private_loan".into(),
        })
    );
    let built_in = home_verification();
    for item in built_in.items() {
        assert_eq!(v2.item(&item.id), Some(item));
    }
    assert_eq!(v2.items().len(), built_in.items().len() + 2);
}

/// A small valid form: rows 2 to 4 of the survey, and the row under test.
fn form_with(extra: &[(&'static str, &'static str)]) -> Vec<u8> {
    let header = vec![
        "type",
        "name",
        "label::zh",
        "label::en",
        "relevant",
        "constraint",
        "appearance",
        "currency",
        "constraint_message",
        "choice_filter",
        "default",
        "label::French (fr)",
    ];
    let mut row = vec![""; header.len()];
    row[0] = "text";
    row[1] = "extra";
    row[2] = "补充";
    row[3] = "Extra";
    for (column, value) in extra {
        let at = header.iter().position(|h| h == column).unwrap();
        row[at] = value;
    }
    let survey = vec![
        header,
        vec!["acknowledge", "ok", "确认", "Confirmed"],
        vec!["integer", "count", "数量", "Count", "", ". >= 0 and . <= 9"],
        vec!["select_one colour", "colour", "颜色", "Colour"],
        row,
    ];
    let choices = vec![
        vec!["list_name", "name", "label::zh", "label::en"],
        vec!["colour", "red", "红", "Red"],
        vec!["colour", "blue", "蓝", "Blue"],
    ];
    let settings = vec![
        vec!["form_id", "version", "form_title::zh", "form_title::en"],
        vec!["test-form", "2", "测试", "Test"],
    ];
    workbook(&vec![
        ("survey", survey),
        ("choices", choices),
        ("settings", settings),
    ])
}

#[test]
fn a_small_form_imports_with_its_conditions_and_limits() {
    let template = xlsform::read(&form_with(&[
        ("relevant", "${colour} = 'red' or ${colour} = 'blue'"),
        ("constraint", "string-length(.) <= 40"),
    ]))
    .unwrap();
    assert_eq!(template.key(), "test-form");
    assert_eq!(template.version(), 2);
    let extra = template.item("extra").unwrap();
    assert_eq!(
        extra.kind,
        doorstep_core::checklist::ItemKind::Text { max_chars: 40 }
    );
    assert_eq!(
        extra.visible_when,
        Some(doorstep_core::checklist::Condition::ChoiceIn {
            item: "colour".into(),
            options: vec!["red".into(), "blue".into()],
        })
    );
}

/// A row under test (its cells by column), the column refused and the code.
type Refused = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

/// Every feature the checklist cannot hold is refused, naming the sheet,
/// the row (row 5, the row under test) and the column.
#[test]
fn each_unsupported_feature_is_refused_with_its_row_and_column() {
    let cases: &[Refused] = &[
        (&[("type", "note")], "type", "unsupported_type"),
        (&[("type", "geopoint")], "type", "unsupported_type"),
        (&[("type", "begin_repeat")], "type", "unsupported_type"),
        (&[("type", "calculate")], "type", "unsupported_type"),
        (
            &[("type", "select_one colour or_other")],
            "type",
            "unsupported_type",
        ),
        (&[("type", "select_one shapes")], "type", "unknown_list"),
        (&[("type", "end_group")], "type", "end_without_begin"),
        (&[("type", "begin_group")], "type", "group_not_ended"),
        (
            &[("relevant", "${ok} = 'yes' and ${colour} = 'red'")],
            "relevant",
            "unsupported_expression",
        ),
        (
            &[("relevant", "not(${ok} = 'yes')")],
            "relevant",
            "unsupported_expression",
        ),
        (
            &[("relevant", "${count} > 3")],
            "relevant",
            "unsupported_expression",
        ),
        (
            &[("relevant", "${ok} = 'yes' or ${colour} = 'red'")],
            "relevant",
            "unsupported_expression",
        ),
        (
            &[("relevant", "${later} = 'x'")],
            "relevant",
            "unsupported_expression",
        ),
        (&[("relevant", "${ok} +")], "relevant", "expression_syntax"),
        (
            &[("constraint", "regex(., '[0-9]+')")],
            "constraint",
            "unsupported_expression",
        ),
        (
            &[("constraint", "string-length(.) >= 3")],
            "constraint",
            "unsupported_expression",
        ),
        (
            &[("type", "date"), ("constraint", ". <= today()")],
            "constraint",
            "unsupported_expression",
        ),
        (&[("type", "decimal")], "currency", "unsupported_value"),
        (
            &[("appearance", "multiline")],
            "appearance",
            "unsupported_value",
        ),
        (
            &[("constraint_message", "Too long")],
            "constraint_message",
            "unsupported_column",
        ),
        (
            &[("choice_filter", "${ok} = 'yes'")],
            "choice_filter",
            "unsupported_column",
        ),
        (&[("default", "none")], "default", "unsupported_column"),
        (
            &[("label::French (fr)", "Supplément")],
            "label::French (fr)",
            "unsupported_language",
        ),
        (&[("label::en", "")], "label::en", "missing_text"),
    ];
    for (extra, column, code) in cases {
        let problems = xlsform::read(&form_with(extra)).expect_err(&format!("{extra:?}"));
        let found: Vec<(&str, u32, Option<&str>, &str)> = problems
            .listed
            .iter()
            .map(|p: &Problem| {
                (
                    p.sheet.as_str(),
                    p.row,
                    p.column.as_deref(),
                    p.refusal.code(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [("survey", 5, Some(*column), *code)],
            "{extra:?}: {problems}"
        );
        assert!(!problems.listed[0].to_string().is_empty());
    }
}

#[test]
fn every_problem_of_a_form_is_listed_at_once() {
    let problems = xlsform::read(&form_with(&[
        ("constraint_message", "Too long"),
        ("relevant", "${count} > 3"),
    ]))
    .unwrap_err();
    let columns: Vec<Option<&str>> = problems
        .listed
        .iter()
        .map(|p| p.column.as_deref())
        .collect();
    assert_eq!(columns, [Some("constraint_message"), Some("relevant")]);
    let text = problems.to_string();
    assert!(text.contains("survey row 5, column relevant:"), "{text}");
}

#[test]
fn a_rule_of_the_template_is_refused_at_the_row_of_its_question() {
    // The second `count` breaks the rule that ids are unique.
    let problems = xlsform::read(&form_with(&[("name", "count")])).unwrap_err();
    assert_eq!(problems.listed.len(), 1);
    assert_eq!(problems.listed[0].row, 5);
    assert_eq!(problems.listed[0].refusal.code(), "template_rule");
}

#[test]
fn what_is_not_a_workbook_is_refused_whole() {
    for bytes in [&b""[..], b"PK\x03\x04 broken", b"{\"format\": 1}"] {
        let problems = xlsform::read(bytes).unwrap_err();
        assert_eq!(problems.listed[0].refusal.code(), "not_a_workbook");
    }
    let no_settings = workbook(&vec![("survey", vec![vec!["type"]])]);
    let problems = xlsform::read(&no_settings).unwrap_err();
    assert_eq!(problems.listed[0].sheet, "settings");
    assert_eq!(problems.listed[0].refusal.code(), "missing_sheet");
}
