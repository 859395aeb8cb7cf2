//! One conformance suite for every blob store backend: each check takes a
//! fresh, empty store and a second handle onto the same bytes (another
//! replica). The file-system store runs it in a temporary directory; the S3
//! store against the bucket in `DOORSTEP_TEST_S3_URL` (`scripts/test` starts
//! moto with `scripts/s3` for it), each store under a key prefix of its own.
//! Without that variable the S3 tests print SKIPPED, and fail when `CI` is
//! set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use doorstep_core::domain::attachment::sha256_hex;
use doorstep_core::sync::protocol::MAX_ATTACHMENT_CHUNK_BYTES;
use doorstep_server::blobs::{Appended, BlobError, BlobStore, Cleaned};
use futures_util::StreamExt;
use uuid::Uuid;

fn bytes_of(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 11) as u8)
        .collect()
}

/// Sends `bytes[range]` (of an attachment of all of `bytes`) in chunks of
/// `chunk` bytes; the last answer.
fn upload(
    blobs: &dyn BlobStore,
    sha: &str,
    device: Uuid,
    bytes: &[u8],
    range: std::ops::Range<usize>,
    chunk: usize,
) -> Result<Appended, BlobError> {
    let total = bytes.len() as u64;
    let mut answer = Appended::Received(range.start as u64);
    let mut at = range.start;
    while at < range.end {
        let end = (at + chunk).min(range.end);
        answer = blobs.append(sha, device, at as u64, &bytes[at..end], total)?;
        at = end;
    }
    Ok(answer)
}

/// Nothing of any upload in progress is left (what a cleanup with a cutoff
/// in the future would remove is nothing).
fn assert_no_partial_left(blobs: &dyn BlobStore) {
    let far = Utc::now() + chrono::Duration::days(3650);
    let cleaned = blobs.clean_abandoned(far).unwrap();
    assert_eq!((cleaned.uploads, cleaned.bytes), (0, 0), "{cleaned:?}");
}

fn chunks_join_into_one_verified_whole(blobs: &dyn BlobStore, replica: &dyn BlobStore) {
    let phone = Uuid::now_v7();
    let bytes = bytes_of(10_000, 1);
    let hash = sha256_hex(&bytes);
    assert_eq!(blobs.received(&hash, phone).unwrap(), 0);
    assert!(!blobs.contains(&hash).unwrap());
    assert_eq!(
        blobs
            .append(&hash, phone, 0, &bytes[..4_000], 10_000)
            .unwrap(),
        Appended::Received(4_000)
    );
    assert_eq!(
        blobs
            .append(&hash, phone, 0, &bytes[..4_000], 10_000)
            .unwrap(),
        Appended::WrongOffset(4_000)
    );
    assert_eq!(
        blobs
            .append(&hash, phone, 8_000, &bytes[8_000..], 10_000)
            .unwrap(),
        Appended::WrongOffset(4_000)
    );
    assert_eq!(blobs.received(&hash, phone).unwrap(), 4_000);
    assert!(!blobs.contains(&hash).unwrap());
    assert!(blobs.read(&hash).unwrap().is_none());
    assert!(blobs.open(&hash).unwrap().is_none());
    // Another replica carries on where this one stopped.
    assert_eq!(replica.received(&hash, phone).unwrap(), 4_000);
    assert_eq!(
        replica
            .append(&hash, phone, 4_000, &bytes[4_000..7_000], 10_000)
            .unwrap(),
        Appended::Received(7_000)
    );
    assert_eq!(
        blobs
            .append(&hash, phone, 7_000, &bytes[7_000..], 10_000)
            .unwrap(),
        Appended::Complete
    );
    assert!(blobs.contains(&hash).unwrap());
    assert!(replica.contains(&hash).unwrap());
    assert_eq!(replica.read(&hash).unwrap().unwrap(), bytes);
    assert_eq!(blobs.received(&hash, phone).unwrap(), 0);
    assert_no_partial_left(blobs);
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), bytes);
}

