//! The admin's checklist templates page: every published version with how
//! many visits use it, a preview of one version as the phone asks it (items
//! in order, answer kind and limits, options, required, the condition in
//! words, zh and en texts), and publishing a new version from an XLSForm
//! workbook or template JSON through the same service as the
//! `publish-template` command ([`crate::service::templates`]). A file with
//! problems publishes nothing and lists each by sheet, row and column.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use doorstep_core::checklist::{ChecklistTemplate, Condition, ItemKind, Label};

use super::AdminSigned;
use crate::console::cases::read_upload;
use crate::console::format::show_time;
use crate::console::i18n::{Lang, TemplatesText};
use crate::console::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::error::ServiceError;
use crate::service::templates::{self, TemplateFileRefused};

/// One published version in the list.
pub struct VersionRow {
    /// The template key.
    pub key: String,
    /// The version.
    pub version: u32,
    /// The title in the page's language.
    pub title: String,
    /// Visits planned on it.
    pub visits: u64,
    /// Whether it is the newest version of its key in use (the one phones
    /// start new visits on).
    pub newest: bool,
    /// When it was retired (UTC), if it was.
    pub retired: Option<String>,
    /// Whether it may be retired: not yet, and a newer version is in use.
    pub retirable: bool,
}

impl VersionRow {
    /// The preview page's path.
    pub fn href(&self) -> String {
        format!("/console/admin/templates/{}/{}", self.key, self.version)
    }

    /// The retire form's action.
    pub fn retire_href(&self) -> String {
        format!("{}/retire", self.href())
    }
}

/// One problem of a refused workbook, ready to show.
pub struct ProblemRow {
    /// The sheet.
    pub sheet: String,
    /// The row, or empty for the sheet as a whole.
    pub row: String,
    /// The column, or empty.
    pub column: String,
    /// The stable code.
    pub code: &'static str,
    /// What is not supported, in the XLSForm's own terms (English).
    pub detail: String,
}

/// What the upload did.
pub enum UploadResult {
    /// The workbook has problems; nothing was published.
    Problems {
        /// The problems listed.
        listed: Vec<ProblemRow>,
        /// How many more.
        more: usize,
    },
    /// The JSON was refused; the reason.
    JsonRefused(String),
    /// The key and version are published already.
    Exists,
    /// The file is valid (checked only): what it would publish.
    Clean(String),
    /// Published.
    Published(String),
    /// Retired.
    Retired(String),
    /// Not retirable (retired already, or no newer version in use).
    NotRetirable,
}

/// `GET /console/admin/templates`.
#[derive(askama::Template)]
#[template(path = "console/admin_templates.html")]
pub struct TemplatesPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The page's strings.
    pub s: &'static TemplatesText,
    /// Every published version.
    pub versions: Vec<VersionRow>,
    /// What the last form did.
    pub result: Option<UploadResult>,
}

async fn list_page(
    state: &ConsoleState,
    signed: &Signed,
    status: StatusCode,
    result: Option<UploadResult>,
) -> Response {
    let lang = signed.lang;
    let store = state.store.clone();
    let listed = blocking(move || {
        let versions = templates::versions(store.as_ref())?;
        let mut rows: Vec<VersionRow> = Vec::with_capacity(versions.len());
        for found in &versions {
            let template = templates::version(store.as_ref(), &found.key, found.version)?;
            let newer_in_use = versions.iter().any(|other| {
                other.key == found.key
                    && other.version > found.version
                    && other.retired_at.is_none()
            });
            rows.push(VersionRow {
                key: found.key.clone(),
                version: found.version,
                title: lang.label(template.title()),
                visits: found.visits,
                newest: !newer_in_use && found.retired_at.is_none(),
                retired: found.retired_at.map(|at| show_time(at, 0)),
                retirable: newer_in_use && found.retired_at.is_none(),
            });
        }
        Ok(rows)
    })
    .await;
    match listed {
        Ok(versions) => {
            let page = TemplatesPage {
                chrome: signed.chrome(),
                s: &lang.text().templates,
                versions,
                result,
            };
            render(lang, status, &page)
        }
        Err(err) => app_failure(lang, &err),
    }
}

/// `GET /console/admin/templates`.
pub async fn page(State(state): State<ConsoleState>, AdminSigned(signed): AdminSigned) -> Response {
    list_page(&state, &signed, StatusCode::OK, None).await
}

