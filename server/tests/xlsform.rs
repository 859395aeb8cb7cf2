//! XLSForm import (`server/src/xlsform/`, `docs/XLSFORM.md`): the shipped
//! home-verification checklist written as an XLSForm workbook imports to a
//! template equal to the built-in one, and every feature the checklist
//! cannot hold is refused with its sheet, row and column.
//!
//! The workbook `tests/fixtures/xlsform/home_verification.xlsx` is written by
//! [`home_verification_sheets`] through `rust_xlsxwriter`; rebuild it with
//! `DOORSTEP_WRITE_FIXTURES=1 cargo test -p doorstep-server --test xlsform`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use doorstep_core::checklist::home_verification;
use doorstep_server::xlsform::{self, Problem, sheets};

type Sheets<'a> = Vec<(&'a str, Vec<Vec<&'a str>>)>;

/// An .xlsx workbook with these sheets, every cell written as text.
fn workbook(sheets: &Sheets<'_>) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    for (name, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                if !cell.is_empty() {
                    sheet
                        .write_string(u32::try_from(r).unwrap(), u16::try_from(c).unwrap(), *cell)
                        .unwrap();
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

/// The shipped checklist (`core/src/checklist/home_verification.json`) as
/// an XLSForm: the economic questions in a group (a section), the photos as
/// an image with a count, the signature as an image with the signature
/// appearance, the income as a decimal in CNY.
fn home_verification_sheets() -> Sheets<'static> {
    let survey = vec![
        vec![
            "type",
            "name",
            "label::Chinese (zh)",
            "label::English (en)",
            "hint::Chinese (zh)",
            "hint::English (en)",
            "required",
            "relevant",
            "constraint",
            "appearance",
            "parameters",
            "currency",
        ],
        vec![
            "acknowledge",
            "identity_confirmed",
            "客户身份已核实",
            "Customer's identity confirmed",
            "核对客户本人及身份证件原件与账户信息一致",
            "The customer in person and the original ID document match the account",
            "yes",
        ],
        vec![
            "acknowledge",
            "address_confirmed",
            "居住地址已核实",
            "Home address confirmed",
            "客户确实居住在登记地址",
            "The customer actually lives at the registered address",
            "yes",
        ],
        vec![
            "select_one residence",
            "residence_status",
            "居住状况",
            "Residence status",
            "",
            "",
            "yes",
        ],
        vec![
            "begin_group",
            "economic_situation",
            "经济状况",
            "Economic situation",
        ],
        vec![
            "select_one employment",
            "employment_status",
            "就业状况",
            "Employment status",
            "客户目前的工作情况",
            "the customer's current work",
            "yes",
        ],
        vec![
            "decimal",
            "monthly_income",
            "月收入（人民币）",
            "Monthly income (CNY)",
            "客户自述的税后月收入，客户不愿透露可不填",
            "monthly income after tax as stated by the customer; leave empty if they decline",
            "no",
            "",
            ". >= 0 and . <= 1000000",
            "",
            "",
            "CNY",
        ],
        vec!["end_group"],
        vec![
            "select_one overdue_reason",
            "overdue_reason",
            "逾期原因",
            "Reason for overdue",
            "",
            "",
            "yes",
        ],
        vec![
            "text",
            "overdue_reason_other",
            "其他逾期原因说明",
            "Other reason for overdue",
            "尽量记录客户原话",
            "In the customer's own words where possible",
            "yes",
            "${overdue_reason} = 'other'",
            "string-length(.) <= 500",
        ],
        vec![
            "text",
            "household_situation",
            "家庭经济状况",
            "Household economic situation",
            "家庭成员、收入来源、主要支出及其他负债",
            "Household members, sources of income, main expenses and other debts",
            "yes",
            "",
            "string-length(.) <= 2000",
        ],
        vec![
            "integer",
            "ability_to_repay",
            "还款能力",
            "Ability to repay",
            "1 = 无还款能力，5 = 可全额还款",
            "1 = cannot repay anything, 5 = can repay in full",
            "yes",
            "",
            ". >= 1 and . <= 5",
        ],
        vec![
            "integer",
            "willingness_to_repay",
            "还款意愿",
            "Willingness to repay",
            "1 = 明确拒绝还款，5 = 积极配合还款",
            "1 = refuses to repay, 5 = keen to repay",
            "yes",
            "",
            ". >= 1 and . <= 5",
        ],
        vec![
            "acknowledge",
            "contact_details_updated",
            "联系方式已更新",
            "Contact details updated",
            "",
            "",
            "yes",
        ],
        vec![
            "text",
            "new_phone",
            "新联系电话",
            "New phone number",
            "",
            "",
            "yes",
            "${contact_details_updated} = 'yes'",
            "string-length(.) <= 32",
        ],
        vec![
            "text",
            "customer_statement",
            "客户陈述",
            "Customer's statement",
            "客户对欠款及还款安排的说法",
            "What the customer says about the debt and how they will repay",
            "no",
        ],
        vec![
            "image",
            "premises_photos",
            "住所照片",
            "Photos of the premises",
            "拍摄门牌号及住所外观，勿拍摄无关人员",
            "House number and the outside of the home; do not photograph bystanders",
            "yes",
            "",
            "",
            "",
            "min_count=1 max_count=6",
        ],
        vec![
            "image",
            "customer_signature",
            "客户签名",
            "Customer's signature",
            "客户自愿签名确认以上内容，可拒绝",
            "The customer may sign to confirm the above, or decline",
            "no",
            "",
            "",
            "signature",
        ],
    ];
    let choices = vec![
        vec!["list_name", "name", "label::Chinese (zh)", "label::English (en)"],
        vec!["residence", "owned", "自有住房", "Owned"],
        vec!["residence", "rented", "租住", "Rented"],
        vec!["residence", "family", "与家人同住", "Lives with family"],
        vec!["residence", "other", "其他", "Other"],
        vec!["employment", "employed", "在职", "Employed"],
        vec!["employment", "self_employed", "个体经营 / 自雇", "Self-employed"],
        vec!["employment", "unemployed", "待业 / 失业", "Unemployed"],
        vec!["employment", "retired", "退休", "Retired"],
        vec!["employment", "other", "其他", "Other"],
        vec!["overdue_reason", "job_loss", "失业 / 收入中断", "Job loss"],
        vec!["overdue_reason", "illness", "疾病 / 意外", "Illness or accident"],
        vec!["overdue_reason", "business_failure", "经营失败", "Business failure"],
        vec!["overdue_reason", "over_indebtedness", "过度负债", "Over-indebtedness"],
        vec!["overdue_reason", "forgot", "忘记还款", "Forgot to pay"],
        vec!["overdue_reason", "dispute", "对欠款有争议", "Disputes the debt"],
        vec!["overdue_reason", "other", "其他", "Other"],
    ];
    let settings = vec![
        vec![
            "form_id",
            "version",
            "form_title::Chinese (zh)",
            "form_title::English (en)",
            "default_language",
        ],
        vec![
            "home-verification",
            "1",
            "上门核实清单",
            "Home verification checklist",
            "zh",
        ],
    ];
    vec![("survey", survey), ("choices", choices), ("settings", settings)]
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/xlsform/home_verification.xlsx")
}

