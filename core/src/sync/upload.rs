//! Upload: after the push, the bytes of every attachment whose `attached` entry
//! the server has acknowledged and that the server has not confirmed yet go up,
//! in chunks that start small in each sync and grow to at most
//! [`MAX_ATTACHMENT_CHUNK_BYTES`](crate::sync::protocol::MAX_ATTACHMENT_CHUNK_BYTES)
//! ([`super::chunk_size`]), so that a cut link
//! costs at most the chunk in flight.
//!
//! The device keeps no upload offset of its own: it asks the server how many
//! bytes it holds (`GET /v1/attachments/{sha256}/upload`) and sends the rest
//! (`PUT /v1/attachments/{sha256}?offset=<n>&total=<t>`), so an upload
//! interrupted anywhere, even by a restart, resumes where the server's bytes
//! end. Once the server answers `complete`, the attachment is marked uploaded
//! and may leave the device with its visit. A transport failure or a server
//! fault stops the sync (the next one resumes); a refusal (4xx) leaves that
//! attachment waiting, counted in the report and the status, and the sync goes
//! on with the others.

use crate::error::Result;
use crate::store::blobs::{self, PendingUpload};
use crate::sync::chunk_size::ChunkSize;
use crate::sync::engine::{Engine, check_status, protocol};
use crate::sync::protocol::{UploadState, WrongOffset};
use crate::sync::status::{SyncPhase, SyncReport};
use crate::sync::transport::HttpResponse;

/// The content type of a chunk.
const OCTETS: &str = "application/octet-stream";

/// `wrong_offset` answers in a row after which the server is not followed any
/// further in this sync.
const MAX_OFFSET_CONFLICTS: u32 = 3;

/// How one attachment's upload ended.
enum Uploaded {
    /// The server holds all the bytes, verified.
    Complete,
    /// The server refused them; they wait for a later sync.
    Refused,
}

impl Engine<'_> {
    /// Uploads every attachment waiting for it. Reports progress in bytes.
    pub(crate) fn upload(&mut self, report: &mut SyncReport) -> Result<()> {
        let pending = self.store.read(blobs::pending_uploads)?;
        if pending.is_empty() {
            return Ok(());
        }
        let total: u64 = pending.iter().map(|p| p.size).sum();
        let mut done = 0;
        let mut chunk = ChunkSize::default();
        self.observer.progress(SyncPhase::Upload, done, total);
        for attachment in &pending {
            match self.upload_one(attachment, &mut chunk, done, total)? {
                Uploaded::Complete => {
                    let now = self.wall.now();
                    self.store
                        .write(|tx| blobs::mark_uploaded(tx, &attachment.sha256, now))?;
                    report.uploaded += 1;
                }
                Uploaded::Refused => report.upload_refused += 1,
            }
            done += attachment.size;
            self.observer.progress(SyncPhase::Upload, done, total);
        }
        Ok(())
    }

    /// Sends what the server lacks of one attachment, in chunks of `chunk`'s
    /// size. `before` bytes of all `total` were done before it, for the progress.
    fn upload_one(
        &mut self,
        attachment: &PendingUpload,
        chunk: &mut ChunkSize,
        before: u64,
        total: u64,
    ) -> Result<Uploaded> {
        let sha = &attachment.sha256;
        let response = self.call_any(
            "GET",
            &format!("/v1/attachments/{sha}/upload"),
            vec![],
            OCTETS,
        )?;
        let Some(state) = self.answer(response, sha)? else {
            return Ok(Uploaded::Refused);
        };
        if state.complete {
            return Ok(Uploaded::Complete);
        }
        if state.total != attachment.size {
            tracing::warn!(
                sha256 = %sha,
                "the server records another size for this attachment; not uploaded"
            );
            return Ok(Uploaded::Refused);
        }
        let size = attachment.size;
        let mut offset = state.received;
        let mut conflicts = 0;
        while offset < size {
            let len = chunk.next(size - offset);
            let bytes = self
                .store
                .read(|conn| blobs::chunk(conn, sha, offset, len))?;
            if bytes.len() != len {
                return Err(protocol(
                    "an attachment's stored bytes are shorter than its size",
                ));
            }
            let path = format!("/v1/attachments/{sha}?offset={offset}&total={size}");
            let response = self.call_any("PUT", &path, bytes, OCTETS)?;
            if response.status == 409 {
                conflicts += 1;
                let wrong: WrongOffset = serde_json::from_slice(&response.body)
                    .map_err(|_| protocol("upload conflict unreadable"))?;
                if conflicts > MAX_OFFSET_CONFLICTS || wrong.received > size {
                    return Err(protocol("the server keeps moving the upload offset"));
                }
                offset = wrong.received;
                continue;
            }
            let Some(state) = self.answer(response, sha)? else {
                return Ok(Uploaded::Refused);
            };
            if state.complete {
                return Ok(Uploaded::Complete);
            }
            if state.received <= offset || state.received > size {
                return Err(protocol("the server did not take the chunk it accepted"));
            }
            conflicts = 0;
            chunk.accepted(len);
            offset = state.received;
            self.observer
                .progress(SyncPhase::Upload, before + offset, total);
        }
        Err(protocol(
            "the server holds every byte but does not say complete",
        ))
    }

    /// The upload state in a 2xx answer; `None` for a refusal (4xx), logged with
    /// its code; an error for anything else.
    fn answer(&self, response: HttpResponse, sha: &str) -> Result<Option<UploadState>> {
        if (400..500).contains(&response.status) {
            let status = response.status;
            let refusal = check_status(response).err().map(|e| e.to_string());
            tracing::warn!(
                sha256 = %sha,
                status,
                refusal = refusal.as_deref().unwrap_or(""),
                "the server refused an attachment upload"
            );
            return Ok(None);
        }
        let response = check_status(response)?;
        let state: UploadState = serde_json::from_slice(&response.body)
            .map_err(|_| protocol("upload state unreadable"))?;
        if state.sha256 != sha {
            return Err(protocol("the server answered for another attachment"));
        }
        Ok(Some(state))
    }
}
