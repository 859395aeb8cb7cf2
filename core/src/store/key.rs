//! The database key and how it is applied to a SQLCipher connection.

use std::fmt;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The key that encrypts the device database.
///
/// On a phone the shell keeps a random 32-byte key in Android Keystore or the iOS
/// Keychain and passes it raw, which skips SQLCipher's key derivation (about
/// 200 ms per open). A passphrase is accepted for tools and demos.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseKey {
    /// A raw 256-bit key.
    Raw([u8; 32]),
    /// A passphrase, stretched by SQLCipher with PBKDF2.
    Passphrase(String),
}

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseKey::Raw(_) => f.write_str("DatabaseKey::Raw(<redacted>)"),
            DatabaseKey::Passphrase(_) => f.write_str("DatabaseKey::Passphrase(<redacted>)"),
        }
    }
}

impl DatabaseKey {
    /// A raw key from 64 hex digits.
    pub fn from_hex(hex_key: &str) -> Result<DatabaseKey> {
        let invalid = || Error::Invalid {
            field: "key",
            reason: "a raw key is 64 hex digits".into(),
        };
        let bytes = hex::decode(hex_key).map_err(|_| invalid())?;
        let raw: [u8; 32] = bytes.try_into().map_err(|_| invalid())?;
        Ok(DatabaseKey::Raw(raw))
    }

    /// Applies the key to a freshly opened connection and proves the key opens the
    /// file: a wrong key is [`Error::WrongKey`], a build without SQLCipher is
    /// [`Error::EncryptionUnavailable`].
    pub(crate) fn unlock(&self, conn: &Connection) -> Result<()> {
        match self {
            DatabaseKey::Raw(raw) => {
                conn.pragma_update(None, "key", format!("x'{}'", hex::encode(raw)))?
            }
            DatabaseKey::Passphrase(passphrase) => {
                if passphrase.is_empty() {
                    return Err(Error::Invalid {
                        field: "key",
                        reason: "an empty passphrase would leave the database unencrypted".into(),
                    });
                }
                conn.pragma_update(None, "key", passphrase)?
            }
        }
        let cipher: Option<String> = conn
            .query_row("PRAGMA cipher_version", [], |row| row.get(0))
            .ok();
        if cipher.is_none_or(|v| v.is_empty()) {
            return Err(Error::EncryptionUnavailable);
        }
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
            row.get::<_, i64>(0)
        }) {
            Ok(_) => Ok(()),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
                Err(Error::WrongKey)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = DatabaseKey::Passphrase("correct horse".into());
        assert!(!format!("{key:?}").contains("horse"));
        let raw = DatabaseKey::Raw([0xcd; 32]);
        assert!(!format!("{raw:?}").contains("cdcd"));
    }

    #[test]
    fn hex_keys_must_be_64_digits() {
        assert!(DatabaseKey::from_hex(&"0f".repeat(32)).is_ok());
        assert!(DatabaseKey::from_hex(&"0f".repeat(31)).is_err());
        assert!(DatabaseKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
