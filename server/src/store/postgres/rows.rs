//! Row mapping of the PostgreSQL store: reading a row's columns into the
//! store's records, and the codes and numbers written for them.

use doorstep_core::sync::protocol::{RejectCode, Role};
use postgres::Row;

use crate::store::sqlite::reject_from;
use crate::store::{StoreError, StoredEntry, UserRecord};

/// Reads column `i` of `row`, a type mismatch being a corrupt row of `table`.
pub(super) fn col<'r, T: postgres::types::FromSql<'r>>(
    row: &'r Row,
    i: usize,
    table: &'static str,
) -> Result<T, StoreError> {
    row.try_get(i).map_err(|_| StoreError::Corrupt(table))
}

/// A stored role.
pub(super) fn role_from(code: &str) -> Result<Role, StoreError> {
    Role::from_code(code).ok_or(StoreError::Corrupt("users"))
}

pub(super) fn opt_reject(
    code: Option<String>,
    table: &'static str,
) -> Result<Option<RejectCode>, StoreError> {
    code.map(|c| reject_from(&c).ok_or(StoreError::Corrupt(table)))
        .transpose()
}

pub(super) fn seq_param(seq: u64, table: &'static str) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(table))
}

pub(super) fn user_from(row: &Row) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: col(row, 0, "users")?,
        username: col(row, 1, "users")?,
        password_hash: col(row, 2, "users")?,
        role: role_from(col(row, 3, "users")?)?,
        supervisor: col(row, 4, "users")?,
        active: col(row, 5, "users")?,
    })
}

pub(super) fn stored_entry(row: &Row) -> Result<StoredEntry, StoreError> {
    let body: &str = col(row, 0, "visit_entries")?;
    Ok(StoredEntry {
        entry: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("visit_entries"))?,
        rejected: opt_reject(col(row, 1, "visit_entries")?, "visit_entries")?,
        reassigned: col(row, 2, "visit_entries")?,
    })
}
