//! Passwords: argon2id with OWASP's parameters (19 MiB of memory, 2 passes, 1 lane), stored as
//! PHC strings that carry their own salt and parameters. Hashing runs on the blocking pool.
//! Checking a password for an account that does not exist, or has none yet, spends the same
//! time against a dummy hash, so the answer's delay does not tell which emails have accounts.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::text;

/// Fewer characters than this is refused.
pub const MIN_CHARS: usize = 12;
/// More bytes than this is refused before hashing: argon2 takes any length, a request should not.
pub const MAX_BYTES: usize = 1024;

/// OWASP's argon2id recommendation: m = 19456 KiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("{}", text::password_too_short(MIN_CHARS))]
    TooShort,
    #[error("{}", text::password_too_long(MAX_BYTES))]
    TooLong,
    #[error("{}", text::INTERNAL)]
    Hashing,
}

fn argon2() -> Argon2<'static> {
    // The constants above are valid parameters; `Params::DEFAULT` is argon2's own and as safe.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether `password` may be chosen: at least [`MIN_CHARS`] characters, at most [`MAX_BYTES`].
pub fn check_rules(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_BYTES {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    Ok(())
}

fn hash_now(password: &[u8]) -> Result<String, PasswordError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| PasswordError::Hashing)?;
    argon2().hash_password(password, &salt).map(|hash| hash.to_string()).map_err(|_| PasswordError::Hashing)
}

/// The PHC string of `password`, after [`check_rules`].
pub async fn hash(password: String) -> Result<String, PasswordError> {
    check_rules(&password)?;
    tokio::task::spawn_blocking(move || hash_now(password.as_bytes())).await.map_err(|_| PasswordError::Hashing)?
}

/// A hash of a random password no one knows, with the same parameters as real ones.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_now(recete_platform::crypto::random_token(32).as_bytes()).unwrap_or_default());

/// Computes the dummy hash now, off the request path, so the first unknown email costs no more
/// than later ones.
pub fn warm_up() {
    std::thread::spawn(|| LazyLock::force(&DUMMY_HASH));
}

/// Whether `password` matches `stored` (argon2's comparison is constant-time). With no stored
/// hash (an unknown email, a user who never chose a password) the dummy hash is checked instead,
/// taking the same time, and the answer is false. Over-long input is refused unhashed.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    if password.len() > MAX_BYTES {
        return false;
    }
    let outcome = tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = argon2().verify_password(password.as_bytes(), &parsed).is_ok();
        known && matches
    })
    .await;
    outcome.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_count_characters_and_cap_bytes() {
        assert_eq!(check_rules("short"), Err(PasswordError::TooShort));
        assert_eq!(check_rules("çççççççççççç"), Ok(()), "twelve characters, more bytes");
        assert_eq!(check_rules(&"x".repeat(1024)), Ok(()));
        assert_eq!(check_rules(&"x".repeat(1025)), Err(PasswordError::TooLong));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse battery".into()).await.expect("hashed");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("correct horse battery!".into(), Some(phc)).await);
        assert!(!verify("anything at all here".into(), None).await, "no stored hash never matches");
    }
}
