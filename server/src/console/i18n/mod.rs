//! The console's two languages. Every string the console shows is a field of
//! [`Text`]; [`zh`] and [`en`] each fill it once. The language comes from the
//! `doorstep_lang` cookie (set by the switcher), else `Accept-Language`, else
//! Simplified Chinese.

pub mod admin;
mod en;
pub mod glossary;
mod zh;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_core::checklist::Label;
use doorstep_core::domain::{NoticeChannel, OutcomeCode, PromiseKeeping, VisitState};
use doorstep_core::event_log::BreakReason;
use doorstep_core::policy::CheckInFlag;
use doorstep_core::report::ReviewFlag;
use serde::Deserialize;

use super::{ConsoleState, secure, set_cookie};

/// Name of the language cookie.
pub const LANG_COOKIE: &str = "doorstep_lang";

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language of a request: cookie, then `Accept-Language`, then Chinese.
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::cookie(headers, LANG_COOKIE).and_then(|c| Lang::from_code(&c)) {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::Zh)
    }

    /// The preferred language of an `Accept-Language` value, if it names one
    /// of ours.
    pub fn from_accept_language(value: &str) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = value
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                let lang = if tag == "zh" || tag.starts_with("zh-") {
                    Lang::Zh
                } else if tag == "en" || tag.starts_with("en-") {
                    Lang::En
                } else {
                    return None;
                };
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        // Stable: equal weights keep the header's order.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|(_, lang)| *lang)
    }

    /// Parses the switcher's code.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The switcher's code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The strings of this language.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::Zh => &zh::TEXT,
            Lang::En => &en::TEXT,
        }
    }

    /// A template's label in this language.
    pub fn label(self, label: &Label) -> String {
        match self {
            Lang::Zh => label.zh_cn.clone(),
            Lang::En => label.en.clone(),
        }
    }
}

/// Query of the language switch: where to go back to.
#[derive(Debug, Deserialize)]
pub struct SwitchQuery {
    /// A console path (with query) to return to.
    #[serde(default)]
    pub next: String,
}

/// `GET /console/language/{code}?next=…`: remembers the language in a cookie
/// and goes back to `next` (only ever a console path).
pub async fn switch(
    State(state): State<ConsoleState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(query): Query<SwitchQuery>,
) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::Zh);
    let next = if is_console_path(&query.next) {
        query.next.as_str()
    } else {
        "/console/queue"
    };
    let cookie = set_cookie(
        LANG_COOKIE,
        lang.code(),
        365 * 24 * 3600,
        false,
        secure(&state, &headers),
    );
    let mut response = Redirect::to(next).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// Whether `path` is a path of this console (so a redirect cannot leave it).
