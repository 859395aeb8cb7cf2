//! The change feed and the audit log of the PostgreSQL store.

use chrono::{DateTime, Utc};
use postgres::Row;
use uuid::Uuid;

use super::db;
use super::rows::{col, seq_param};
use super::tx::PgTx;
use crate::store::{AuditRecord, FeedItem, FeedReader, StoreError};

/// Schema version 10: what a reader's page is found through, so that a page
/// costs the reader's rows and not the whole window of the feed after its
/// cursor ([`PgTx::feed_page_for`]).
pub(super) const MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS feed_by_case ON feed (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS feed_shared ON feed (seq) WHERE kind IN ('template', 'case_removed');
CREATE INDEX IF NOT EXISTS cases_by_agent ON cases (primary_agent);
CREATE INDEX IF NOT EXISTS cases_by_partner ON cases (partner) WHERE partner IS NOT NULL;
";

/// The columns of one feed row, apart from its sequence.
#[derive(Default)]
struct FeedColumns {
    kind: &'static str,
    case_id: Option<Uuid>,
    visit_id: Option<Uuid>,
    author: Option<Uuid>,
    entry_seq: Option<i64>,
    template_key: Option<String>,
    template_version: Option<i64>,
    removed_from: Option<Vec<Uuid>>,
}

/// Feed rows as one array per column, for one `UNNEST` insert.
#[derive(Default)]
struct FeedRows {
    seq: Vec<i64>,
    kind: Vec<&'static str>,
    case_id: Vec<Option<Uuid>>,
    visit_id: Vec<Option<Uuid>>,
    author: Vec<Option<Uuid>>,
    entry_seq: Vec<Option<i64>>,
    template_key: Vec<Option<String>>,
    template_version: Vec<Option<i64>>,
    removed_from: Vec<Option<String>>,
}

fn columns(item: &FeedItem) -> Result<FeedColumns, StoreError> {
    Ok(match item {
        FeedItem::Case { case_id } => FeedColumns {
            kind: "case",
            case_id: Some(*case_id),
            ..FeedColumns::default()
        },
        FeedItem::CaseRemoved { case_id, from } => FeedColumns {
            kind: "case_removed",
            case_id: Some(*case_id),
            removed_from: Some(from.clone()),
            ..FeedColumns::default()
        },
        FeedItem::Template { key, version } => FeedColumns {
            kind: "template",
            template_key: Some(key.clone()),
            template_version: Some(i64::from(*version)),
            ..FeedColumns::default()
        },
        FeedItem::VisitEntry {
            case_id,
            visit_id,
            author,
            seq,
        } => FeedColumns {
            kind: "visit_entry",
            case_id: Some(*case_id),
            visit_id: Some(*visit_id),
            author: Some(*author),
            entry_seq: Some(seq_param(*seq, "feed")?),
            ..FeedColumns::default()
        },
    })
}

impl PgTx<'_> {
    /// Numbers the feed rows this transaction appended and stores them, in
    /// two statements: the single-row counter moves past them (its row lock
    /// is held until the commit that follows at once, see the module
    /// documentation), then every row goes in with one `INSERT … SELECT
    /// FROM UNNEST`.
    pub(super) fn flush_feed(&self) -> Result<(), StoreError> {
        let items = std::mem::take(&mut *self.feed.borrow_mut());
        if items.is_empty() {
            return Ok(());
        }
        let count = i64::try_from(items.len()).map_err(|_| StoreError::Corrupt("feed"))?;
        let row = self
            .query_opt(
                "UPDATE feed_counter SET last = last + $1 RETURNING last",
                &[&count],
            )
            .map_err(db)?
            .ok_or(StoreError::Corrupt("feed_counter"))?;
        let last: i64 = col(&row, 0, "feed_counter")?;
        let first = last - count + 1;
        let mut rows = FeedRows::default();
        for (i, item) in (first..).zip(&items) {
            let c = columns(item)?;
            rows.seq.push(i);
            rows.kind.push(c.kind);
            rows.case_id.push(c.case_id);
            rows.visit_id.push(c.visit_id);
            rows.author.push(c.author);
            rows.entry_seq.push(c.entry_seq);
            rows.template_key.push(c.template_key);
            rows.template_version.push(c.template_version);
            // An array of arrays must be rectangular: each list goes as the
            // text of a uuid[] literal, cast back in SQL.
            rows.removed_from.push(c.removed_from.map(|from| {
                let ids: Vec<String> = from.iter().map(Uuid::to_string).collect();
                format!("{{{}}}", ids.join(","))
            }));
        }
        self.exec(
            "INSERT INTO feed (seq, kind, case_id, visit_id, author, entry_seq, template_key,
                     template_version, removed_from)
                 SELECT s, k, c, v, a, e, tk, tv, r::uuid[]
                 FROM UNNEST($1::bigint[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[],
                             $6::bigint[], $7::text[], $8::bigint[], $9::text[])
                     AS t(s, k, c, v, a, e, tk, tv, r)",
            &[
                &rows.seq,
                &rows.kind,
                &rows.case_id,
                &rows.visit_id,
                &rows.author,
                &rows.entry_seq,
                &rows.template_key,
                &rows.template_version,
                &rows.removed_from,
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn feed_page(
        &self,
        cursor: u64,
        limit: u32,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        let rows = self
            .query(
                "SELECT seq, kind, case_id, visit_id, author, entry_seq, template_key,
                     template_version, removed_from
                 FROM feed WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&cursor, &i64::from(limit)],
            )
            .map_err(db)?;
        feed_items(&rows)
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
        let rows = self
            .query(
                // Two index searches instead of a scan of the window: the rows
                // every reader gets (templates, removals; `feed_shared`), and
                // the rows of the reader's cases (`feed_by_case`, for each case
                // found through `cases_by_agent`, `cases_by_partner` or
                // `cases_by_supervisor`).
                "SELECT seq, kind, case_id, visit_id, author, entry_seq, template_key,
                     template_version, removed_from
                 FROM feed
                 WHERE kind IN ('template', 'case_removed') AND seq > $1 AND seq <= $2
                 UNION ALL
                 SELECT seq, kind, case_id, visit_id, author, entry_seq, template_key,
                     template_version, removed_from
                 FROM feed
                 WHERE case_id IN (SELECT id FROM cases WHERE primary_agent = $4
                                   UNION ALL SELECT id FROM cases WHERE partner = $4
                                   UNION ALL SELECT id FROM cases WHERE supervisor_id = $5)
                   AND seq > $1 AND seq <= $2
                   AND kind IN ('case', 'visit_entry')
                   AND author IS DISTINCT FROM $6
                 ORDER BY seq LIMIT $3",
                &[
                    &cursor,
                    &through,
                    &i64::from(limit),
                    &reader.agent,
                    &reader.supervisor,
                    &reader.device,
                ],
            )
            .map_err(db)?;
        feed_items(&rows)
    }

    pub(super) fn feed_newest(&self) -> Result<u64, StoreError> {
        let rows = self
            .query("SELECT coalesce(max(seq), 0) FROM feed", &[])
            .map_err(db)?;
        let newest: i64 = match rows.first() {
            Some(row) => col(row, 0, "feed")?,
            None => 0,
        };
        u64::try_from(newest).map_err(|_| StoreError::Corrupt("feed"))
    }
}

impl PgTx<'_> {
    pub(super) fn audit_append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id, code)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &record.at,
                &record.user,
                &record.device,
                &record.action,
                &record.target_kind,
                &record.target_id,
                &record.code,
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn audit_all(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_rows(
            "SELECT at, user_id, device_id, action, target_kind, target_id, code FROM audit
             ORDER BY id",
            &[],
        )
    }

    pub(super) fn audit_about(
        &self,
        target_kind: &str,
        target_id: &str,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_rows(
            "SELECT at, user_id, device_id, action, target_kind, target_id, code FROM audit
             WHERE target_kind = $1 AND target_id = $2 ORDER BY id",
            &[&target_kind, &target_id],
        )
    }

    /// The audit rows `sql` selects (the columns of [`AuditRecord`], in order).
    fn audit_rows(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = self.query(sql, params).map_err(db)?;
        rows.iter()
            .map(|row| {
                let at: DateTime<Utc> = col(row, 0, "audit")?;
                Ok(AuditRecord {
                    at,
                    user: col(row, 1, "audit")?,
                    device: col(row, 2, "audit")?,
                    action: col(row, 3, "audit")?,
                    target_kind: col(row, 4, "audit")?,
                    target_id: col(row, 5, "audit")?,
                    code: col(row, 6, "audit")?,
                })
            })
            .collect()
    }
}

