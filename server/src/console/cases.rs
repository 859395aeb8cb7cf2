//! The team's cases: the list with an assign form per case, and the CSV
//! import. Both go through the admin rules the command line uses
//! ([`admin::assign_case_as`], [`admin::import_cases_csv_as`]): an assignment
//! reaches the new agents' devices on their next pull, and an agent who loses
//! a case is told to purge it. An assignment refused because the case or an
//! agent is another team's is audited (`console_assign_refused`). URLs carry
//! case ids only; the account reference is shown masked.

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Multipart, Request};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{CaseId, UserId};
use serde::Deserialize;

use super::format::Shown;
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::admin::{self, CsvImportError};
use crate::case_csv::Problem;
use crate::error::ServiceError;
use crate::store::{self, UserRecord};
use doorstep_core::sync::protocol::Role;

/// One agent the assign form offers.
pub struct AgentChoice {
    /// The agent's user id (the form value).
    pub id: String,
    /// The agent's user name, shown ([`crate::text::visible_line`]).
    pub name: String,
    /// Whether the case has this agent in this role now.
    pub selected: bool,
}

/// One line of the case list.
pub struct CaseLine {
    /// The case's page.
    pub href: String,
    /// Where the assign form posts (the case id only).
    pub assign_href: String,
    /// The account reference, masked.
    pub case_ref: Shown,
    /// The customer's name.
    pub customer: Shown,
    /// Due date.
    pub due: String,
    /// Choices for the primary agent.
    pub agents: Vec<AgentChoice>,
    /// Choices for the partner.
    pub partners: Vec<AgentChoice>,
    /// Whether the case has no partner.
    pub no_partner: bool,
}

/// The case list page.
#[derive(askama::Template)]
#[template(path = "console/cases.html")]
pub struct CasesPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// What was just done, if anything.
    pub flash: Option<&'static str>,
    /// The team's cases on this page.
    pub lines: Vec<CaseLine>,
    /// The team's cases in all.
    pub total: usize,
    /// This page, from 1.
    pub page: usize,
    /// How many pages.
    pub pages: usize,
    /// For an admin: the team shown (its supervisor's user id), carried in
    /// links and forms; empty for a supervisor.
    pub team: String,
    /// For an admin: the teams, by supervisor; empty for a supervisor.
    pub teams: Vec<AgentChoice>,
}

/// Cases per page of the list.
pub const PAGE_SIZE: usize = 100;

/// Query of the case list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CasesQuery {
    /// `assigned` after an assignment.
    pub done: String,
    /// The page, from 1 (anything else: the first).
    pub page: String,
    /// For an admin: the team (its supervisor's user id); else ignored.
    pub team: String,
}

/// The team a page shows: a supervisor's own; for an admin, the supervisor
/// `asked` names (or the first by user name), with every team to choose from.
/// `None` for an admin when there are no supervisors.
pub fn team_for(
    tx: &dyn crate::store::StoreTx,
    user: &UserRecord,
    asked: &str,
) -> Result<(Option<UserId>, Vec<UserRecord>), ServiceError> {
    if user.role != Role::Admin {
        return Ok((Some(user.id), Vec::new()));
    }
    let teams = tx.supervisors()?;
    let asked = asked.trim().parse::<UserId>().ok();
    let team = teams
        .iter()
        .find(|t| Some(t.id) == asked)
        .or(teams.first())
        .map(|t| t.id);
    Ok((team, teams))
}

