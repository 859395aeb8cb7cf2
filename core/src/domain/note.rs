//! Interview notes: free text typed during or after the interview. Append-only:
//! a note is never edited or removed, so nothing typed in the field is lost.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{NoteId, UserId};

/// Longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// One interview note (访谈记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterviewNote {
    /// Note id.
    pub id: NoteId,
    /// The agent who wrote it.
    pub author: UserId,
    /// When it was written.
    pub written_at: DateTime<Utc>,
    /// The text, verbatim.
    pub text: String,
}

/// Why a note was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is empty or longer than [`MAX_NOTE_CHARS`].
    #[error("a note must have text and be at most {MAX_NOTE_CHARS} characters")]
    BadLength,
}

impl InterviewNote {
    /// Checks the note's text.
    pub fn check(&self) -> Result<(), NoteError> {
        check_note_text(&self.text)
    }
}

/// Checks a note's text before it is written.
pub fn check_note_text(text: &str) -> Result<(), NoteError> {
    if text.trim().is_empty() || text.chars().count() > MAX_NOTE_CHARS {
        return Err(NoteError::BadLength);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_length_is_bounded_in_characters_not_bytes() {
        assert_eq!(check_note_text(&"债".repeat(MAX_NOTE_CHARS)), Ok(()));
        assert_eq!(
            check_note_text(&"债".repeat(MAX_NOTE_CHARS + 1)),
            Err(NoteError::BadLength)
        );
        assert_eq!(check_note_text(" \n\t"), Err(NoteError::BadLength));
        assert_eq!(check_note_text("客户说下周一还款 🙏"), Ok(()));
    }
}
