//! Refresh tokens: long-lived opaque tokens that a client exchanges for a new access token and
//! a new refresh token, with rotation on every use and reuse detection.
//!
//! | piece | item |
//! |---|---|
//! | the service (issue, rotate, revoke) | [`RefreshTokens`] |
//! | where tokens live | [`RefreshTokenStore`] (SQL in `axum-users-sqlx`, Redis in `axum-users-redis`, `MemoryRefreshStore` with the `memory` feature) |
//! | what a store keeps | [`RefreshTokenRecord`] (a SHA-256 hash, never the token) |
//!
//! # The model
//!
//! A login opens a **family** (a session): a random family id, the user, and its first token.
//! Each use of a token ([`RefreshTokens::rotate`]) marks it *rotated* and adds its successor to
//! the family, in one atomic step of the store: of two concurrent uses of one token exactly one
//! succeeds. Presenting a rotated token again is **reuse**, the mark of a stolen token (either
//! the thief or the client used it first): the whole family is revoked, its newest token
//! included, and a warning is logged with the user and family ids. Revoking a family (logout,
//! reuse) or every family of a user (password change or reset) deletes the families; their
//! tokens go with them.
//!
//! Tokens are 43 URL-safe characters (32 random bytes). Stores keep only their SHA-256 (lower-case
//! hex, 64 characters): a leaked table or Redis dump gives no usable token. Each token lives for
//! the configured lifetime (default [`DEFAULT_REFRESH_LIFETIME`], 30 days) from its issue, so a
//! family that is used stays alive, and one left alone for a whole lifetime dies. Expired rows
//! stay until [`RefreshTokens::purge_expired`] (SQL) or their key expires (Redis); an expired
//! token is invalid (401), rotated or not, without revoking its family.
//!
//! ```
//! # #[cfg(feature = "memory")] {
//! use std::sync::Arc;
//! use axum_users_core::{MemoryRefreshStore, RefreshError, RefreshTokens};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let tokens = RefreshTokens::new(Arc::new(MemoryRefreshStore::new()));
//! let user = uuid::Uuid::new_v4();
//! let first = tokens.issue(user).await.unwrap();
//! let second = tokens.rotate(&first.token).await.unwrap();
//! assert_eq!((second.user_id, second.family_id), (user, first.family_id));
//! // Using the first token again revokes the family: the second token is dead too.
//! assert!(matches!(tokens.rotate(&first.token).await, Err(RefreshError::Reused { .. })));
//! assert!(matches!(tokens.rotate(&second.token).await, Err(RefreshError::Invalid)));
//! # });
//! # }
//! ```

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "memory")]
mod memory;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use sha2::Digest as _;
use uuid::Uuid;

use crate::{StoreError, generate_token};

#[cfg(feature = "memory")]
pub use self::memory::MemoryRefreshStore;

/// How long a refresh token lives by default: 30 days from its issue.
pub const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The longest token accepted for a lookup; ours are 43 characters, anything far longer is
/// refused before hashing.
const MAX_PRESENTED_LEN: usize = 256;

/// The stored form of a refresh token: the lower-case hex of its SHA-256 (64 characters).
///
/// ```
/// let h = axum_users_core::refresh_token_hash("abc");
/// assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
#[must_use]
pub fn refresh_token_hash(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A refresh token as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// [`refresh_token_hash`] of the token (the key).
    pub token_hash: String,
    /// The family (session) it belongs to.
    pub family_id: Uuid,
    /// Whose it is.
    pub user_id: Uuid,
    /// When it was issued.
    pub created_at: SystemTime,
    /// From when it is refused.
    pub expires_at: SystemTime,
    /// When it was exchanged for its successor; `None` while it is the family's newest.
    pub rotated_at: Option<SystemTime>,
}

/// What [`RefreshTokenStore::rotate_refresh_token`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was live: it is now rotated, and its successor stored in its family.
    Rotated {
        /// The family's user.
        user_id: Uuid,
        /// The family.
        family_id: Uuid,
    },
    /// The token had been rotated already (nothing was changed): reuse.
    Reused {
        /// The family's user.
        user_id: Uuid,
        /// The family.
        family_id: Uuid,
    },
    /// No such token, its family is revoked, or it has expired (nothing was changed).
    Invalid,
}

