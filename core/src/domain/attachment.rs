//! Attachments: photos of the premises, the customer's signature, audio of the
//! interview. The bytes live in the encrypted store, addressed by their SHA-256.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AttachmentId, NoteId};

/// Largest attachment accepted, in bytes (20 MiB).
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// What an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo (of the premises, a document...).
    Photo,
    /// The customer's signature.
    Signature,
    /// An audio recording of the interview.
    Audio,
}

impl AttachmentKind {
    /// The MIME types accepted for this kind.
    pub fn accepted_mime_types(self) -> &'static [&'static str] {
        match self {
            AttachmentKind::Photo => &["image/jpeg", "image/png", "image/webp", "image/heic"],
            AttachmentKind::Signature => &["image/png", "image/svg+xml"],
            AttachmentKind::Audio => &[
                "audio/mp4",
                "audio/aac",
                "audio/mpeg",
                "audio/ogg",
                "audio/amr",
            ],
        }
    }
}

/// What an attachment belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum AttachmentLink {
    /// A photo or signature item of the checklist.
    ChecklistItem {
        /// The template item id.
        item_id: String,
    },
    /// An interview note.
    Note {
        /// The note.
        note_id: NoteId,
    },
    /// The visit as a whole.
    Visit,
}

/// An attachment's description. Its bytes are stored and sent separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Attachment id.
    pub id: AttachmentId,
    /// Photo, signature or audio.
    pub kind: AttachmentKind,
    /// MIME type of the bytes.
    pub mime_type: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// Size of the bytes.
    pub size_bytes: u64,
    /// What it belongs to.
    pub link: AttachmentLink,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
}

/// Why an attachment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// No bytes.
    #[error("an attachment cannot be empty")]
    Empty,
    /// More than [`MAX_ATTACHMENT_BYTES`].
    #[error("an attachment can be at most {MAX_ATTACHMENT_BYTES} bytes")]
    TooLarge,
    /// The MIME type does not fit the kind.
    #[error("this MIME type is not accepted for this kind of attachment")]
    UnsupportedMimeType,
    /// The hash is not 64 lower-case hex digits.
    #[error("the hash must be 64 lower-case hex digits")]
    MalformedHash,
}

impl Attachment {
    /// Describes `bytes` as a new attachment after checking size and type.
    pub fn describe(
        id: AttachmentId,
        kind: AttachmentKind,
        mime_type: &str,
        bytes: &[u8],
        link: AttachmentLink,
        taken_at: DateTime<Utc>,
    ) -> Result<Attachment, AttachmentError> {
        let attachment = Attachment {
            id,
            kind,
            mime_type: mime_type.to_owned(),
            sha256: sha256_hex(bytes),
            size_bytes: bytes.len() as u64,
            link,
            taken_at,
        };
        attachment.check()?;
        Ok(attachment)
    }

    /// Checks the description: a size from 1 byte to [`MAX_ATTACHMENT_BYTES`],
    /// a MIME type its kind accepts, and a hash of 64 lower-case hex digits.
    pub fn check(&self) -> Result<(), AttachmentError> {
        if self.size_bytes == 0 {
            return Err(AttachmentError::Empty);
        }
        if self.size_bytes > MAX_ATTACHMENT_BYTES as u64 {
            return Err(AttachmentError::TooLarge);
        }
        if !self
            .kind
            .accepted_mime_types()
            .contains(&self.mime_type.as_str())
        {
            return Err(AttachmentError::UnsupportedMimeType);
        }
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if self.sha256.len() != 64 || !self.sha256.bytes().all(hex) {
            return Err(AttachmentError::MalformedHash);
        }
        Ok(())
    }
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn describe(
        kind: AttachmentKind,
        mime: &str,
        bytes: &[u8],
    ) -> Result<Attachment, AttachmentError> {
        Attachment::describe(
            Uuid::now_v7(),
            kind,
            mime,
            bytes,
            AttachmentLink::Visit,
            Utc::now(),
        )
    }

    #[test]
    fn describes_bytes_with_their_hash_and_size() {
        let a = describe(AttachmentKind::Photo, "image/jpeg", b"abc").unwrap();
        assert_eq!(
            a.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(a.size_bytes, 3);
    }

    #[test]
    fn refuses_empty_oversized_and_mistyped_attachments() {
        assert_eq!(
            describe(AttachmentKind::Photo, "image/jpeg", b""),
            Err(AttachmentError::Empty)
        );
        let big = vec![0u8; MAX_ATTACHMENT_BYTES + 1];
        assert_eq!(
            describe(AttachmentKind::Photo, "image/jpeg", &big),
            Err(AttachmentError::TooLarge)
        );
        assert_eq!(
            describe(AttachmentKind::Signature, "image/jpeg", b"x"),
            Err(AttachmentError::UnsupportedMimeType)
        );
        assert_eq!(
            describe(AttachmentKind::Photo, "text/html", b"<script>"),
            Err(AttachmentError::UnsupportedMimeType)
        );
    }
}
