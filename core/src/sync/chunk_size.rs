//! How big the next attachment chunk is.
//!
//! The server keeps only whole chunks: a chunk cut on the way is lost and sent
//! again from its first byte. One chunk per photo (they are under the 1 MiB
//! limit) would make every cut start the photo again from zero, and on a link
//! that is cut every few hundred kilobytes a 1 MiB chunk might never get
//! through at all. So each sync starts small and doubles the chunk after every
//! full-size chunk the server accepted (the last, shorter chunk of an
//! attachment proves nothing about the link), up to
//! [`MAX_ATTACHMENT_CHUNK_BYTES`], like TCP's slow start: a cut costs at most
//! the chunk in flight, which is never larger than [`FIRST_CHUNK_BYTES`] plus
//! what the link carried in that sync before, and a good link reaches
//! full-size chunks after six of them. The sizes depend only on what the
//! server accepted, never on time, so a sync's requests are the same on every
//! run.

use crate::sync::protocol::MAX_ATTACHMENT_CHUNK_BYTES;

/// The first chunk of every sync's uploads (32 KiB: under a second at
/// 384 kbit/s).
pub const FIRST_CHUNK_BYTES: usize = 32 * 1024;

/// The chunk size of one sync's uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSize(usize);

impl Default for ChunkSize {
    fn default() -> Self {
        ChunkSize(FIRST_CHUNK_BYTES)
    }
}

impl ChunkSize {
    /// The length of the next chunk when `remaining` bytes are left to send.
    pub fn next(self, remaining: u64) -> usize {
        usize::try_from(remaining).unwrap_or(usize::MAX).min(self.0)
    }

    /// The server accepted a chunk of `len` bytes: after a full-size one, the
    /// next may be twice as large.
    pub fn accepted(&mut self, len: usize) {
        if len >= self.0 {
            self.0 = self.0.saturating_mul(2).min(MAX_ATTACHMENT_CHUNK_BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_double_from_the_first_size_up_to_the_protocol_limit() {
        let mut size = ChunkSize::default();
        let mut lengths = Vec::new();
        for _ in 0..8 {
            let len = size.next(u64::MAX);
            lengths.push(len);
            size.accepted(len);
        }
        let k = 1024;
        assert_eq!(
            lengths,
            [
                32 * k,
                64 * k,
                128 * k,
                256 * k,
                512 * k,
                1024 * k,
                1024 * k,
                1024 * k
            ]
        );
    }

    #[test]
    fn a_chunk_is_never_longer_than_what_is_left_and_a_short_one_does_not_grow_the_next() {
        let mut size = ChunkSize::default();
        assert_eq!(size.next(100), 100);
        assert_eq!(size.next(0), 0);
        size.accepted(100);
        assert_eq!(size, ChunkSize::default());
    }

    #[test]
    fn the_chunk_in_flight_is_at_most_the_first_size_plus_what_went_before() {
        let mut size = ChunkSize::default();
        let mut sent = 0;
        for _ in 0..12 {
            let next = size.next(u64::MAX);
            assert!(next <= FIRST_CHUNK_BYTES + sent, "{next} after {sent}");
            sent += next;
            size.accepted(next);
        }
    }
}
