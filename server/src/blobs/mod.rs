//! The attachment blob store: finished attachments addressed by their
//! SHA-256, and the uploads in progress that become them, behind one trait,
//! [`BlobStore`], with two backends:
//!
//! * [`FsBlobStore`] (`fs.rs`): a directory, on one machine or shared by the
//!   replicas (the default: `DATA/blobs`, or `--blob-dir`);
//! * [`S3BlobStore`] (`s3.rs`): a bucket of an S3-compatible object store
//!   (`--blob-s3-url`), which replicas share without a shared file system.
//!
//! What every backend keeps (and `server/tests/blob_conformance.rs` checks on
//! both):
//!
//! * A finished attachment is only ever created whole, after its bytes were
//!   checked against their hash and size, and never changes: two uploads
//!   finishing the same attachment (two replicas, two connections) write the
//!   same verified bytes under the same name, so either order is safe.
//! * Each uploading device has its own upload in progress per hash, so nobody
//!   can add to or spoil another's, and a device shows it holds the bytes by
//!   sending them all, even when someone else's copy is already complete.
//! * The last chunk is never kept as part of an upload in progress: the bytes
//!   held reach the total only when the whole is verified, so nobody ever reads
//!   "every byte held, not complete". A whole that does not match its hash
//!   discards the upload in progress.
//! * An upload in progress untouched for longer than a configurable age
//!   (`serve --abandoned-upload-hours`, default 72) is abandoned and removed
//!   ([`BlobStore::clean_abandoned`], run by [`clean_periodically`] in `serve`
//!   and once by the `clean-uploads` command).
//! * A finished attachment is read as a stream ([`BlobStore::open`]), never
//!   whole into memory, so a download of 20 MiB costs the server a buffer, not
//!   20 MiB.
//!
//! **Why the trait is synchronous.** The service that calls it is: a chunk's
//! way through `service::attachments` interleaves store transactions (which
//! are synchronous, run on the blocking pool with `spawn_blocking`) and blob
//! calls, and a synchronous trait keeps that code as it is. The file-system
//! backend is synchronous file I/O anyway. The S3 backend drives the
//! asynchronous `object_store` client on a small runtime of its own and blocks
//! the calling thread, which is always a blocking-pool thread (or a test's or
//! a command's own thread), never an async task. The one part that must not
//! block is the download's body: [`Blob`] is an asynchronous stream of chunks,
//! polled by the HTTP server as it sends them.

pub mod fs;
pub mod s3;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use futures_util::StreamExt;
use uuid::Uuid;

pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Config};

/// How long an upload in progress may stay untouched before it is removed,
/// unless `--abandoned-upload-hours` says otherwise.
pub const DEFAULT_ABANDONED_UPLOAD_HOURS: u32 = 72;

/// How often `serve` looks for abandoned uploads.
pub const CLEANUP_PERIOD: Duration = Duration::from_secs(60 * 60);

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The name is not a lower-case hex SHA-256.
    #[error("not a SHA-256")]
    InvalidName,
    /// All the bytes arrived but their hash or size is not the expected one; the
    /// partial upload was discarded.
    #[error("the bytes do not match their SHA-256 or size")]
    Mismatch,
    /// The file system failed.
    #[error("blob store I/O: {0}")]
    Io(#[from] io::Error),
    /// The object store failed (its message names object keys, made of
    /// hashes and device ids, never customer data).
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
}

/// What became of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored; the server now holds this many bytes from the start.
    Received(u64),
    /// The chunk does not start where the bytes held end (this many bytes); nothing
    /// was stored.
    WrongOffset(u64),
    /// Every byte arrived and matched the hash: the attachment is complete
    /// (it may have been before, from another uploader).
    Complete,
}

/// What [`BlobStore::clean_abandoned`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Uploads in progress removed (one per hash and uploading device).
    pub uploads: u64,
    /// The bytes they held.
    pub bytes: u64,
    /// Temporary files of writes that never finished (a crash between write
    /// and rename; the file-system store only).
    pub leftovers: u64,
}

/// The bytes of a finished attachment, as a stream of chunks.
pub struct Blob {
    size: u64,
    body: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob").field("size", &self.size).finish()
    }
}

impl Blob {
    /// A blob of `size` bytes, read from `body`.
    pub fn new(size: u64, body: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> Blob {
        Blob {
            size,
            body: Box::pin(body),
        }
    }

    /// How many bytes the stream yields (the `Content-Length`).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The bytes, chunk by chunk.
    pub fn into_stream(self) -> Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>> {
        self.body
    }

    /// Collects the whole stream (for tests and tools; the HTTP routes stream
    /// it). Fails if it yields other than [`Blob::size`] bytes.
    pub async fn into_bytes(self) -> io::Result<Vec<u8>> {
        let size = self.size;
        let mut body = self.body;
        let mut all = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while let Some(chunk) = body.next().await {
            all.extend_from_slice(&chunk?);
        }
        if all.len() as u64 != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the blob's stream ended before its size",
            ));
        }
        Ok(all)
    }
}

