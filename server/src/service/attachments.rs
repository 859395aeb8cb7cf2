//! Attachment bytes: the resumable, content-addressed upload and the download.
//!
//! The server takes bytes only for a hash that an admitted `attached` change
//! refers to ([`record`], called by the push), and only from the device whose
//! change it was, so a device uploads its photos after its push is
//! acknowledged. The bytes come in chunks at the offset where that device's
//! bytes end; when the last one arrives they are checked against the hash and
//! the stated size, kept in the [`BlobStore`], and the device is remembered as
//! having sent them. They go out only to people who may read a visit that
//! refers to them through a device that sent them ([`Access::may_download`]):
//! copying a hash into one's own visit gives nothing.

use chrono::{DateTime, Utc};
use doorstep_core::domain::attachment::{Attachment, MAX_ATTACHMENT_BYTES};
use doorstep_core::domain::{DeviceId, VisitId};
use doorstep_core::sync::protocol::{MAX_ATTACHMENT_CHUNK_BYTES, UploadState};

use super::{Session, audit, audit_refused};
use crate::access::Access;
use crate::blobs::{Appended, Blob, BlobError, BlobStore, is_sha256};
use crate::error::ServiceError;
use crate::store::{self, AttachmentRef, Store, StoreTx};

/// Remembers that the visit of an admitted `attached` change refers to its
/// bytes (called by the push, in its transaction, once the change is admitted).
pub fn record(
    tx: &dyn StoreTx,
    visit_id: VisitId,
    author: DeviceId,
    attachment: &Attachment,
) -> Result<(), ServiceError> {
    if !is_sha256(&attachment.sha256) {
        // A hash that can never name bytes: nothing to upload.
        return Ok(());
    }
    tx.record_attachment(&AttachmentRef {
        sha256: attachment.sha256.clone(),
        visit_id,
        size_bytes: attachment.size_bytes,
        author,
    })?;
    Ok(())
}

/// `GET /v1/attachments/{sha256}/upload`: how many bytes the server holds
/// from this device.
pub fn upload_state(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    session: &Session,
    sha256: &str,
) -> Result<UploadState, ServiceError> {
    check_name(sha256)?;
    let (sizes, sent) = store::read(store, |tx| uploadable(tx, session, sha256))?;
    let total = sizes[0];
    let device = session.device.id;
    let complete = sent && blobs.contains(sha256).map_err(blob_failure)?;
    let received = if complete {
        total
    } else {
        blobs.received(sha256, device).map_err(blob_failure)?
    };
    Ok(UploadState {
        sha256: sha256.to_owned(),
        received,
        total,
        complete,
    })
}

/// One chunk of `PUT /v1/attachments/{sha256}?offset=<n>&total=<t>`.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// Lower-case hex SHA-256 of the whole attachment.
    pub sha256: &'a str,
    /// Where the chunk starts.
    pub offset: u64,
    /// The attachment's whole size.
    pub total: u64,
    /// The chunk's bytes.
    pub bytes: &'a [u8],
}

/// `PUT /v1/attachments/{sha256}?offset=<n>&total=<t>`: stores one chunk
/// (or sees that this device sent them all before) and says how far the
/// upload has come. A chunk that does not start where the device's bytes end
/// is [`ServiceError::WrongOffset`], which says where they end.
pub fn put_chunk(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    session: &Session,
    chunk: Chunk<'_>,
    now: DateTime<Utc>,
) -> Result<UploadState, ServiceError> {
    let Chunk {
        sha256,
        offset,
        total,
        bytes: chunk,
    } = chunk;
    check_name(sha256)?;
    if total > MAX_ATTACHMENT_BYTES as u64 {
        return Err(ServiceError::AttachmentTooLarge);
    }
    if chunk.len() > MAX_ATTACHMENT_CHUNK_BYTES {
        return Err(ServiceError::ChunkTooLarge);
    }
    // Who may upload and whether anything refers to the hash (403, 404)
    // before what only the attachment can tell apart (422): a chunk for an
    // unknown hash is a 404 whatever its offset, as the document says.
    let (sizes, sent) = store::read(store, |tx| uploadable(tx, session, sha256))?;
    if chunk.is_empty() {
        return Err(ServiceError::EmptyChunk);
    }
    if offset
        .checked_add(chunk.len() as u64)
        .is_none_or(|end| end > total)
    {
        return Err(ServiceError::ChunkBeyondTotal);
    }
    if !sizes.contains(&total) {
        return Err(ServiceError::AttachmentSizeMismatch);
    }
    let state = |received| UploadState {
        sha256: sha256.to_owned(),
        received,
        total,
        complete: received == total,
    };
    if sent && blobs.contains(sha256).map_err(blob_failure)? {
        // This device sent them all before: a retry after a lost answer.
        return Ok(state(total));
    }
    match blobs.append(sha256, session.device.id, offset, chunk, total) {
        Ok(Appended::Received(received)) => Ok(state(received)),
        Ok(Appended::WrongOffset(received)) => Err(ServiceError::WrongOffset { received }),
        Ok(Appended::Complete) => {
            store::write(store, |tx| {
                tx.record_upload(sha256, session.device.id)?;
                audit(
                    tx,
                    now,
                    Some(session),
                    "upload_attachment",
                    "attachment",
                    sha256,
                )
            })?;
            Ok(state(total))
        }
        Err(BlobError::Mismatch) => Err(ServiceError::AttachmentHashMismatch),
        Err(e) => Err(blob_failure(e)),
    }
}