/// Feed rows read with the columns of [`PgTx::feed_page`], as feed items.
fn feed_items(rows: &[Row]) -> Result<Vec<(u64, FeedItem)>, StoreError> {
    let corrupt = || StoreError::Corrupt("feed");
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = col(row, 0, "feed")?;
        let kind: &str = col(row, 1, "feed")?;
        let case_id: Option<Uuid> = col(row, 2, "feed")?;
        let item = match kind {
            "case" => FeedItem::Case {
                case_id: case_id.ok_or_else(corrupt)?,
            },
            "case_removed" => FeedItem::CaseRemoved {
                case_id: case_id.ok_or_else(corrupt)?,
                from: col::<Option<Vec<Uuid>>>(row, 8, "feed")?.unwrap_or_default(),
            },
            "template" => FeedItem::Template {
                key: col::<Option<String>>(row, 6, "feed")?.ok_or_else(corrupt)?,
                version: col::<Option<i64>>(row, 7, "feed")?
                    .and_then(|v| u32::try_from(v).ok())
                    .ok_or_else(corrupt)?,
            },
            "visit_entry" => FeedItem::VisitEntry {
                case_id: case_id.ok_or_else(corrupt)?,
                visit_id: col::<Option<Uuid>>(row, 3, "feed")?.ok_or_else(corrupt)?,
                author: col::<Option<Uuid>>(row, 4, "feed")?.ok_or_else(corrupt)?,
                seq: col::<Option<i64>>(row, 5, "feed")?
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(corrupt)?,
            },
            _ => return Err(corrupt()),
        };
        out.push((u64::try_from(seq).map_err(|_| corrupt())?, item));
    }
    Ok(out)
}
