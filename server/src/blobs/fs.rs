//! The file-system backend of the blob store: a directory, addressed by
//! SHA-256.
//!
//! * A finished attachment lives at `<dir>/<aa>/<sha256>`, where `aa` is the
//!   first two hex digits of its hash. It is only ever created whole, by a
//!   rename, after its bytes were checked against the hash.
//! * An upload in progress lives under `<dir>/partial/<sha256>/<uploader>/`,
//!   one file per chunk, named by the chunk's offset: each device writes only
//!   its own upload, so nobody can add to or spoil another's, and a device
//!   proves it holds the bytes by sending them all, even when someone else's
//!   copy is already complete. The bytes received so far are the chunks that
//!   follow each other from offset 0. An upload is untouched since the newest
//!   modification time of its chunk files.
//! * Every file is written in `<dir>/tmp/` under a unique name, flushed to disk,
//!   then renamed into place, so a reader (or a crash) never sees half a file.
//!
//! Several server processes may share one directory (replicas on one
//! PostgreSQL): nothing here is held in memory between calls, a chunk file is
//! the same whichever process wrote it, and two uploads finishing the same
//! attachment each rename an identical, verified file over the other.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Appended, Blob, BlobError, BlobStore, Cleaned, check, contiguous};

/// How much of a file a download reads at a time.
const READ_BUFFER: usize = 64 * 1024;

/// The blob store in one directory.
#[derive(Debug)]
pub struct FsBlobStore {
    dir: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> io::Result<FsBlobStore> {
        fs::create_dir_all(dir.join("partial"))?;
        fs::create_dir_all(dir.join("tmp"))?;
        Ok(FsBlobStore {
            dir: dir.to_path_buf(),
        })
    }

    /// Where a finished attachment lives.
    fn final_path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(sha256)
    }

    /// Where the chunks of `uploader`'s upload in progress live.
    fn partial_dir(&self, sha256: &str, uploader: Uuid) -> PathBuf {
        self.dir
            .join("partial")
            .join(sha256)
            .join(uploader.to_string())
    }

    /// Joins `uploader`'s stored chunks and the `last` one into one file,
    /// checks it and renames it into place. A chunk removed meanwhile (the
    /// same device finished on another connection, or the upload was
    /// abandoned) answers where the bytes held now end.
    fn finish(
        &self,
        sha256: &str,
        uploader: Uuid,
        total: u64,
        last: &[u8],
    ) -> Result<Appended, BlobError> {
        let chunks = self.chunks(sha256, uploader)?;
        let (order, held) = contiguous(&chunks);
        if held + last.len() as u64 != total {
            self.discard_partial(sha256, uploader);
            return Err(BlobError::Mismatch);
        }
        let partial = self.partial_dir(sha256, uploader);
        let (tmp_path, mut tmp) = self.temp_file()?;
        let mut hasher = Sha256::new();
        let mut buffer = Vec::new();
        let joined = (|| -> io::Result<()> {
            for offset in order {
                buffer.clear();
                File::open(partial.join(format!("{offset:020}")))?.read_to_end(&mut buffer)?;
                if Some(&(buffer.len() as u64)) != chunks.get(&offset) {
                    // Replaced since the listing: start again from a fresh one.
                    return Err(io::ErrorKind::NotFound.into());
                }
                hasher.update(&buffer);
                tmp.write_all(&buffer)?;
            }
            hasher.update(last);
            tmp.write_all(last)?;
            tmp.sync_all()
        })();
        if let Err(e) = joined {
            let _ = fs::remove_file(&tmp_path);
            if e.kind() == io::ErrorKind::NotFound {
                return Ok(Appended::WrongOffset(self.received(sha256, uploader)?));
            }
            return Err(e.into());
        }
        if hex::encode(hasher.finalize()) != sha256 {
            let _ = fs::remove_file(&tmp_path);
            self.discard_partial(sha256, uploader);
            return Err(BlobError::Mismatch);
        }
        if self.contains(sha256)? {
            // Another upload of the same bytes finished first.
            let _ = fs::remove_file(&tmp_path);
            self.discard_partial(sha256, uploader);
            return Ok(Appended::Complete);
        }
        let target = self.final_path(sha256);
        let parent = self.dir.join(&sha256[..2]);
        fs::create_dir_all(&parent)?;
        if let Err(e) = fs::rename(&tmp_path, &target) {
            let _ = fs::remove_file(&tmp_path);
            return Err(e.into());
        }
        sync_dir(&parent)?;
        self.discard_partial(sha256, uploader);
        Ok(Appended::Complete)
    }

    /// Writes `bytes` to a new file in `tmp/`, flushes it, and renames it to
    /// `dir/name`.
    fn place(&self, bytes: &[u8], dir: &Path, name: &str) -> io::Result<()> {
        let (tmp_path, mut tmp) = self.temp_file()?;
        let written = tmp
            .write_all(bytes)
            .and_then(|()| tmp.sync_all())
            .and_then(|()| fs::rename(&tmp_path, dir.join(name)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp_path);
        }
        written?;
        sync_dir(dir)
    }

    /// A new file in `tmp/` with a name no other process uses.
    fn temp_file(&self) -> io::Result<(PathBuf, File)> {
        let path = self.dir.join("tmp").join(uuid::Uuid::now_v7().to_string());
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((path, file))
    }

    /// The chunk files of `uploader`'s upload in progress: offset → length.
    fn chunks(&self, sha256: &str, uploader: Uuid) -> Result<BTreeMap<u64, u64>, BlobError> {
        check(sha256)?;
        Ok(chunk_files(&self.partial_dir(sha256, uploader))?
            .into_iter()
            .map(|(offset, (len, _))| (offset, len))
            .collect())
    }

    /// Removes `uploader`'s upload in progress (and the hash's folder, once
    /// no upload of it is left); a failure only leaves files the next upload
    /// of the same hash overwrites or removes, or the cleanup of abandoned
    /// uploads does.
    fn discard_partial(&self, sha256: &str, uploader: Uuid) {
        let dir = self.partial_dir(sha256, uploader);
        if dir.exists()
            && let Err(e) = fs::remove_dir_all(&dir)
        {
            tracing::warn!(error = %e.kind(), "could not remove a partial upload");
        }
        // Fails, harmlessly, while another device's upload of it is there.
        let _ = fs::remove_dir(self.dir.join("partial").join(sha256));
    }
}