/// `POST /console/admin/templates`: checks the uploaded workbook or JSON
/// (`run=check`), or checks and publishes it (`run=publish`). A file with
/// problems answers 422 and publishes nothing.
pub async fn publish(
    State(state): State<ConsoleState>,
    AdminSigned(signed): AdminSigned,
    request: Request,
) -> Response {
    let lang = signed.lang;
    let form = match read_upload(request, "json").await {
        Ok(form) => form,
        Err(status) => return crate::console::cases::upload_refused(lang, status),
    };
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let named = |template: &ChecklistTemplate| {
        format!(
            "{}@{} {}",
            template.key(),
            template.version(),
            lang.label(template.title())
        )
    };
    let template = match templates::read_file(&form.bytes) {
        Ok(template) => template,
        Err(TemplateFileRefused::Workbook(problems)) => {
            let listed = problems
                .listed
                .iter()
                .map(|p| ProblemRow {
                    sheet: p.sheet.clone(),
                    row: if p.row > 0 {
                        p.row.to_string()
                    } else {
                        String::new()
                    },
                    column: p.column.clone().unwrap_or_default(),
                    code: p.refusal.code(),
                    detail: p.refusal.to_string(),
                })
                .collect();
            let result = UploadResult::Problems {
                listed,
                more: problems.more,
            };
            return list_page(
                &state,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(result),
            )
            .await;
        }
        Err(TemplateFileRefused::Json(error)) => {
            let result = UploadResult::JsonRefused(crate::text::visible_line(&error.to_string()));
            return list_page(
                &state,
                &signed,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(result),
            )
            .await;
        }
    };
    if form.run != "publish" {
        let result = UploadResult::Clean(named(&template));
        return list_page(&state, &signed, StatusCode::OK, Some(result)).await;
    }
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let shown = named(&template);
    let published =
        blocking(move || templates::publish(store.as_ref(), Some(&user), &template, now)).await;
    let (status, result) = match published {
        Ok(()) => (StatusCode::OK, UploadResult::Published(shown)),
        Err(ServiceError::TemplateExists) => (StatusCode::CONFLICT, UploadResult::Exists),
        Err(err) => return app_failure(lang, &err),
    };
    list_page(&state, &signed, status, Some(result)).await
}