/// Where refresh-token families and their tokens live. Every method is atomic on its own;
/// [`rotate_refresh_token`](Self::rotate_refresh_token) is a compare-and-set, so that two
/// concurrent rotations of one token cannot both succeed, and a family revoked while one of its
/// tokens is being rotated ends with no live token.
///
/// Times are passed in by the caller (the [`RefreshTokens`] clock); stores keep them to the
/// microsecond or better.
#[async_trait]
pub trait RefreshTokenStore: Send + Sync + 'static {
    /// Opens a family with its first token (`first.rotated_at` is ignored: the token is new).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the family id or token hash exists; a foreign-key failure
    /// when the user does not exist (SQL stores).
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError>;

    /// The token with this hash, while its family exists (expired or rotated tokens included).
    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError>;

    /// In one atomic step: when `token_hash` names a token of an existing family that has not
    /// expired at `now` (`now < expires_at`) and was not rotated, marks it rotated at `now`,
    /// stores `next_hash` in the same family (created at `now`, expiring at `next_expires_at`)
    /// and keeps the family until at least `next_expires_at`. A rotated token that has not
    /// expired yields [`RotateOutcome::Reused`] and changes nothing; anything else
    /// [`RotateOutcome::Invalid`].
    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError>;

    /// Deletes a family and its tokens; whether it existed.
    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError>;

    /// Deletes every family of a user and their tokens; how many families.
    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError>;

    /// Deletes the tokens expired at `now` (`expires_at <= now`) and the families left with
    /// none; how many tokens (stores whose keys expire by themselves, Redis, answer 0).
    async fn purge_expired_refresh_tokens(&self, now: SystemTime) -> Result<u64, StoreError>;
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// Unknown, expired, malformed, or of a revoked family.
    #[error("invalid refresh token")]
    Invalid,
    /// A rotated token was presented again: its family has been revoked.
    #[error("refresh token reused; its family {family_id} of user {user_id} is revoked")]
    Reused {
        /// The family's user.
        user_id: Uuid,
        /// The revoked family.
        family_id: Uuid,
    },
    /// The store failed.
    #[error("refresh token store error")]
    Store(#[from] StoreError),
}

/// A token handed out, with its family.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedRefreshToken {
    /// The token itself, for the client (stored only as its hash).
    pub token: String,
    /// Its family (session) id.
    pub family_id: Uuid,
    /// When it expires.
    pub expires_at: SystemTime,
}

impl fmt::Debug for IssuedRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedRefreshToken")
            .field("token", &"[redacted]")
            .field("family_id", &self.family_id)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The outcome of a successful [`RefreshTokens::rotate`].
#[derive(Clone, PartialEq, Eq)]
pub struct RotatedRefreshToken {
    /// Whose token it was.
    pub user_id: Uuid,
    /// The family, unchanged.
    pub family_id: Uuid,
    /// The successor token, for the client.
    pub token: String,
    /// When the successor expires.
    pub expires_at: SystemTime,
}

impl fmt::Debug for RotatedRefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatedRefreshToken")
            .field("user_id", &self.user_id)
            .field("family_id", &self.family_id)
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Refresh tokens over a [`RefreshTokenStore`]: issue at login, rotate on every use, revoke the
/// family on reuse and at logout, every family of a user on a password change. See the
/// [module docs](self).
///
/// Cheap to clone (`Arc`s inside).
#[derive(Clone)]
pub struct RefreshTokens {
    store: Arc<dyn RefreshTokenStore>,
    lifetime: Duration,
    clock: Clock,
}