pub fn is_console_path(path: &str) -> bool {
    (path == "/console" || path.starts_with("/console/") || path.starts_with("/console?"))
        && !path.contains("//")
        && !path.contains('\\')
        && path.chars().all(|c| c.is_ascii_graphic())
}

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Every string the console shows, in one language.
#[allow(missing_docs)]
#[derive(Debug)]
pub struct Text {
    pub app_name: &'static str,
    /// The admin pages' strings.
    pub admin: &'static admin::AdminText,
    pub nav_queue: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sign_in_title: &'static str,
    pub sign_in_refused: &'static str,
    pub signed_in_as: &'static str,
    pub language: &'static str,
    pub not_found: &'static str,
    pub forbidden: &'static str,
    pub csrf_refused: &'static str,
    pub not_awaiting_review: &'static str,
    pub already_decided_title: &'static str,
    pub decided_by: &'static str,
    pub open_report: &'static str,
    pub return_needs_reason: &'static str,
    pub too_many_attempts: &'static str,
    pub sign_in_busy: &'static str,
    pub server_failed: &'static str,
    /// The server is busy for a moment (`503 server_busy`).
    pub server_busy: &'static str,
    pub error_title: &'static str,
    pub back_to_queue: &'static str,
    // Queue.
    pub queue_title: &'static str,
    pub queue_intro: &'static str,
    pub filter_agent: &'static str,
    pub filter_outcome: &'static str,
    pub filter_flag: &'static str,
    pub filter_from: &'static str,
    pub filter_to: &'static str,
    pub filter_any: &'static str,
    pub filter_apply: &'static str,
    pub filter_clear: &'static str,
    pub no_outcome: &'static str,
    pub queue_empty: &'static str,
    pub queue_shown: &'static str,
    pub col_submitted: &'static str,
    pub col_case: &'static str,
    pub col_customer: &'static str,
    pub col_agents: &'static str,
    pub col_outcome: &'static str,
    pub col_flags: &'static str,
    pub col_round: &'static str,
    pub col_waiting: &'static str,
    pub unit_days: &'static str,
    pub unit_hours: &'static str,
    pub unit_minutes: &'static str,
    pub nav_visits: &'static str,
    pub visits_title: &'static str,
    pub visits_intro: &'static str,
    pub search_label: &'static str,
    pub search_hint: &'static str,
    pub filter_bucket: &'static str,
    pub filter_min_amount: &'static str,
    pub filter_max_amount: &'static str,
    pub visits_found: &'static str,
    pub visits_empty: &'static str,
    pub page_word: &'static str,
    pub open: &'static str,
    // Report.
    pub report_title: &'static str,
    pub state: &'static str,
    pub case_summary: &'static str,
    pub customer: &'static str,
    pub national_id: &'static str,
    pub account_ref: &'static str,
    pub phones: &'static str,
    pub registered_address: &'static str,
    pub product: &'static str,
    pub overdue: &'static str,
    pub days_past_due: &'static str,
    pub due_date: &'static str,
    pub agents: &'static str,
    pub partner: &'static str,
    pub planned_for: &'static str,
    pub notice: &'static str,
    pub no_notice_given: &'static str,
    pub notice_given_at: &'static str,
    pub notice_for: &'static str,
    pub notice_channel: &'static str,
    pub notice_purpose: &'static str,
    pub acknowledged: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub site: &'static str,
    pub check_in: &'static str,
    pub check_out: &'static str,
    pub not_done: &'static str,
    pub time: &'static str,
    pub accuracy: &'static str,
    pub distance: &'static str,
    pub unknown: &'static str,
    pub metres: &'static str,
    pub map_title: &'static str,
    pub map_geofence: &'static str,
    pub flags: &'static str,
    pub no_flags: &'static str,
    pub checklist: &'static str,
    pub checklist_template: &'static str,
    pub checklist_missing_template: &'static str,
    pub checklist_problems: &'static str,
    pub no_answers: &'static str,
    pub notes: &'static str,
    pub no_notes: &'static str,
    pub late_addendum: &'static str,
    pub late_changes: &'static str,
    pub late_changes_note: &'static str,
    pub photos: &'static str,
    pub no_photos: &'static str,
    pub photo: &'static str,
    pub outcome: &'static str,
    pub promise: &'static str,
    pub plan: &'static str,
    pub plan_instalments: &'static str,
    pub first_due: &'static str,
    pub ability: &'static str,
    pub willingness: &'static str,
    pub summary: &'static str,
    pub log_check: &'static str,
    pub log_intact: &'static str,
    pub log_broken: &'static str,
    pub log_chains: &'static str,
    pub entries: &'static str,
    pub timeline: &'static str,
    pub reviews: &'static str,
    pub no_reviews: &'static str,
    pub decided_at: &'static str,
    pub reviewer: &'static str,
    pub decision: &'static str,
    pub approved: &'static str,
    pub returned: &'static str,
    pub reason: &'static str,
    pub comment: &'static str,
    pub approve: &'static str,
    pub send_back: &'static str,
    pub send_back_title: &'static str,
    pub decision_saved_approved: &'static str,
    pub decision_saved_returned: &'static str,
    pub next_waiting: &'static str,
    pub queue_now_empty: &'static str,
    pub submissions: &'static str,
    // The printable record (`console::print`).
    pub print_link: &'static str,
    pub print_title: &'static str,
    pub print_hint: &'static str,
    pub back_to_report: &'static str,
    pub record_id: &'static str,
    pub printed_by: &'static str,
    pub printed_at: &'static str,
    pub decision_history: &'static str,
    pub no_decisions: &'static str,
    pub nav_dashboard: &'static str,
    pub dashboard_title: &'static str,
    pub dashboard_intro: &'static str,
    pub period_days: &'static str,
    pub col_day: &'static str,
    pub col_agent: &'static str,
    pub col_visits: &'static str,
    pub col_contact_rate: &'static str,
    pub col_promises: &'static str,
    pub col_promised_amount: &'static str,
    pub col_flagged: &'static str,
    pub chart_by_day: &'static str,
    pub chart_by_agent: &'static str,
    pub legend_visits: &'static str,
    pub legend_promises: &'static str,
    pub total: &'static str,
    pub changes_since_return: &'static str,
    pub no_changes_since_return: &'static str,
    pub waiting_for_agent: &'static str,
    // Cases.
    pub nav_cases: &'static str,
    pub cases_title: &'static str,
    pub cases_intro: &'static str,
    pub cases_empty: &'static str,
    pub cases_col_due: &'static str,
    pub cases_col_assign: &'static str,
    pub cases_no_partner: &'static str,
    pub cases_assign: &'static str,
    pub cases_assigned: &'static str,
    pub cases_partner_is_agent: &'static str,
    pub cases_import_title: &'static str,
    pub cases_import_intro: &'static str,
    pub cases_import_upload: &'static str,
    pub cases_import_file: &'static str,
    pub cases_import_check: &'static str,
    pub cases_import_run: &'static str,
    pub cases_import_problems: &'static str,
    pub cases_import_line: &'static str,
    pub cases_import_column: &'static str,
    pub cases_import_code: &'static str,
    pub cases_import_more: &'static str,
    pub cases_import_clean: &'static str,
    pub cases_import_done: &'static str,
    pub cases_import_too_large: &'static str,
    pub cases_team: &'static str,
    pub cases_primary: &'static str,
    pub cases_partner: &'static str,
    pub cases_total: &'static str,
    pub cases_export: &'static str,
    pub cases_export_intro: &'static str,
    // Audit trail.
    pub nav_audit: &'static str,
    pub audit_title: &'static str,
    pub audit_intro_supervisor: &'static str,
    pub audit_intro_admin: &'static str,
    pub audit_filter_user: &'static str,
    pub audit_filter_action: &'static str,
    pub audit_refused_any: &'static str,
    pub audit_from: &'static str,
    pub audit_to: &'static str,
    pub audit_same_filters: &'static str,
    pub audit_bad_date: &'static str,
    pub audit_csv: &'static str,
    pub audit_csv_intro: &'static str,
    pub audit_total: &'static str,
    pub audit_times: &'static str,
    pub audit_empty: &'static str,
    pub audit_col_time: &'static str,
    pub audit_col_user: &'static str,
    pub audit_col_action: &'static str,
    pub audit_col_target: &'static str,
    pub audit_col_refusal: &'static str,
    pub audit_unknown_name: &'static str,
    pub audit_server: &'static str,
    pub audit_too_many: &'static str,
    /// Role names, in the order of `Role::ALL`.
    pub audit_roles: [&'static str; 3],
    /// Every audit action the server writes, with its name, in the order the
    /// action filter offers them.
    pub audit_actions: [(&'static str, &'static str); 43],
    /// Every kind of audit target, with its name.
    pub audit_targets: [(&'static str, &'static str); 15],
    /// Every refusal code an audit row may carry, with what it means.
    pub audit_codes: [(&'static str, &'static str); 40],
    pub csv_problems: [(&'static str, &'static str); 26],
    // Repayments and promises to pay.
    pub repayments_import_title: &'static str,
    pub repayments_import_intro: &'static str,
    pub repayments_import_clean: &'static str,
    pub repayments_import_done: &'static str,
    pub repayment_problems: [(&'static str, &'static str); 20],
    pub promise_keeping: &'static str,
    /// Pending, kept, partly kept, broken.
    pub keeping_names: [&'static str; 4],
    pub col_kept_rate: &'static str,
    pub kept_rate_note: &'static str,
    pub reasons: [(&'static str, &'static str); 6],
    /// Names of the phone labels cases use: mobile, home, work.
    pub phone_labels: [(&'static str, &'static str); 3],
    pub kinds: [(&'static str, &'static str); 13],
    pub flag_names: [&'static str; 7],
    pub site_flag_names: [&'static str; 4],
    pub outcome_names: [&'static str; 7],
    pub state_names: [&'static str; 9],
    pub channel_names: [&'static str; 4],
    pub case_title: &'static str,
    pub case_status: &'static str,
    pub by_server_admin: &'static str,
    pub case_first_assigned: &'static str,
    pub case_reassigned: &'static str,
    pub assigned_by: &'static str,
    pub case_assignments: &'static str,
    pub case_visits: &'static str,
    pub case_notices: &'static str,
    pub case_promises: &'static str,
    pub case_repayments: &'static str,
    pub case_decisions: &'static str,
    pub case_timeline: &'static str,
    pub none_yet: &'static str,
    pub due_by: &'static str,
    pub until: &'static str,
    pub feedback_given: &'static str,
    pub customer_confirmed: &'static str,
    pub bank_decision: &'static str,
    pub repayment: &'static str,
    pub decision_recorded: &'static str,
    pub feedback_recorded: &'static str,
    pub decide_title: &'static str,
    pub decide_kind: &'static str,
    pub decide_after_visit: &'static str,
    pub decide_amount: &'static str,
    pub decide_months: &'static str,
    pub decide_date: &'static str,
    pub decide_note: &'static str,
    pub decide_submit: &'static str,
    pub feedback_title: &'static str,
    pub feedback_channel: &'static str,
    pub feedback_time: &'static str,
    pub feedback_summary: &'static str,
    pub feedback_submit: &'static str,
    pub plan_refused: &'static str,
    pub feedback_needs_approval: &'static str,
    pub open_case: &'static str,
    pub decision_names: [&'static str; 6],
    pub case_status_names: [&'static str; 6],
    /// The admin's checklist templates and field policy pages.
    pub templates: TemplatesText,
}

/// The strings of the admin's checklist templates and field policy pages.
#[allow(missing_docs)]
#[derive(Debug)]
pub struct TemplatesText {
    pub nav_templates: &'static str,
    pub nav_policy: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub col_template: &'static str,
    pub col_version: &'static str,
    pub col_title: &'static str,
    pub col_status: &'static str,
    pub col_visits: &'static str,
    pub published: &'static str,
    pub retired: &'static str,
    pub newest: &'static str,
    pub preview: &'static str,
    pub retire: &'static str,
    pub retire_done: &'static str,
    pub retire_refused: &'static str,
    pub none_yet: &'static str,
    pub upload: &'static str,
    pub paste_json: &'static str,
    pub check: &'static str,
    pub publish: &'static str,
    pub problems: &'static str,
    pub col_sheet: &'static str,
    pub col_row: &'static str,
    pub col_column: &'static str,
    pub col_problem: &'static str,
    pub clean: &'static str,
    pub done: &'static str,
    pub next_sync: &'static str,
    pub exists: &'static str,
    pub json_refused: &'static str,
    pub col_number: &'static str,
    pub col_question: &'static str,
    pub col_answer: &'static str,
    pub col_required: &'static str,
    pub col_shown: &'static str,
    pub required: &'static str,
    pub optional: &'static str,
    pub always: &'static str,
    pub back: &'static str,
    pub kind_yes_no: &'static str,
    pub kind_single: &'static str,
    pub kind_multiple: &'static str,
    pub kind_integer: &'static str,
    pub kind_money: &'static str,
    pub kind_text: &'static str,
    pub kind_date: &'static str,
    pub kind_photo: &'static str,
    pub kind_signature: &'static str,
    pub at_most_chars: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub when: &'static str,
    pub is: &'static str,
    pub or: &'static str,
    pub includes: &'static str,
    pub is_answered: &'static str,
    pub when_end: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub quote_open: &'static str,
    pub quote_close: &'static str,
    /// What each XLSForm problem code means.
    pub xlsform_problems: [(&'static str, &'static str); 21],
    pub policy_title: &'static str,
    pub policy_intro: &'static str,
    pub policy_in_force: &'static str,
    pub policy_default: &'static str,
    pub policy_history: &'static str,
    pub policy_published_at: &'static str,
    pub policy_new: &'static str,
    pub policy_json: &'static str,
    pub policy_publish: &'static str,
    pub policy_done: &'static str,
    pub policy_refused: &'static str,
    pub policy_unchanged: &'static str,
    /// The policy's fields, in the order of `Policy`'s fields.
    pub policy_fields: [(&'static str, &'static str); 7],
}

impl TemplatesText {
    /// What an XLSForm problem code means, or the code itself if unknown.
    pub fn xlsform_problem<'a>(&self, code: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.xlsform_problems
            .iter()
            .find(|(known, _)| *known == code)
            .map_or(code, |(_, text)| text)
    }

    /// The name of a policy field, or the field itself if unknown.
    pub fn policy_field<'a>(&self, field: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.policy_fields
            .iter()
            .find(|(known, _)| *known == field)
            .map_or(field, |(_, text)| text)
    }
}

impl Text {
    /// What a case CSV problem code means, or the code itself if unknown.
    pub fn csv_problem<'a>(&self, code: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.csv_problems
            .iter()
            .find(|(known, _)| *known == code)
            .map_or(code, |(_, text)| text)
    }

    /// The name of an audit action; unknown actions show as themselves.
    pub fn audit_action(&self, code: &str) -> String {
        named(&self.audit_actions, code)
    }

    /// The name of a kind of audit target; unknown kinds show as themselves.
    pub fn audit_target(&self, code: &str) -> String {
        named(&self.audit_targets, code)
    }

    /// What a refusal code means; unknown codes show as themselves.
    pub fn audit_code(&self, code: &str) -> String {
        named(&self.audit_codes, code)
    }

    /// What a repayment CSV problem code means, or the code itself if unknown.
    pub fn repayment_problem<'a>(&self, code: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.repayment_problems
            .iter()
            .find(|(known, _)| *known == code)
            .map_or(code, |(_, text)| text)
    }

    /// How a promise to pay stands, in words.
    pub fn keeping(&self, keeping: PromiseKeeping) -> &'static str {
        self.keeping_names[match keeping {
            PromiseKeeping::Pending => 0,
            PromiseKeeping::Kept => 1,
            PromiseKeeping::PartlyKept => 2,
            PromiseKeeping::Broken => 3,
        }]
    }

    /// The name of a review flag.
    pub fn flag(&self, flag: ReviewFlag) -> &'static str {
        let i = ReviewFlag::ALL.iter().position(|f| *f == flag).unwrap_or(0);
        self.flag_names[i]
    }

    /// The name of a check-in or check-out flag.
    pub fn site_flag(&self, flag: CheckInFlag) -> &'static str {
        self.site_flag_names[match flag {
            CheckInFlag::FarFromAddress => 0,
            CheckInFlag::PoorGpsAccuracy => 1,
            CheckInFlag::MockedLocation => 2,
            CheckInFlag::NoRegisteredLocation => 3,
        }]
    }

    /// The name of an outcome.
    pub fn outcome(&self, code: OutcomeCode) -> &'static str {
        self.outcome_names[OUTCOMES.iter().position(|c| *c == code).unwrap_or(0)]
    }

    /// The name of a visit state.
    pub fn state(&self, state: VisitState) -> &'static str {
        self.state_names[VisitState::ALL
            .iter()
            .position(|s| *s == state)
            .unwrap_or(0)]
    }

