//! Checklist templates on the server: reading a template file (template JSON
//! or an XLSForm workbook, [`crate::xlsform`]), publishing a version, and
//! the versions an admin sees. The `publish-template` command and the
//! console's templates page both come here.
//!
//! A published version goes into the change feed, so every phone receives it
//! on its next pull; a phone plans new visits on the newest version of its
//! template key, and a visit keeps the version it was planned on.

use chrono::{DateTime, Utc};
use doorstep_core::checklist::{ChecklistTemplate, TemplateError};

use crate::error::{Missing, ServiceError};
use crate::store::{self, AuditRecord, FeedItem, Store, TemplateVersion, UserRecord};
use crate::xlsform;

/// Why a template file was refused: nothing was published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateFileRefused {
    /// Template JSON that does not parse or breaks a checklist rule.
    #[error("{0}")]
    Json(TemplateError),
    /// An XLSForm workbook with problems, each at its sheet, row and column.
    #[error("the workbook has problems; nothing was published:\n{0}")]
    Workbook(xlsform::Problems),
}

/// Reads a template file: an XLSForm workbook (an .xlsx, told by its zip
/// signature) or template JSON.
pub fn read_file(bytes: &[u8]) -> Result<ChecklistTemplate, TemplateFileRefused> {
    if xlsform::looks_like_workbook(bytes) {
        return xlsform::read(bytes).map_err(TemplateFileRefused::Workbook);
    }
    let text = String::from_utf8_lossy(bytes);
    ChecklistTemplate::from_json(&text).map_err(TemplateFileRefused::Json)
}

/// Publishes a template version: phones receive it on their next pull.
/// Republishing a key and version is refused (`409 template_exists`).
/// Audited as `publish_template` (the command) or `console_publish_template`
/// by `actor`.
pub fn publish(
    store: &dyn Store,
    actor: Option<&UserRecord>,
    template: &ChecklistTemplate,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store::write(store, |tx| {
        if !tx.insert_template(template)? {
            return Err(ServiceError::TemplateExists);
        }
        tx.append_feed(&FeedItem::Template {
            key: template.key().to_owned(),
            version: template.version(),
        })?;
        let target = format!("{}@{}", template.key(), template.version());
        audit_as(tx, now, actor, "publish_template", &target)
    })
}

/// Every published version, by key then version, with how many visits use
/// each.
pub fn versions(store: &dyn Store) -> Result<Vec<TemplateVersion>, ServiceError> {
    store::read(store, |tx| Ok::<_, ServiceError>(tx.template_versions()?))
}

/// One published version (`404` when there is none).
pub fn version(
    store: &dyn Store,
    key: &str,
    version: u32,
) -> Result<ChecklistTemplate, ServiceError> {
    store::read(store, |tx| {
        tx.template(key, version)?
            .ok_or(ServiceError::NotFound(Missing::Template))
    })
}

/// Retires a template version: no new visit starts on it from now on (a
/// visit planned on it later is refused as `unknown_template`, and the
/// phone, which starts visits on the newest version it has, starts them on
/// the newer one after its next sync); visits started on it keep it, and
/// phones keep receiving it. Only a version with a newer version of its key
/// that is not retired may be retired, so new visits always have one
/// (`409 template_not_retirable`). Audited as `retire_template` (the
/// command) or `console_retire_template` by `actor`.
pub fn retire(
    store: &dyn Store,
    actor: Option<&UserRecord>,
    key: &str,
    version: u32,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store::write(store, |tx| {
        tx.lock(crate::store::Lock::Templates)?;
        let versions = tx.template_versions()?;
        let found = versions
            .iter()
            .find(|v| v.key == key && v.version == version)
            .ok_or(ServiceError::NotFound(Missing::Template))?;
        let newer_in_use = versions
            .iter()
            .any(|v| v.key == key && v.version > version && v.retired_at.is_none());
        if found.retired_at.is_some() || !newer_in_use || !tx.retire_template(key, version, now)? {
            return Err(ServiceError::TemplateNotRetirable);
        }
        audit_as(
            tx,
            now,
            actor,
            "retire_template",
            &format!("{key}@{version}"),
        )
    })
}

/// Whether a visit planned at `planned_at` (the phone's clock) may start on
/// this template version: it exists and was not retired before then.
pub fn may_start_on(
    tx: &dyn crate::store::StoreTx,
    key: &str,
    version: u32,
    planned_at: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    Ok(tx
        .template_retired_at(key, version)?
        .is_none_or(|retired| planned_at < retired))
}

/// Audits `action` on a template: as the command's (no user), or as
/// `console_{action}` by the console's `actor`.
fn audit_as(
    tx: &dyn crate::store::StoreTx,
    now: DateTime<Utc>,
    actor: Option<&UserRecord>,
    action: &str,
    target: &str,
) -> Result<(), ServiceError> {
    tx.append_audit(&AuditRecord {
        at: now,
        user: actor.map(|a| a.id),
        device: None,
        action: match actor {
            Some(_) => format!("console_{action}"),
            None => action.to_owned(),
        },
        target_kind: "template".into(),
        target_id: target.to_owned(),
        code: None,
    })?;
    Ok(())
}
