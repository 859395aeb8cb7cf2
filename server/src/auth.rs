//! Passwords (argon2id) and bearer tokens (32 random bytes, kept as SHA-256).

use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

/// How long a token works, in hours.
pub const TOKEN_HOURS: i64 = 12;

/// How long a refresh credential works unused, in days: a phone left unused
/// longer asks its agent for the password again.
pub const REFRESH_DAYS: i64 = 30;

fn random_bytes<const N: usize>() -> Result<[u8; N], ServiceError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(&e))?;
    Ok(bytes)
}

/// Hashes a password into an argon2id PHC string with a random salt.
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt_bytes: [u8; 16] = random_bytes()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| ServiceError::internal(&e))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServiceError::internal(&e))
}

/// Argon2 working memory (19 MiB with the default parameters) kept between
/// checks, at most [`KEPT_WORK_MEMORY`] blocks of it. Allocating and freeing
/// it for every check, on whichever thread of the blocking pool runs it,
/// fragments the allocator's heaps: a burst of a few hundred sign-ins, two
/// at a time, left the server holding gigabytes (docs/BENCHMARKS.md). The
/// [`crate::password_gate`] bounds how many checks run at once, so this holds
/// as many buffers as it lets run.
static WORK_MEMORY: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// How many working memories are kept at most.
const KEPT_WORK_MEMORY: usize = 64;

/// Runs `f` with `blocks` argon2 blocks of kept working memory.
fn with_work_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let kept = WORK_MEMORY
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    let mut memory = kept.unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = f(&mut memory[..blocks]);
    let mut pool = WORK_MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
    if pool.len() < KEPT_WORK_MEMORY {
        pool.push(memory);
    }
    result
}

/// Whether `password` matches the PHC string `hash` (argon2, with the
/// algorithm, version and parameters the string names; compared in constant
/// time). A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = with_work_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, memory)
    });
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == expected)
}

/// Spends the time of one verification, so an unknown user name answers as
/// slowly as a wrong password.
pub fn verify_nothing(password: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("doorstep-dummy").ok()) {
        let _ = verify_password(password, hash);
    }
}

/// A new token or refresh credential: 32 random bytes as 64 hex digits.
pub fn new_token() -> Result<String, ServiceError> {
    Ok(hex::encode(random_bytes::<32>()?))
}

/// The SHA-256 of a token's or refresh credential's text, as stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        // Another algorithm, version or parameters than the default ones: the
        // string says which.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(1024, 3, 2, Some(24)).unwrap(),
        );
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let other = argon2i
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(other.starts_with("$argon2i$v=16$m=1024,t=3,p=2$"));
        assert!(verify_password("correct horse", &other));
        assert!(!verify_password("correct hors", &other));
        // Broken strings never match.
        let cut = &hash[..hash.len() - 4];
        assert!(!verify_password("correct horse", cut));
        assert!(!verify_password(
            "correct horse",
            &hash.replace("argon2id", "argon2x")
        ));
    }

    #[test]
    fn tokens_are_random_and_stored_digested() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_digest(&a), a);
        assert_eq!(token_digest(&a), token_digest(&a));
    }
}