    /// The name of a decision on a case, by its code.
    pub fn decision_name(&self, code: &str) -> &'static str {
        doorstep_core::domain::PlanDecision::CODES
            .iter()
            .position(|c| *c == code)
            .map_or(self.unknown, |i| self.decision_names[i])
    }

    /// The name of a case status, by its code.
    pub fn case_status_name(&self, code: &str) -> &'static str {
        [
            "new",
            "in_progress",
            "submitted",
            "returned",
            "completed",
            "closed",
        ]
        .iter()
        .position(|c| *c == code)
        .map_or(self.unknown, |i| self.case_status_names[i])
    }

    /// The name of a notice channel.
    pub fn channel(&self, channel: NoticeChannel) -> &'static str {
        self.channel_names[match channel {
            NoticeChannel::PhoneCall => 0,
            NoticeChannel::Sms => 1,
            NoticeChannel::Letter => 2,
            NoticeChannel::InPerson => 3,
        }]
    }

    /// The name of a return reason code; unknown codes show as themselves.
    pub fn reason(&self, code: &str) -> String {
        self.reasons
            .iter()
            .find(|(c, _)| *c == code)
            .map_or_else(|| code.to_owned(), |(_, name)| (*name).to_owned())
    }

    /// A case phone's label in this language if it is a known one (`mobile`,
    /// `home`, `work`, any case, spaces around ignored); else as typed.
    pub fn phone_label<'a>(&self, label: &'a str) -> &'a str
    where
        'static: 'a,
    {
        let key = label.trim().to_ascii_lowercase();
        self.phone_labels
            .iter()
            .find(|(code, _)| *code == key)
            .map_or(label, |(_, name)| name)
    }

    /// The name of a kind of visit log entry; unknown kinds show as themselves.
    pub fn kind(&self, code: &str) -> String {
        self.kinds
            .iter()
            .find(|(c, _)| *c == code)
            .map_or_else(|| code.to_owned(), |(_, name)| (*name).to_owned())
    }

    /// What is wrong at a broken log link (stable code, shown as is).
    pub fn break_reason(&self, reason: BreakReason) -> &'static str {
        reason.code()
    }
}

