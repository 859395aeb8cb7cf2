//! The bank's field policy on the server: contact hours, notice, geofence
//! and accuracy limits, retention. An admin publishes versions
//! ([`publish`], from the `publish-policy` command or the console's policy
//! page); each goes to every phone on its next
//! pull, and pushes are checked against it with the same rules the phones
//! run. Until an admin publishes one, the policy in force is
//! [`Policy::default`], which is also what a phone uses before its first pull.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::policy::{Policy, PublishedPolicy};

use crate::error::ServiceError;
use crate::store::{self, AuditRecord, Store, StoreError, StoreTx, UserRecord};

/// How long a superseded policy still admits changes: a phone that has not
/// pulled since a stricter version was published (offline in a village for
/// a few days) acted under the one it had, and its work is not refused for
/// that. Older versions admit nothing.
pub const POLICY_GRACE_DAYS: i64 = 7;

/// The policy in force and its version (0 before any is published).
pub fn in_force(tx: &dyn StoreTx) -> Result<PublishedPolicy, StoreError> {
    Ok(tx.policies(1)?.into_iter().next().map_or_else(
        || PublishedPolicy {
            version: 0,
            policy: Policy::default(),
        },
        |(published, _)| published,
    ))
}

/// The policies a change pushed `now` may meet, newest first: the one in
/// force, then those it replaced less than [`POLICY_GRACE_DAYS`] ago (a
/// version stops admitting changes once its successor is that old).
pub fn admitted(tx: &dyn StoreTx, now: DateTime<Utc>) -> Result<Vec<Policy>, StoreError> {
    let grace = Duration::days(POLICY_GRACE_DAYS);
    let versions = tx.policies(16)?;
    let mut admitted = Vec::new();
    // When the version after each one was published.
    let mut replaced_at: Option<DateTime<Utc>> = None;
    for (published, at) in versions {
        if replaced_at.is_some_and(|replaced| now - replaced > grace) {
            return Ok(admitted);
        }
        admitted.push(published.policy);
        replaced_at = Some(at);
    }
    // The default was in force before the first version.
    if replaced_at.is_none_or(|replaced| now - replaced <= grace) {
        admitted.push(Policy::default());
    }
    Ok(admitted)
}

/// Why an admin's field policy file is refused (all `422 invalid_policy`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyRefused {
    /// The file is not JSON; the parser's words.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The file is JSON but not an object.
    #[error("a policy is a JSON object")]
    NotAnObject,
    /// A field the policy does not have (a misspelling), as printable text.
    #[error("unknown field {0}")]
    UnknownField(String),
    /// A field's value is not of its type; the parser's words.
    #[error("{0}")]
    WrongValue(String),
    /// The policy reads but makes no sense (the core's check).
    #[error("{0}")]
    Senseless(doorstep_core::policy::PolicyError),
}

/// Reads a field policy from an admin's JSON (a file, or the console's
/// form): every field it names must be one the policy has (a misspelt field
/// would otherwise be silently left at its default), and fields it leaves
/// out keep the defaults.
pub fn policy_from_json(text: &str) -> Result<Policy, ServiceError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| PolicyRefused::NotJson(e.to_string()))?;
    let known = serde_json::to_value(Policy::default()).map_err(|e| ServiceError::internal(&e))?;
    let (Some(fields), Some(known)) = (value.as_object(), known.as_object()) else {
        return Err(PolicyRefused::NotAnObject.into());
    };
    if let Some(unknown) = fields.keys().find(|key| !known.contains_key(*key)) {
        return Err(PolicyRefused::UnknownField(crate::text::visible_line(unknown)).into());
    }
    serde_json::from_value(value).map_err(|e| PolicyRefused::WrongValue(e.to_string()).into())
}

/// The policy in force (version 0 before any is published).
pub fn current(store: &dyn Store) -> Result<PublishedPolicy, ServiceError> {
    store::read(store, |tx| Ok::<_, ServiceError>(in_force(tx)?))
}

/// The newest `limit` published versions, newest first, with when each was
/// published.
pub fn history(
    store: &dyn Store,
    limit: u32,
) -> Result<Vec<(PublishedPolicy, DateTime<Utc>)>, ServiceError> {
    store::read(store, |tx| Ok::<_, ServiceError>(tx.policies(limit)?))
}

/// Publishes `policy` as the bank's next field policy version; returns the
/// version. Phones take it up on their next pull, and pushes are checked
/// against it from now on (and, for [`POLICY_GRACE_DAYS`], also against the
/// one it replaces). A policy that makes no sense, or one equal to the
/// policy in force, is refused. Audited as `publish_policy` (the command) or
/// `console_publish_policy` by `actor`.
pub fn publish(
    store: &dyn Store,
    actor: Option<&UserRecord>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<u32, ServiceError> {
    policy.check().map_err(PolicyRefused::Senseless)?;
    store::write(store, |tx| {
        let in_force = in_force(tx)?;
        if in_force.policy == *policy {
            return Err(ServiceError::PolicyUnchanged {
                in_force: in_force.version,
            });
        }
        let published = PublishedPolicy {
            version: in_force.version + 1,
            policy: policy.clone(),
        };
        if !tx.insert_policy(&published, now)? {
            return Err(ServiceError::PolicyExists);
        }
        tx.append_audit(&AuditRecord {
            at: now,
            user: actor.map(|a| a.id),
            device: None,
            action: if actor.is_some() {
                "console_publish_policy"
            } else {
                "publish_policy"
            }
            .to_owned(),
            target_kind: "policy".into(),
            target_id: published.version.to_string(),
            code: None,
        })?;
        Ok(published.version)
    })
}
