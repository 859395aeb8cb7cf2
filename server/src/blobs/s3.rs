//! The S3 backend of the blob store: a bucket of an S3-compatible object
//! store (AWS S3, or any server that speaks its API), through the
//! `object_store` crate, so that replicas share attachments without sharing a
//! file system.
//!
//! Keys, under an optional prefix (`s3://bucket/prefix`), mirror the
//! file-system layout:
//!
//! * `<aa>/<sha256>`: a finished attachment. Written once its bytes were
//!   verified, in one PUT (or one multipart upload completed only after the
//!   verification), so it appears whole or not at all, and never changes: two
//!   replicas finishing the same upload write the same bytes under the same
//!   key, and a reader sees one copy or the other.
//! * `partial/<sha256>/<uploader>/<offset, 20 digits>`: one object per chunk
//!   of an upload in progress. The bytes held are the chunks that follow each
//!   other from offset 0 (one LIST); a chunk is one PUT, whole or absent. The
//!   last chunk is never written here: it arrives with the request that
//!   completes the upload, so the bytes held never reach the total.
//!
//! **Finishing.** The request that brings the last chunk reads the chunk
//! objects in order, hashes them with the last chunk, and writes them to the
//! finished key through a buffered writer: up to [`PART_BYTES`] it is one PUT
//! when the whole is verified; beyond, the bytes go out as parts of a
//! multipart upload that is completed only if the hash matches and aborted
//! otherwise. So at most about two parts of an upload are in memory. On a
//! match the chunk objects are deleted; on a mismatch they are deleted and
//! nothing is written. A chunk that vanished while being read (the same device
//! finished on another replica, or the upload was abandoned) aborts the
//! writer and answers where the bytes held now end.
//!
//! **Abandoned uploads** are found by one LIST of `partial/`: an upload whose
//! newest chunk object was last modified before the cutoff is deleted. A
//! multipart upload left by a server that died while finishing is not visible
//! to LIST: give the bucket a lifecycle rule that aborts incomplete multipart
//! uploads after a day (S3's `AbortIncompleteMultipartUpload`).
//!
//! **Blocking.** The [`BlobStore`] trait is synchronous (see the module
//! above); this backend runs `object_store`'s futures on a runtime of its own
//! (two worker threads) and blocks the caller until they are done, so it
//! must be called from a blocking-pool thread, never an async task. A
//! download's stream is fed by a task on that runtime through a small
//! channel, so whichever runtime polls it, the connection to S3 keeps
//! working, and a client that goes away stops the read.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::{Appended, Blob, BlobError, BlobStore, Cleaned, check, contiguous};

/// Up to this size a finished attachment is written in one PUT; beyond, in
/// parts of this size (S3's smallest part is 5 MiB).
pub const PART_BYTES: usize = 5 * 1024 * 1024;

/// Where the S3 blob store is and how to sign in to it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket (it must exist).
    pub bucket: String,
    /// A key prefix inside the bucket, without leading or trailing `/`
    /// (empty: the bucket's root).
    pub prefix: String,
    /// The endpoint of an S3-compatible server (`http://host:port`); `None`:
    /// AWS S3 itself (or `AWS_ENDPOINT` from the environment). Plain HTTP is
    /// allowed only when this says `http://`.
    pub endpoint: Option<String>,
    /// The region; `None`: `AWS_REGION` / `AWS_DEFAULT_REGION` from the
    /// environment, else `us-east-1`.
    pub region: Option<String>,
    /// An access key id and its secret; `None`: whatever the environment
    /// provides (`AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, a web
    /// identity, an instance or container role).
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(id, _)| (id, "…")),
            )
            .finish()
    }
}

impl S3Config {
    /// A configuration from `s3://bucket` or `s3://bucket/prefix/…`, with
    /// everything else from the environment.
    pub fn from_url(url: &str) -> Result<S3Config, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| "an S3 location is s3://BUCKET or s3://BUCKET/PREFIX".to_owned())?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("the S3 location names no bucket".into());
        }
        let prefix = prefix.trim_matches('/');
        Path::parse(prefix).map_err(|_| "the S3 key prefix is not a valid key".to_owned())?;
        Ok(S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            ..S3Config::default()
        })
    }
}

