//! What the XLSForm tests share: a workbook writer (`rust_xlsxwriter`) and
//! the home-verification checklist as XLSForm sheets, version 1 (the
//! built-in template) and version 2 (two questions more), from which the
//! committed fixtures under `tests/fixtures/xlsform/` are written.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

pub type Sheets<'a> = Vec<(&'a str, Vec<Vec<&'a str>>)>;

/// An .xlsx workbook with these sheets, every cell written as text.
pub fn workbook(sheets: &Sheets<'_>) -> Vec<u8> {
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
pub fn home_verification_sheets() -> Sheets<'static> {
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
        vec![
            "list_name",
            "name",
            "label::Chinese (zh)",
            "label::English (en)",
        ],
        vec!["residence", "owned", "自有住房", "Owned"],
        vec!["residence", "rented", "租住", "Rented"],
        vec!["residence", "family", "与家人同住", "Lives with family"],
        vec!["residence", "other", "其他", "Other"],
        vec!["employment", "employed", "在职", "Employed"],
        vec![
            "employment",
            "self_employed",
            "个体经营 / 自雇",
            "Self-employed",
        ],
        vec!["employment", "unemployed", "待业 / 失业", "Unemployed"],
        vec!["employment", "retired", "退休", "Retired"],
        vec!["employment", "other", "其他", "Other"],
        vec!["overdue_reason", "job_loss", "失业 / 收入中断", "Job loss"],
        vec![
            "overdue_reason",
            "illness",
            "疾病 / 意外",
            "Illness or accident",
        ],
        vec![
            "overdue_reason",
            "business_failure",
            "经营失败",
            "Business failure",
        ],
        vec![
            "overdue_reason",
            "over_indebtedness",
            "过度负债",
            "Over-indebtedness",
        ],
        vec!["overdue_reason", "forgot", "忘记还款", "Forgot to pay"],
        vec![
            "overdue_reason",
            "dispute",
            "对欠款有争议",
            "Disputes the debt",
        ],
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
    vec![
        ("survey", survey),
        ("choices", choices),
        ("settings", settings),
    ]
}

/// Version 2 of the checklist: version 1 with two questions before the
/// photos, the other debts (a select_multiple, at most three) and, when one
/// is a private loan, their total (an amount in CNY).
pub fn home_verification_v2_sheets() -> Sheets<'static> {
    let mut sheets = home_verification_sheets();
    let (_, survey) = &mut sheets[0];
    let photos = survey
        .iter()
        .position(|row| row.get(1) == Some(&"premises_photos"))
        .unwrap();
    survey.insert(
        photos,
        vec![
            "decimal",
            "other_debts_total",
            "其他负债总额（人民币）",
            "Total of other debts (CNY)",
            "",
            "",
            "no",
            "selected(${other_debts}, 'private_loan')",
            ". >= 0",
            "",
            "",
            "CNY",
        ],
    );
    survey.insert(
        photos,
        vec![
            "select_multiple debts",
            "other_debts",
            "其他负债",
            "Other debts",
            "",
            "",
            "no",
            "",
            "count-selected(.) <= 3",
        ],
    );
    let (_, choices) = &mut sheets[1];
    choices.extend([
        vec!["debts", "bank_loan", "银行贷款", "Bank loan"],
        vec!["debts", "credit_card", "信用卡", "Credit card"],
        vec!["debts", "private_loan", "民间借贷", "Private loan"],
        vec!["debts", "online_lender", "网络借贷", "Online lender"],
    ]);
    let (_, settings) = &mut sheets[2];
    settings[1][1] = "2";
    sheets
}

/// The path of a committed fixture workbook.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/xlsform")
        .join(name)
}
