//! The admin's field policy page: the values of the version in force, the
//! versions published, and publishing a new version from the form's fields
//! or from JSON, through the same service and rules as the `publish-policy`
//! command ([`crate::service::policy`]). A policy that makes no sense, or
//! one equal to the policy in force, is refused and nothing is published.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use doorstep_core::policy::Policy;
use serde_json::{Map, Value};

use super::AdminSigned;
use crate::console::format::show_time;
use crate::console::i18n::TemplatesText;
use crate::console::{Chrome, ConsoleState, Signed, app_failure, blocking, render};
use crate::error::ServiceError;
use crate::service::policy;

/// How many published versions the page lists.
pub const HISTORY: u32 = 50;

/// One field of the policy, with its value in force.
pub struct PolicyField {
    /// The field's name in the policy JSON.
    pub name: String,
    /// Its value as the form shows it.
    pub value: String,
    /// The input's type: `time`, `number` or `yes_no`.
    pub input: &'static str,
}

/// What the last form did.
pub enum PolicyResult {
    /// Published as this version.
    Published(u32),
    /// Refused: why (the rule's words).
    Refused(String),
    /// Equal to the policy in force.
    Unchanged,
}

/// `GET /console/admin/policy`.
#[derive(askama::Template)]
#[template(path = "console/admin_policy.html")]
pub struct PolicyPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The page's strings.
    pub s: &'static TemplatesText,
    /// The version in force (0: the default).
    pub version: u32,
    /// Its fields.
    pub fields: Vec<PolicyField>,
    /// The versions published, newest first, with when (UTC).
    pub history: Vec<(u32, String)>,
    /// What the last form did.
    pub result: Option<PolicyResult>,
}

/// The policy's fields in the order the page names them (the order of
/// `Policy`'s fields), each with its value and input.
fn fields_of(policy: &Policy, s: &TemplatesText) -> Vec<PolicyField> {
    let Ok(Value::Object(values)) = serde_json::to_value(policy) else {
        return Vec::new();
    };
    s.policy_fields
        .iter()
        .filter_map(|(name, _)| values.get(*name).map(|value| (name, value)))
        .map(|(name, value)| {
            let (value, input) = match value {
                Value::Bool(b) => (b.to_string(), "yes_no"),
                Value::Number(n) => (n.to_string(), "number"),
                Value::String(text) => (text.clone(), "time"),
                other => (other.to_string(), "text"),
            };
            PolicyField {
                name: (*name).to_owned(),
                value,
                input,
            }
        })
        .collect()
}

async fn show(
    state: &ConsoleState,
    signed: &Signed,
    status: StatusCode,
    result: Option<PolicyResult>,
) -> Response {
    let lang = signed.lang;
    let store = state.store.clone();
    let found = blocking(move || {
        Ok((
            policy::current(store.as_ref())?,
            policy::history(store.as_ref(), HISTORY)?,
        ))
    })
    .await;
    match found {
        Ok((current, history)) => {
            let page = PolicyPage {
                chrome: signed.chrome(),
                s: &lang.text().templates,
                version: current.version,
                fields: fields_of(&current.policy, &lang.text().templates),
                history: history
                    .into_iter()
                    .map(|(published, at)| (published.version, show_time(at, 0)))
                    .collect(),
                result,
            };
            render(lang, status, &page)
        }
        Err(err) => app_failure(lang, &err),
    }
}

/// `GET /console/admin/policy`.
pub async fn page(State(state): State<ConsoleState>, AdminSigned(signed): AdminSigned) -> Response {
    show(&state, &signed, StatusCode::OK, None).await
}

/// The policy JSON the form describes: its `json` field when filled, else an
/// object of the policy's fields typed as the policy types them (a value of
/// the wrong type is left as text, for the policy's rules to refuse).
fn json_of(form: &HashMap<String, String>) -> String {
    if let Some(json) = form.get("json").filter(|j| !j.trim().is_empty()) {
        return json.clone();
    }
    let Ok(Value::Object(known)) = serde_json::to_value(Policy::default()) else {
        return String::new();
    };
    let mut object = Map::new();
    for (name, default) in known {
        let Some(text) = form.get(&name).map(|v| v.trim()) else {
            continue;
        };
        let value = match default {
            Value::Bool(_) => Value::Bool(text == "true"),
            Value::Number(_) => text
                .parse::<u64>()
                .map_or_else(|_| Value::String(text.to_owned()), Value::from),
            _ => Value::String(text.to_owned()),
        };
        object.insert(name, value);
    }
    Value::Object(object).to_string()
}

/// `POST /console/admin/policy`: publishes the form's policy as the next
/// version (422 when refused, 409 when it is the policy in force).
pub async fn publish(
    State(state): State<ConsoleState>,
    AdminSigned(signed): AdminSigned,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !signed.csrf_matches(form.get("csrf").map_or("", String::as_str)) {
        return signed.csrf_refused(&state).await;
    }
    let json = json_of(&form);
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let published = blocking(move || {
        Ok(policy::policy_from_json(&json)
            .and_then(|policy| policy::publish(store.as_ref(), Some(&user), &policy, now)))
    })
    .await;
    let (status, result) = match published {
        Ok(Ok(version)) => (StatusCode::OK, PolicyResult::Published(version)),
        Ok(Err(ServiceError::InvalidPolicy(refused))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            PolicyResult::Refused(crate::text::visible_line(&refused.to_string())),
        ),
        Ok(Err(ServiceError::PolicyUnchanged { .. })) => {
            (StatusCode::CONFLICT, PolicyResult::Unchanged)
        }
        Ok(Err(err)) | Err(err) => return app_failure(signed.lang, &err),
    };
    show(&state, &signed, status, Some(result)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::i18n::Lang;

    /// The page names every field of the policy, so that a field added to
    /// `Policy` is on the form (and not reset to its default by the next
    /// version published from it).
    #[test]
    fn the_page_names_every_field_of_the_policy() {
        for lang in [Lang::Zh, Lang::En] {
            let shown: Vec<String> = fields_of(&Policy::default(), &lang.text().templates)
                .into_iter()
                .map(|f| f.name)
                .collect();
            let Ok(Value::Object(all)) = serde_json::to_value(Policy::default()) else {
                panic!("a policy is an object");
            };
            let mut shown_sorted = shown.clone();
            shown_sorted.sort();
            let all: Vec<String> = all.keys().cloned().collect();
            assert_eq!(shown_sorted, all);
            assert_eq!(
                shown.first().map(String::as_str),
                Some("contact_hours_start")
            );
        }
    }
}
