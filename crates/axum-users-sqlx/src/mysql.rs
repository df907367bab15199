//! [`MySqlStore`]: users in MariaDB or MySQL.

use std::marker::PhantomData;
use std::str::FromStr;
use std::time::SystemTime;

use async_trait::async_trait;
use axum_users_core::{
    AccessToken, AccessTokenStore, StoreError, User, UserExtra, UserPatch, UserStore,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlRow};
use sqlx::types::time::OffsetDateTime;
use sqlx::{MySqlPool, Row as _};
use uuid::Uuid;

use crate::error::{SqlStoreError, retry_aborted, store_error};
use crate::extra::{parse_id, read_extra, row_error, write_extra};
use crate::token::{check_token, cutoff, from_utc, naive_utc, to_utc};
use crate::{PoolSettings, SchemaVersion};

/// The embedded MySQL/MariaDB migrations.
#[must_use]
pub fn mysql_migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("migrations/mysql")
}

/// The statements [`MySqlStore`] runs, public only so that tests can `EXPLAIN` them.
#[doc(hidden)]
pub mod sql {
    /// Every user, ordered by email.
    pub const SELECT_ALL: &str = "SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, CAST(x.data AS CHAR)
        FROM `user` u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id ORDER BY u.email";
    /// One user by id (the primary key).
    pub const GET_BY_ID: &str = "SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, CAST(x.data AS CHAR)
        FROM `user` u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id WHERE u.id = ?";
    /// One user by email, without regard to case (the unique index on the generated
    /// `email_lower` column).
    pub const GET_BY_EMAIL: &str = "SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, CAST(x.data AS CHAR)
        FROM `user` u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id
        WHERE u.email_lower = lower(?)";
    pub(super) const INSERT_USER: &str = "INSERT INTO `user`
        (id, email, hashed_password, is_active, is_superuser, is_verified)
        VALUES (?, ?, ?, ?, ?, ?)";
    pub(super) const INSERT_EXTRA: &str =
        "INSERT INTO axum_users_user_extra (user_id, data) VALUES (?, ?)";
    pub(super) const UPDATE_USER: &str = "UPDATE `user` SET
        email = COALESCE(?, email),
        hashed_password = COALESCE(?, hashed_password),
        is_active = COALESCE(?, is_active),
        is_superuser = COALESCE(?, is_superuser),
        is_verified = COALESCE(?, is_verified)
        WHERE id = ?";
    // `VALUES(col)` rather than MySQL 8's row alias, which MariaDB does not know.
    pub(super) const UPSERT_EXTRA: &str = "INSERT INTO axum_users_user_extra (user_id, data)
        VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)";
    pub(super) const DELETE_USER: &str = "DELETE FROM `user` WHERE id = ?";
    // `token` has the table's collation, case-insensitive on most servers (FastAPI Users'
    // DDL names none): the first comparison finds the row through the primary key, the
    // second, on bytes, keeps only the very token asked for.
    pub(super) const GET_TOKEN: &str = "SELECT token, user_id, created_at FROM accesstoken
        WHERE token = ? AND token = CAST(? AS BINARY)";
    pub(super) const GET_TOKEN_CREATED_AFTER: &str = "SELECT token, user_id, created_at
        FROM accesstoken WHERE token = ? AND token = CAST(? AS BINARY) AND created_at >= ?";
    pub(super) const INSERT_TOKEN: &str =
        "INSERT INTO accesstoken (token, created_at, user_id) VALUES (?, ?, ?)";
    pub(super) const DELETE_TOKEN: &str =
        "DELETE FROM accesstoken WHERE token = ? AND token = CAST(? AS BINARY)";
    pub(super) const DELETE_USER_TOKENS: &str = "DELETE FROM accesstoken WHERE user_id = ?";
    // Tokens created before a time (the `ix_accesstoken_created_at` index).
    pub(super) const DELETE_TOKENS_BEFORE: &str = "DELETE FROM accesstoken WHERE created_at < ?";
}

/// Users and their access tokens in MariaDB (or MySQL), through a sqlx pool. Tables as
/// fastapi-users-db-sqlalchemy makes them (`user` with a `CHAR(36)` id; `accesstoken` with a
/// `DATETIME(6)` creation time in UTC), plus a stored generated column `email_lower` with a
/// unique index, and the `axum_users_user_extra` table for custom fields (`JSON`).
///
/// Times are exchanged in UTC: the session's `time_zone` is `+00:00` (sqlx's default, kept
/// unless the URL sets another), which also makes a FastAPI Users table whose `created_at` is
/// a `TIMESTAMP` read and written in UTC. Token lookups compare the token's bytes, so a
/// case-insensitive collation on `accesstoken.token` does not let a token match another.
///
/// Writes are InnoDB transactions; one that InnoDB aborts as a deadlock victim (which
/// concurrent inserts of one unique key can cause) is run again, up to five times in all.
#[derive(Debug)]
pub struct MySqlStore<X = ()> {
    pool: MySqlPool,
    _extra: PhantomData<fn() -> X>,
}

