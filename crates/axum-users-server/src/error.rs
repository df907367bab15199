//! The server's error: what stops it from starting or running.

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A bad setting.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The database could not be opened or migrated.
    #[error("AXUM_USERS_DATABASE_URL: {0}")]
    Store(#[from] axum_users_sqlx::SqlStoreError),
    /// Listening or serving failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A user could not be created (CLI).
    #[error("{0}")]
    Manager(#[from] axum_users_core::ManagerError),
    /// A CLI argument is invalid.
    #[error("{0}")]
    Usage(String),
}
