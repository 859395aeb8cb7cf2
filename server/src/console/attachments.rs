//! Photos and other attachments of a visit, served only to the supervisor of
//! the visit's team, by position in the visit's attachment list (the URL holds
//! ids and a number only; never a hash a third party could look up).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use doorstep_core::domain::{Attachment, UserId, VisitId};

use super::report::team_visit;
use super::{ConsoleState, Signed, app_failure, blocking, failure};
use crate::blobs::BlobStore;
use crate::error::AppError;
use crate::store::{self, AuditRecord, Store};

/// The bytes of an attachment, if the server holds them (a phone may not have
/// uploaded them yet).
pub fn attachment_bytes(
    blobs: &BlobStore,
    attachment: &Attachment,
) -> Result<Option<Vec<u8>>, AppError> {
    blobs
        .read(&attachment.sha256)
        .map_err(crate::service::attachments::blob_failure)
}

/// Finds attachment `index` of a visit of `supervisor`'s team and writes the
/// view to the audit log; `None` if the visit is not the team's or has no
/// such attachment.
pub fn team_attachment(
    store: &dyn Store,
    supervisor: UserId,
    visit_id: VisitId,
    index: usize,
    now: DateTime<Utc>,
) -> Result<Option<Attachment>, AppError> {
    let found = store::read(store, |tx| {
        let Some((history, _, _)) = team_visit(tx, supervisor, visit_id)? else {
            return Ok(None);
        };
        Ok::<_, AppError>(history.attachments.get(index).cloned())
    })?;
    if found.is_some() {
        store::write(store, |tx| {
            tx.append_audit(&AuditRecord {
                at: now,
                user: Some(supervisor),
                device: None,
                action: "console_view_attachment".into(),
                target_kind: "visit".into(),
                target_id: visit_id.to_string(),
            })?;
            Ok::<_, AppError>(())
        })?;
    }
    Ok(found)
}

/// `GET /console/visits/{visit_id}/attachments/{index}`.
pub async fn photo(
    State(state): State<ConsoleState>,
    signed: Signed,
    path: Result<Path<(VisitId, usize)>, axum::extract::rejection::PathRejection>,
) -> Response {
    let lang = signed.lang;
    let Ok(Path((visit_id, index))) = path else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let blobs = state.blobs.clone();
    let now = state.clock.now();
    let supervisor = signed.user.id;
    let served = blocking(move || {
        let Some(attachment) = team_attachment(store.as_ref(), supervisor, visit_id, index, now)?
        else {
            return Ok(None);
        };
        Ok(attachment_bytes(&blobs, &attachment)?.map(|bytes| (attachment, bytes)))
    })
    .await;
    match served {
        Ok(Some((attachment, bytes))) => {
            let mime = HeaderValue::from_str(&attachment.mime_type)
                .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("private, no-store"),
                    ),
                    (
                        header::HeaderName::from_static("x-content-type-options"),
                        HeaderValue::from_static("nosniff"),
                    ),
                    // A signature may be SVG: whatever a phone sent runs nothing.
                    (
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_static("default-src 'none'; sandbox"),
                    ),
                ],
                bytes,
            )
                .into_response()
        }
        Ok(None) => failure(lang, StatusCode::NOT_FOUND, lang.text().not_found),
        Err(err) => app_failure(lang, &err),
    }
}
