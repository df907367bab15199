//! The manager's error enum: FastAPI Users' `exceptions.py`, one variant each, plus the
//! infrastructure failures that can stand behind them.

use crate::oauth::{OAuthError, OAuthStateError};
use crate::{HashError, StoreError, StrategyError};

/// A boxed error from a plug-in (a hook, a store backend).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a [`UserManager`](crate::UserManager) operation can fail with.
///
/// The domain variants map one to one to FastAPI Users' exceptions; the HTTP layer turns each
/// into the contract's status and `detail` in exactly one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagerError {
    /// A user with this email already exists.
    #[error("a user with this email already exists")]
    UserAlreadyExists,
    /// No user matches.
    #[error("the user does not exist")]
    UserNotExists,
    /// The user is inactive.
    #[error("the user is inactive")]
    UserInactive,
    /// The user is already verified.
    #[error("the user is already verified")]
    UserAlreadyVerified,
    /// The verification token is bad, expired or for another user.
    #[error("the verification token is invalid")]
    InvalidVerifyToken,
    /// The reset-password token is bad, expired or already used.
    #[error("the reset password token is invalid")]
    InvalidResetPasswordToken,
    /// The password was refused by the password policy.
    #[error("invalid password: {reason}")]
    InvalidPassword {
        /// Why, in words a user can act on.
        reason: String,
    },
    /// An id that does not parse.
    #[error("invalid id")]
    InvalidId,
    /// The password hashing pool is saturated; try again shortly.
    #[error("the password hashing pool is busy")]
    Busy,
    /// The store failed.
    #[error("store error")]
    Store(#[source] StoreError),
    /// Hashing failed for a reason other than a saturated pool.
    #[error("password hashing error")]
    Hash(#[source] HashError),
    /// A token strategy failed.
    #[error("token strategy error")]
    Strategy(#[source] StrategyError),
    /// A hook that runs before a change refused it or failed.
    #[error("hook error")]
    Hook(#[source] BoxError),
    /// An OAuth callback's state was refused (see [`OAuthStateError`]).
    #[error("invalid OAuth state")]
    OAuthState(#[source] OAuthStateError),
    /// The OAuth provider gave no email, or one that is not a valid address.
    #[error("the OAuth provider gave no usable email")]
    OAuthNotAvailableEmail,
    /// The provider account is already linked to another user.
    #[error("the OAuth account is linked to another user")]
    OAuthAccountAlreadyLinked,
    /// The OAuth provider failed, refused or is misconfigured.
    #[error("OAuth provider error")]
    OAuthProvider(#[source] OAuthError),
}

impl From<StoreError> for ManagerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::UserAlreadyExists,
            other => Self::Store(other),
        }
    }
}

impl From<HashError> for ManagerError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy,
            other => Self::Hash(other),
        }
    }
}

impl From<StrategyError> for ManagerError {
    fn from(e: StrategyError) -> Self {
        Self::Strategy(e)
    }
}
