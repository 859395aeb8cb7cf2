//! The bank's field policy as the server last sent it, kept with the device's
//! other small values ([`meta`]): a newer version replaces an older one, an
//! older or equal one changes nothing.

use rusqlite::{Connection, Transaction};

use super::meta;
use crate::error::{Error, Result};
use crate::policy::PublishedPolicy;

/// The newest policy the server sent, if any.
pub fn published(conn: &Connection) -> Result<Option<PublishedPolicy>> {
    meta::get(conn, meta::POLICY)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|_| Error::Invalid {
                field: "policy",
                reason: "the stored policy is unreadable".into(),
            })
        })
        .transpose()
}

/// Keeps `policy` if it is newer than the one held; returns whether it was.
/// A policy that makes no sense is refused and the held one kept.
pub fn save(tx: &Transaction<'_>, policy: &PublishedPolicy) -> Result<bool> {
    policy.policy.check().map_err(|e| Error::Invalid {
        field: "policy",
        reason: e.to_string(),
    })?;
    if published(tx)?.is_some_and(|held| held.version >= policy.version) {
        return Ok(false);
    }
    let text = serde_json::to_string(policy).map_err(|_| Error::Invalid {
        field: "policy",
        reason: "the policy cannot be written".into(),
    })?;
    meta::set(tx, meta::POLICY, &text)?;
    Ok(true)
}
