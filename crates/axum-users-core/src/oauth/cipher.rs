//! Provider tokens sealed at rest: AES-256-GCM under a key derived from a configured secret.
//!
//! Stored form: `enc:v1:` followed by base64url (no padding) of the 12-byte random nonce and
//! the ciphertext with its 16-byte tag. The associated data binds a token to its row and
//! column (`oauth_name`, `account_id`, `access_token`/`refresh_token`), so a sealed value
//! copied into another row or column does not open. A value without the prefix is plaintext
//! (FastAPI Users writes its tokens so) and reads as it is.

use std::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::RngCore as _;

/// The prefix of a sealed token; anything else is plaintext.
pub const SEALED_PREFIX: &str = "enc:v1:";

/// HKDF `info` of the token key: changing it changes every key.
const KEY_INFO: &[u8] = b"axum-users oauth_account token encryption v1";
/// The shortest secret accepted, in bytes.
const MIN_SECRET_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// Why a token could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// The secret is shorter than 16 bytes.
    #[error("the token encryption secret must be at least 16 bytes")]
    WeakSecret,
    /// A sealed token, but no cipher is configured to open it.
    #[error("the token is encrypted and no token encryption secret is configured")]
    NoKey,
    /// The sealed token does not open with any configured key (wrong key, tampered, or moved
    /// to another row).
    #[error("the encrypted token does not open with the configured keys")]
    Undecryptable,
    /// The sealed token is not base64 of a nonce and a tag at least.
    #[error("the encrypted token is malformed")]
    Malformed,
}

/// Seals and opens provider tokens (AES-256-GCM, key from HKDF-SHA256 of a secret).
///
/// `Debug` never shows key material.
///
/// ```
/// use axum_users_core::oauth::TokenCipher;
///
/// let cipher = TokenCipher::new(b"a secret of at least sixteen bytes").unwrap();
/// let sealed = cipher.seal("ya29.token", b"google\0123\0access_token").unwrap();
/// assert!(sealed.starts_with("enc:v1:"));
/// assert_eq!(cipher.open(&sealed, b"google\0123\0access_token").unwrap(), "ya29.token");
/// // FastAPI Users' plaintext rows read as they are.
/// assert_eq!(cipher.open("plain", b"").unwrap(), "plain");
/// ```
#[derive(Clone)]
pub struct TokenCipher {
    /// The sealing key first, then retired keys that still open.
    keys: Vec<Aes256Gcm>,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCipher")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

fn derive(secret: &[u8]) -> Result<Aes256Gcm, CipherError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(CipherError::WeakSecret);
    }
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, secret)
        .expand(KEY_INFO, &mut key)
        .map_err(|_| CipherError::WeakSecret)?;
    Aes256Gcm::new_from_slice(&key).map_err(|_| CipherError::WeakSecret)
}

impl TokenCipher {
    /// A cipher whose key is derived from `secret` (at least 16 bytes; use 32 random ones).
    ///
    /// # Errors
    /// [`CipherError::WeakSecret`].
    pub fn new(secret: &[u8]) -> Result<Self, CipherError> {
        Ok(Self {
            keys: vec![derive(secret)?],
        })
    }

    /// Adds a retired secret whose tokens still open (they are sealed again under the current
    /// key when the account is next refreshed): key rotation without losing tokens.
    ///
    /// # Errors
    /// [`CipherError::WeakSecret`].
    pub fn with_previous_secret(mut self, secret: &[u8]) -> Result<Self, CipherError> {
        self.keys.push(derive(secret)?);
        Ok(self)
    }

    /// Seals a token, bound to `aad`.
    ///
    /// # Errors
    /// Only for inputs beyond AES-GCM's limits (64 GiB).
    pub fn seal(&self, plaintext: &str, aad: &[u8]) -> Result<String, CipherError> {
        let Some(key) = self.keys.first() else {
            return Err(CipherError::NoKey);
        };
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = key
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad,
                },
            )
            .map_err(|_| CipherError::Malformed)?;
        let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Ok(format!("{SEALED_PREFIX}{encoded}"))
    }

    /// Opens a stored token: a sealed one with any configured key, plaintext as it is.
    ///
    /// # Errors
    /// [`CipherError::Malformed`] or [`CipherError::Undecryptable`].
    pub fn open(&self, stored: &str, aad: &[u8]) -> Result<String, CipherError> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CipherError::Malformed)?;
        if bytes.len() < NONCE_BYTES + TAG_BYTES {
            return Err(CipherError::Malformed);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| CipherError::Malformed)?;
        let nonce = Nonce::from(nonce);
        for key in &self.keys {
            if let Ok(plain) = key.decrypt(&nonce, Payload { msg: sealed, aad }) {
                return String::from_utf8(plain).map_err(|_| CipherError::Malformed);
            }
        }
        Err(CipherError::Undecryptable)
    }
}

/// Whether a stored token is sealed.
#[must_use]
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AAD: &[u8] = b"github\x0042\x00access_token";

    #[test]
    fn seals_and_opens_with_a_fresh_nonce_each_time() {
        let c = TokenCipher::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let a = c.seal("gho_token", AAD).unwrap();
        let b = c.seal("gho_token", AAD).unwrap();
        assert_ne!(a, b);
        assert!(is_sealed(&a));
        assert_eq!(c.open(&a, AAD).unwrap(), "gho_token");
        assert_eq!(c.open(&b, AAD).unwrap(), "gho_token");
        // `enc:v1:` + unpadded base64 of nonce (12) + ciphertext (9) + tag (16).
        assert_eq!(a.len(), 7 + (4 * (12 + 9 + 16_usize)).div_ceil(3));
    }

    #[test]
    fn refuses_other_keys_rows_and_tampering() {
        let c = TokenCipher::new(b"0123456789abcdef0123456789abcdef").unwrap();
        let other = TokenCipher::new(b"another secret, sixteen bytes or more").unwrap();
        let sealed = c.seal("t", AAD).unwrap();
        assert_eq!(other.open(&sealed, AAD), Err(CipherError::Undecryptable));
        assert_eq!(
            c.open(&sealed, b"github\x0043\x00access_token"),
            Err(CipherError::Undecryptable)
        );
        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(c.open(&tampered, AAD).is_err());
        assert_eq!(c.open("enc:v1:AAAA", AAD), Err(CipherError::Malformed));
        assert_eq!(c.open("enc:v1:!!", AAD), Err(CipherError::Malformed));
        assert_eq!(
            TokenCipher::new(b"short").unwrap_err(),
            CipherError::WeakSecret
        );
    }

    #[test]
    fn plaintext_reads_as_is_and_previous_keys_still_open() {
        let old = TokenCipher::new(b"the old secret, long enough").unwrap();
        let sealed = old.seal("t", AAD).unwrap();
        let new = TokenCipher::new(b"the new secret, long enough")
            .unwrap()
            .with_previous_secret(b"the old secret, long enough")
            .unwrap();
        assert_eq!(new.open(&sealed, AAD).unwrap(), "t");
        assert_eq!(new.open("gho_plain", AAD).unwrap(), "gho_plain");
        let resealed = new.seal("t", AAD).unwrap();
        assert_eq!(old.open(&resealed, AAD), Err(CipherError::Undecryptable));
    }
}