/// `GET /v1/attachments/{sha256}`: the bytes, as a stream, for someone who
/// may read a visit that refers to them through a device that sent them
/// ([`Access::may_download`]). Each download is audited; so is each refusal.
pub fn download(
    store: &dyn Store,
    blobs: &dyn BlobStore,
    session: &Session,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<Blob, ServiceError> {
    check_name(sha256)?;
    let access = Access::of_session(session);
    let allowed = store::read(store, |tx| {
        let refs = known(tx, sha256)?;
        let uploaders = tx.uploaders(sha256)?;
        if access.may_download(tx, &refs, &uploaders)? {
            return Ok(true);
        }
        // Nobody sent the bytes yet: say so to those who may read a visit
        // that carries them.
        for reference in &refs {
            if uploaders.is_empty() && access.may_read_visit(tx, reference.visit_id)? {
                return Err(ServiceError::AttachmentNotUploaded);
            }
        }
        Ok::<_, ServiceError>(false)
    })?;
    if !allowed {
        let refused = ServiceError::AttachmentNotVisible;
        store::write(store, |tx| {
            audit_refused(
                tx,
                now,
                session,
                "download_refused",
                ("attachment", sha256.to_owned()),
                refused.code(),
            )
        })?;
        return Err(refused);
    }
    let blob = blobs
        .open(sha256)
        .map_err(blob_failure)?
        .ok_or(ServiceError::AttachmentNotUploaded)?;
    store::write(store, |tx| {
        audit(
            tx,
            now,
            Some(session),
            "download_attachment",
            "attachment",
            sha256,
        )
    })?;
    Ok(blob)
}

fn check_name(sha256: &str) -> Result<(), ServiceError> {
    if is_sha256(sha256) {
        Ok(())
    } else {
        Err(ServiceError::InvalidSha256)
    }
}

/// The visits that refer to the hash; none is a 404.
fn known(tx: &dyn StoreTx, sha256: &str) -> Result<Vec<AttachmentRef>, ServiceError> {
    let refs = tx.attachment_refs(sha256)?;
    if refs.is_empty() {
        return Err(ServiceError::UnknownAttachment);
    }
    Ok(refs)
}

/// The sizes stated by this device's own changes that refer to the hash
/// (never empty), and whether the device already sent the bytes; a 404 if no
/// change refers to the hash, a 403 if none of them is this device's.
fn uploadable(
    tx: &dyn StoreTx,
    session: &Session,
    sha256: &str,
) -> Result<(Vec<u64>, bool), ServiceError> {
    let access = Access::of_session(session);
    let sizes: Vec<u64> = known(tx, sha256)?
        .iter()
        .filter(|reference| access.may_upload(reference))
        .map(|reference| reference.size_bytes)
        .collect();
    if sizes.is_empty() {
        return Err(ServiceError::NotTheUploader);
    }
    let sent = tx.uploaders(sha256)?.contains(&session.device.id);
    Ok((sizes, sent))
}

/// The error for a blob store failure.
pub(crate) fn blob_failure(err: BlobError) -> ServiceError {
    match err {
        BlobError::InvalidName => ServiceError::InvalidSha256,
        other => ServiceError::internal(&other),
    }
}
