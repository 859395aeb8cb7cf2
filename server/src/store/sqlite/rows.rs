//! Mapping between the SQLite store's rows and the store's records: ids,
//! times and codes as stored, and the store's errors from SQLite's.

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::{RejectCode, Role};
use rusqlite::ErrorCode;
use uuid::Uuid;

use crate::store::{StoreError, StoredEntry, UserRecord};

/// A SQLite failure as a store error: a lock still held by another
/// connection when the busy timeout ran out is [`StoreError::Busy`] (try
/// again shortly). SQLite's messages name tables and columns, never values.
pub(super) fn db(err: rusqlite::Error) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
        _ => StoreError::Database(err.to_string()),
    }
}

/// A stored id; text that is not one is a corrupt row of `table`.
pub(super) fn uuid_col(text: &str, table: &'static str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| StoreError::Corrupt(table))
}

/// A stored optional id.
pub(super) fn opt_uuid(
    text: Option<String>,
    table: &'static str,
) -> Result<Option<Uuid>, StoreError> {
    text.map(|t| uuid_col(&t, table)).transpose()
}

/// A stored role.
pub(super) fn role_from(code: &str) -> Result<Role, StoreError> {
    Role::from_code(code).ok_or(StoreError::Corrupt("users"))
}

/// Parses a stored reject code.
pub fn reject_from(code: &str) -> Option<RejectCode> {
    RejectCode::from_code(code)
}

/// A stored optional reject code; an unknown one is a corrupt row of `table`.
pub(super) fn opt_reject(
    code: Option<String>,
    table: &'static str,
) -> Result<Option<RejectCode>, StoreError> {
    code.map(|c| reject_from(&c).ok_or(StoreError::Corrupt(table)))
        .transpose()
}

/// A stored RFC 3339 time.
pub(super) fn time_col(text: &str, table: &'static str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(table))
}

/// A failure of an insert, a constraint violation being a [`StoreError::Conflict`]
/// on `what`.
pub(super) fn conflict(err: rusqlite::Error, what: &'static str) -> StoreError {
    match err {
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what)
        }
        other => db(other),
    }
}

/// The columns a user is read from: id, username, password_hash, role,
/// supervisor_id, active.
pub(super) type UserRow = (String, String, String, String, Option<String>, bool);

/// A user from its row.
pub(super) fn user_from(row: UserRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: uuid_col(&row.0, "users")?,
        username: row.1,
        password_hash: row.2,
        role: role_from(&row.3)?,
        supervisor: opt_uuid(row.4, "users")?,
        active: row.5,
    })
}

/// A visit entry from its stored columns.
pub(super) fn stored_entry(
    body: String,
    rejected: Option<String>,
    reassigned: bool,
) -> Result<StoredEntry, StoreError> {
    Ok(StoredEntry {
        entry: serde_json::from_str(&body).map_err(|_| StoreError::Corrupt("visit_entries"))?,
        rejected: opt_reject(rejected, "visit_entries")?,
        reassigned,
    })
}