/// `GET /console/cases`.
pub async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    query: Result<Query<CasesQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let store = state.store.clone();
    let user = signed.user.clone();
    let asked = query.team.clone();
    let loaded = blocking(move || {
        store::read(store.as_ref(), |tx| {
            let (team, teams) = team_for(tx, &user, &asked)?;
            let Some(team) = team else {
                return Ok((None, teams, Vec::new(), Vec::new()));
            };
            Ok::<_, ServiceError>((
                Some(team),
                teams,
                tx.team_cases(team)?,
                tx.team_members(team)?,
            ))
        })
    })
    .await;
    let (team, teams, mut cases, members) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_failure(signed.lang, &err),
    };
    let agents: Vec<&UserRecord> = members.iter().filter(|m| m.role == Role::Agent).collect();
    let choices = |current: Option<UserId>| {
        agents
            .iter()
            .map(|a| AgentChoice {
                id: a.id.to_string(),
                name: crate::text::visible_line(&a.username),
                selected: current == Some(a.id),
            })
            .collect()
    };
    // Soonest due first.
    cases.sort_by_key(|record| (record.case.due_date, record.case.id));
    let total = cases.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query
        .page
        .parse::<usize>()
        .ok()
        .filter(|p| (1..=pages).contains(p))
        .unwrap_or(1);
    let lines = cases
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|record| {
            let case = &record.case;
            CaseLine {
                href: format!("/console/cases/{}", case.id),
                assign_href: format!("/console/cases/{}/assign", case.id),
                case_ref: Shown::line(&mask_national_id(&case.external_ref)),
                customer: Shown::line(&case.customer.name),
                due: case.due_date.to_string(),
                agents: choices(Some(case.assigned.primary)),
                partners: choices(case.assigned.partner),
                no_partner: case.assigned.partner.is_none(),
            }
        })
        .collect();
    let flash = (query.done == "assigned").then_some(signed.lang.text().cases_assigned);
    let view = CasesPage {
        chrome: signed.chrome(),
        flash,
        lines,
        total,
        page,
        pages,
        team: if teams.is_empty() {
            String::new()
        } else {
            team.map(|t| t.to_string()).unwrap_or_default()
        },
        teams: teams
            .iter()
            .map(|t| AgentChoice {
                id: t.id.to_string(),
                name: crate::text::visible_line(&t.username),
                selected: Some(t.id) == team,
            })
            .collect(),
    };
    render(signed.lang, StatusCode::OK, &view)
}

/// The assign form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The primary agent's user id.
    pub agent: String,
    /// The partner's user id, or empty for none.
    pub partner: String,
    /// For an admin: the team to show afterwards.
    pub team: String,
}

/// `POST /console/cases/{case_id}/assign`.
pub async fn assign(
    State(state): State<ConsoleState>,
    signed: Signed,
    case_id: Result<Path<CaseId>, PathRejection>,
    Form(form): Form<AssignForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let lang = signed.lang;
    let t = lang.text();
    let Ok(Path(case_id)) = case_id else {
        return failure(lang, StatusCode::NOT_FOUND, t.not_found);
    };
    let Ok(primary) = form.agent.trim().parse::<UserId>() else {
        return failure(lang, StatusCode::NOT_FOUND, t.not_found);
    };
    let partner = match form.partner.trim() {
        "" => None,
        text => match text.parse::<UserId>() {
            Ok(id) => Some(id),
            Err(_) => return failure(lang, StatusCode::NOT_FOUND, t.not_found),
        },
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let done = blocking(move || {
        let done = admin::assign_case_as(store.as_ref(), &user, case_id, primary, partner, now);
        if let Err(refused) = &done {
            audit_refused_assignment(store.as_ref(), &user, case_id, refused, now)?;
        }
        done
    })
    .await;
    match done {
        Ok(()) => {
            let team = form
                .team
                .trim()
                .parse::<UserId>()
                .map(|t| format!("&team={t}"))
                .unwrap_or_default();
            Redirect::to(&format!("/console/cases?done=assigned{team}")).into_response()
        }
        Err(err @ ServiceError::PartnerIsAgent) => {
            failure(lang, err.status(), t.cases_partner_is_agent)
        }
        // An agent id that names nobody (or no agent) is as unknown as a case.
        Err(ServiceError::UnknownAgent(_) | ServiceError::NotAnAgent(_)) => {
            failure(lang, StatusCode::NOT_FOUND, t.not_found)
        }
        Err(err) => app_failure(lang, &err),
    }
}

/// Writes the audit row of an assignment refused because the case or an
/// agent is another team's (`console_assign_refused`, the case id and
/// `not_your_team` or `other_team_agent`); an unknown case, an unknown
/// agent or a form mistake is not an attempt on someone else's work and
/// leaves no row. The refusal's own transaction was rolled back, so the row
/// is written in one of its own.
fn audit_refused_assignment(
    store: &dyn store::Store,
    actor: &UserRecord,
    case_id: CaseId,
    refused: &ServiceError,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ServiceError> {
    let code = match refused {
        ServiceError::OtherTeamAgent(_) => ServiceError::OtherTeamAgent(None).code(),
        ServiceError::NotFound(crate::error::Missing::Case(_)) => {
            if store::read(store, |tx| tx.case(case_id))?.is_none() {
                return Ok(());
            }
            ServiceError::NotYourTeam.code()
        }
        _ => return Ok(()),
    };
    store::write(store, |tx| {
        tx.append_audit(&store::AuditRecord {
            at: now,
            user: Some(actor.id),
            device: None,
            action: "console_assign_refused".into(),
            target_kind: "case".into(),
            target_id: case_id.to_string(),
            code: Some(code.into()),
        })?;
        Ok(())
    })
}

/// What the last import form did.
pub enum ImportResult {
    /// The file has problems; nothing was imported.
    Problems {
        /// The listed problems (line, column, code; never the content).
        listed: Vec<Problem>,
        /// How many more there were.
        more: usize,
    },
    /// The file is clean; this many cases would be imported.
    Clean(usize),
    /// This many cases were imported.
    Imported(usize),
}

/// The import page.
#[derive(askama::Template)]
#[template(path = "console/cases_import.html")]
pub struct ImportPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// What the last form did, if one was sent.
    pub result: Option<ImportResult>,
}

/// `GET /console/cases/import`.
pub async fn import_page(signed: Signed) -> Response {
    let page = ImportPage {
        chrome: signed.chrome(),
        result: None,
    };
    render(signed.lang, StatusCode::OK, &page)
}

/// The import form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The CSV file's content.
    pub csv: String,
    /// `import` to import a clean file; anything else only checks.
    pub run: String,
}

