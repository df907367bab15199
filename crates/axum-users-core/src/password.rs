//! Passwords: the [`PasswordHasher`] trait, the reference-compatible [`Argon2Hasher`], and the
//! [`HashPool`] that runs hashing off the async executor.
//!
//! Why a pool of our own rather than `spawn_blocking`: each argon2id hash at the reference's
//! parameters holds 64 MiB and ~100 ms of CPU. Tokio's blocking pool would grow to 512 threads
//! under a login flood (32 GiB of hash memory); this pool has a fixed number of workers (one per
//! core by default), a bounded queue that answers [`HashError::Busy`] when full, a memory block
//! reused by each worker, and workers at the lowest OS scheduling priority so the executor threads
//! (every other request) preempt them.

mod argon2;
mod pool;

use base64::Engine as _;
use rand::RngCore as _;

pub use self::argon2::{Argon2Hasher, Argon2Params};
pub use self::pool::{HashPool, HashPoolConfig};

/// The outcome of [`PasswordHasher::verify_and_update`].
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the hash.
    pub valid: bool,
    /// When valid and the hash is outdated (bcrypt, or other argon2 parameters): the new hash to
    /// store.
    pub new_hash: Option<String>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified")
            .field("valid", &self.valid)
            .field("new_hash", &self.new_hash.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The pool's queue is full: answer "try again later" rather than queue without bound.
    #[error("the password hashing queue is full")]
    Busy,
    /// The stored hash is in no format this hasher knows (or has parameters beyond its limits).
    #[error("unrecognised password hash format")]
    UnknownHash,
    /// The argon2 implementation failed.
    #[error("argon2: {0}")]
    Argon2(#[from] ::argon2::Error),
    /// The bcrypt implementation failed.
    #[error("bcrypt: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    /// The pool's workers are gone (the process is shutting down).
    #[error("the password hashing pool is closed")]
    PoolClosed,
}

/// Hashes and verifies passwords. Synchronous and CPU-bound by design: it is only ever called on
/// a [`HashPool`] worker.
///
/// ```
/// use axum_users_core::{Argon2Hasher, Argon2Params, PasswordHasher};
/// let hasher = Argon2Hasher::new(Argon2Params::insecure_fast());
/// let hash = hasher.hash("guinevere").unwrap();
/// assert!(hash.starts_with("$argon2id$v=19$"));
/// assert!(hasher.verify_and_update("guinevere", &hash).unwrap().valid);
/// assert!(!hasher.verify_and_update("lancelot", &hash).unwrap().valid);
/// ```
pub trait PasswordHasher: Send + Sync + 'static {
    /// Hashes a password into its encoded (PHC) form.
    ///
    /// # Errors
    /// When the underlying implementation fails.
    fn hash(&self, password: &str) -> Result<String, HashError>;

    /// Verifies a password against a stored hash and says whether the hash should be replaced.
    ///
    /// # Errors
    /// [`HashError::UnknownHash`] for a hash in no known format.
    fn verify_and_update(&self, password: &str, hash: &str) -> Result<Verified, HashError>;
}

/// A random password (43 URL-safe characters, 256 bits), as Python's `secrets.token_urlsafe()`.
///
/// ```
/// let p = axum_users_core::generate_password();
/// assert_eq!(p.len(), 43);
/// ```
#[must_use]
pub fn generate_password() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
