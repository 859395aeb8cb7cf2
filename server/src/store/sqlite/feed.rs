//! The change feed and the audit log of the SQLite store.

use rusqlite::params;
use uuid::Uuid;

use super::rows::{db, opt_uuid, time_col, uuid_col};
use super::tx::SqliteTx;
use crate::store::{AuditRecord, FeedItem, FeedReader, StoreError};

/// Schema version 10: what a reader's page is found through, so that a page
/// costs the reader's rows and not the whole window of the feed after its
/// cursor ([`SqliteTx::feed_page_for`]).
pub(super) const MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS feed_by_case ON feed (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feed_shared ON feed (seq) WHERE kind IN ('template', 'case_removed');
CREATE INDEX IF NOT EXISTS cases_by_agent ON cases (primary_agent);
CREATE INDEX IF NOT EXISTS cases_by_partner ON cases (partner) WHERE partner IS NOT NULL;
";

/// The columns a feed row is read from, in the order [`SqliteTx::feed_rows`]
/// maps them.
const FEED_COLUMNS: &str = "seq, kind, case_id, visit_id, author, entry_seq, template_key,
     template_version, removed_from";

impl SqliteTx<'_> {
    pub(super) fn feed_append(&self, item: &FeedItem) -> Result<u64, StoreError> {
        let none: Option<String> = None;
        let (kind, case_id, visit_id, author, entry_seq, key, version, from) = match item {
            FeedItem::Case { case_id } => (
                "case",
                Some(case_id.to_string()),
                none.clone(),
                none.clone(),
                None,
                none.clone(),
                None,
                none.clone(),
            ),
            FeedItem::CaseRemoved { case_id, from } => (
                "case_removed",
                Some(case_id.to_string()),
                none.clone(),
                none.clone(),
                None,
                none.clone(),
                None,
                Some(
                    from.iter()
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ),
            FeedItem::Template { key, version } => (
                "template",
                none.clone(),
                none.clone(),
                none.clone(),
                None,
                Some(key.clone()),
                Some(*version),
                none.clone(),
            ),
            FeedItem::VisitEntry {
                case_id,
                visit_id,
                author,
                seq,
            } => (
                "visit_entry",
                Some(case_id.to_string()),
                Some(visit_id.to_string()),
                Some(author.to_string()),
                Some(i64::try_from(*seq).map_err(|_| StoreError::Corrupt("feed"))?),
                none.clone(),
                None,
                none,
            ),
        };
        self.exec(
            "INSERT INTO feed (kind, case_id, visit_id, author, entry_seq, template_key,
                     template_version, removed_from) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                kind, case_id, visit_id, author, entry_seq, key, version, from
            ],
        )
        .map_err(db)?;
        u64::try_from(self.0.last_insert_rowid()).map_err(|_| StoreError::Corrupt("feed"))
    }

    pub(super) fn feed_page(
        &self,
        cursor: u64,
        limit: u32,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        self.feed_rows(
            &format!("SELECT {FEED_COLUMNS} FROM feed WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
            params![cursor, limit],
        )
    }

    pub(super) fn feed_page_for(
        &self,
        reader: &FeedReader,
        cursor: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        // Two index searches instead of a scan of the window: the rows every
        // reader gets (templates, removals; `feed_shared`), and the rows of
        // the reader's cases (`feed_by_case`, for each case found through
        // `cases_by_agent`, `cases_by_partner` or `cases_by_supervisor`).
        self.feed_rows(
            &format!(
                "SELECT {FEED_COLUMNS} FROM feed
                 WHERE kind IN ('template', 'case_removed') AND seq > ?1 AND seq <= ?2
                 UNION ALL
                 SELECT {FEED_COLUMNS} FROM feed
                 WHERE case_id IN (SELECT id FROM cases WHERE primary_agent = ?4
                                   UNION ALL SELECT id FROM cases WHERE partner = ?4
                                   UNION ALL SELECT id FROM cases WHERE supervisor_id = ?5)
                   AND seq > ?1 AND seq <= ?2
                   AND kind IN ('case', 'visit_entry')
                   AND (author IS NULL OR author <> ?6)
                 ORDER BY seq LIMIT ?3"
            ),
            params![
                cursor,
                through,
                limit,
                reader.agent.map(|u| u.to_string()),
                reader.supervisor.map(|u| u.to_string()),
                reader.device.to_string()
            ],
        )
    }

    pub(super) fn feed_newest(&self) -> Result<u64, StoreError> {
        let newest: Option<i64> = self
            .row("SELECT max(seq) FROM feed", [], |r| r.get(0))
            .map_err(db)?;
        u64::try_from(newest.unwrap_or(0)).map_err(|_| StoreError::Corrupt("feed"))
    }

    fn feed_rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        type FeedRow = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<u32>,
            Option<String>,
        );
        let rows = stmt
            .query_map(params, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .map_err(db)?;
        let corrupt = || StoreError::Corrupt("feed");
        let mut out = Vec::new();
        for row in rows {
            let (seq, kind, case_id, visit_id, author, entry_seq, key, version, from): FeedRow =
                row.map_err(db)?;
            let case_id = opt_uuid(case_id, "feed")?;
            let item = match kind.as_str() {
                "case" => FeedItem::Case {
                    case_id: case_id.ok_or_else(corrupt)?,
                },
                "case_removed" => FeedItem::CaseRemoved {
                    case_id: case_id.ok_or_else(corrupt)?,
                    from: from
                        .unwrap_or_default()
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| uuid_col(s, "feed"))
                        .collect::<Result<_, _>>()?,
                },
                "template" => FeedItem::Template {
                    key: key.ok_or_else(corrupt)?,
                    version: version.ok_or_else(corrupt)?,
                },
                "visit_entry" => FeedItem::VisitEntry {
                    case_id: case_id.ok_or_else(corrupt)?,
                    visit_id: opt_uuid(visit_id, "feed")?.ok_or_else(corrupt)?,
                    author: opt_uuid(author, "feed")?.ok_or_else(corrupt)?,
                    seq: entry_seq
                        .and_then(|s| u64::try_from(s).ok())
                        .ok_or_else(corrupt)?,
                },
                _ => return Err(corrupt()),
            };
            out.push((u64::try_from(seq).map_err(|_| corrupt())?, item));
        }
        Ok(out)
    }

    pub(super) fn audit_append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id, code)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                record.at.to_rfc3339(),
                record.user.map(|u| u.to_string()),
                record.device.map(|d| d.to_string()),
                record.action,
                record.target_kind,
                record.target_id,
                record.code
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn audit_all(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_rows("1 = 1", [])
    }

    pub(super) fn audit_about(
        &self,
        target_kind: &str,
        target_id: &str,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_rows(
            "target_kind = ?1 AND target_id = ?2",
            params![target_kind, target_id],
        )
    }

    /// The audit rows meeting `condition`, oldest first.
    fn audit_rows(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(&format!(
                "SELECT at, user_id, device_id, action, target_kind, target_id, code FROM audit
                 WHERE {condition} ORDER BY id"
            ))
            .map_err(db)?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (at, user, device, action, target_kind, target_id, code) = row.map_err(db)?;
            out.push(AuditRecord {
                at: time_col(&at, "audit")?,
                user: opt_uuid(user, "audit")?,
                device: opt_uuid(device, "audit")?,
                action,
                target_kind,
                target_id,
                code,
            });
        }
        Ok(out)
    }
}
