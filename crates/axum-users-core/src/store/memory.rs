//! An in-memory store for docs, examples and tests.

mod oauth;

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use std::time::SystemTime;

use crate::email::unique_key;
use crate::store::token::{AccessToken, AccessTokenStore};
use crate::{StoreError, User, UserPatch, UserStore};

/// Users in a `HashMap`, with the same uniqueness rules as the SQL stores.
///
/// The lock is a `std::sync::Mutex`, never held across an `.await`.
#[derive(Debug)]
pub struct MemoryStore<X = ()> {
    users: Mutex<HashMap<Uuid, User<X>>>,
    tokens: Mutex<HashMap<String, AccessToken>>,
    oauth: oauth::MemoryOAuth,
}

impl<X> Default for MemoryStore<X> {
    fn default() -> Self {
        Self {
            users: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            oauth: oauth::MemoryOAuth::default(),
        }
    }
}

impl<X> MemoryStore<X> {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, User<X>>> {
        // A panic while holding the lock cannot leave a half-written user: every write is a
        // single insert, so the poisoned data is still consistent.
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl<X: crate::UserExtra> UserStore<X> for MemoryStore<X> {
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        Ok(self.lock().get(&id).cloned())
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError> {
        let key = unique_key(email);
        Ok(self
            .lock()
            .values()
            .find(|u| unique_key(&u.email) == key)
            .cloned())
    }

    async fn create(&self, user: User<X>) -> Result<User<X>, StoreError> {
        let mut users = self.lock();
        let key = unique_key(&user.email);
        if users.contains_key(&user.id) || users.values().any(|u| unique_key(&u.email) == key) {
            return Err(StoreError::Conflict);
        }
        users.insert(user.id, user.clone());
        Ok(user)
    }

    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError> {
        let mut users = self.lock();
        let Some(current) = users.get(&id) else {
            return Ok(None);
        };
        let updated = patch.apply_to(current);
        let key = unique_key(&updated.email);
        if users
            .values()
            .any(|u| u.id != id && unique_key(&u.email) == key)
        {
            return Err(StoreError::Conflict);
        }
        users.insert(id, updated.clone());
        Ok(Some(updated))
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let removed = self.lock().remove(&id).is_some();
        // As the SQL stores' ON DELETE CASCADE.
        self.lock_tokens().retain(|_, t| t.user_id != id);
        self.oauth.delete_user(id);
        Ok(removed)
    }
}

impl<X> MemoryStore<X> {
    fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccessToken>> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl<X: crate::UserExtra> AccessTokenStore for MemoryStore<X> {
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError> {
        let tokens = self.lock_tokens();
        Ok(tokens
            .get(token)
            .filter(|t| created_after.is_none_or(|a| t.created_at >= a))
            .cloned())
    }

    async fn create_token(&self, token: AccessToken) -> Result<AccessToken, StoreError> {
        let mut tokens = self.lock_tokens();
        if tokens.contains_key(&token.token) {
            return Err(StoreError::Conflict);
        }
        tokens.insert(token.token.clone(), token.clone());
        Ok(token)
    }

    async fn delete_token(&self, token: &str) -> Result<(), StoreError> {
        self.lock_tokens().remove(token);
        Ok(())
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let mut tokens = self.lock_tokens();
        let before = tokens.len();
        tokens.retain(|_, t| t.user_id != user_id);
        Ok((before - tokens.len()) as u64)
    }

    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        let mut tokens = self.lock_tokens();
        let n = tokens.len();
        tokens.retain(|_, t| t.created_at >= before);
        Ok((n - tokens.len()) as u64)
    }
}

#[cfg(all(test, feature = "conformance"))]
mod tests {
    crate::user_store_tests!(async { super::MemoryStore::<crate::conformance::Profile>::new() });
    crate::token_store_tests!(async { super::MemoryStore::<crate::conformance::Profile>::new() });
    crate::oauth_store_tests!(async { super::MemoryStore::<crate::conformance::Profile>::new() });
}
