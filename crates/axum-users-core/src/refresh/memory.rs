//! [`MemoryRefreshStore`]: refresh-token families in a `HashMap`, for docs, examples and tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use uuid::Uuid;

use super::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome};
use crate::StoreError;

/// Refresh-token families and tokens in memory. Every method takes one lock for its whole
/// work, so each is atomic (and a rotation a compare-and-set). Deleting a user does not reach
/// it (there is no cascade); a refresh for a user who is gone is refused by the HTTP layer.
#[derive(Debug, Default)]
pub struct MemoryRefreshStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    families: HashMap<Uuid, Family>,
    tokens: HashMap<String, RefreshTokenRecord>,
}

#[derive(Debug)]
struct Family {
    user_id: Uuid,
    expires_at: SystemTime,
}

impl MemoryRefreshStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every write leaves the maps consistent before anything can panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn remove_family(&mut self, family_id: Uuid) -> bool {
        let existed = self.families.remove(&family_id).is_some();
        if existed {
            self.tokens.retain(|_, t| t.family_id != family_id);
        }
        existed
    }
}

#[async_trait]
impl RefreshTokenStore for MemoryRefreshStore {
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.families.contains_key(&first.family_id)
            || inner.tokens.contains_key(&first.token_hash)
        {
            return Err(StoreError::Conflict);
        }
        inner.families.insert(
            first.family_id,
            Family {
                user_id: first.user_id,
                expires_at: first.expires_at,
            },
        );
        inner.tokens.insert(
            first.token_hash.clone(),
            RefreshTokenRecord {
                rotated_at: None,
                ..first
            },
        );
        Ok(())
    }

    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .tokens
            .get(token_hash)
            .filter(|t| inner.families.contains_key(&t.family_id))
            .cloned())
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError> {
        let mut inner = self.lock();
        let Some(token) = inner.tokens.get(token_hash) else {
            return Ok(RotateOutcome::Invalid);
        };
        let (family_id, user_id) = (token.family_id, token.user_id);
        if !inner.families.contains_key(&family_id) || token.expires_at <= now {
            return Ok(RotateOutcome::Invalid);
        }
        if token.rotated_at.is_some() {
            return Ok(RotateOutcome::Reused { user_id, family_id });
        }
        if inner.tokens.contains_key(next_hash) {
            return Err(StoreError::Conflict);
        }
        if let Some(token) = inner.tokens.get_mut(token_hash) {
            token.rotated_at = Some(now);
        }
        inner.tokens.insert(
            next_hash.to_owned(),
            RefreshTokenRecord {
                token_hash: next_hash.to_owned(),
                family_id,
                user_id,
                created_at: now,
                expires_at: next_expires_at,
                rotated_at: None,
            },
        );
        if let Some(family) = inner.families.get_mut(&family_id) {
            family.expires_at = family.expires_at.max(next_expires_at);
        }
        Ok(RotateOutcome::Rotated { user_id, family_id })
    }

    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        Ok(self.lock().remove_family(family_id))
    }

    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let families: Vec<Uuid> = inner
            .families
            .iter()
            .filter(|(_, f)| f.user_id == user_id)
            .map(|(id, _)| *id)
            .collect();
        let mut n = 0;
        for id in families {
            if inner.remove_family(id) {
                n += 1;
            }
        }
        Ok(n)
    }

    async fn purge_expired_refresh_tokens(&self, now: SystemTime) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let before = inner.tokens.len();
        inner.tokens.retain(|_, t| t.expires_at > now);
        let removed = before - inner.tokens.len();
        inner.families.retain(|_, f| f.expires_at > now);
        Ok(u64::try_from(removed).unwrap_or(u64::MAX))
    }
}

#[cfg(all(test, feature = "conformance"))]
mod tests {
    crate::refresh_store_tests!(split async {
        let users = ::std::sync::Arc::new(crate::MemoryStore::<crate::conformance::Profile>::new());
        (users, ::std::sync::Arc::new(super::MemoryRefreshStore::new()))
    });
}
