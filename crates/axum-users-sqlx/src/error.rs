//! Errors of the SQL layer, and the retry of transactions the database chose to abort.

use std::future::Future;
use std::time::Duration;

use axum_users_core::StoreError;

/// What connecting to or migrating a database can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// The database URL does not parse.
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    /// The URL names an engine this crate has no store for (the scheme is given).
    #[error(
        "unsupported database URL scheme {0:?} (expected sqlite:, postgres:, postgresql:, mysql: or mariadb:)"
    )]
    Scheme(String),
    /// The database could not be reached or opened. When the pool timed out, the error of
    /// one more direct attempt is given instead (a refused connection, an unknown host, a
    /// refused login…), since the pool's timeout hides it.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// No connection could be opened within the pool's acquire timeout, and a direct attempt
    /// did not answer either (a host that drops packets, a server that hangs).
    #[error("cannot open the database: no answer within {} s", .0.as_secs_f32())]
    ConnectTimeout(Duration),
    /// A migration failed, or the database has migrations this binary does not know.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer axum-users: it holds a migration this build does
    /// not embed. Nothing was changed.
    #[error(
        "database schema is at migration {applied}, newer than this build of axum-users knows \
         ({known}): upgrade axum-users"
    )]
    NewerSchema {
        /// The highest migration applied to the database.
        applied: i64,
        /// The highest migration this build embeds.
        known: i64,
    },
}

/// Maps a driver error to the store error: unique violations become
/// [`StoreError::Conflict`], everything else a backend failure.
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Backend(Box::new(e)),
    }
}

/// Maps a JSON error on custom fields to a backend failure.
pub(crate) fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// How many times a transaction the database aborted (deadlock, serialization failure) is
/// tried in all.
const MAX_ATTEMPTS: u32 = 5;

/// Whether the database rolled the transaction back to break a deadlock or a serialization
/// conflict, so that running it again is the remedy. SQLSTATE `40001` is MySQL/MariaDB's
/// deadlock (error 1213) and PostgreSQL's serialization failure; `40P01` is PostgreSQL's
/// deadlock.
fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("40001" | "40P01")),
        _ => false,
    }
}

/// Runs a transaction, running it again (after a short pause) when the database aborted it
/// as a deadlock victim. InnoDB can pick one of several concurrent inserts of one unique key
/// as a victim; the retried insert then meets the committed row and reports the conflict.
pub(crate) async fn retry_aborted<T, F, Fut>(mut transaction: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match transaction().await {
            Err(e) if attempt < MAX_ATTEMPTS && is_retryable(&e) => {
                tracing::debug!(attempt, error = %e, "transaction aborted by the database; retrying");
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}
