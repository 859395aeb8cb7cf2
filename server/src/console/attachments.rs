//! Photos and other attachments of a visit, served only to those who may
//! read the visit and have its bytes ([`Access`]), by position in the visit's attachment list (the URL holds
//! ids and a number only; never a hash a third party could look up).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use doorstep_core::domain::{Attachment, VisitId};

use super::report::{Found, audit_view, readable_visit};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::access::Access;
use crate::blobs::{Blob, BlobStore};
use crate::error::ServiceError;
use crate::store::{self, Store};

/// The bytes of an attachment, as a stream, if the server holds them (a
/// phone may not have uploaded them yet).
pub fn attachment_bytes(
    blobs: &dyn BlobStore,
    attachment: &Attachment,
) -> Result<Option<Blob>, ServiceError> {
    blobs
        .open(&attachment.sha256)
        .map_err(crate::service::attachments::blob_failure)
}

/// Finds attachment `index` of a visit `access` may read, whose bytes it may
/// have ([`Access::may_download`]: sent by a device that declared them on a
/// visit it may read), and writes the view to the audit log; `None` if there
/// is no such visit or attachment, or the visit is another team's (that
/// refusal is audited too).
pub fn readable_attachment(
    store: &dyn Store,
    access: Access,
    visit_id: VisitId,
    index: usize,
    now: DateTime<Utc>,
) -> Result<Option<Attachment>, ServiceError> {
    let found = store::read(store, |tx| {
        let (history, _, _) = match readable_visit(tx, &access, visit_id)? {
            Found::Readable(found) => found,
            Found::Refused(refused) => return Ok(Found::Refused(refused)),
            Found::Missing => return Ok(Found::Missing),
        };
        let Some(attachment) = history.attachments.get(index).cloned() else {
            return Ok(Found::Missing);
        };
        let refs = tx.attachment_refs(&attachment.sha256)?;
        let uploaders = tx.uploaders(&attachment.sha256)?;
        if uploaders.is_empty() {
            // The phone has not sent the bytes yet.
            return Ok(Found::Readable(None));
        }
        if !access.may_download(tx, &refs, &uploaders)? {
            // Sent only by devices of visits this user may not read: the
            // hash was copied from someone else's photo.
            return Ok(Found::Refused(ServiceError::AttachmentNotVisible));
        }
        Ok::<_, ServiceError>(Found::Readable(Some(attachment)))
    })?;
    let action = "console_view_attachment";
    match found {
        Found::Readable(attachment) => {
            audit_view(store, &access, action, visit_id, None, now)?;
            Ok(attachment)
        }
        Found::Refused(refused) => {
            audit_view(store, &access, action, visit_id, Some(refused.code()), now)?;
            Ok(None)
        }
        Found::Missing => Ok(None),
    }
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
    let access = Access::of(&signed.user, None);
    let served = blocking(move || {
        let Some(attachment) = readable_attachment(store.as_ref(), access, visit_id, index, now)?
        else {
            return Ok(None);
        };
        Ok(attachment_bytes(blobs.as_ref(), &attachment)?.map(|blob| (attachment, blob)))
    })
    .await;
    match served {
        Ok(Some((attachment, blob))) => {
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
                    (header::CONTENT_LENGTH, HeaderValue::from(blob.size())),
                ],
                axum::body::Body::from_stream(blob.into_stream()),
            )
                .into_response()
        }
        Ok(None) => failure(lang, StatusCode::NOT_FOUND, lang.text().not_found),
        Err(err) => app_failure(lang, &err),
    }
}

/// The page of one photo at full size: the report's header, the image (its
/// bytes from [`photo`]) and a link back to the report. A page of the console
/// like the others, under its Content-Security-Policy: no inline style or
/// script, which a browser's own viewer of a bare image would need.
#[derive(askama::Template)]
#[template(path = "console/photo.html")]
pub struct PhotoPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The report's link.
    pub report_href: String,
    /// The visit's state name.
    pub state: &'static str,
    /// The bytes' link (ids and a number only).
    pub src: String,
    /// Whether it is shown as an image (a photo or a signature).
    pub is_image: bool,
    /// Its caption: number and local time taken.
    pub caption: String,
}

/// `GET /console/visits/{visit_id}/photos/{index}`: the page of a photo
/// ([`PhotoPage`]); the view of the visit is audited as the report's.
pub async fn photo_page(
    State(state): State<ConsoleState>,
    signed: Signed,
    path: Result<Path<(VisitId, usize)>, axum::extract::rejection::PathRejection>,
) -> Response {
    let lang = signed.lang;
    let t = lang.text();
    let Ok(Path((visit_id, index))) = path else {
        return failure(lang, StatusCode::NOT_FOUND, t.not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let access = Access::of(&signed.user, None);
    let loaded = blocking(move || super::report::view(store.as_ref(), access, visit_id, now)).await;
    let visit = match loaded {
        Ok(Some(visit)) => visit,
        Ok(None) => return failure(lang, StatusCode::NOT_FOUND, t.not_found),
        Err(err) => return app_failure(lang, &err),
    };
    let report = &visit.report;
    let Some(attachment) = report.attachments.get(index) else {
        return failure(lang, StatusCode::NOT_FOUND, t.not_found);
    };
    let page = PhotoPage {
        chrome: signed.chrome(),
        report_href: format!("/console/visits/{visit_id}"),
        state: t.state(report.visit.state),
        src: format!("/console/visits/{visit_id}/attachments/{index}"),
        is_image: matches!(
            attachment.kind,
            doorstep_core::domain::AttachmentKind::Photo
                | doorstep_core::domain::AttachmentKind::Signature
        ),
        caption: format!(
            "{} {} · {}",
            t.photo,
            index + 1,
            super::format::show_time(attachment.taken_at, report.case.utc_offset_minutes)
        ),
    };
    render(lang, StatusCode::OK, &page)
}
