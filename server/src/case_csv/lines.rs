//! The line of the file a row starts on, as an editor numbers it.
//!
//! The `csv` crate's own line count only counts `\n`, and it is taken before
//! the line ending that closes the previous row is read; so with Windows
//! (`\r\n`) line endings every row came out a line early, with old Mac (`\r`)
//! ones every row was on line 1, and blank lines between rows were not counted
//! (found by the CSV fuzz target). Here a row's line is counted from its byte
//! offset instead: `\r\n`, `\r` and `\n` each end one line.

/// Counts lines up to byte offsets given in increasing order, in one pass
/// over the file however many rows it has.
pub(crate) struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Bytes counted so far.
    at: usize,
    /// The line `at` is on (1-based).
    line: u64,
    /// Whether the byte before `at` was `\r` (so a `\n` at `at` ends no new line).
    after_cr: bool,
}

impl<'a> LineCounter<'a> {
    /// A counter over the file's bytes (after any byte order mark).
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            at: 0,
            line: 1,
            after_cr: false,
        }
    }

    /// The line a row starts on, given the byte offset `csv` reports for it,
    /// which may lie before the line endings (and blank lines) that precede
    /// the row's first byte.
    pub(crate) fn row_line(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while self
            .bytes
            .get(start)
            .is_some_and(|b| *b == b'\r' || *b == b'\n')
        {
            start += 1;
        }
        self.line_at(start)
    }

    /// The line of byte offset `offset`; offsets before one already counted
    /// give the line counted last.
    fn line_at(&mut self, offset: usize) -> u64 {
        let end = offset.min(self.bytes.len());
        for &byte in self.bytes.get(self.at..end).unwrap_or_default() {
            match byte {
                b'\r' => self.line += 1,
                b'\n' if !self.after_cr => self.line += 1,
                _ => {}
            }
            self.after_cr = byte == b'\r';
        }
        self.at = self.at.max(end);
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, offsets: &[u64]) -> Vec<u64> {
        let mut counter = LineCounter::new(text.as_bytes());
        offsets.iter().map(|&o| counter.row_line(o)).collect()
    }

    #[test]
    fn every_line_ending_counts_one_line() {
        // Offsets as csv reports them: where the previous row's content ended.
        assert_eq!(rows("h\na\nb\n", &[1, 3]), [2, 3]);
        assert_eq!(rows("h\r\na\r\nb\r\n", &[1, 4]), [2, 3]);
        assert_eq!(rows("h\ra\rb\r", &[1, 3]), [2, 3]);
        // Blank lines between rows are lines of the file too.
        assert_eq!(rows("h\na\n\n\nb\n", &[1, 3]), [2, 5]);
        assert_eq!(rows("h\r\na\r\n\r\nb", &[1, 4]), [2, 4]);
        // Offsets past the end, or going back, do not panic.
        assert_eq!(rows("h\na", &[99, 0]), [2, 2]);
    }
}
