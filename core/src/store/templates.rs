//! Published checklist templates. A (key, version) is immutable: storing it again
//! with other content is refused.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::checklist::ChecklistTemplate;
use crate::error::{Error, Result};

/// Stores a template; storing the same content again is a no-op.
pub fn save(tx: &Transaction<'_>, template: &ChecklistTemplate) -> Result<()> {
    let hash = template.content_hash();
    let existing: Option<String> = tx
        .prepare_cached("SELECT content_hash FROM templates WHERE key = ?1 AND version = ?2")?
        .query_row(params![template.key(), template.version()], |row| {
            row.get(0)
        })
        .optional()?;
    match existing {
        Some(stored) if stored == hash => Ok(()),
        Some(_) => Err(Error::TemplateChanged),
        None => {
            tx.prepare_cached(
                "INSERT INTO templates (key, version, content_hash, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                template.key(),
                template.version(),
                hash,
                template.to_json()
            ])?;
            Ok(())
        }
    }
}

/// One template version.
pub fn get(conn: &Connection, key: &str, version: u32) -> Result<ChecklistTemplate> {
    let body: String = conn
        .prepare_cached("SELECT body FROM templates WHERE key = ?1 AND version = ?2")?
        .query_row(params![key, version], |row| row.get(0))
        .optional()?
        .ok_or(Error::UnknownTemplate)?;
    Ok(ChecklistTemplate::from_json(&body)?)
}

/// The newest version of a template, used when a visit is planned.
pub fn latest_version(conn: &Connection, key: &str) -> Result<u32> {
    conn.prepare_cached("SELECT max(version) FROM templates WHERE key = ?1")?
        .query_row([key], |row| row.get::<_, Option<u32>>(0))?
        .ok_or(Error::UnknownTemplate)
}
