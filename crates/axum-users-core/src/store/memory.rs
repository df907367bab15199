//! An in-memory store for docs, examples and tests.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use crate::email::unique_key;
use crate::{StoreError, User, UserPatch, UserStore};

/// Users in a `HashMap`, with the same uniqueness rules as the SQL stores.
///
/// The lock is a `std::sync::Mutex`, never held across an `.await`.
#[derive(Debug)]
pub struct MemoryStore<X = ()> {
    users: Mutex<HashMap<Uuid, User<X>>>,
}

impl<X> Default for MemoryStore<X> {
    fn default() -> Self {
        Self { users: Mutex::new(HashMap::new()) }
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
        self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl<X: crate::UserExtra> UserStore<X> for MemoryStore<X> {
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        Ok(self.lock().get(&id).cloned())
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError> {
        let key = unique_key(email);
        Ok(self.lock().values().find(|u| unique_key(&u.email) == key).cloned())
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
        let Some(current) = users.get(&id) else { return Ok(None) };
        let updated = patch.apply_to(current);
        let key = unique_key(&updated.email);
        if users.values().any(|u| u.id != id && unique_key(&u.email) == key) {
            return Err(StoreError::Conflict);
        }
        users.insert(id, updated.clone());
        Ok(Some(updated))
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        Ok(self.lock().remove(&id).is_some())
    }
}

#[cfg(all(test, feature = "conformance"))]
mod tests {
    crate::user_store_tests!(async { super::MemoryStore::<crate::conformance::Profile>::new() });
}