impl BlobStore for FsBlobStore {
    fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        check(sha256)?;
        Ok(self.final_path(sha256).is_file())
    }

    fn received(&self, sha256: &str, uploader: Uuid) -> Result<u64, BlobError> {
        Ok(contiguous(&self.chunks(sha256, uploader)?).1)
    }

    fn append(
        &self,
        sha256: &str,
        uploader: Uuid,
        offset: u64,
        bytes: &[u8],
        total: u64,
    ) -> Result<Appended, BlobError> {
        let held = contiguous(&self.chunks(sha256, uploader)?).1;
        if offset != held {
            return Ok(Appended::WrongOffset(held));
        }
        let end = offset + bytes.len() as u64;
        if end < total {
            let partial = self.partial_dir(sha256, uploader);
            let placed = fs::create_dir_all(&partial)
                .and_then(|()| self.place(bytes, &partial, &format!("{offset:020}")));
            return match placed {
                Ok(()) => Ok(Appended::Received(end)),
                // The same device finished (or spoiled) this upload on another
                // connection meanwhile, which removed its folder of chunks.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Appended::WrongOffset(
                    contiguous(&self.chunks(sha256, uploader)?).1,
                )),
                Err(e) => Err(e.into()),
            };
        }
        // The last chunk is never stored as a partial: the held bytes reach the
        // total only when the whole is verified, so nobody reads "every byte
        // held, not complete".
        self.finish(sha256, uploader, total, bytes)
    }

    fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError> {
        check(sha256)?;
        let file = match File::open(self.final_path(sha256)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // A finished file never changes: its size now is what the stream
        // yields.
        let size = file.metadata()?.len();
        let body = tokio_util::io::ReaderStream::with_capacity(
            tokio::fs::File::from_std(file),
            READ_BUFFER,
        );
        Ok(Some(Blob::new(size, body)))
    }

    fn read(&self, sha256: &str) -> Result<Option<Vec<u8>>, BlobError> {
        check(sha256)?;
        match fs::read(self.final_path(sha256)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn clean_abandoned(&self, untouched_since: DateTime<Utc>) -> Result<Cleaned, BlobError> {
        let cutoff = SystemTime::from(untouched_since);
        let mut cleaned = Cleaned::default();
        let partial = self.dir.join("partial");
        for hash_dir in list_dir(&partial)? {
            let hash_dir = hash_dir.path();
            for upload in list_dir(&hash_dir)? {
                let upload = upload.path();
                let files = chunk_files(&upload)?;
                // An upload whose folder is empty (its chunks were taken by a
                // finish) is as old as its folder.
                let newest = match files.values().map(|&(_, modified)| modified).max() {
                    Some(newest) => Some(newest),
                    None => modified(&upload)?,
                };
                if newest.is_none_or(|newest| newest >= cutoff) {
                    continue;
                }
                match fs::remove_dir_all(&upload) {
                    Ok(()) => {
                        cleaned.uploads += 1;
                        cleaned.bytes += files.values().map(|&(len, _)| len).sum::<u64>();
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // Fails, harmlessly, while an upload of the hash is left.
            let _ = fs::remove_dir(&hash_dir);
        }
        // A write that crashed between its temporary file and the rename.
        for entry in list_dir(&self.dir.join("tmp"))? {
            let path = entry.path();
            if modified(&path)?.is_some_and(|at| at < cutoff) {
                match fs::remove_file(&path) {
                    Ok(()) => cleaned.leftovers += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(cleaned)
    }
}

/// The entries of a folder (none if it is gone).
fn list_dir(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    match fs::read_dir(dir) {
        Ok(entries) => entries.collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// When a file or folder was last modified; `None` if it is gone.
fn modified(path: &Path) -> io::Result<Option<SystemTime>> {
    match fs::metadata(path).and_then(|meta| meta.modified()) {
        Ok(at) => Ok(Some(at)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The non-empty chunk files in an upload's folder: offset → (length, when
/// last modified).
fn chunk_files(dir: &Path) -> io::Result<BTreeMap<u64, (u64, SystemTime)>> {
    let mut chunks = BTreeMap::new();
    for entry in list_dir(dir)? {
        let Some(offset) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u64>().ok())
        else {
            continue;
        };
        match entry.metadata() {
            Ok(meta) if meta.len() > 0 => {
                chunks.insert(offset, (meta.len(), meta.modified()?));
            }
            Ok(_) => {}
            // Removed by another process since the listing.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(chunks)
}

/// Flushes a directory's entries (the renames into it) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    #[test]
    fn chunks_join_into_one_verified_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let phone = Uuid::now_v7();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let hash = sha(&bytes);
        assert_eq!(store.received(&hash, phone).unwrap(), 0);
        assert_eq!(
            store
                .append(&hash, phone, 0, &bytes[..4_000], 10_000)
                .unwrap(),
            Appended::Received(4_000)
        );
        assert_eq!(
            store
                .append(&hash, phone, 0, &bytes[..4_000], 10_000)
                .unwrap(),
            Appended::WrongOffset(4_000)
        );
        assert_eq!(store.received(&hash, phone).unwrap(), 4_000);
        assert!(!store.contains(&hash).unwrap());
        // A second store on the same directory (another process) carries on.
        let other = FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(
            other
                .append(&hash, phone, 4_000, &bytes[4_000..], 10_000)
                .unwrap(),
            Appended::Complete
        );
        assert_eq!(store.read(&hash).unwrap().unwrap(), bytes);
        assert!(dir.path().join(&hash[..2]).join(&hash).is_file());
        assert!(!dir.path().join("partial").join(&hash).exists());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn each_device_writes_only_its_own_upload() {
        // A partner's phone that knows the hash cannot add to, or spoil, the
        // upload the photo's own phone has under way.
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let (owner, partner) = (Uuid::now_v7(), Uuid::now_v7());
        let bytes: Vec<u8> = (0..6_000u32).map(|i| (i % 239) as u8).collect();
        let hash = sha(&bytes);
        store
            .append(&hash, owner, 0, &bytes[..3_000], 6_000)
            .unwrap();
        assert_eq!(store.received(&hash, partner).unwrap(), 0);
        assert!(matches!(
            store.append(&hash, partner, 0, &[0u8; 6_000], 6_000),
            Err(BlobError::Mismatch)
        ));
        assert_eq!(store.received(&hash, owner).unwrap(), 3_000);
        assert_eq!(
            store
                .append(&hash, owner, 3_000, &bytes[3_000..], 6_000)
                .unwrap(),
            Appended::Complete
        );
        assert_eq!(store.read(&hash).unwrap().unwrap(), bytes);
        // With the bytes complete, a second device still has to send them all
        // to be counted as having them.
        assert_eq!(
            store
                .append(&hash, partner, 0, &bytes[..1_000], 6_000)
                .unwrap(),
            Appended::Received(1_000)
        );
        assert!(matches!(
            store.append(&hash, partner, 1_000, &[7u8; 5_000], 6_000),
            Err(BlobError::Mismatch)
        ));
        assert_eq!(store.read(&hash).unwrap().unwrap(), bytes);
    }

    #[test]
    fn nobody_sees_every_byte_held_before_the_attachment_is_complete() {
        // One phone uploads on two connections at once while a third party
        // keeps asking how much is held: "all of it" must never be answered,
        // or a phone would conclude the server is broken.
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let phone = Uuid::now_v7();
        let bytes: Vec<u8> = (0..3_000u32).map(|i| (i % 241) as u8).collect();
        let hash = sha(&bytes);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    let mut offset = 0;
                    // Bounded: a mismatch (the other connection finished first
                    // and took the chunks) starts over, as a phone does.
                    for _ in 0..1_000 {
                        if offset >= 3_000 || store.contains(&hash).unwrap() {
                            break;
                        }
                        let end = (offset + 1_000).min(3_000);
                        match store.append(
                            &hash,
                            phone,
                            offset,
                            &bytes[offset as usize..end as usize],
                            3_000,
                        ) {
                            Ok(Appended::Received(held) | Appended::WrongOffset(held)) => {
                                offset = held;
                            }
                            Ok(Appended::Complete) => break,
                            Err(BlobError::Mismatch) => offset = 0,
                            Err(e) => panic!("upload failed: {e}"),
                        }
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..1_000_000 {
                    let held = store.received(&hash, phone).unwrap();
                    assert!(held < 3_000, "all bytes held, not complete");
                    if store.contains(&hash).unwrap() {
                        break;
                    }
                }
            });
        });
        assert_eq!(store.read(&hash).unwrap().unwrap(), bytes);
    }

    #[test]
    fn wrong_bytes_are_discarded_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let phone = Uuid::now_v7();
        let hash = sha(b"the real photo");
        assert_eq!(
            store
                .append(&hash, phone, 0, b"not the photo!", 14)
                .unwrap_err()
                .to_string(),
            BlobError::Mismatch.to_string()
        );
        assert_eq!(store.received(&hash, phone).unwrap(), 0);
        assert_eq!(store.read(&hash).unwrap(), None);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    /// Makes every file under `dir` look last written `age` ago.
    fn backdate(dir: &Path, age: std::time::Duration) {
        let then = SystemTime::now() - age;
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(then)
                .unwrap();
        }
    }

    #[test]
    fn uploads_whose_chunks_are_all_older_than_the_age_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let (old_phone, busy_phone, new_phone) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let bytes: Vec<u8> = (0..6_000u32).map(|i| (i % 233) as u8).collect();
        let hash = sha(&bytes);
        let four_days = std::time::Duration::from_secs(4 * 24 * 3600);
        // Abandoned four days ago.
        store
            .append(&hash, old_phone, 0, &bytes[..2_000], 6_000)
            .unwrap();
        store
            .append(&hash, old_phone, 2_000, &bytes[2_000..4_000], 6_000)
            .unwrap();
        backdate(&store.partial_dir(&hash, old_phone), four_days);
        // Started four days ago, a chunk sent just now: still going.
        store
            .append(&hash, busy_phone, 0, &bytes[..2_000], 6_000)
            .unwrap();
        backdate(&store.partial_dir(&hash, busy_phone), four_days);
        store
            .append(&hash, busy_phone, 2_000, &bytes[2_000..3_000], 6_000)
            .unwrap();
        // Started just now.
        store
            .append(&hash, new_phone, 0, &bytes[..1_000], 6_000)
            .unwrap();
        // A write that crashed before its rename, long ago, and one under way.
        fs::write(dir.path().join("tmp").join("crashed"), b"half").unwrap();
        backdate(&dir.path().join("tmp"), four_days);
        fs::write(dir.path().join("tmp").join("writing"), b"half").unwrap();

        let cutoff = crate::blobs::abandoned_before(Utc::now(), 72);
        let cleaned = store.clean_abandoned(cutoff).unwrap();
        assert_eq!(
            cleaned,
            Cleaned {
                uploads: 1,
                bytes: 4_000,
                leftovers: 1
            }
        );
        assert!(!store.partial_dir(&hash, old_phone).exists());
        assert_eq!(store.received(&hash, old_phone).unwrap(), 0);
        assert_eq!(store.received(&hash, busy_phone).unwrap(), 3_000);
        assert_eq!(store.received(&hash, new_phone).unwrap(), 1_000);
        assert!(!dir.path().join("tmp").join("crashed").exists());
        assert!(dir.path().join("tmp").join("writing").exists());
        // Once nothing of the hash is left, neither is its folder.
        backdate(&store.partial_dir(&hash, busy_phone), four_days);
        backdate(&store.partial_dir(&hash, new_phone), four_days);
        assert_eq!(store.clean_abandoned(cutoff).unwrap().uploads, 2);
        assert_eq!(fs::read_dir(dir.path().join("partial")).unwrap().count(), 0);
    }

    #[test]
    fn names_that_are_not_hashes_never_reach_the_file_system() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        for name in ["../../etc/passwd", "", &"A".repeat(64), &"0".repeat(63)] {
            assert!(matches!(
                store.append(name, Uuid::now_v7(), 0, b"x", 1),
                Err(BlobError::InvalidName)
            ));
            assert!(matches!(store.read(name), Err(BlobError::InvalidName)));
        }
    }
}