fn each_device_writes_only_its_own_upload(blobs: &dyn BlobStore, replica: &dyn BlobStore) {
    // A partner's phone that knows the hash cannot add to, or spoil, the
    // upload the photo's own phone has under way.
    let (owner, partner) = (Uuid::now_v7(), Uuid::now_v7());
    let bytes = bytes_of(6_000, 2);
    let hash = sha256_hex(&bytes);
    blobs
        .append(&hash, owner, 0, &bytes[..3_000], 6_000)
        .unwrap();
    assert_eq!(blobs.received(&hash, partner).unwrap(), 0);
    assert!(matches!(
        replica.append(&hash, partner, 0, &[0u8; 6_000], 6_000),
        Err(BlobError::Mismatch)
    ));
    assert_eq!(blobs.received(&hash, owner).unwrap(), 3_000);
    assert_eq!(
        replica
            .append(&hash, owner, 3_000, &bytes[3_000..], 6_000)
            .unwrap(),
        Appended::Complete
    );
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), bytes);
    // With the bytes complete, a second device still has to send them all
    // to be counted as having them, and garbage changes nothing.
    assert_eq!(
        blobs
            .append(&hash, partner, 0, &bytes[..1_000], 6_000)
            .unwrap(),
        Appended::Received(1_000)
    );
    assert_eq!(blobs.received(&hash, partner).unwrap(), 1_000);
    assert!(matches!(
        blobs.append(&hash, partner, 1_000, &[7u8; 5_000], 6_000),
        Err(BlobError::Mismatch)
    ));
    assert_eq!(blobs.received(&hash, partner).unwrap(), 0);
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), bytes);
    assert_eq!(
        upload(blobs, &hash, partner, &bytes, 0..6_000, 2_500).unwrap(),
        Appended::Complete
    );
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), bytes);
    assert_no_partial_left(blobs);
}

fn nobody_sees_every_byte_held_before_the_attachment_is_complete(
    blobs: &dyn BlobStore,
    replica: &dyn BlobStore,
) {
    // One phone uploads through two replicas at once (a retry that went to
    // another server) while a third party keeps asking how much is held:
    // "all of it" must never be answered, or a phone would conclude the
    // server is broken. Both may finish the upload; either way the bytes are
    // whole.
    let phone = Uuid::now_v7();
    let bytes = bytes_of(3_000, 3);
    let hash = sha256_hex(&bytes);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let uploaders: Vec<_> = [blobs, replica]
            .into_iter()
            .map(|store| {
                let (hash, bytes) = (&hash, &bytes);
                scope.spawn(move || {
                    let mut offset = 0;
                    // Bounded: a mismatch (the other connection finished
                    // first and took the chunks) starts over, as a phone
                    // does.
                    for _ in 0..1_000 {
                        if offset >= 3_000 || store.contains(hash).unwrap() {
                            break;
                        }
                        let end = (offset + 1_000).min(3_000);
                        match store.append(
                            hash,
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
                })
            })
            .collect();
        let watcher = scope.spawn(|| {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                let held = blobs.received(&hash, phone).unwrap();
                assert!(held < 3_000, "all bytes held, not complete");
                if blobs.contains(&hash).unwrap() || done.load(Ordering::SeqCst) {
                    break;
                }
            }
        });
        for uploader in uploaders {
            uploader.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        watcher.join().unwrap();
    });
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), bytes);
}