/// The retire form: the session's CSRF token.
#[derive(serde::Deserialize)]
pub struct RetireForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /console/admin/templates/{key}/{version}/retire`: no new visit
/// starts on the version from now on; visits started on it keep it (409 when
/// it is retired already or no newer version is in use).
pub async fn retire(
    State(state): State<ConsoleState>,
    AdminSigned(signed): AdminSigned,
    Path((key, version)): Path<(String, String)>,
    axum::Form(form): axum::Form<RetireForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let lang = signed.lang;
    let Ok(version) = version.parse::<u32>() else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let name = format!("{key}@{version}");
    let retired =
        blocking(move || templates::retire(store.as_ref(), Some(&user), &key, version, now)).await;
    let (status, result) = match retired {
        Ok(()) => (StatusCode::OK, UploadResult::Retired(name)),
        Err(ServiceError::TemplateNotRetirable) => {
            (StatusCode::CONFLICT, UploadResult::NotRetirable)
        }
        Err(err) => return app_failure(lang, &err),
    };
    list_page(&state, &signed, status, Some(result)).await
}

/// One item of the preview.
pub struct ItemView {
    /// 1-based position.
    pub number: usize,
    /// The item id.
    pub id: String,
    /// The question, both languages.
    pub label: Label,
    /// The guidance, both languages.
    pub help: Option<Label>,
    /// The kind and its limits, in words.
    pub answer: String,
    /// The options (id and both labels), for choice items.
    pub options: Vec<(String, Label)>,
    /// Whether it is required when shown.
    pub required: bool,
    /// When it is shown, in words; `None` when always.
    pub shown_when: Option<String>,
}

/// `GET /console/admin/templates/{key}/{version}`.
#[derive(askama::Template)]
#[template(path = "console/admin_template.html")]
pub struct PreviewPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The page's strings.
    pub s: &'static TemplatesText,
    /// `key@version`.
    pub name: String,
    /// The title, both languages.
    pub title: Label,
    /// The items in the order the phone asks them.
    pub items: Vec<ItemView>,
}

/// `GET /console/admin/templates/{key}/{version}`: the version as the phone
/// asks it.
pub async fn preview(
    State(state): State<ConsoleState>,
    AdminSigned(signed): AdminSigned,
    Path((key, version)): Path<(String, String)>,
) -> Response {
    let lang = signed.lang;
    let Ok(version) = version.parse::<u32>() else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let found = blocking(move || templates::version(store.as_ref(), &key, version)).await;
    let template = match found {
        Ok(template) => template,
        Err(err) => return app_failure(lang, &err),
    };
    let page = PreviewPage {
        chrome: signed.chrome(),
        s: &lang.text().templates,
        name: format!("{}@{}", template.key(), template.version()),
        title: template.title().clone(),
        items: items(&template, lang),
    };
    render(lang, StatusCode::OK, &page)
}

/// The template's items as the preview shows them.
pub fn items(template: &ChecklistTemplate, lang: Lang) -> Vec<ItemView> {
    let s = &lang.text().templates;
    template
        .items()
        .iter()
        .enumerate()
        .map(|(at, item)| ItemView {
            number: at + 1,
            id: item.id.clone(),
            label: item.label.clone(),
            help: item.help.clone(),
            answer: answer_words(&item.kind, s),
            options: item
                .kind
                .options()
                .iter()
                .map(|o| (o.id.clone(), o.label.clone()))
                .collect(),
            required: item.required,
            shown_when: item
                .visible_when
                .as_ref()
                .map(|c| condition_words(template, c, lang)),
        })
        .collect()
}

fn range<T: std::fmt::Display>(s: &TemplatesText, min: Option<T>, max: Option<T>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!(" {min} – {max}"),
        (Some(min), None) => format!(" {} {min}", s.from),
        (None, Some(max)) => format!(" {} {max}", s.to),
        (None, None) => String::new(),
    }
}

fn amount(minor_units: i64) -> String {
    let sign = if minor_units < 0 { "-" } else { "" };
    let abs = minor_units.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The kind of answer and its limits, in words.
pub fn answer_words(kind: &ItemKind, s: &TemplatesText) -> String {
    match kind {
        ItemKind::YesNo => s.kind_yes_no.to_owned(),
        ItemKind::SingleChoice { .. } => s.kind_single.to_owned(),
        ItemKind::MultipleChoice {
            min_selected,
            max_selected,
            ..
        } => format!(
            "{}{}",
            s.kind_multiple,
            range(s, Some(min_selected), Some(max_selected))
        ),
        ItemKind::Integer { min, max } => {
            format!("{}{}", s.kind_integer, range(s, Some(min), Some(max)))
        }
        ItemKind::Money {
            currency,
            min_minor_units,
            max_minor_units,
        } => format!(
            "{} ({currency}){}",
            s.kind_money,
            range(s, min_minor_units.map(amount), max_minor_units.map(amount))
        ),
        ItemKind::Text { max_chars } => format!("{}, {max_chars} {}", s.kind_text, s.at_most_chars),
        ItemKind::Date {
            not_before,
            not_after,
        } => format!("{}{}", s.kind_date, range(s, *not_before, *not_after)),
        ItemKind::Photo {
            min_count,
            max_count,
        } => format!(
            "{}{}",
            s.kind_photo,
            range(s, Some(min_count), Some(max_count))
        ),
        ItemKind::Signature => s.kind_signature.to_owned(),
    }
}

/// When an item is shown, in words: "when “Reason for overdue” is “Other”".
pub fn condition_words(template: &ChecklistTemplate, condition: &Condition, lang: Lang) -> String {
    let s = &lang.text().templates;
    let quoted = |text: String| format!("{}{text}{}", s.quote_open, s.quote_close);
    let tested = template.item(condition.item());
    let question =
        quoted(tested.map_or_else(|| condition.item().to_owned(), |i| lang.label(&i.label)));
    let option = |id: &str| {
        quoted(
            tested
                .and_then(|i| i.kind.options().iter().find(|o| o.id == id))
                .map_or_else(|| id.to_owned(), |o| lang.label(&o.label)),
        )
    };
    let space = if lang == Lang::En { " " } else { "" };
    let test = match condition {
        Condition::Answered { .. } => s.is_answered.to_owned(),
        Condition::YesNoEquals { value, .. } => {
            format!(
                "{}{space}{}",
                s.is,
                quoted((if *value { s.yes } else { s.no }).to_owned())
            )
        }
        Condition::ChoiceIn { options, .. } => {
            let joined: Vec<String> = options.iter().map(|o| option(o)).collect();
            format!(
                "{}{space}{}",
                s.is,
                joined.join(&format!("{space}{}{space}", s.or))
            )
        }
        Condition::ChoicesContain { option: id, .. } => {
            format!("{}{space}{}", s.includes, option(id))
        }
    };
    format!("{}{space}{question}{space}{test}{}", s.when, s.when_end)
}