/// The name `pairs` give `code`, or the code itself.
fn named(pairs: &[(&'static str, &'static str)], code: &str) -> String {
    pairs
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_owned(), |(_, name)| (*name).to_owned())
}

/// Every outcome, in the order of [`Text::outcome_names`].
pub const OUTCOMES: [OutcomeCode; 7] = [
    OutcomeCode::PromiseToPay,
    OutcomeCode::RepaymentPlan,
    OutcomeCode::HardshipDeferral,
    OutcomeCode::Dispute,
    OutcomeCode::Refused,
    OutcomeCode::NotHome,
    OutcomeCode::Moved,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_of_ours() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Some(Lang::En));
        assert_eq!(
            Lang::from_accept_language("fr;q=1, zh-CN;q=0.8, en;q=0.5"),
            Some(Lang::Zh)
        );
        assert_eq!(
            Lang::from_accept_language("zh;q=0.2, en;q=0.7"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("fr, de"), None);
        assert_eq!(Lang::from_accept_language("en;q=0"), None);
    }

    #[test]
    fn redirects_stay_in_the_console() {
        assert!(is_console_path("/console/queue?agent=x"));
        assert!(!is_console_path("https://evil.example/console"));
        assert!(!is_console_path("//evil.example"));
        assert!(!is_console_path("/console//evil"));
        assert!(!is_console_path("/consoled"));
        assert!(!is_console_path("/console/\\evil"));
    }

    #[test]
    fn both_languages_name_every_audit_action_target_and_code_the_same_way() {
        let (zh, en) = (Lang::Zh.text(), Lang::En.text());
        fn codes(pairs: &[(&'static str, &'static str)]) -> Vec<&'static str> {
            pairs.iter().map(|(c, _)| *c).collect()
        }
        assert_eq!(codes(&zh.audit_actions), codes(&en.audit_actions));
        assert_eq!(codes(&zh.audit_targets), codes(&en.audit_targets));
        assert_eq!(codes(&zh.audit_codes), codes(&en.audit_codes));
        for pairs in [&en.audit_actions[..], &en.audit_targets, &en.audit_codes] {
            let mut unique = codes(pairs);
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), pairs.len(), "a code named twice");
        }
        // Every code a refused push can carry is explained.
        for code in doorstep_core::sync::protocol::RejectCode::ALL {
            assert_ne!(en.audit_code(code.code()), code.code(), "{}", code.code());
            assert_ne!(zh.audit_code(code.code()), code.code(), "{}", code.code());
        }
    }

    #[test]
    fn both_languages_name_every_reason_the_same_way() {
        let (zh, en) = (Lang::Zh.text(), Lang::En.text());
        let codes = |t: &Text| t.reasons.iter().map(|(c, _)| *c).collect::<Vec<_>>();
        assert_eq!(codes(zh), codes(en));
        assert_eq!(
            ReviewFlag::ALL.map(|f| en.flag(f)).len(),
            ReviewFlag::ALL.len()
        );
    }
}
