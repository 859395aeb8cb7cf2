//! The bank's field policy on the server: contact hours, notice, geofence
//! and accuracy limits, retention. An admin publishes versions
//! ([`crate::admin::publish_policy`]); each goes to every phone on its next
//! pull, and pushes are checked against it with the same rules the phones
//! run. Until an admin publishes one, the policy in force is
//! [`Policy::default`], which is also what a phone uses before its first pull.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::policy::{Policy, PublishedPolicy};

use crate::store::{StoreError, StoreTx};

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
