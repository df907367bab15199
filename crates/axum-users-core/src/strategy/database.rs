//! Opaque tokens in a database table.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::store::token::{AccessToken, AccessTokenStore};
use crate::{Strategy, StrategyError, User, UserManager, generate_token};

/// FastAPI Users' `DatabaseStrategy`: a random 43-character token per login, a row
/// `(token, user_id, created_at)`, a fixed lifetime from creation; logout deletes the row, a
/// password change deletes every row of the user.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use std::{sync::Arc, time::Duration};
/// use axum_users_core::{DatabaseStrategy, MemoryStore};
/// let tokens = Arc::new(MemoryStore::<()>::new());
/// let strategy = DatabaseStrategy::new(tokens, Some(Duration::from_secs(3600)));
/// # }
/// ```
#[derive(Clone)]
pub struct DatabaseStrategy {
    store: Arc<dyn AccessTokenStore>,
    lifetime: Option<Duration>,
}

impl std::fmt::Debug for DatabaseStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseStrategy")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl DatabaseStrategy {
    /// Tokens in `store`, valid for `lifetime` (`None`: until logout).
    #[must_use]
    pub fn new(store: Arc<dyn AccessTokenStore>, lifetime: Option<Duration>) -> Self {
        Self { store, lifetime }
    }

    /// Deletes the expired rows (the reference never does); returns how many. Run it
    /// periodically.
    ///
    /// # Errors
    /// A store failure.
    pub async fn purge_expired(&self) -> Result<u64, StrategyError> {
        let Some(lifetime) = self.lifetime else {
            return Ok(0);
        };
        let Some(before) = SystemTime::now().checked_sub(lifetime) else {
            return Ok(0);
        };
        Ok(self.store.delete_tokens_created_before(before).await?)
    }

    fn created_after(&self) -> Option<SystemTime> {
        self.lifetime.and_then(|l| SystemTime::now().checked_sub(l))
    }
}

#[async_trait]
impl<X: crate::UserExtra> Strategy<X> for DatabaseStrategy {
    async fn read_token(
        &self,
        token: &str,
        manager: &UserManager<X>,
    ) -> Result<Option<User<X>>, StrategyError> {
        // Tokens are 43 characters; anything far longer is not worth a query.
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let Some(row) = self.store.get_token(token, self.created_after()).await? else {
            return Ok(None);
        };
        Ok(manager.store().get(row.user_id).await?)
    }

    async fn write_token(&self, user: &User<X>) -> Result<String, StrategyError> {
        let token = generate_token();
        let row = AccessToken {
            token: token.clone(),
            user_id: user.id,
            created_at: SystemTime::now(),
        };
        self.store.create_token(row).await?;
        Ok(token)
    }

    async fn destroy_token(&self, token: &str, _user: &User<X>) -> Result<(), StrategyError> {
        Ok(self.store.delete_token(token).await?)
    }

    async fn revoke_all(&self, user: &User<X>) -> Result<(), StrategyError> {
        self.store.delete_user_tokens(user.id).await?;
        Ok(())
    }
}
