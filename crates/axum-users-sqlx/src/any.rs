//! Picking a store from a database URL: [`connect_any`] and [`AnyUserStore`].

use std::time::SystemTime;

use async_trait::async_trait;
use axum_users_core::{
    AccessToken, AccessTokenStore, StoreError, User, UserExtra, UserPatch, UserStore,
};
use uuid::Uuid;

use crate::{MySqlStore, PgStore, PoolSettings, SchemaVersion, SqlStoreError, SqliteStore};

/// The engines a URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
    /// `mysql:` and `mariadb:` URLs.
    MySql,
}

impl StoreKind {
    /// The engine a URL's scheme names (the scheme is compared without regard to case).
    ///
    /// ```
    /// use axum_users_sqlx::StoreKind;
    /// assert_eq!(StoreKind::from_url("sqlite://users.db").unwrap(), StoreKind::Sqlite);
    /// assert_eq!(StoreKind::from_url("postgresql://db/users").unwrap(), StoreKind::Postgres);
    /// assert_eq!(StoreKind::from_url("mariadb://root@db/users").unwrap(), StoreKind::MySql);
    /// assert!(StoreKind::from_url("redis://cache").is_err());
    /// ```
    ///
    /// # Errors
    /// [`SqlStoreError::Scheme`] for any other scheme, or a string without one.
    pub fn from_url(url: &str) -> Result<Self, SqlStoreError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(SqlStoreError::Scheme(scheme.to_owned())),
        }
    }
}

/// One of this crate's stores, chosen at run time from a URL by [`connect_any`].
///
/// It is a [`UserStore`] and an [`AccessTokenStore`] itself (each call goes to the store
/// inside), so a server can keep it as an `Arc<dyn UserStore<X>>` and hand it to a
/// `DatabaseStrategy` as an `Arc<dyn AccessTokenStore>`; [`migrate`](Self::migrate) applies the
/// migrations of the engine it runs on.
#[derive(Debug)]
#[non_exhaustive]
pub enum AnyUserStore<X = ()> {
    /// SQLite.
    Sqlite(SqliteStore<X>),
    /// PostgreSQL.
    Postgres(PgStore<X>),
    /// MariaDB or MySQL.
    MySql(MySqlStore<X>),
}

impl<X> Clone for AnyUserStore<X> {
    fn clone(&self) -> Self {
        match self {
            Self::Sqlite(s) => Self::Sqlite(s.clone()),
            Self::Postgres(s) => Self::Postgres(s.clone()),
            Self::MySql(s) => Self::MySql(s.clone()),
        }
    }
}

impl<X> AnyUserStore<X> {
    /// The engine behind this store.
    #[must_use]
    pub fn kind(&self) -> StoreKind {
        match self {
            Self::Sqlite(_) => StoreKind::Sqlite,
            Self::Postgres(_) => StoreKind::Postgres,
            Self::MySql(_) => StoreKind::MySql,
        }
    }

    /// Applies the embedded migrations of this engine.
    ///
    /// # Errors
    /// [`SqlStoreError::NewerSchema`] when a newer build migrated the database (nothing is
    /// changed then); [`SqlStoreError::Migrate`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        match self {
            Self::Sqlite(s) => s.migrate().await,
            Self::Postgres(s) => s.migrate().await,
            Self::MySql(s) => s.migrate().await,
        }
    }

    /// Where the database's schema stands against this build's migrations, without changing
    /// anything: for a service that does not migrate at start, [`SchemaVersion::check`]
    /// refuses a database a newer build migrated.
    ///
    /// # Errors
    /// [`SqlStoreError::Migrate`] when sqlx's table cannot be read.
    pub async fn schema_version(&self) -> Result<SchemaVersion, SqlStoreError> {
        match self {
            Self::Sqlite(s) => s.schema_version().await,
            Self::Postgres(s) => s.schema_version().await,
            Self::MySql(s) => s.schema_version().await,
        }
    }

    /// Runs `SELECT 1` on a pooled connection: a readiness check for health endpoints. Bounded
    /// by the pool's acquire timeout; callers wanting a shorter bound wrap it in their own.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when no connection can be had or the query fails.
    pub async fn ping(&self) -> Result<(), StoreError> {
        const PING: &str = "SELECT 1";
        match self {
            Self::Sqlite(s) => sqlx::query(PING).execute(s.pool()).await.map(drop),
            Self::Postgres(s) => sqlx::query(PING).execute(s.pool()).await.map(drop),
            Self::MySql(s) => sqlx::query(PING).execute(s.pool()).await.map(drop),
        }
        .map_err(crate::error::store_error)
    }

    /// Every user, ordered by email (for administration tools; not exposed over HTTP).
    ///
    /// # Errors
    /// A store failure.
    pub async fn list(&self) -> Result<Vec<User<X>>, StoreError>
    where
        X: UserExtra,
    {
        match self {
            Self::Sqlite(s) => s.list().await,
            Self::Postgres(s) => s.list().await,
            Self::MySql(s) => s.list().await,
        }
    }
}