/// The blob store in an S3 bucket.
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    root: Path,
    /// Runs the object store's futures; taken out on drop.
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl Drop for S3BlobStore {
    fn drop(&mut self) {
        // Not `drop`: that waits for the workers, which panics inside an
        // async context (a server or a test dropping its state).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl S3BlobStore {
    /// Connects to the bucket and checks that it can be listed (so a wrong
    /// bucket, endpoint or key fails here, not at the first upload).
    pub fn open(config: &S3Config) -> Result<S3BlobStore, BlobError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: Duration::from_secs(30),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(region) = &config.region {
            builder = builder.with_region(region);
        }
        if let Some((id, secret)) = &config.credentials {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let root = Path::parse(&config.prefix).map_err(|e| BlobError::ObjectStore(e.into()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("doorstep-s3")
            .enable_all()
            .build()?;
        let blobs = S3BlobStore {
            store: Arc::new(builder.build()?),
            root,
            runtime: Some(runtime),
        };
        let partial = blobs.partial_root();
        blobs.block_on(async { blobs.store.list_with_delimiter(Some(&partial)).await })?;
        Ok(blobs)
    }

    /// Runs `future` on the store's runtime and waits for it.
    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            None => unreachable!("the runtime is taken only on drop"),
        }
    }

    fn final_path(&self, sha256: &str) -> Path {
        self.root.clone().join(&sha256[..2]).join(sha256)
    }

    fn partial_root(&self) -> Path {
        self.root.clone().join("partial")
    }

    fn upload_path(&self, sha256: &str, uploader: Uuid) -> Path {
        self.partial_root()
            .join(sha256)
            .join(uploader.to_string().as_str())
    }

    fn chunk_path(&self, sha256: &str, uploader: Uuid, offset: u64) -> Path {
        self.upload_path(sha256, uploader)
            .join(format!("{offset:020}").as_str())
    }

    async fn exists(&self, path: &Path) -> Result<bool, BlobError> {
        match self.store.head(path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The chunk objects of `uploader`'s upload in progress: offset → size.
    async fn chunks(&self, sha256: &str, uploader: Uuid) -> Result<BTreeMap<u64, u64>, BlobError> {
        let upload = self.upload_path(sha256, uploader);
        let objects: Vec<_> = self.store.list(Some(&upload)).try_collect().await?;
        Ok(objects
            .into_iter()
            .filter(|meta| meta.size > 0)
            .filter_map(|meta| {
                let offset = meta.location.filename()?.parse::<u64>().ok()?;
                Some((offset, meta.size))
            })
            .collect())
    }

    async fn held(&self, sha256: &str, uploader: Uuid) -> Result<u64, BlobError> {
        Ok(contiguous(&self.chunks(sha256, uploader).await?).1)
    }

    /// Deletes the objects at `paths` (those already gone included).
    async fn delete_all(&self, paths: Vec<Path>) -> Result<(), BlobError> {
        let results: Vec<_> = self
            .store
            .delete_stream(futures_util::stream::iter(paths.into_iter().map(Ok)).boxed())
            .collect()
            .await;
        for result in results {
            match result {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Deletes `uploader`'s upload in progress; a failure only leaves chunk
    /// objects that the next upload overwrites or the cleanup removes.
    async fn discard_partial(&self, sha256: &str, uploader: Uuid) {
        let upload = self.upload_path(sha256, uploader);
        let removed = async {
            let objects: Vec<_> = self.store.list(Some(&upload)).try_collect().await?;
            self.delete_all(objects.into_iter().map(|meta| meta.location).collect())
                .await
        };
        if let Err(e) = removed.await {
            tracing::warn!(error = %e, "could not remove a partial upload");
        }
    }

    async fn append_async(
        &self,
        sha256: &str,
        uploader: Uuid,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended, BlobError> {
        let chunks = self.chunks(sha256, uploader).await?;
        let (order, held) = contiguous(&chunks);
        if offset != held {
            return Ok(Appended::WrongOffset(held));
        }
        let end = offset + bytes.len() as u64;
        if end < total {
            let chunk = self.chunk_path(sha256, uploader, offset);
            self.store
                .put(&chunk, PutPayload::from(Bytes::copy_from_slice(bytes)))
                .await?;
            return Ok(Appended::Received(end));
        }
        // The last chunk: never stored as a partial, so the bytes held reach
        // the total only when the whole is verified.
        if end != total {
            self.discard_partial(sha256, uploader).await;
            return Err(BlobError::Mismatch);
        }
        let mut writer =
            BufWriter::with_capacity(Arc::clone(&self.store), self.final_path(sha256), PART_BYTES)
                .with_max_concurrency(2);
        match self
            .join(sha256, uploader, &chunks, &order, bytes, &mut writer)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                // A chunk went away meanwhile.
                let _ = writer.abort().await;
                return Ok(Appended::WrongOffset(self.held(sha256, uploader).await?));
            }
            Err(e) => {
                let _ = writer.abort().await;
                if matches!(e, BlobError::Mismatch) {
                    self.discard_partial(sha256, uploader).await;
                }
                return Err(e);
            }
        }
        if self.exists(&self.final_path(sha256)).await? {
            // Another upload of the same bytes finished first.
            let _ = writer.abort().await;
        } else if let Err(e) = writer.shutdown().await {
            let _ = writer.abort().await;
            return Err(BlobError::Io(e));
        }
        self.discard_partial(sha256, uploader).await;
        Ok(Appended::Complete)
    }

    /// Feeds the chunks in `order` and the `last` one to `writer`, hashing
    /// them: `Ok(true)` when they match `sha256`, `Ok(false)` when a chunk
    /// vanished or changed since the listing, [`BlobError::Mismatch`] when
    /// the hash is not the name.
    async fn join(
        &self,
        sha256: &str,
        uploader: Uuid,
        chunks: &BTreeMap<u64, u64>,
        order: &[u64],
        last: &[u8],
        writer: &mut BufWriter,
    ) -> Result<bool, BlobError> {
        let mut hasher = Sha256::new();
        for &offset in order {
            let path = self.chunk_path(sha256, uploader, offset);
            let bytes = match self.store.get(&path).await {
                Ok(got) => got.bytes().await?,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            if Some(&(bytes.len() as u64)) != chunks.get(&offset) {
                return Ok(false);
            }
            hasher.update(&bytes);
            writer.put(bytes).await?;
        }
        hasher.update(last);
        writer.put(Bytes::copy_from_slice(last)).await?;
        if hex::encode(hasher.finalize()) != sha256 {
            return Err(BlobError::Mismatch);
        }
        Ok(true)
    }

    async fn clean_async(&self, untouched_since: DateTime<Utc>) -> Result<Cleaned, BlobError> {
        let partial = self.partial_root();
        let mut uploads: BTreeMap<(String, String), PartialUpload> = BTreeMap::new();
        let mut listing = self.store.list(Some(&partial));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            let Some(parts) = meta.location.prefix_match(&partial) else {
                continue;
            };
            let parts: Vec<String> = parts.map(|part| part.as_ref().to_owned()).collect();
            let [hash, uploader, _offset] = parts.as_slice() else {
                continue;
            };
            let upload = uploads
                .entry((hash.clone(), uploader.clone()))
                .or_insert(PartialUpload {
                    touched: meta.last_modified,
                    bytes: 0,
                    chunks: Vec::new(),
                });
            upload.touched = upload.touched.max(meta.last_modified);
            upload.bytes += meta.size;
            upload.chunks.push(meta.location);
        }
        let mut cleaned = Cleaned::default();
        for upload in uploads.into_values() {
            if upload.touched < untouched_since {
                self.delete_all(upload.chunks).await?;
                cleaned.uploads += 1;
                cleaned.bytes += upload.bytes;
            }
        }
        Ok(cleaned)
    }
}

/// One device's unfinished upload of one attachment, as the bucket lists it.
struct PartialUpload {
    /// When a chunk of it was last written.
    touched: DateTime<Utc>,
    /// The bytes its chunks hold.
    bytes: u64,
    /// Its chunks' objects.
    chunks: Vec<Path>,
}

impl BlobStore for S3BlobStore {
    fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        check(sha256)?;
        self.block_on(self.exists(&self.final_path(sha256)))
    }

    fn received(&self, sha256: &str, uploader: Uuid) -> Result<u64, BlobError> {
        check(sha256)?;
        self.block_on(self.held(sha256, uploader))
    }

    fn append(
        &self,
        sha256: &str,
        uploader: Uuid,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended, BlobError> {
        check(sha256)?;
        self.block_on(self.append_async(sha256, uploader, offset, bytes, total))
    }

    fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError> {
        check(sha256)?;
        let path = self.final_path(sha256);
        let got = match self.block_on(self.store.get(&path)) {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = got.meta.size;
        let (sender, receiver) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
        if let Some(runtime) = &self.runtime {
            runtime.spawn(async move {
                let mut body = got.into_stream();
                while let Some(chunk) = body.next().await {
                    let failed = chunk.is_err();
                    let chunk = chunk.map_err(|e| io::Error::other(BlobError::from(e)));
                    // The receiver is gone: the client stopped reading.
                    if sender.send(chunk).await.is_err() || failed {
                        break;
                    }
                }
            });
        }
        let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|chunk| (chunk, receiver))
        });
        Ok(Some(Blob::new(size, body)))
    }

    fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        check(sha256)?;
        let path = self.final_path(sha256);
        self.block_on(async {
            match self.store.get(&path).await {
                Ok(got) => Ok(Some(got.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }

    fn clean_abandoned(&self, untouched_since: DateTime<Utc>) -> Result<Cleaned, BlobError> {
        self.block_on(self.clean_async(untouched_since))
    }
}
