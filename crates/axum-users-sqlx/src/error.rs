//! Errors of the SQL layer.

use axum_users_core::StoreError;

/// What connecting to or migrating a database can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlStoreError {
    /// The database URL does not parse.
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed, or the database has migrations this binary does not know.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