/// Connects to the database a URL names: `sqlite:` → [`SqliteStore`], `postgres:` /
/// `postgresql:` → [`PgStore`], `mysql:` / `mariadb:` → [`MySqlStore`]. Migrations are not
/// applied; call [`AnyUserStore::migrate`].
///
/// ```no_run
/// # async fn run() -> Result<(), axum_users_sqlx::SqlStoreError> {
/// use std::sync::Arc;
/// use axum_users_core::UserStore;
/// use axum_users_sqlx::{PoolSettings, connect_any};
///
/// let store = connect_any::<()>("postgres://app@db/users", PoolSettings::default()).await?;
/// store.migrate().await?;
/// let store: Arc<dyn UserStore<()>> = Arc::new(store);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`SqlStoreError::Scheme`] for an unknown scheme, [`SqlStoreError::Url`] for a URL that does
/// not parse, [`SqlStoreError::Connect`] when the database cannot be reached or opened.
pub async fn connect_any<X: UserExtra>(
    url: &str,
    settings: PoolSettings,
) -> Result<AnyUserStore<X>, SqlStoreError> {
    Ok(match StoreKind::from_url(url)? {
        StoreKind::Sqlite => AnyUserStore::Sqlite(SqliteStore::connect_url(url, settings).await?),
        StoreKind::Postgres => AnyUserStore::Postgres(PgStore::connect_url(url, settings).await?),
        StoreKind::MySql => AnyUserStore::MySql(MySqlStore::connect_url(url, settings).await?),
    })
}

#[async_trait]
impl<X: UserExtra> UserStore<X> for AnyUserStore<X> {
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get(id).await,
            Self::Postgres(s) => s.get(id).await,
            Self::MySql(s) => s.get(id).await,
        }
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get_by_email(email).await,
            Self::Postgres(s) => s.get_by_email(email).await,
            Self::MySql(s) => s.get_by_email(email).await,
        }
    }

    async fn create(&self, user: User<X>) -> Result<User<X>, StoreError> {
        match self {
            Self::Sqlite(s) => s.create(user).await,
            Self::Postgres(s) => s.create(user).await,
            Self::MySql(s) => s.create(user).await,
        }
    }

    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError> {
        match self {
            Self::Sqlite(s) => s.update(id, patch).await,
            Self::Postgres(s) => s.update(id, patch).await,
            Self::MySql(s) => s.update(id, patch).await,
        }
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
            Self::MySql(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl<X: 'static> AccessTokenStore for AnyUserStore<X> {
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get_token(token, created_after).await,
            Self::Postgres(s) => s.get_token(token, created_after).await,
            Self::MySql(s) => s.get_token(token, created_after).await,
        }
    }

    async fn create_token(&self, token: AccessToken) -> Result<AccessToken, StoreError> {
        match self {
            Self::Sqlite(s) => s.create_token(token).await,
            Self::Postgres(s) => s.create_token(token).await,
            Self::MySql(s) => s.create_token(token).await,
        }
    }

    async fn delete_token(&self, token: &str) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_token(token).await,
            Self::Postgres(s) => s.delete_token(token).await,
            Self::MySql(s) => s.delete_token(token).await,
        }
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_user_tokens(user_id).await,
            Self::Postgres(s) => s.delete_user_tokens(user_id).await,
            Self::MySql(s) => s.delete_user_tokens(user_id).await,
        }
    }

    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_tokens_created_before(before).await,
            Self::Postgres(s) => s.delete_tokens_created_before(before).await,
            Self::MySql(s) => s.delete_tokens_created_before(before).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        for (url, kind) in [
            ("sqlite::memory:", StoreKind::Sqlite),
            ("sqlite://users.db?mode=rwc", StoreKind::Sqlite),
            ("postgres://u@h/db", StoreKind::Postgres),
            ("PostgreSQL://u@h/db", StoreKind::Postgres),
            ("mysql://root@h/db", StoreKind::MySql),
            ("mariadb://root@h/db", StoreKind::MySql),
        ] {
            assert_eq!(StoreKind::from_url(url).unwrap(), kind, "{url}");
        }
        for url in ["redis://h", "users.db", "", "mssql://h/db"] {
            assert!(
                matches!(StoreKind::from_url(url), Err(SqlStoreError::Scheme(_))),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused_before_connecting() {
        let err = connect_any::<()>("oracle://h/db", PoolSettings::default())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported database URL scheme \"oracle\" (expected sqlite:, postgres:, \
             postgresql:, mysql: or mariadb:)"
        );
    }

    #[tokio::test]
    async fn sqlite_url_gives_a_working_sqlite_store() {
        let store = connect_any::<()>("sqlite::memory:", PoolSettings::default())
            .await
            .unwrap();
        assert_eq!(store.kind(), StoreKind::Sqlite);
        store.migrate().await.unwrap();
        // One connection whatever was asked: the in-memory database is the same for every call.
        let user = User {
            id: Uuid::new_v4(),
            email: "merlin@camelot.bt".to_owned(),
            hashed_password: "x".to_owned(),
            is_active: true,
            is_superuser: false,
            is_verified: false,
            extra: (),
        };
        store.create(user.clone()).await.unwrap();
        assert_eq!(
            store.get_by_email("Merlin@camelot.bt").await.unwrap(),
            Some(user)
        );
        assert_eq!(store.list().await.unwrap().len(), 1);
    }
}
