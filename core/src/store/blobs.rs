//! Attachment bytes, addressed by SHA-256 and stored inside the encrypted database,
//! so a photo is never readable off a lost phone.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::Result;

/// Stores bytes under their hash; storing the same bytes twice keeps one copy.
pub fn put(tx: &Transaction<'_>, sha256: &str, bytes: &[u8]) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO attachment_blobs (sha256, bytes) VALUES (?1, ?2)")?
        .execute(params![sha256, bytes])?;
    Ok(())
}

/// The bytes stored under a hash.
pub fn get(conn: &Connection, sha256: &str) -> Result<Option<Vec<u8>>> {
    let bytes = conn
        .prepare_cached("SELECT bytes FROM attachment_blobs WHERE sha256 = ?1")?
        .query_row([sha256], |row| row.get(0))
        .optional()?;
    Ok(bytes)
}