impl fmt::Debug for RefreshTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokens")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl RefreshTokens {
    /// Tokens in `store`, each living [`DEFAULT_REFRESH_LIFETIME`] from its issue.
    #[must_use]
    pub fn new(store: Arc<dyn RefreshTokenStore>) -> Self {
        Self {
            store,
            lifetime: DEFAULT_REFRESH_LIFETIME,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// Sets how long each token lives from its issue (a used family lives on; one unused for
    /// this long dies).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Replaces the clock (tests: expiry without waiting).
    #[must_use]
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The lifetime of each token.
    #[must_use]
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn RefreshTokenStore> {
        &self.store
    }

    fn now(&self) -> SystemTime {
        (self.clock)()
    }

    fn expiry(&self, now: SystemTime) -> SystemTime {
        // A lifetime past the end of time is as good as forever.
        now.checked_add(self.lifetime)
            .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 24 * 3600))
    }

    /// Opens a new family for `user_id` (a login) and returns its first token.
    ///
    /// # Errors
    /// A store failure.
    pub async fn issue(&self, user_id: Uuid) -> Result<IssuedRefreshToken, StoreError> {
        let token = generate_token();
        let now = self.now();
        let record = RefreshTokenRecord {
            token_hash: refresh_token_hash(&token),
            family_id: Uuid::new_v4(),
            user_id,
            created_at: now,
            expires_at: self.expiry(now),
            rotated_at: None,
        };
        let issued = IssuedRefreshToken {
            token,
            family_id: record.family_id,
            expires_at: record.expires_at,
        };
        self.store.create_refresh_family(record).await?;
        Ok(issued)
    }

    /// Exchanges a token for its successor. A rotated token presented again revokes its
    /// family (logged as a warning with the user and family) and is
    /// [`RefreshError::Reused`]; an unknown, expired, malformed or revoked one is
    /// [`RefreshError::Invalid`].
    ///
    /// # Errors
    /// As said, or [`RefreshError::Store`].
    pub async fn rotate(&self, token: &str) -> Result<RotatedRefreshToken, RefreshError> {
        if token.is_empty() || token.len() > MAX_PRESENTED_LEN {
            return Err(RefreshError::Invalid);
        }
        let next = generate_token();
        let now = self.now();
        let expires_at = self.expiry(now);
        let outcome = self
            .store
            .rotate_refresh_token(
                &refresh_token_hash(token),
                &refresh_token_hash(&next),
                now,
                expires_at,
            )
            .await?;
        match outcome {
            RotateOutcome::Rotated { user_id, family_id } => Ok(RotatedRefreshToken {
                user_id,
                family_id,
                token: next,
                expires_at,
            }),
            RotateOutcome::Reused { user_id, family_id } => {
                tracing::warn!(
                    %user_id,
                    %family_id,
                    "refresh token reused: the whole family is revoked"
                );
                self.store.revoke_refresh_family(family_id).await?;
                Err(RefreshError::Reused { user_id, family_id })
            }
            RotateOutcome::Invalid => Err(RefreshError::Invalid),
        }
    }

    /// The stored record of a token (by the token itself), while its family exists.
    ///
    /// # Errors
    /// A store failure.
    pub async fn inspect(&self, token: &str) -> Result<Option<RefreshTokenRecord>, StoreError> {
        if token.is_empty() || token.len() > MAX_PRESENTED_LEN {
            return Ok(None);
        }
        self.store
            .get_refresh_token(&refresh_token_hash(token))
            .await
    }

    /// Revokes a family (logout); whether it existed.
    ///
    /// # Errors
    /// A store failure.
    pub async fn revoke_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        self.store.revoke_refresh_family(family_id).await
    }

    /// Revokes every family of a user (password change or reset, deactivation); how many.
    ///
    /// # Errors
    /// A store failure.
    pub async fn revoke_user(&self, user_id: Uuid) -> Result<u64, StoreError> {
        self.store.revoke_user_refresh_families(user_id).await
    }

    /// Deletes expired tokens and the families left without one; how many tokens. Run it
    /// periodically with SQL stores (Redis expires its keys by itself).
    ///
    /// # Errors
    /// A store failure.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.store.purge_expired_refresh_tokens(self.now()).await
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use super::*;

    /// A clock the test moves by hand.
    #[derive(Clone)]
    struct Hand(Arc<Mutex<SystemTime>>);

    impl Hand {
        fn new() -> Self {
            Self(Arc::new(Mutex::new(SystemTime::now())))
        }
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }
    }

    fn service() -> (RefreshTokens, Arc<MemoryRefreshStore>, Hand) {
        let store = Arc::new(MemoryRefreshStore::new());
        let hand = Hand::new();
        let clock = hand.clone();
        let tokens = RefreshTokens::new(store.clone())
            .with_lifetime(Duration::from_secs(3600))
            .with_clock(move || clock.now());
        (tokens, store, hand)
    }

    #[tokio::test]
    async fn tokens_are_opaque_and_stored_hashed() {
        let (tokens, store, _) = service();
        let user = Uuid::new_v4();
        let issued = tokens.issue(user).await.unwrap();
        assert_eq!(issued.token.len(), 43);
        assert!(
            issued
                .token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(
            store
                .get_refresh_token(&issued.token)
                .await
                .unwrap()
                .is_none()
        );
        let record = store
            .get_refresh_token(&refresh_token_hash(&issued.token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.user_id, user);
        assert_eq!(record.family_id, issued.family_id);
        assert_eq!(record.token_hash.len(), 64);
        assert!(!format!("{issued:?}").contains(&issued.token));
    }

    #[tokio::test]
    async fn rotation_hands_out_a_new_token_in_the_same_family() {
        let (tokens, _, _) = service();
        let user = Uuid::new_v4();
        let first = tokens.issue(user).await.unwrap();
        let second = tokens.rotate(&first.token).await.unwrap();
        assert_eq!(second.user_id, user);
        assert_eq!(second.family_id, first.family_id);
        assert_ne!(second.token, first.token);
        let third = tokens.rotate(&second.token).await.unwrap();
        assert_eq!(third.family_id, first.family_id);
        let old = tokens.inspect(&first.token).await.unwrap().unwrap();
        assert!(old.rotated_at.is_some());
        let newest = tokens.inspect(&third.token).await.unwrap().unwrap();
        assert!(newest.rotated_at.is_none());
    }

    #[tokio::test]
    async fn reuse_revokes_the_whole_family_and_nothing_else() {
        let (tokens, _, _) = service();
        let user = Uuid::new_v4();
        let first = tokens.issue(user).await.unwrap();
        let other = tokens.issue(user).await.unwrap();
        let second = tokens.rotate(&first.token).await.unwrap();
        let third = tokens.rotate(&second.token).await.unwrap();
        match tokens.rotate(&first.token).await {
            Err(RefreshError::Reused { user_id, family_id }) => {
                assert_eq!((user_id, family_id), (user, first.family_id));
            }
            other => panic!("expected reuse, got {other:?}"),
        }
        // The newest token of the family is dead too, and the family is gone.
        assert!(matches!(
            tokens.rotate(&third.token).await,
            Err(RefreshError::Invalid)
        ));
        assert!(tokens.inspect(&third.token).await.unwrap().is_none());
        // Another session of the same user lives on.
        assert!(tokens.rotate(&other.token).await.is_ok());
    }

    #[tokio::test]
    async fn unknown_malformed_and_expired_tokens_are_invalid() {
        let (tokens, _, hand) = service();
        for bad in ["", "nope", &"x".repeat(300)] {
            assert!(matches!(
                tokens.rotate(bad).await,
                Err(RefreshError::Invalid)
            ));
        }
        let user = Uuid::new_v4();
        let first = tokens.issue(user).await.unwrap();
        hand.advance(Duration::from_secs(3599));
        let second = tokens.rotate(&first.token).await.unwrap();
        // The successor lives a whole lifetime from its own issue.
        hand.advance(Duration::from_secs(3599));
        let third = tokens.rotate(&second.token).await.unwrap();
        hand.advance(Duration::from_secs(3600));
        assert!(matches!(
            tokens.rotate(&third.token).await,
            Err(RefreshError::Invalid)
        ));
        // An expired rotated token is merely invalid: it does not revoke anything.
        assert!(matches!(
            tokens.rotate(&second.token).await,
            Err(RefreshError::Invalid)
        ));
        assert_eq!(tokens.purge_expired().await.unwrap(), 3);
        assert!(tokens.inspect(&third.token).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn logout_and_password_change_revoke() {
        let (tokens, _, _) = service();
        let user = Uuid::new_v4();
        let a = tokens.issue(user).await.unwrap();
        let b = tokens.issue(user).await.unwrap();
        let stranger = tokens.issue(Uuid::new_v4()).await.unwrap();
        assert!(tokens.revoke_family(a.family_id).await.unwrap());
        assert!(!tokens.revoke_family(a.family_id).await.unwrap());
        assert!(matches!(
            tokens.rotate(&a.token).await,
            Err(RefreshError::Invalid)
        ));
        assert_eq!(tokens.revoke_user(user).await.unwrap(), 1);
        assert!(matches!(
            tokens.rotate(&b.token).await,
            Err(RefreshError::Invalid)
        ));
        assert!(tokens.rotate(&stranger.token).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_concurrent_rotations_of_one_token_exactly_one_succeeds() {
        let (tokens, _, _) = service();
        let first = tokens.issue(Uuid::new_v4()).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let tokens = tokens.clone();
                let token = first.token.clone();
                tokio::spawn(async move { tokens.rotate(&token).await })
            })
            .collect();
        let mut won = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(rotated) => won.push(rotated),
                Err(RefreshError::Reused { .. } | RefreshError::Invalid) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(won.len(), 1, "exactly one rotation wins");
        assert_eq!(refused, 15);
        // The losers' reuse revoked the family: the winner's token is dead as well.
        assert!(matches!(
            tokens.rotate(&won[0].token).await,
            Err(RefreshError::Invalid)
        ));
    }
}
