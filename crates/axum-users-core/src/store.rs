//! Where users live: the [`UserStore`] trait and its error.

#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "memory")]
pub(crate) mod memory;
pub(crate) mod token;

use async_trait::async_trait;
use uuid::Uuid;

use crate::{BoxError, User, UserPatch};

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A uniqueness rule of the database refused the write (an email taken, in any case).
    #[error("unique constraint violated")]
    Conflict,
    /// The database could not be reached or refused the operation.
    #[error("store backend error")]
    Backend(#[source] BoxError),
}

/// FastAPI Users' `BaseUserDatabase`: the persistence a [`UserManager`](crate::UserManager)
/// needs. Email lookups ignore case; uniqueness of the email is the store's job (a unique index
/// on the lower-cased email), reported as [`StoreError::Conflict`].
///
/// ```
/// use async_trait::async_trait;
/// use axum_users_core::{StoreError, User, UserPatch, UserStore};
/// use uuid::Uuid;
///
/// /// A store that holds nobody (real ones: `MemoryStore`, `axum_users_sqlx::SqliteStore`).
/// struct Empty;
///
/// #[async_trait]
/// impl UserStore<()> for Empty {
///     async fn get(&self, _: Uuid) -> Result<Option<User>, StoreError> { Ok(None) }
///     async fn get_by_email(&self, _: &str) -> Result<Option<User>, StoreError> { Ok(None) }
///     async fn create(&self, user: User) -> Result<User, StoreError> { Ok(user) }
///     async fn update(&self, _: Uuid, _: UserPatch) -> Result<Option<User>, StoreError> { Ok(None) }
///     async fn delete(&self, _: Uuid) -> Result<bool, StoreError> { Ok(false) }
/// }
/// ```
#[async_trait]
pub trait UserStore<X: Send + Sync + 'static = ()>: Send + Sync + 'static {
    /// The user with this id.
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError>;

    /// The user with this email, compared without regard to case.
    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError>;

    /// Inserts a user, atomically with its custom fields.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the email (in any case) or id is taken.
    async fn create(&self, user: User<X>) -> Result<User<X>, StoreError>;

    /// Applies a patch and returns the user as stored afterwards; `None` if the user is gone.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a new email is taken.
    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError>;

    /// Deletes a user (and, through the database, everything that hangs off it). Returns
    /// whether a user was deleted.
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError>;
}