impl<X> Clone for MySqlStore<X> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            _extra: PhantomData,
        }
    }
}

impl<X> MySqlStore<X> {
    /// Connects to the database at a `mysql:` (or `mariadb:`) URL with default pool settings.
    ///
    /// # Errors
    /// [`SqlStoreError::Url`] for a URL that does not parse, [`SqlStoreError::Connect`] when
    /// the server cannot be reached or refuses us.
    pub async fn connect(url: &str) -> Result<Self, SqlStoreError> {
        Self::connect_url(url, PoolSettings::default()).await
    }

    /// Connects to the database at a `mysql:` (or `mariadb:`) URL with the given pool
    /// settings.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_url(url: &str, settings: PoolSettings) -> Result<Self, SqlStoreError> {
        let url = mysql_url(url);
        let options = MySqlConnectOptions::from_str(&url).map_err(SqlStoreError::Url)?;
        Self::connect_with(options, settings).await
    }

    /// Connects with explicit connection options and pool settings.
    ///
    /// # Errors
    /// [`SqlStoreError::Connect`] when the server cannot be reached or refuses us.
    pub async fn connect_with(
        options: MySqlConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlStoreError> {
        let pool: MySqlPool = crate::pool::open_pool(options, settings).await?;
        Ok(Self::from_pool(pool))
    }

    /// A store on a pool the application already has.
    #[must_use]
    pub fn from_pool(pool: MySqlPool) -> Self {
        Self {
            pool,
            _extra: PhantomData,
        }
    }

    /// Applies the embedded migrations (under sqlx's named lock, so several instances
    /// starting at once are safe; MySQL's DDL is not transactional, so a migration that
    /// fails half-way leaves the database marked dirty for an operator to look at).
    ///
    /// # Errors
    /// [`SqlStoreError::NewerSchema`] when a newer build migrated the database (nothing is
    /// changed then); [`SqlStoreError::Migrate`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let migrator = mysql_migrator();
        match migrator.run(&self.pool).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let latest = self.schema_version().await.ok().and_then(|v| v.applied);
                Err(crate::schema::migrate_error(e, &migrator, latest))
            }
        }
    }

    /// Where the database's schema stands against this build's migrations (read only; a
    /// database never migrated has no `applied` version).
    ///
    /// # Errors
    /// [`SqlStoreError::Migrate`] when sqlx's table cannot be read.
    pub async fn schema_version(&self) -> Result<SchemaVersion, SqlStoreError> {
        let known = crate::schema::known(&mysql_migrator());
        let read = async {
            let exists: i64 = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_sqlx_migrations')",
            )
            .fetch_one(&self.pool)
            .await?;
            if exists == 0 {
                return Ok(None);
            }
            sqlx::query_scalar::<_, Option<i64>>(crate::schema::LATEST_APPLIED)
                .fetch_one(&self.pool)
                .await
        };
        let applied = read
            .await
            .map_err(|e| SqlStoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)))?;
        Ok(SchemaVersion { applied, known })
    }

    /// The connection pool, for the application's own tables.
    #[must_use]
    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    /// Every user, ordered by email (for administration tools; not exposed over HTTP).
    ///
    /// # Errors
    /// A store failure.
    pub async fn list(&self) -> Result<Vec<User<X>>, StoreError>
    where
        X: UserExtra,
    {
        let rows = sqlx::query(sql::SELECT_ALL)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(row_to_user).collect()
    }

    async fn try_create(
        &self,
        id: &str,
        user: &User<X>,
        extra: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::INSERT_USER)
            .bind(id)
            .bind(&user.email)
            .bind(&user.hashed_password)
            .bind(user.is_active)
            .bind(user.is_superuser)
            .bind(user.is_verified)
            .execute(&mut *tx)
            .await?;
        if let Some(data) = extra {
            sqlx::query(sql::INSERT_EXTRA)
                .bind(id)
                .bind(data)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    async fn try_update(
        &self,
        id: &str,
        patch: &UserPatch<X>,
        extra: Option<&str>,
    ) -> Result<Option<MySqlRow>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        // sqlx asks for CLIENT_FOUND_ROWS: this counts the rows matched, not only the ones
        // whose values changed.
        let matched = sqlx::query(sql::UPDATE_USER)
            .bind(patch.email.as_deref())
            .bind(patch.hashed_password.as_deref())
            .bind(patch.is_active)
            .bind(patch.is_superuser)
            .bind(patch.is_verified)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if matched == 0 {
            return Ok(None);
        }
        if let Some(data) = extra {
            sqlx::query(sql::UPSERT_EXTRA)
                .bind(id)
                .bind(data)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(sql::GET_BY_ID)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(row)
    }
}

