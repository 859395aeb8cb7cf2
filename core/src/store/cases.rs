//! Cases on the device: stored as the server sent them, with copies of the fields
//! the case list filters and sorts by.

use chrono::NaiveDate;
use rusqlite::{
    Connection, OptionalExtension, Transaction, params, params_from_iter, types::Value,
};
use serde::{Deserialize, Serialize};

use crate::domain::{Case, CaseId, CaseStatus, OverdueBucket};
use crate::error::{Error, Result};
use crate::money::Money;
use crate::store::uuid_at;

/// Most cases one page of the case list returns.
pub const MAX_PAGE_SIZE: u32 = 200;

/// What the case list shows, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseQuery {
    /// Only cases in this status.
    pub status: Option<CaseStatus>,
    /// Only cases in this overdue bucket.
    pub bucket: Option<OverdueBucket>,
    /// Only cases whose customer name, reference, phone or address contains this text.
    pub text: Option<String>,
    /// Page size, 1 to [`MAX_PAGE_SIZE`].
    pub limit: u32,
    /// Number of cases to skip.
    pub offset: u32,
}

/// One row of the case list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Case id.
    pub id: CaseId,
    /// The bank's reference.
    pub external_ref: String,
    /// Customer name.
    pub customer_name: String,
    /// Overdue amount.
    pub overdue_amount: Money,
    /// Days past due.
    pub days_past_due: u32,
    /// Overdue bucket.
    pub bucket: OverdueBucket,
    /// Priority, 5 most urgent.
    pub priority: u8,
    /// Visit due by.
    pub due_date: NaiveDate,
    /// Status.
    pub status: CaseStatus,
}

impl From<&Case> for CaseSummary {
    fn from(case: &Case) -> CaseSummary {
        CaseSummary {
            id: case.id,
            external_ref: case.external_ref.clone(),
            customer_name: case.customer.name.clone(),
            overdue_amount: case.overdue_amount.clone(),
            days_past_due: case.days_past_due,
            bucket: case.bucket(),
            priority: case.priority,
            due_date: case.due_date,
            status: case.status,
        }
    }
}

/// Inserts or replaces a case received from the server.
pub fn upsert(tx: &Transaction<'_>, case: &Case) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO cases (id, external_ref, status, bucket, priority, due_date, search_text, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET external_ref = excluded.external_ref,
             status = excluded.status, bucket = excluded.bucket, priority = excluded.priority,
             due_date = excluded.due_date, search_text = excluded.search_text, body = excluded.body",
    )?
    .execute(params![
        case.id.as_bytes(),
        case.external_ref,
        case.status.code(),
        case.bucket().code(),
        case.priority,
        case.due_date.to_string(),
        case.search_text(),
        serde_json::to_string(case)?,
    ])?;
    Ok(())
}

/// One case.
pub fn get(conn: &Connection, id: CaseId) -> Result<Case> {
    let body: String = conn
        .prepare_cached("SELECT body FROM cases WHERE id = ?1")?
        .query_row([id.as_bytes()], |row| row.get(0))
        .optional()?
        .ok_or(Error::NotFound("case"))?;
    Ok(serde_json::from_str(&body)?)
}

/// Sets a case's status as the device's visits move it along.
pub fn set_status(tx: &Transaction<'_>, id: CaseId, status: CaseStatus) -> Result<()> {
    let changed = tx
        .prepare_cached(
            "UPDATE cases SET status = ?2, body = json_set(body, '$.status', ?2) WHERE id = ?1",
        )?
        .execute(params![id.as_bytes(), status.code()])?;
    if changed == 0 {
        return Err(Error::NotFound("case"));
    }
    Ok(())
}

/// Removes a case and, through foreign keys, its visits and their logs.
pub fn remove(tx: &Transaction<'_>, id: CaseId) -> Result<()> {
    tx.prepare_cached("DELETE FROM cases WHERE id = ?1")?
        .execute([id.as_bytes()])?;
    Ok(())
}

/// One page of the case list, most urgent first, then by due date.
pub fn list(conn: &Connection, query: &CaseQuery) -> Result<Vec<CaseSummary>> {
    if query.limit == 0 || query.limit > MAX_PAGE_SIZE {
        return Err(Error::Invalid {
            field: "limit",
            reason: format!("page size must be 1 to {MAX_PAGE_SIZE}"),
        });
    }
    let mut sql = String::from("SELECT body FROM cases WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(status) = query.status {
        sql.push_str(" AND status = ?");
        args.push(Value::Text(status.code().to_owned()));
    }
    if let Some(bucket) = query.bucket {
        sql.push_str(" AND bucket = ?");
        args.push(Value::Text(bucket.code().to_owned()));
    }
    if let Some(text) = query
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        sql.push_str(" AND search_text LIKE ? ESCAPE '\\'");
        args.push(Value::Text(format!(
            "%{}%",
            escape_like(&text.to_lowercase())
        )));
    }
    sql.push_str(" ORDER BY priority DESC, due_date, id LIMIT ? OFFSET ?");
    args.push(Value::Integer(query.limit.into()));
    args.push(Value::Integer(query.offset.into()));
    let mut statement = conn.prepare_cached(&sql)?;
    let bodies = statement.query_map(params_from_iter(args), |row| row.get::<_, String>(0))?;
    let mut page = Vec::with_capacity(query.limit as usize);
    for body in bodies {
        let case: Case = serde_json::from_str(&body?)?;
        page.push(CaseSummary::from(&case));
    }
    Ok(page)
}

/// Ids of every case on the device.
pub fn ids(conn: &Connection) -> Result<Vec<CaseId>> {
    let mut statement = conn.prepare_cached("SELECT id FROM cases")?;
    let ids = statement.query_map([], |row| uuid_at(row, 0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