/// The committed workbook: rewritten when `DOORSTEP_WRITE_FIXTURES` is set.
fn committed_workbook() -> Vec<u8> {
    let path = fixture_path();
    if std::env::var_os("DOORSTEP_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, workbook(&home_verification_sheets())).unwrap();
    }
    std::fs::read(&path).expect("the committed XLSForm fixture")
}

#[test]
fn the_committed_workbook_holds_what_the_generator_writes() {
    let committed = sheets::read(&committed_workbook()).unwrap();
    let generated = home_verification_sheets();
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
    let imported = xlsform::read(&committed_workbook()).unwrap();
    let built_in = home_verification();
    assert_eq!(imported, built_in);
    assert_eq!(imported.content_hash(), built_in.content_hash());
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

/// Every feature the checklist cannot hold is refused, naming the sheet,
/// the row (row 5, the row under test) and the column.
#[test]
fn each_unsupported_feature_is_refused_with_its_row_and_column() {
    let cases: &[(&[(&str, &str)], &str, &str)] = &[
        (&[("type", "note")], "type", "unsupported_type"),
        (&[("type", "geopoint")], "type", "unsupported_type"),
        (&[("type", "begin_repeat")], "type", "unsupported_type"),
        (&[("type", "calculate")], "type", "unsupported_type"),
        (&[("type", "select_one colour or_other")], "type", "unsupported_type"),
        (&[("type", "select_one shapes")], "type", "unknown_list"),
        (&[("type", "end_group")], "type", "end_without_begin"),
        (&[("type", "begin_group")], "type", "group_not_ended"),
        (
            &[("relevant", "${ok} = 'yes' and ${colour} = 'red'")],
            "relevant",
            "unsupported_expression",
        ),
        (&[("relevant", "not(${ok} = 'yes')")], "relevant", "unsupported_expression"),
        (&[("relevant", "${count} > 3")], "relevant", "unsupported_expression"),
        (
            &[("relevant", "${ok} = 'yes' or ${colour} = 'red'")],
            "relevant",
            "unsupported_expression",
        ),
        (&[("relevant", "${later} = 'x'")], "relevant", "unsupported_expression"),
        (&[("relevant", "${ok} +")], "relevant", "expression_syntax"),
        (&[("constraint", "regex(., '[0-9]+')")], "constraint", "unsupported_expression"),
        (&[("constraint", "string-length(.) >= 3")], "constraint", "unsupported_expression"),
        (
            &[("type", "date"), ("constraint", ". <= today()")],
            "constraint",
            "unsupported_expression",
        ),
        (&[("type", "decimal")], "currency", "unsupported_value"),
        (&[("appearance", "multiline")], "appearance", "unsupported_value"),
        (&[("constraint_message", "Too long")], "constraint_message", "unsupported_column"),
        (&[("choice_filter", "${ok} = 'yes'")], "choice_filter", "unsupported_column"),
        (&[("default", "none")], "default", "unsupported_column"),
        (&[("label::French (fr)", "Supplément")], "label::French (fr)", "unsupported_language"),
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