/// sqlx knows MariaDB only as `mysql:`; `mariadb:` URLs are rewritten.
pub(crate) fn mysql_url(url: &str) -> std::borrow::Cow<'_, str> {
    match url.strip_prefix("mariadb:") {
        Some(rest) => format!("mysql:{rest}").into(),
        None => url.into(),
    }
}

fn row_to_user<X: UserExtra>(row: &MySqlRow) -> Result<User<X>, StoreError> {
    let id: &str = row.try_get(0).map_err(row_error)?;
    let data: Option<&str> = row.try_get(6).map_err(row_error)?;
    Ok(User {
        id: parse_id(id)?,
        email: row.try_get(1).map_err(row_error)?,
        hashed_password: row.try_get(2).map_err(row_error)?,
        is_active: row.try_get(3).map_err(row_error)?,
        is_superuser: row.try_get(4).map_err(row_error)?,
        is_verified: row.try_get(5).map_err(row_error)?,
        extra: read_extra(data)?,
    })
}

#[async_trait]
impl<X: UserExtra> UserStore<X> for MySqlStore<X> {
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        let row = sqlx::query(sql::GET_BY_ID)
            .bind(id.hyphenated().to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(row_to_user).transpose()
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError> {
        let row = sqlx::query(sql::GET_BY_EMAIL)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(row_to_user).transpose()
    }

    async fn create(&self, user: User<X>) -> Result<User<X>, StoreError> {
        let extra = write_extra(&user.extra)?;
        let id = user.id.hyphenated().to_string();
        retry_aborted(|| self.try_create(&id, &user, extra.as_deref()))
            .await
            .map_err(store_error)?;
        Ok(user)
    }

    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError> {
        let extra = patch.extra.as_ref().map(write_extra).transpose()?.flatten();
        let id = id.hyphenated().to_string();
        let row = retry_aborted(|| self.try_update(&id, &patch, extra.as_deref()))
            .await
            .map_err(store_error)?;
        row.as_ref().map(row_to_user).transpose()
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELETE_USER)
            .bind(id.hyphenated().to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}

fn row_to_token(row: &MySqlRow) -> Result<AccessToken, StoreError> {
    let user_id: &str = row.try_get(1).map_err(row_error)?;
    // Read as UTC; `OffsetDateTime` (unlike `PrimitiveDateTime`) also accepts the `TIMESTAMP`
    // column of a table FastAPI Users created.
    let created_at: OffsetDateTime = row.try_get(2).map_err(row_error)?;
    Ok(AccessToken {
        token: row.try_get(0).map_err(row_error)?,
        user_id: parse_id(user_id)?,
        created_at: from_utc(created_at)?,
    })
}

#[async_trait]
impl<X: 'static> AccessTokenStore for MySqlStore<X> {
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError> {
        let query = match created_after {
            None => sqlx::query(sql::GET_TOKEN).bind(token).bind(token),
            Some(after) => sqlx::query(sql::GET_TOKEN_CREATED_AFTER)
                .bind(token)
                .bind(token)
                .bind(naive_utc(cutoff(after)?)),
        };
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(row_to_token).transpose()
    }

    async fn create_token(&self, token: AccessToken) -> Result<AccessToken, StoreError> {
        check_token(&token.token)?;
        let created_at = to_utc(token.created_at)?;
        let user_id = token.user_id.hyphenated().to_string();
        retry_aborted(|| {
            sqlx::query(sql::INSERT_TOKEN)
                .bind(&token.token)
                .bind(naive_utc(created_at))
                .bind(&user_id)
                .execute(&self.pool)
        })
        .await
        .map_err(store_error)?;
        Ok(AccessToken {
            created_at: from_utc(created_at)?,
            ..token
        })
    }

    async fn delete_token(&self, token: &str) -> Result<(), StoreError> {
        retry_aborted(|| {
            sqlx::query(sql::DELETE_TOKEN)
                .bind(token)
                .bind(token)
                .execute(&self.pool)
        })
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let user_id = user_id.hyphenated().to_string();
        let done = retry_aborted(|| {
            sqlx::query(sql::DELETE_USER_TOKENS)
                .bind(&user_id)
                .execute(&self.pool)
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        let before = naive_utc(cutoff(before)?);
        let done = retry_aborted(|| {
            sqlx::query(sql::DELETE_TOKENS_BEFORE)
                .bind(before)
                .execute(&self.pool)
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::mysql_url;

    #[test]
    fn mariadb_urls_become_mysql_urls() {
        assert_eq!(
            mysql_url("mariadb://root@db:3306/users"),
            "mysql://root@db:3306/users"
        );
        assert_eq!(mysql_url("mysql://root@db/users"), "mysql://root@db/users");
    }
}
