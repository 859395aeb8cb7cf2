//! XLSForm import: a checklist template from the spreadsheet format ODK and
//! KoboToolbox users write forms in (<https://xlsform.org>). Used by the
//! `publish-template` command and the console's templates page.
//!
//! The workbook's `survey` sheet gives the questions, `choices` the options
//! of its choice lists and `settings` the template's key, version and title.
//! [`read`] maps every row onto the template model of
//! [`doorstep_core::checklist`], or refuses the whole form with every
//! problem found, each naming its sheet, row (as the spreadsheet numbers it)
//! and column, and what is not supported; nothing is ever silently dropped.
//! `docs/XLSFORM.md` has the table of what maps to what.
//!
//! - [`sheets`]: the workbook's cells, bounded.
//! - [`columns`]: which column holds what, in which language.
//! - [`expressions`]: the `relevant` and `constraint` expressions.
//! - [`types`]: question types and constraints → item kinds and limits.
//! - [`relevant`]: `relevant` → a condition.

pub mod columns;
pub mod expressions;
pub mod relevant;
pub mod sheets;
pub mod types;

use std::collections::BTreeMap;
use std::fmt;

use doorstep_core::checklist::{
    ChecklistItem, ChecklistTemplate, ChoiceOption, Condition, Label, TemplateError,
};

use columns::{Column, Language, classify};
use expressions::Expr;
use sheets::{Row, Sheet};

/// The most problems listed for one form; the rest are counted.
pub const MAX_PROBLEMS: usize = 100;

/// What is wrong at one place of the workbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The file is not an .xlsx workbook (or is damaged).
    #[error("the file is not an .xlsx workbook")]
    NotAWorkbook,
    /// The workbook unpacks to more than [`sheets::MAX_UNPACKED_BYTES`].
    #[error(
        "the workbook unpacks to more than {} bytes",
        sheets::MAX_UNPACKED_BYTES
    )]
    WorkbookTooLarge,
    /// A sheet the form needs is missing.
    #[error("the workbook has no {0} sheet")]
    MissingSheet(&'static str),
    /// A sheet has more rows than [`sheets::MAX_ROWS`].
    #[error("the sheet has more than {} rows", sheets::MAX_ROWS)]
    TooManyRows,
    /// A sheet has more columns than [`sheets::MAX_COLUMNS`].
    #[error("the sheet has more than {} columns", sheets::MAX_COLUMNS)]
    TooManyColumns,
    /// A cell holds more than [`sheets::MAX_CELL_CHARS`] characters.
    #[error("the cell holds more than {} characters", sheets::MAX_CELL_CHARS)]
    CellTooLong,
    /// A cell holds a date, a duration or a spreadsheet error.
    #[error("the cell holds a date, a duration or an error; write it as text")]
    UnreadableCell,
    /// A column the sheet needs is missing.
    #[error("the sheet has no {0} column")]
    MissingColumn(&'static str),
    /// A filled cell in a column the checklist has no place for.
    #[error("column {0} is not supported: the checklist has no place for it")]
    UnsupportedColumn(String),
    /// A translated column in a language other than zh and en.
    #[error("column {0} is in a language the checklist does not have (zh and en)")]
    UnsupportedLanguage(String),
    /// A translated column without a language, and no `default_language`.
    #[error("column {0} names no language: write label::zh and label::en, or set default_language")]
    NoLanguage(String),
    /// A label or hint has one language and not the other.
    #[error("the {0} text is missing (labels and hints need zh and en)")]
    MissingText(&'static str),
    /// The `type` cell names something the checklist cannot hold.
    #[error("{0}")]
    UnsupportedType(String),
    /// A select names a list the `choices` sheet does not have.
    #[error("the choice list {0} is not on the choices sheet")]
    UnknownList(String),
    /// An `end_group` with no `begin_group` before it.
    #[error("end_group without a begin_group")]
    EndWithoutBegin,
    /// A `begin_group` never ended.
    #[error("begin_group without an end_group")]
    GroupNotEnded,
    /// A cell holds a value the column does not take.
    #[error("{0}")]
    BadValue(String),
    /// An expression that cannot be read.
    #[error("the expression cannot be read: {0}")]
    Syntax(expressions::SyntaxError),
    /// An expression (or a part of one) the template cannot express.
    #[error("{0}")]
    UnsupportedExpression(String),
    /// A value (an appearance, a parameter, a missing currency) the
    /// template cannot express.
    #[error("{0}")]
    UnsupportedValue(String),
    /// The template the form describes breaks a checklist rule.
    #[error("{0}")]
    Template(TemplateError),
}

impl Refusal {
    /// A stable code for the refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::NotAWorkbook => "not_a_workbook",
            Refusal::WorkbookTooLarge => "workbook_too_large",
            Refusal::MissingSheet(_) => "missing_sheet",
            Refusal::TooManyRows => "too_many_rows",
            Refusal::TooManyColumns => "too_many_columns",
            Refusal::CellTooLong => "cell_too_long",
            Refusal::UnreadableCell => "unreadable_cell",
            Refusal::MissingColumn(_) => "missing_column",
            Refusal::UnsupportedColumn(_) => "unsupported_column",
            Refusal::UnsupportedLanguage(_) => "unsupported_language",
            Refusal::NoLanguage(_) => "no_language",
            Refusal::MissingText(_) => "missing_text",
            Refusal::UnsupportedType(_) => "unsupported_type",
            Refusal::UnknownList(_) => "unknown_list",
            Refusal::EndWithoutBegin => "end_without_begin",
            Refusal::GroupNotEnded => "group_not_ended",
            Refusal::BadValue(_) => "bad_value",
            Refusal::Syntax(_) => "expression_syntax",
            Refusal::UnsupportedExpression(_) => "unsupported_expression",
            Refusal::UnsupportedValue(_) => "unsupported_value",
            Refusal::Template(_) => "template_rule",
        }
    }
}

