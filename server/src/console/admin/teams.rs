//! `GET /console/admin/teams`: each supervisor with the agents they lead,
//! and the agents in no team; a form per agent moves them to another team
//! with the cases they are the primary agent of, through
//! [`crate::service::teams`]: the console and sync obey it at once.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_core::domain::UserId;
use serde::Deserialize;

use super::{AdminSigned, act};
use crate::console::format::Shown;
use crate::console::{Chrome, ConsoleState, app_failure, blocking, render};
use crate::error::{Missing, ServiceError};
use crate::service::teams;
use crate::service::users::Actor;
use crate::store::UserRecord;

/// An agent's row.
pub struct AgentRow {
    /// The agent's id.
    pub id: String,
    /// Their name.
    pub name: Shown,
    /// Their team's supervisor id, if any.
    pub team: Option<String>,
}

/// A team on the page, or the agents in no team.
pub struct TeamBlock {
    /// The supervisor's id (`None`: the agents in no team).
    pub id: Option<String>,
    /// The supervisor's name.
    pub name: Option<Shown>,
    /// Their agents.
    pub agents: Vec<AgentRow>,
}

/// A team an agent may be moved to.
pub struct TeamChoice {
    /// The supervisor's id.
    pub id: String,
    /// The supervisor's name.
    pub name: Shown,
}

/// The teams page.
#[derive(askama::Template)]
#[template(path = "console/admin_teams.html")]
pub struct TeamsPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// Every team, then the agents in no team if there are any.
    pub teams: Vec<TeamBlock>,
    /// The teams to move to.
    pub choices: Vec<TeamChoice>,
    /// What the last form did.
    pub flash: Option<&'static str>,
}

impl TeamsPage {
    /// Whether `choice` is the team `agent` is in (the move form's default).
    pub fn is_in(&self, agent: &AgentRow, choice: &TeamChoice) -> bool {
        agent.team.as_deref() == Some(choice.id.as_str())
    }
}

/// Query of the teams page.
#[derive(Debug, Default, Deserialize)]
pub struct TeamsQuery {
    /// What the last form did: `moved`.
    #[serde(default)]
    pub done: String,
}

/// The move form.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The agent.
    pub agent: UserId,
    /// The new team's supervisor; empty for no team.
    #[serde(default)]
    pub supervisor: String,
}

fn agent_row(agent: &UserRecord) -> AgentRow {
    AgentRow {
        id: agent.id.to_string(),
        name: Shown::line(&agent.username),
        team: agent.supervisor.map(|s| s.to_string()),
    }
}

/// `GET /console/admin/teams`.
pub async fn page(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    query: Result<Query<TeamsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let signed = &admin.0;
    let store = state.store.clone();
    let actor = signed.user.clone();
    let loaded = blocking(move || teams::teams(store.as_ref(), Actor::User(&actor))).await;
    let (found, alone) = match loaded {
        Ok(found) => found,
        Err(err) => return app_failure(signed.lang, &err),
    };
    let page = TeamsPage {
        chrome: signed.chrome(),
        choices: found
            .iter()
            .filter(|t| t.supervisor.active)
            .map(|t| TeamChoice {
                id: t.supervisor.id.to_string(),
                name: Shown::line(&t.supervisor.username),
            })
            .collect(),
        teams: found
            .iter()
            .map(|t| TeamBlock {
                id: Some(t.supervisor.id.to_string()),
                name: Some(Shown::line(&t.supervisor.username)),
                agents: t.agents.iter().map(agent_row).collect(),
            })
            .chain((!alone.is_empty()).then(|| TeamBlock {
                id: None,
                name: None,
                agents: alone.iter().map(agent_row).collect(),
            }))
            .collect(),
        flash: (query.done == "moved").then_some(signed.lang.text().admin.moved),
    };
    render(signed.lang, StatusCode::OK, &page)
}

/// `POST /console/admin/teams/move`.
pub async fn move_agent(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Form(form): Form<MoveForm>,
) -> Response {
    // Empty: out of every team; anything else must be a user id.
    let supervisor = match form.supervisor.as_str() {
        "" => Ok(None),
        id => id.parse::<UserId>().map(Some),
    };
    let agent = form.agent;
    let done = act(&state, &admin, &form.csrf, move |store, actor, now| {
        let supervisor = supervisor.map_err(|_| ServiceError::NotFound(Missing::User))?;
        teams::move_agent(store, actor, agent, supervisor, now)
    })
    .await;
    match done {
        Ok(_) => Redirect::to("/console/admin/teams?done=moved").into_response(),
        Err(page) => page,
    }
}
