//! Opaque access tokens kept in a store (FastAPI Users' `accesstoken` table).

use std::time::SystemTime;

use async_trait::async_trait;
use uuid::Uuid;

use crate::StoreError;

/// A row of the `accesstoken` table.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The token itself (43 URL-safe characters), the primary key.
    pub token: String,
    /// Whose token it is.
    pub user_id: Uuid,
    /// When it was issued (UTC).
    pub created_at: SystemTime,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// FastAPI Users' `AccessTokenDatabase`, plus the two deletions it lacks (every token of a
/// user, and expired tokens).
#[async_trait]
pub trait AccessTokenStore: Send + Sync + 'static {
    /// The token, if it exists and (when `created_after` is given) was created at or after it.
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError>;

    /// Stores a new token.
    async fn create_token(&self, token: AccessToken) -> Result<AccessToken, StoreError>;

    /// Deletes a token (no error if it is gone).
    async fn delete_token(&self, token: &str) -> Result<(), StoreError>;

    /// Deletes every token of a user; returns how many.
    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError>;

    /// Deletes tokens created before `before`; returns how many.
    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError>;
}