/// One problem: where (sheet, row, column) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The sheet's name, e.g. `survey`; empty for the file as a whole.
    pub sheet: String,
    /// The spreadsheet row number (1-based); 0 for the sheet as a whole.
    pub row: u32,
    /// The column's header (or letter), when the problem is in one cell.
    pub column: Option<String>,
    /// What is wrong.
    pub refusal: Refusal,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.sheet.is_empty() {
            write!(f, "{}", self.sheet)?;
            if self.row > 0 {
                write!(f, " row {}", self.row)?;
            }
            if let Some(column) = &self.column {
                write!(f, ", column {column}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.refusal)
    }
}

/// The problems of a refused form, in sheet and row order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    /// The first [`MAX_PROBLEMS`] problems.
    pub listed: Vec<Problem>,
    /// How many more there were.
    pub more: usize,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.listed {
            writeln!(f, "{problem}")?;
        }
        if self.more > 0 {
            writeln!(f, "… and {} more", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

impl Problems {
    fn from_list(mut all: Vec<Problem>) -> Problems {
        let more = all.len().saturating_sub(MAX_PROBLEMS);
        all.truncate(MAX_PROBLEMS);
        Problems { listed: all, more }
    }
}

/// Whether `bytes` look like an .xlsx (a zip archive) rather than JSON.
pub fn looks_like_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads an XLSForm workbook into a checklist template, or every problem.
pub fn read(bytes: &[u8]) -> Result<ChecklistTemplate, Problems> {
    let workbook = sheets::read(bytes).map_err(Problems::from_list)?;
    let mut form = Form::default();
    let (Some(survey), Some(settings)) = (&workbook.survey, &workbook.settings) else {
        let missing = [
            ("survey", &workbook.survey),
            ("settings", &workbook.settings),
        ]
        .into_iter()
        .filter(|(_, sheet)| sheet.is_none())
        .map(|(name, _)| Problem {
            sheet: name.to_owned(),
            row: 0,
            column: None,
            refusal: Refusal::MissingSheet(name),
        })
        .collect();
        return Err(Problems::from_list(missing));
    };
    let header = form.settings(settings);
    let lists = workbook
        .choices
        .as_ref()
        .map(|choices| form.choices(choices, header.default_language))
        .unwrap_or_default();
    let items = form.survey(survey, &lists, header.default_language);
    if !form.problems.is_empty() {
        return Err(Problems::from_list(form.problems));
    }
    let (Some(key), Some(version), Some(title)) = (header.key, header.version, header.title) else {
        // `settings` refused whatever it lacks; were it not so, this names it.
        let missing = Problem {
            sheet: settings.name.clone(),
            row: header.row,
            column: None,
            refusal: Refusal::MissingColumn("form_id, version, form_title"),
        };
        return Err(Problems::from_list(vec![missing]));
    };
    let rows: BTreeMap<String, u32> = items
        .iter()
        .map(|(row, item)| (item.id.clone(), *row))
        .collect();
    let items: Vec<ChecklistItem> = items.into_iter().map(|(_, item)| item).collect();
    ChecklistTemplate::new(key, version, title, items).map_err(|error| {
        let row = item_of(&error)
            .and_then(|id| rows.get(id).copied())
            .map_or((settings, header.row), |row| (survey, row));
        Problems::from_list(vec![Problem {
            sheet: row.0.name.clone(),
            row: row.1,
            column: None,
            refusal: Refusal::Template(error),
        }])
    })
}

/// The item a structural refusal is about, if one.
fn item_of(error: &TemplateError) -> Option<&str> {
    use TemplateError as E;
    match error {
        E::InvalidItemId { item_id, .. }
        | E::DuplicateItemId { item_id }
        | E::OptionCount { item_id }
        | E::InvalidOptionId { item_id, .. }
        | E::DuplicateOptionId { item_id, .. }
        | E::MinAboveMax { item_id, .. }
        | E::AbsurdLimit { item_id, .. }
        | E::InvalidCurrency { item_id }
        | E::ConditionUnknownItem { item_id, .. }
        | E::ConditionNotEarlier { item_id, .. }
        | E::ConditionKindMismatch { item_id, .. }
        | E::ConditionUnknownOption { item_id, .. } => Some(item_id),
        E::InvalidLabel { at } => Some(at.split('.').next().unwrap_or(at)),
        E::Malformed { .. }
        | E::MissingFormat
        | E::UnsupportedFormat { .. }
        | E::InvalidKey { .. }
        | E::InvalidVersion
        | E::NoItems
        | E::TooManyItems { .. } => None,
    }
}

/// The `settings` sheet's values.
#[derive(Default)]
struct Header {
    key: Option<String>,
    version: Option<u32>,
    title: Option<Label>,
    default_language: Option<Language>,
    row: u32,
}

/// A group being read: its label and `relevant`.
struct Group {
    label: Option<Label>,
    relevant: Option<(u32, Expr)>,
}

/// The problems found so far.
#[derive(Default)]
struct Form {
    problems: Vec<Problem>,
}

/// Two texts read from a row, by language.
#[derive(Default)]
struct Texts {
    zh: String,
    en: String,
}

impl Texts {
    fn is_empty(&self) -> bool {
        self.zh.is_empty() && self.en.is_empty()
    }
}

impl Form {
    fn refuse(&mut self, sheet: &Sheet, row: u32, column: Option<&str>, refusal: Refusal) {
        self.problems.push(Problem {
            sheet: sheet.name.clone(),
            row,
            column: column.map(str::to_owned),
            refusal,
        });
    }

    /// Reads the columns of a row: the values of the columns in `reads`
    /// (texts in `translated` by language), and a refusal for every filled
    /// cell of any other column.
    fn cells(
        &mut self,
        sheet: &Sheet,
        row: &Row,
        reads: &[&str],
        translated: &[&str],
        default_language: Option<Language>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, Texts>) {
        let mut plain = BTreeMap::new();
        let mut texts: BTreeMap<String, Texts> = BTreeMap::new();
        for (at, head) in sheet.header.iter().enumerate() {
            let value = row.cell(Some(at));
            if value.is_empty() {
                continue;
            }
            let shown = if head.is_empty() {
                sheets::column_letters(u32::try_from(at).unwrap_or(u32::MAX))
            } else {
                head.clone()
            };
            match classify(head, reads, translated, default_language) {
                Column::Read {
                    base,
                    language: None,
                } => {
                    plain.insert(base, value.to_owned());
                }
                Column::Read {
                    base,
                    language: Some(language),
                } => {
                    let entry = texts.entry(base).or_default();
                    let slot = match language {
                        Language::Zh => &mut entry.zh,
                        Language::En => &mut entry.en,
                    };
                    if slot.is_empty() {
                        value.clone_into(slot);
                    }
                }
                Column::OtherLanguage => self.refuse(
                    sheet,
                    row.number,
                    Some(&shown),
                    Refusal::UnsupportedLanguage(shown.clone()),
                ),
                Column::NoLanguage => self.refuse(
                    sheet,
                    row.number,
                    Some(&shown),
                    Refusal::NoLanguage(shown.clone()),
                ),
                Column::Other => self.refuse(
                    sheet,
                    row.number,
                    Some(&shown),
                    Refusal::UnsupportedColumn(shown.clone()),
                ),
            }
        }
        (plain, texts)
    }

    /// A label from its two texts; a refusal when one is missing.
    fn label(
        &mut self,
        sheet: &Sheet,
        row: u32,
        base: &str,
        texts: Option<&Texts>,
    ) -> Option<Label> {
        let texts = texts?;
        if texts.is_empty() {
            return None;
        }
        for (text, code) in [(&texts.zh, "zh"), (&texts.en, "en")] {
            if text.is_empty() {
                let column = format!("{base}::{code}");
                self.refuse(sheet, row, Some(&column), Refusal::MissingText(code));
                return None;
            }
        }
        Some(Label::new(texts.zh.clone(), texts.en.clone()))
    }

    fn settings(&mut self, sheet: &Sheet) -> Header {
        let language_at = sheet.column("default_language");
        let first = sheet.rows.first();
        let mut header = Header {
            row: first.map_or(sheet.header_row.max(1) + 1, |row| row.number),
            ..Header::default()
        };
        let Some(row) = first else {
            self.refuse(sheet, 0, None, Refusal::MissingColumn("form_id"));
            return header;
        };
        let language = row.cell(language_at);
        if !language.is_empty() {
            header.default_language = Language::parse(language);
            if header.default_language.is_none() {
                self.refuse(
                    sheet,
                    row.number,
                    Some("default_language"),
                    Refusal::UnsupportedLanguage(language.to_owned()),
                );
            }
        }
        let (plain, texts) = self.cells(
            sheet,
            row,
            &["form_id", "version", "default_language", "form_title"],
            &["form_title"],
            header.default_language,
        );
        match plain.get("form_id") {
            Some(key) => header.key = Some(key.clone()),
            None => self.refuse(sheet, row.number, None, Refusal::MissingColumn("form_id")),
        }
        match plain.get("version").map(|v| v.parse::<u32>()) {
            Some(Ok(version)) => header.version = Some(version),
            Some(Err(_)) => self.refuse(
                sheet,
                row.number,
                Some("version"),
                Refusal::BadValue("the version is a whole number from 1 to 4294967295".into()),
            ),
            None => self.refuse(sheet, row.number, None, Refusal::MissingColumn("version")),
        }
        header.title = self.label(sheet, row.number, "form_title", texts.get("form_title"));
        if header.title.is_none() && texts.get("form_title").is_none_or(Texts::is_empty) {
            self.refuse(
                sheet,
                row.number,
                None,
                Refusal::MissingColumn("form_title"),
            );
        }
        for extra in sheet.rows.iter().skip(1) {
            self.refuse(
                sheet,
                extra.number,
                None,
                Refusal::BadValue("settings has one row of values".into()),
            );
        }
        header
    }

    fn choices(
        &mut self,
        sheet: &Sheet,
        default_language: Option<Language>,
    ) -> BTreeMap<String, Vec<ChoiceOption>> {
        let mut lists: BTreeMap<String, Vec<ChoiceOption>> = BTreeMap::new();
        for name in ["list_name", "name"] {
            if sheet.column(name).is_none() {
                let missing = if name == "name" { "name" } else { "list_name" };
                self.refuse(
                    sheet,
                    sheet.header_row,
                    None,
                    Refusal::MissingColumn(missing),
                );
                return lists;
            }
        }
        for row in &sheet.rows {
            let (plain, texts) = self.cells(
                sheet,
                row,
                &["list_name", "name", "label"],
                &["label"],
                default_language,
            );
            let (Some(list), Some(id)) = (plain.get("list_name"), plain.get("name")) else {
                self.refuse(
                    sheet,
                    row.number,
                    None,
                    Refusal::BadValue("a choice needs list_name and name".into()),
                );
                continue;
            };
            let Some(label) = self.label(sheet, row.number, "label", texts.get("label")) else {
                if texts.get("label").is_none_or(Texts::is_empty) {
                    self.refuse(sheet, row.number, Some("label"), Refusal::MissingText("zh"));
                }
                continue;
            };
            lists.entry(list.clone()).or_default().push(ChoiceOption {
                id: id.clone(),
                label,
            });
        }
        lists
    }

    fn survey(
        &mut self,
        sheet: &Sheet,
        lists: &BTreeMap<String, Vec<ChoiceOption>>,
        default_language: Option<Language>,
    ) -> Vec<(u32, ChecklistItem)> {
        if sheet.column("type").is_none() {
            self.refuse(
                sheet,
                sheet.header_row,
                None,
                Refusal::MissingColumn("type"),
            );
            return Vec::new();
        }
        let mut items: Vec<(u32, ChecklistItem)> = Vec::new();
        let mut groups: Vec<(u32, Group)> = Vec::new();
        for row in &sheet.rows {
            let (plain, texts) = self.cells(
                sheet,
                row,
                &[
                    "type",
                    "name",
                    "label",
                    "hint",
                    "required",
                    "relevant",
                    "constraint",
                    "appearance",
                    "parameters",
                    "currency",
                ],
                &["label", "hint"],
                default_language,
            );
            let type_cell = plain.get("type").map_or("", String::as_str);
            let mut words = type_cell.split_whitespace();
            let first = words.next().unwrap_or_default().to_ascii_lowercase();
            let type_name = match (first.as_str(), words.clone().next()) {
                ("begin" | "end" | "select", Some(second)) => {
                    words.next();
                    format!("{first}_{}", second.to_ascii_lowercase())
                }
                _ => first,
            };
            let rest: Vec<&str> = words.collect();
            let relevant = self.expression(sheet, row.number, "relevant", plain.get("relevant"));
            match type_name.as_str() {
                "" => self.refuse(
                    sheet,
                    row.number,
                    Some("type"),
                    Refusal::BadValue("the row has no type".into()),
                ),
                "begin_group" => {
                    let label = self.label(sheet, row.number, "label", texts.get("label"));
                    for column in ["hint", "required", "constraint", "parameters", "currency"] {
                        self.refuse_filled(sheet, row, &plain, &texts, column);
                    }
                    let appearance = plain.get("appearance").map_or("", String::as_str);
                    if !appearance.is_empty() && appearance != "field-list" {
                        self.refuse(
                            sheet,
                            row.number,
                            Some("appearance"),
                            Refusal::BadValue(format!(
                                "appearance {appearance:?} is not supported on a group"
                            )),
                        );
                    }
                    groups.push((
                        row.number,
                        Group {
                            label,
                            relevant: relevant.map(|expr| (row.number, expr)),
                        },
                    ));
                }
                "end_group" => {
                    if groups.pop().is_none() {
                        self.refuse(sheet, row.number, Some("type"), Refusal::EndWithoutBegin);
                    }
                }
                _ => {
                    if let Some(item) = self.item(
                        sheet, row, &type_name, &rest, &plain, &texts, relevant, &groups, lists,
                        &items,
                    ) {
                        items.push((row.number, item));
                    }
                }
            }
        }
        for (number, _) in groups {
            self.refuse(sheet, number, Some("type"), Refusal::GroupNotEnded);
        }
        items
    }

    fn refuse_filled(
        &mut self,
        sheet: &Sheet,
        row: &Row,
        plain: &BTreeMap<String, String>,
        texts: &BTreeMap<String, Texts>,
        column: &str,
    ) {
        let filled = plain.contains_key(column) || texts.get(column).is_some_and(|t| !t.is_empty());
        if filled {
            self.refuse(
                sheet,
                row.number,
                Some(column),
                Refusal::UnsupportedColumn(column.to_owned()),
            );
        }
    }

    fn expression(
        &mut self,
        sheet: &Sheet,
        row: u32,
        column: &str,
        text: Option<&String>,
    ) -> Option<Expr> {
        match expressions::parse(text?) {
            Ok(expr) => Some(expr),
            Err(error) => {
                self.refuse(sheet, row, Some(column), Refusal::Syntax(error));
                None
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn item(
        &mut self,
        sheet: &Sheet,
        row: &Row,
        type_name: &str,
        rest: &[&str],
        plain: &BTreeMap<String, String>,
        texts: &BTreeMap<String, Texts>,
        relevant: Option<Expr>,
        groups: &[(u32, Group)],
        lists: &BTreeMap<String, Vec<ChoiceOption>>,
        items: &[(u32, ChecklistItem)],
    ) -> Option<ChecklistItem> {
        let number = row.number;
        if !types::TYPES.contains(&type_name) {
            let why = match type_name {
                "note" => "type note is not supported: a checklist item always takes an \
                           answer; put the text in the next question's hint"
                    .to_owned(),
                "begin_repeat" | "end_repeat" => {
                    "repeats are not supported: a checklist asks each question once".to_owned()
                }
                "calculate" | "hidden" => {
                    format!("type {type_name} is not supported: a checklist has no computed values")
                }
                other => format!("type {other} is not supported"),
            };
            self.refuse(sheet, number, Some("type"), Refusal::UnsupportedType(why));
            return None;
        }
        let is_select = type_name.starts_with("select_");
        let options = match (is_select, rest) {
            (false, []) => None,
            (true, [list]) => match lists.get(*list) {
                Some(options) => Some(options.clone()),
                None => {
                    self.refuse(
                        sheet,
                        number,
                        Some("type"),
                        Refusal::UnknownList((*list).to_owned()),
                    );
                    return None;
                }
            },
            (true, [_, more, ..]) if *more == "or_other" => {
                self.refuse(
                    sheet,
                    number,
                    Some("type"),
                    Refusal::UnsupportedType(
                        "or_other is not supported: add an option `other` and a text question \
                         shown when it is chosen"
                            .into(),
                    ),
                );
                return None;
            }
            _ => {
                let why = if is_select {
                    format!("{type_name} needs one choice list name")
                } else {
                    format!("type {type_name} takes nothing after it")
                };
                self.refuse(sheet, number, Some("type"), Refusal::UnsupportedType(why));
                return None;
            }
        };
        let Some(id) = plain.get("name") else {
            self.refuse(sheet, number, Some("name"), Refusal::MissingColumn("name"));
            return None;
        };
        let label = self.label(sheet, number, "label", texts.get("label"));
        if label.is_none() && texts.get("label").is_none_or(Texts::is_empty) {
            self.refuse(sheet, number, Some("label"), Refusal::MissingText("zh"));
        }
        let hint = self.label(sheet, number, "hint", texts.get("hint"));
        let required = match plain
            .get("required")
            .map_or("", String::as_str)
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "no" | "false" | "false()" | "0" => false,
            "yes" | "true" | "true()" | "1" => true,
            _ => {
                self.refuse(
                    sheet,
                    number,
                    Some("required"),
                    Refusal::BadValue("required is yes or no".into()),
                );
                false
            }
        };
        let constraint = self.expression(sheet, number, "constraint", plain.get("constraint"));
        let question = types::Question {
            type_name,
            options,
            constraint: constraint.as_ref(),
            parameters: plain.get("parameters").map_or("", String::as_str),
            appearance: plain.get("appearance").map_or("", String::as_str),
            currency: plain.get("currency").map_or("", String::as_str),
        };
        let kind = match types::kind(&question) {
            Ok(kind) => Some(kind),
            Err((at, why)) => {
                let column = match at {
                    types::At::Type => "type",
                    types::At::Constraint => "constraint",
                    types::At::Parameters => "parameters",
                    types::At::Appearance => "appearance",
                    types::At::Currency => "currency",
                };
                let refusal = match at {
                    types::At::Type => Refusal::UnsupportedType(why),
                    types::At::Constraint => Refusal::UnsupportedExpression(why),
                    _ => Refusal::UnsupportedValue(why),
                };
                self.refuse(sheet, number, Some(column), refusal);
                None
            }
        };
        let group_relevant: Vec<&(u32, Expr)> = groups
            .iter()
            .filter_map(|(_, group)| group.relevant.as_ref())
            .collect();
        let relevant = match (relevant, group_relevant.as_slice()) {
            (Some(own), []) => Some((number, own)),
            (None, [(at, inherited)]) => Some((*at, inherited.clone())),
            (None, []) => None,
            (Some(_), _) | (None, _) => {
                self.refuse(
                    sheet,
                    number,
                    Some("relevant"),
                    Refusal::UnsupportedExpression(
                        "a question in a group with relevant cannot have one of its own (that \
                         would need `and`)"
                            .into(),
                    ),
                );
                None
            }
        };
        let earlier = |id: &str| {
            items
                .iter()
                .find(|(_, item)| item.id == id)
                .map(|(_, item)| item.kind.clone())
        };
        let visible_when: Option<Condition> = match relevant {
            None => None,
            Some((at, expr)) => match relevant::condition(&expr, &earlier) {
                Ok(condition) => Some(condition),
                Err(why) => {
                    self.refuse(
                        sheet,
                        at,
                        Some("relevant"),
                        Refusal::UnsupportedExpression(why),
                    );
                    None
                }
            },
        };
        let help = with_sections(groups, hint);
        Some(ChecklistItem {
            id: id.clone(),
            label: label?,
            help,
            kind: kind?,
            required,
            visible_when,
        })
    }
}

/// The hint, after the labels of the groups around the question: a group is
/// a section, and the phone shows its name at the head of the item's help
/// (`经济状况：…` / `Economic situation: …`).
fn with_sections(groups: &[(u32, Group)], hint: Option<Label>) -> Option<Label> {
    let mut zh = String::new();
    let mut en = String::new();
    for label in groups.iter().filter_map(|(_, group)| group.label.as_ref()) {
        zh.push_str(&label.zh_cn);
        zh.push('：');
        en.push_str(&label.en);
        en.push_str(": ");
    }
    match hint {
        Some(hint) if zh.is_empty() => Some(hint),
        Some(hint) => Some(Label::new(zh + &hint.zh_cn, en + &hint.en)),
        None if zh.is_empty() => None,
        None => Some(Label::new(
            zh.trim_end_matches('：').to_owned(),
            en.trim_end_matches(": ").to_owned(),
        )),
    }
}