/// The import form as sent: the file's bytes from the file field, else the
/// text area. Shared with the repayment import ([`super::repayments`]).
pub(super) struct ImportRequest {
    pub(super) csrf: String,
    pub(super) run: String,
    pub(super) bytes: Vec<u8>,
}

/// Reads the import form, as `multipart/form-data` (the page's form, with a
/// file field `file` and a text area `csv`) or as a plain form (`csv` only).
/// The error is the status to answer (413 over the body limit).
pub(super) async fn read_import(request: Request) -> Result<ImportRequest, StatusCode> {
    read_upload(request, "csv").await
}

/// Reads an upload form, as `multipart/form-data` (a file field `file` and a
/// text area named `text_field`) or as a plain form (`text_field` only), with
/// its `csrf` and `run` fields. The file wins over the text area. The error
/// is the status to answer (413 over the body limit).
pub(super) async fn read_upload(
    request: Request,
    text_field: &str,
) -> Result<ImportRequest, StatusCode> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let Form(mut form) =
            Form::<std::collections::HashMap<String, String>>::from_request(request, &())
                .await
                .map_err(|rejection: FormRejection| rejection.status())?;
        let mut take = |name: &str| form.remove(name).unwrap_or_default();
        return Ok(ImportRequest {
            csrf: take("csrf"),
            run: take("run"),
            bytes: take(text_field).into_bytes(),
        });
    }
    let mut parts = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| rejection.status())?;
    let (mut csrf, mut run, mut file, mut text) =
        (String::new(), String::new(), Vec::new(), Vec::new());
    while let Some(field) = parts.next_field().await.map_err(|e| e.status())? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(|e| e.status())?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "run" => run = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = bytes.to_vec(),
            other if other == text_field => text = bytes.to_vec(),
            _ => {}
        }
    }
    Ok(ImportRequest {
        csrf,
        run,
        bytes: if file.is_empty() { text } else { file },
    })
}

/// The page for an upload that could not be read: too large for the body
/// limit (413), or not a form.
pub(super) fn upload_refused(lang: super::i18n::Lang, status: StatusCode) -> Response {
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        lang.text().cases_import_too_large
    } else {
        lang.text().server_failed
    };
    failure(lang, status, message)
}

/// `POST /console/cases/import`: checks the file, and imports it when asked
/// and clean. A file with problems answers 422 and imports nothing.
pub async fn import(
    State(state): State<ConsoleState>,
    signed: Signed,
    request: Request,
) -> Response {
    let lang = signed.lang;
    let form = match read_import(request).await {
        Ok(form) => form,
        // Too large for the body limit, or not a form: nothing to check.
        Err(status) => return upload_refused(lang, status),
    };
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let run = form.run == "import";
    let bytes = form.bytes;
    let outcome = blocking(move || {
        let result = if run {
            admin::import_cases_csv_as(store.as_ref(), &user, &bytes, now).map(|ids| ids.len())
        } else {
            admin::check_cases_csv_as(store.as_ref(), &user, &bytes).map(|cases| cases.len())
        };
        Ok(result)
    })
    .await;
    let (status, result) = match outcome {
        Ok(Ok(count)) if run => (StatusCode::OK, ImportResult::Imported(count)),
        Ok(Ok(count)) => (StatusCode::OK, ImportResult::Clean(count)),
        Ok(Err(CsvImportError::Problems(problems))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportResult::Problems {
                listed: problems.listed,
                more: problems.more,
            },
        ),
        Ok(Err(CsvImportError::Store(err))) | Err(err) => return app_failure(lang, &err),
    };
    let page = ImportPage {
        chrome: signed.chrome(),
        result: Some(result),
    };
    render(lang, status, &page)
}
