//! Connection pool settings shared by every store.

use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::{ConnectOptions as _, Connection as _, Database, Pool};

use crate::SqlStoreError;

/// How a store's connection pool is sized and timed.
///
/// ```
/// use std::time::Duration;
/// use axum_users_sqlx::PoolSettings;
///
/// let settings = PoolSettings {
///     max_connections: 32,
///     acquire_timeout: Duration::from_secs(3),
///     ..PoolSettings::default()
/// };
/// assert_eq!(settings.min_connections, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections open at once (default 10). Requests beyond it wait for a free one.
    pub max_connections: u32,
    /// Connections kept open even when idle (default 1).
    pub min_connections: u32,
    /// How long a query waits for a free connection before the store reports a backend
    /// failure (default 10 s); the HTTP layer answers 503.
    pub acquire_timeout: Duration,
    /// Idle connections beyond `min_connections` are closed after this long (default 10 min;
    /// `None`: never).
    pub idle_timeout: Option<Duration>,
    /// Connections are replaced after this long (default 30 min; `None`: never).
    pub max_lifetime: Option<Duration>,
    /// Ping a connection before handing it out (default `true`): one more round trip per
    /// query, in exchange for never handing out a connection the server has closed.
    pub test_before_acquire: bool,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 1,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            test_before_acquire: true,
        }
    }
}

impl PoolSettings {
    /// The settings for a private in-memory SQLite database: one connection that is never
    /// closed, since closing it would drop the database.
    #[must_use]
    pub fn in_memory() -> Self {
        Self {
            max_connections: 1,
            min_connections: 1,
            idle_timeout: None,
            max_lifetime: None,
            ..Self::default()
        }
    }

    /// These settings as sqlx pool options.
    pub(crate) fn pool_options<DB: Database>(self) -> PoolOptions<DB> {
        PoolOptions::new()
            .max_connections(self.max_connections)
            .min_connections(self.min_connections.min(self.max_connections))
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
            .test_before_acquire(self.test_before_acquire)
    }
}

/// How long the direct attempt that explains a pool's timeout may take at most.
const EXPLAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens a pool. sqlx retries a refused connection until the acquire timeout and then reports
/// only that it timed out; in that case one direct attempt (bounded by the acquire timeout,
/// and by five seconds) names the cause, or says that nothing answered.
pub(crate) async fn open_pool<DB: Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
    settings: PoolSettings,
) -> Result<Pool<DB>, SqlStoreError> {
    match settings
        .pool_options::<DB>()
        .connect_with(options.clone())
        .await
    {
        Ok(pool) => Ok(pool),
        Err(sqlx::Error::PoolTimedOut) => {
            let bound = settings.acquire_timeout.min(EXPLAIN_TIMEOUT);
            match tokio::time::timeout(bound, options.connect()).await {
                Ok(Err(cause)) => Err(SqlStoreError::Connect(cause)),
                // It answers now: the pool was merely slow. Report what happened.
                Ok(Ok(conn)) => {
                    let _ = conn.close().await;
                    Err(SqlStoreError::Connect(sqlx::Error::PoolTimedOut))
                }
                Err(_) => Err(SqlStoreError::ConnectTimeout(settings.acquire_timeout)),
            }
        }
        Err(e) => Err(SqlStoreError::Connect(e)),
    }
}