/// Where attachment bytes are kept. Every method may block (call it from a
/// blocking-pool thread, never from an async task); names that are not a
/// lower-case hex SHA-256 are refused with [`BlobError::InvalidName`] before
/// anything is touched.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Whether the finished attachment is here.
    fn contains(&self, sha256: &str) -> Result<bool, BlobError>;

    /// How many bytes of `sha256` `uploader` has sent so far, from the start
    /// (always fewer than all: the last chunk completes the upload at once).
    fn received(&self, sha256: &str, uploader: Uuid) -> Result<u64, BlobError>;

    /// Stores `bytes` at `offset` of `uploader`'s upload of the attachment
    /// `sha256` of `total` bytes (the caller has checked that
    /// `offset + bytes.len() <= total`). A chunk that does not start where
    /// the bytes held end is [`Appended::WrongOffset`]. When the last byte
    /// arrives, the whole is checked against the hash and the size and kept
    /// as the finished attachment ([`Appended::Complete`]; if another upload
    /// finished first, the same bytes are already there); on a mismatch the
    /// upload in progress is discarded ([`BlobError::Mismatch`]).
    fn append(
        &self,
        sha256: &str,
        uploader: Uuid,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended, BlobError>;

    /// The finished attachment as a stream, if it is here. Only opening
    /// blocks; the stream is polled on the caller's runtime.
    fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError>;

    /// The bytes of a finished attachment, whole, if it is here (for tests
    /// and tools: the HTTP routes use [`BlobStore::open`]).
    fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError>;

    /// Removes every upload in progress whose chunks were all written before
    /// `untouched_since` (and, on a file system, temporary files as old).
    /// Finished attachments are never touched. An upload that gets a chunk
    /// while it is being removed loses it too; its device hears
    /// `wrong_offset` and starts over.
    fn clean_abandoned(&self, untouched_since: DateTime<Utc>) -> Result<Cleaned, BlobError>;
}

/// A shared store is a store (the HTTP state holds an `Arc<dyn BlobStore>`
/// and hands `&state.blobs` to the service).
impl<T: BlobStore + ?Sized> BlobStore for Arc<T> {
    fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        (**self).contains(sha256)
    }

    fn received(&self, sha256: &str, uploader: Uuid) -> Result<u64, BlobError> {
        (**self).received(sha256, uploader)
    }

    fn append(
        &self,
        sha256: &str,
        uploader: Uuid,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended, BlobError> {
        (**self).append(sha256, uploader, offset, bytes, total)
    }

    fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError> {
        (**self).open(sha256)
    }

    fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        (**self).read(sha256)
    }

    fn clean_abandoned(&self, untouched_since: DateTime<Utc>) -> Result<Cleaned, BlobError> {
        (**self).clean_abandoned(untouched_since)
    }
}

/// Whether `name` is a lower-case hex SHA-256 (64 digits).
pub fn is_sha256(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The instant before which an upload untouched since is abandoned, for an
/// age of `hours`.
pub fn abandoned_before(now: DateTime<Utc>, hours: u32) -> DateTime<Utc> {
    now - chrono::Duration::hours(i64::from(hours))
}

/// Runs [`BlobStore::clean_abandoned`] now and then every `period`, on the
/// blocking pool, for as long as the returned future is polled (`serve`
/// spawns it). Logs what it removed (counts only) and any failure (kept for
/// the next round).
pub async fn clean_periodically(blobs: Arc<dyn BlobStore>, hours: u32, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let blobs = blobs.clone();
        let cutoff = abandoned_before(Utc::now(), hours);
        match tokio::task::spawn_blocking(move || blobs.clean_abandoned(cutoff)).await {
            Ok(Ok(cleaned)) => {
                if cleaned != Cleaned::default() {
                    tracing::info!(
                        uploads = cleaned.uploads,
                        bytes = cleaned.bytes,
                        leftovers = cleaned.leftovers,
                        hours,
                        "removed abandoned uploads"
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not clean abandoned uploads"),
            Err(e) => tracing::warn!(error = %e, "the cleanup of abandoned uploads failed"),
        }
    }
}

pub(crate) fn check(sha256: &str) -> Result<(), BlobError> {
    if is_sha256(sha256) {
        Ok(())
    } else {
        Err(BlobError::InvalidName)
    }
}

/// The offsets of the chunks that follow each other from 0, and where they end.
pub(crate) fn contiguous(chunks: &std::collections::BTreeMap<u64, u64>) -> (Vec<u64>, u64) {
    let mut order = Vec::new();
    let mut at = 0;
    while let Some(len) = chunks.get(&at) {
        order.push(at);
        at += len;
    }
    (order, at)
}
