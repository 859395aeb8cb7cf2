//! Small device-wide values: this device's id, the signed-in agent, the clock
//! floor, and the sync bookkeeping (pull cursor, token and refresh credential, last outcome,
//! backoff).

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;

/// This device's id (also its clock's node id).
pub const DEVICE_ID: &str = "device_id";
/// The agent signed in on this device.
pub const AGENT_ID: &str = "agent_id";
/// The highest clock stamp seen that is not also in the outbox.
pub const CLOCK_FLOOR: &str = "clock_floor";

/// The server sequence number the next pull starts after.
pub const SYNC_CURSOR: &str = "sync_cursor";
/// The bearer token from the last login.
pub const SYNC_TOKEN: &str = "sync_token";
/// When [`SYNC_TOKEN`] expires (RFC 3339).
pub const SYNC_TOKEN_EXPIRES_AT: &str = "sync_token_expires_at";
/// The refresh credential from the last sign-in or refresh: exchanged for the
/// next token (`POST /v1/refresh`) and replaced by the one that comes back,
/// in the same transaction. The password itself is never kept.
pub const SYNC_REFRESH: &str = "sync_refresh";
/// When a sync last completed (RFC 3339).
pub const SYNC_LAST_SUCCESS: &str = "sync_last_success";
/// Why the last sync failed (code and reason, no data); absent after a success.
pub const SYNC_LAST_ERROR: &str = "sync_last_error";
/// Failures in a row since the last success.
pub const SYNC_FAILURES: &str = "sync_failures";
/// No automatic sync before this instant (RFC 3339).
pub const SYNC_NEXT_ATTEMPT_AFTER: &str = "sync_next_attempt_after";
/// Set once the server has said this device is deactivated.
pub const DEACTIVATED: &str = "deactivated";
/// The bank's field policy as the server last sent it (JSON of a
/// [`crate::policy::PublishedPolicy`]).
pub const POLICY: &str = "policy";

/// Reads a value.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    let value = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    Ok(value)
}

/// Writes a value.
pub fn set(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

/// Removes a value.
pub fn remove(tx: &Transaction<'_>, key: &str) -> Result<()> {
    tx.prepare_cached("DELETE FROM meta WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Raises the stored clock floor to `stamp` if it is higher (stamps are
/// fixed-width text, so text order is clock order).
pub fn raise_clock_floor(tx: &Transaction<'_>, stamp: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )?
    .execute(params![CLOCK_FLOOR, stamp])?;
    Ok(())
}