fn two_replicas_finishing_the_same_upload_at_once_both_end_well(
    blobs: &dyn BlobStore,
    replica: &dyn BlobStore,
) {
    // The same last chunk reaches two replicas at the same moment (a phone's
    // retry after a lost answer): each either completes it or, when the other
    // took the chunks first, says where to resume; never an error, and the
    // finished bytes are whole.
    for round in 0..5u8 {
        let phone = Uuid::now_v7();
        let bytes = bytes_of(9_000 + usize::from(round), 10 + round);
        let hash = sha256_hex(&bytes);
        let total = bytes.len() as u64;
        upload(blobs, &hash, phone, &bytes, 0..6_000, 3_000).unwrap();
        let barrier = std::sync::Barrier::new(2);
        let answers: Vec<Appended> = std::thread::scope(|scope| {
            let handles: Vec<_> = [blobs, replica]
                .into_iter()
                .map(|store| {
                    let (hash, bytes, barrier) = (&hash, &bytes, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        store
                            .append(hash, phone, 6_000, &bytes[6_000..], total)
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(
            answers.contains(&Appended::Complete),
            "round {round}: {answers:?}"
        );
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Appended::Complete | Appended::WrongOffset(_))),
            "round {round}: {answers:?}"
        );
        assert_eq!(replica.read(&hash).unwrap().unwrap(), bytes);
        assert_no_partial_left(blobs);
    }
}

fn wrong_bytes_are_discarded_whole(blobs: &dyn BlobStore, _replica: &dyn BlobStore) {
    let phone = Uuid::now_v7();
    let hash = sha256_hex(b"the real photo");
    assert!(matches!(
        blobs.append(&hash, phone, 0, b"not the photo!", 14),
        Err(BlobError::Mismatch)
    ));
    assert_eq!(blobs.received(&hash, phone).unwrap(), 0);
    assert_eq!(blobs.read(&hash).unwrap(), None);
    // Chunks held, then a last chunk that spoils the whole: all of it goes.
    blobs.append(&hash, phone, 0, b"the real", 14).unwrap();
    assert_eq!(blobs.received(&hash, phone).unwrap(), 8);
    assert!(matches!(
        blobs.append(&hash, phone, 8, b" PHOTO", 14),
        Err(BlobError::Mismatch)
    ));
    assert_eq!(blobs.received(&hash, phone).unwrap(), 0);
    assert!(!blobs.contains(&hash).unwrap());
    // The right bytes are taken afterwards, from offset 0.
    blobs.append(&hash, phone, 0, b"the real", 14).unwrap();
    assert_eq!(
        blobs.append(&hash, phone, 8, b" photo", 14).unwrap(),
        Appended::Complete
    );
    assert_eq!(blobs.read(&hash).unwrap().unwrap(), b"the real photo");
    assert_no_partial_left(blobs);
}

fn names_that_are_not_hashes_are_refused_before_anything(
    blobs: &dyn BlobStore,
    _replica: &dyn BlobStore,
) {
    let phone = Uuid::now_v7();
    for name in [
        "../../etc/passwd",
        "",
        &"A".repeat(64),
        &"0".repeat(63),
        &format!("{}/..", "0".repeat(61)),
    ] {
        assert!(matches!(
            blobs.append(name, phone, 0, b"x", 1),
            Err(BlobError::InvalidName)
        ));
        assert!(matches!(blobs.read(name), Err(BlobError::InvalidName)));
        assert!(matches!(blobs.open(name), Err(BlobError::InvalidName)));
        assert!(matches!(blobs.contains(name), Err(BlobError::InvalidName)));
        assert!(matches!(
            blobs.received(name, phone),
            Err(BlobError::InvalidName)
        ));
    }
    assert_no_partial_left(blobs);
}

fn a_large_attachment_is_read_back_as_a_stream(blobs: &dyn BlobStore, replica: &dyn BlobStore) {
    // The largest attachment a phone may send, in the chunks it sends.
    let size = doorstep_core::domain::attachment::MAX_ATTACHMENT_BYTES;
    let bytes = bytes_of(size, 4);
    let hash = sha256_hex(&bytes);
    let phone = Uuid::now_v7();
    assert_eq!(
        upload(
            blobs,
            &hash,
            phone,
            &bytes,
            0..size,
            MAX_ATTACHMENT_CHUNK_BYTES
        )
        .unwrap(),
        Appended::Complete
    );
    let blob = replica.open(&hash).unwrap().unwrap();
    assert_eq!(blob.size(), size as u64);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (pieces, largest, read) = runtime.block_on(async move {
        let mut stream = blob.into_stream();
        let (mut pieces, mut largest, mut read) = (0, 0, Vec::with_capacity(size));
        while let Some(piece) = stream.next().await {
            let piece = piece.unwrap();
            pieces += 1;
            largest = largest.max(piece.len());
            read.extend_from_slice(&piece);
        }
        (pieces, largest, read)
    });
    assert!(read == bytes, "the bytes read back differ");
    // Streamed in pieces, never as one buffer of the whole.
    assert!(pieces > 1, "{pieces} pieces");
    assert!(
        largest <= 2 * MAX_ATTACHMENT_CHUNK_BYTES,
        "a piece of {largest}"
    );
    assert_no_partial_left(blobs);
}

fn abandoned_uploads_are_removed_after_their_age(blobs: &dyn BlobStore, replica: &dyn BlobStore) {
    // Time is injected: the cutoff stands for "now minus the age", so an
    // upload written now is abandoned for a cutoff an hour from now (what a
    // cleanup 73 hours later with the default age of 72 would use).
    let (one, two, three) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let photo = bytes_of(5_000, 5);
    let other = bytes_of(4_000, 6);
    let finished = bytes_of(3_000, 7);
    let (photo_sha, other_sha, finished_sha) = (
        sha256_hex(&photo),
        sha256_hex(&other),
        sha256_hex(&finished),
    );
    upload(blobs, &photo_sha, one, &photo, 0..3_000, 1_500).unwrap();
    upload(blobs, &photo_sha, two, &photo, 0..1_000, 1_000).unwrap();
    upload(blobs, &other_sha, one, &other, 0..2_000, 2_000).unwrap();
    assert_eq!(
        upload(blobs, &finished_sha, three, &finished, 0..3_000, 1_000).unwrap(),
        Appended::Complete
    );
    // Untouched for less than the age: kept.
    let now = Utc::now();
    let kept = blobs
        .clean_abandoned(now - chrono::Duration::hours(72))
        .unwrap();
    assert_eq!(kept, Cleaned::default());
    assert_eq!(blobs.received(&photo_sha, one).unwrap(), 3_000);
    // Past it: every upload in progress goes, the finished attachment stays.
    let later = Utc::now() + chrono::Duration::hours(1);
    let cleaned = replica.clean_abandoned(later).unwrap();
    assert_eq!(cleaned.uploads, 3, "{cleaned:?}");
    assert_eq!(cleaned.bytes, 3_000 + 1_000 + 2_000, "{cleaned:?}");
    for (sha, device) in [(&photo_sha, one), (&photo_sha, two), (&other_sha, one)] {
        assert_eq!(blobs.received(sha, device).unwrap(), 0);
    }
    assert_eq!(blobs.read(&finished_sha).unwrap().unwrap(), finished);
    assert_eq!(replica.clean_abandoned(later).unwrap().uploads, 0);
    // A phone that comes back hears where to start again, and finishes.
    assert_eq!(
        blobs
            .append(&photo_sha, one, 3_000, &photo[3_000..], 5_000)
            .unwrap(),
        Appended::WrongOffset(0)
    );
    assert_eq!(
        upload(blobs, &photo_sha, one, &photo, 0..5_000, 2_000).unwrap(),
        Appended::Complete
    );
    assert_eq!(blobs.read(&photo_sha).unwrap().unwrap(), photo);
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod fs {
            use std::sync::Arc;
            use doorstep_server::blobs::{BlobStore, FsBlobStore};
            $(
                #[test]
                fn $check() {
                    let dir = tempfile::tempdir().unwrap();
                    let blobs: Arc<dyn BlobStore> =
                        Arc::new(FsBlobStore::open(dir.path()).unwrap());
                    let replica = FsBlobStore::open(dir.path()).unwrap();
                    super::$check(blobs.as_ref(), &replica);
                }
            )*
        }
        mod s3 {
            use doorstep_server::blobs::S3BlobStore;
            $(
                #[test]
                fn $check() {
                    let name = concat!("s3::", stringify!($check));
                    if let Some(config) = crate::common::s3_config(name) {
                        let blobs = S3BlobStore::open(&config).unwrap();
                        let replica = S3BlobStore::open(&config).unwrap();
                        super::$check(&blobs, &replica);
                    }
                }
            )*
        }
    };
}

conformance!(
    chunks_join_into_one_verified_whole,
    each_device_writes_only_its_own_upload,
    nobody_sees_every_byte_held_before_the_attachment_is_complete,
    two_replicas_finishing_the_same_upload_at_once_both_end_well,
    wrong_bytes_are_discarded_whole,
    names_that_are_not_hashes_are_refused_before_anything,
    a_large_attachment_is_read_back_as_a_stream,
    abandoned_uploads_are_removed_after_their_age,
);
