//! Where linked accounts and spent states live.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use uuid::Uuid;

use crate::{StoreError, User, UserStore};

/// A row of FastAPI Users' `oauth_account` table: one provider account linked to a user.
///
/// The tokens are as stored: sealed (`enc:v1:…`) when a [`TokenCipher`](super::TokenCipher)
/// is configured, plaintext otherwise. [`OAuthAccounts::list`](super::OAuthAccounts::list)
/// opens them. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthAccount {
    /// Primary key, a random (v4) UUID.
    pub id: Uuid,
    /// The user the account is linked to (deleting the user deletes the account).
    pub user_id: Uuid,
    /// The provider's name (`google`, `github`, …), at most 100 characters.
    pub oauth_name: String,
    /// The provider's access token, at most 1024 characters as stored.
    pub access_token: String,
    /// When the access token expires, seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// The provider's refresh token, at most 1024 characters as stored.
    pub refresh_token: Option<String>,
    /// The account's id at the provider, at most 320 characters.
    pub account_id: String,
    /// The account's email at the provider.
    pub account_email: String,
}

impl fmt::Debug for OAuthAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAccount")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("oauth_name", &self.oauth_name)
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("account_id", &self.account_id)
            .field("account_email", &self.account_email)
            .finish()
    }
}

/// FastAPI Users' OAuth part of `BaseUserDatabase` (`get_by_oauth_account`,
/// `add_oauth_account`, `update_oauth_account`), plus listing and unlinking. A provider
/// account (`oauth_name`, `account_id`) is linked to one user at most: the store refuses a
/// second link with [`StoreError::Conflict`] (a unique index in the SQL stores).
///
/// It is a [`UserStore`] too: the accounts hang off the users, and deleting a user deletes
/// their accounts.
#[async_trait]
pub trait OAuthAccountStore<X: Send + Sync + 'static = ()>: UserStore<X> {
    /// The account of this provider with this provider-side id.
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError>;

    /// The user a provider account is linked to, with the account (FastAPI Users'
    /// `get_by_oauth_account`).
    async fn get_by_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<(User<X>, OAuthAccount)>, StoreError> {
        let Some(account) = self.get_oauth_account(oauth_name, account_id).await? else {
            return Ok(None);
        };
        Ok(self.get(account.user_id).await?.map(|user| (user, account)))
    }

    /// Links an account to `account.user_id` (FastAPI Users' `add_oauth_account`).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when this provider account is already linked (to anyone) or
    /// the id is taken; a backend error when the user does not exist.
    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError>;

    /// Rewrites the tokens, expiry and email of the account with `account.id` (FastAPI Users'
    /// `update_oauth_account`); `None` when it is gone.
    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError>;

    /// The accounts linked to a user, by provider name then provider-side id.
    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError>;

    /// Unlinks an account; whether it existed.
    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError>;
}

/// Spent OAuth states, so that each is good once.
#[async_trait]
pub trait OAuthStateStore: Send + Sync + 'static {
    /// Spends the state `id`: `Ok(true)` the first time, `Ok(false)` ever after (until
    /// `expires_at`, after which the state is refused for its expiry anyway and the store may
    /// forget it).
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError>;
}

/// Spent states in this process's memory: enough for one instance. Several instances behind a
/// load balancer need a shared store (the SQL stores are one).
///
/// Expired ids are dropped as new ones arrive; the lock is never held across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    spent: Mutex<HashMap<String, SystemTime>>,
}

impl MemoryStateStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl OAuthStateStore for MemoryStateStore {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = SystemTime::now();
        // Each entry is a state that passed its signature and CSRF checks: a poisoned lock
        // still holds a consistent map (every write is one insert or one retain).
        let mut spent = self
            .spent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if spent.len() >= 1024 {
            spent.retain(|_, exp| *exp >= now);
        }
        if spent.contains_key(id) {
            return Ok(false);
        }
        spent.insert(id.to_owned(), expires_at);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_state_is_spent_once() {
        let store = MemoryStateStore::new();
        let later = SystemTime::now() + Duration::from_secs(60);
        assert!(store.consume_oauth_state("a", later).await.unwrap());
        assert!(!store.consume_oauth_state("a", later).await.unwrap());
        assert!(store.consume_oauth_state("b", later).await.unwrap());
    }
}
