//! Small device-wide values: this device's id, the signed-in agent, the clock floor.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;

/// This device's id (also its clock's node id).
pub const DEVICE_ID: &str = "device_id";
/// The agent signed in on this device.
pub const AGENT_ID: &str = "agent_id";
/// The highest clock stamp seen that is not also in the outbox.
pub const CLOCK_FLOOR: &str = "clock_floor";

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
