//! The memory store's linked accounts and spent states.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use uuid::Uuid;

use super::MemoryStore;
use crate::oauth::{MemoryStateStore, OAuthAccount, OAuthAccountStore, OAuthStateStore};
use crate::{StoreError, UserStore};

/// Linked accounts, and the spent states.
#[derive(Debug, Default)]
pub(super) struct MemoryOAuth {
    accounts: Mutex<Vec<OAuthAccount>>,
    states: MemoryStateStore,
}

impl MemoryOAuth {
    fn lock(&self) -> MutexGuard<'_, Vec<OAuthAccount>> {
        // Every write is one push, one assignment or one retain: a poisoned lock still holds
        // a consistent list.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// As the SQL stores' `ON DELETE CASCADE`.
    pub(super) fn delete_user(&self, user_id: Uuid) {
        self.lock().retain(|a| a.user_id != user_id);
    }
}

#[async_trait]
impl<X: crate::UserExtra> OAuthAccountStore<X> for MemoryStore<X> {
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        Ok(self
            .oauth
            .lock()
            .iter()
            .find(|a| a.oauth_name == oauth_name && a.account_id == account_id)
            .cloned())
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        if self.get(account.user_id).await?.is_none() {
            return Err(StoreError::Backend("no such user".into()));
        }
        let mut accounts = self.oauth.lock();
        if accounts.iter().any(|a| {
            a.id == account.id
                || (a.oauth_name == account.oauth_name && a.account_id == account.account_id)
        }) {
            return Err(StoreError::Conflict);
        }
        accounts.push(account.clone());
        Ok(account)
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let mut accounts = self.oauth.lock();
        let Some(row) = accounts.iter_mut().find(|a| a.id == account.id) else {
            return Ok(None);
        };
        row.access_token = account.access_token;
        row.expires_at = account.expires_at;
        row.refresh_token = account.refresh_token;
        row.account_email = account.account_email;
        Ok(Some(row.clone()))
    }

    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError> {
        let mut found: Vec<OAuthAccount> = self
            .oauth
            .lock()
            .iter()
            .filter(|a| a.user_id == user_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.oauth_name, &a.account_id).cmp(&(&b.oauth_name, &b.account_id)));
        Ok(found)
    }

    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError> {
        let mut accounts = self.oauth.lock();
        let before = accounts.len();
        accounts.retain(|a| a.id != id);
        Ok(accounts.len() < before)
    }
}

#[async_trait]
impl<X: Send + Sync + 'static> OAuthStateStore for MemoryStore<X> {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        self.oauth.states.consume_oauth_state(id, expires_at).await
    }
}
