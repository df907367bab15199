//! Picking and opening the store named by the database URL.

use std::sync::Arc;
use std::time::Duration;

use axum_users_sqlx::{AnyUserStore, PoolSettings, SqlStoreError, StoreKind, connect_any};

use crate::config::{Config, ConfigError};
use crate::error::ServerError;

/// The engines the server runs on, by URL scheme.
pub type DatabaseKind = StoreKind;

/// Checks the scheme of a database URL (`sqlite:`, `postgres:`, `postgresql:`, `mysql:`,
/// `mariadb:`).
///
/// # Errors
/// A [`ConfigError`] on `AXUM_USERS_DATABASE_URL`.
pub fn check_url(url: &str) -> Result<DatabaseKind, ConfigError> {
    // The error names the scheme and the ones expected.
    StoreKind::from_url(url).map_err(|e| ConfigError::new("AXUM_USERS_DATABASE_URL", e.to_string()))
}

/// Opens the store, retrying a database that does not answer yet a few times (a server and
/// its database often start together), then migrates it unless told not to. Either way, a
/// database that a newer axum-users migrated is refused (one line: the migration it is at and
/// the newest this binary knows); without migrating, a database behind this binary's
/// migrations is served with a warning.
///
/// # Errors
/// The last connection error after the retries, or a migration error (including a database
/// migrated by a newer axum-users).
pub async fn open(config: &Config, migrate: bool) -> Result<Arc<AnyUserStore<()>>, ServerError> {
    let kind = check_url(&config.database_url)?;
    // A file that cannot be opened will not open later: retry only servers.
    let retries = if kind == StoreKind::Sqlite {
        0
    } else {
        config.database.connect_retries
    };
    let settings = PoolSettings {
        max_connections: config.database.max_connections,
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_seconds),
        ..PoolSettings::default()
    };
    let mut attempt = 0;
    let store = loop {
        match connect_any::<()>(&config.database_url, settings).await {
            Ok(store) => break store,
            Err(e @ (SqlStoreError::Connect(_) | SqlStoreError::ConnectTimeout(_)))
                if attempt < retries =>
            {
                attempt += 1;
                let wait = Duration::from_millis(500 * 2u64.pow(attempt.min(5)));
                tracing::warn!(attempt, error = %e, ?wait, "database not reachable yet; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if migrate {
        store.migrate().await?;
    } else {
        let version = store.schema_version().await?.check()?;
        if version.is_behind() {
            tracing::warn!(
                applied = version.applied,
                known = version.known,
                "the database schema is behind this binary and AXUM_USERS_AUTO_MIGRATE is off: \
                 run `axum-users migrate`"
            );
        }
    }
    Ok(Arc::new(store))
}
