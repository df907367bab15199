//! [`PgStore`]: users in PostgreSQL.

use std::marker::PhantomData;
use std::str::FromStr;
use std::time::SystemTime;

use async_trait::async_trait;
use axum_users_core::{
    AccessToken, AccessTokenStore, StoreError, User, UserExtra, UserPatch, UserStore,
};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{PgPool, Row as _};
use uuid::Uuid;

use crate::error::{SqlStoreError, retry_aborted, store_error};
use crate::extra::{read_extra, row_error, write_extra};
use crate::token::{check_token, cutoff, from_utc, to_utc};
use crate::{PoolSettings, SchemaVersion};

/// The embedded PostgreSQL migrations.
#[must_use]
pub fn postgres_migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("migrations/postgres")
}

/// The statements [`PgStore`] runs, public only so that tests can `EXPLAIN` them.
#[doc(hidden)]
pub mod sql {
    /// Every user, ordered by email.
    pub const SELECT_ALL: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, x.data::text
        FROM "user" u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id ORDER BY u.email"#;
    /// One user by id (the primary key).
    pub const GET_BY_ID: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, x.data::text
        FROM "user" u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id WHERE u.id = $1"#;
    /// One user by email, without regard to case (the `lower(email)` expression index).
    pub const GET_BY_EMAIL: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active,
        u.is_superuser, u.is_verified, x.data::text
        FROM "user" u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id
        WHERE lower(u.email) = lower($1)"#;
    pub(super) const INSERT_USER: &str = r#"INSERT INTO "user"
        (id, email, hashed_password, is_active, is_superuser, is_verified)
        VALUES ($1, $2, $3, $4, $5, $6)"#;
    pub(super) const INSERT_EXTRA: &str =
        "INSERT INTO axum_users_user_extra (user_id, data) VALUES ($1, $2::jsonb)";
    pub(super) const UPDATE_USER: &str = r#"UPDATE "user" SET
        email = COALESCE($1, email),
        hashed_password = COALESCE($2, hashed_password),
        is_active = COALESCE($3, is_active),
        is_superuser = COALESCE($4, is_superuser),
        is_verified = COALESCE($5, is_verified)
        WHERE id = $6"#;
    pub(super) const UPSERT_EXTRA: &str = "INSERT INTO axum_users_user_extra (user_id, data)
        VALUES ($1, $2::jsonb) ON CONFLICT (user_id) DO UPDATE SET data = excluded.data";
    pub(super) const DELETE_USER: &str = r#"DELETE FROM "user" WHERE id = $1"#;
    pub(super) const GET_TOKEN: &str =
        "SELECT token, user_id, created_at FROM accesstoken WHERE token = $1";
    pub(super) const GET_TOKEN_CREATED_AFTER: &str = "SELECT token, user_id, created_at
        FROM accesstoken WHERE token = $1 AND created_at >= $2";
    pub(super) const INSERT_TOKEN: &str =
        "INSERT INTO accesstoken (token, created_at, user_id) VALUES ($1, $2, $3)";
    pub(super) const DELETE_TOKEN: &str = "DELETE FROM accesstoken WHERE token = $1";
    pub(super) const DELETE_USER_TOKENS: &str = "DELETE FROM accesstoken WHERE user_id = $1";
    // Tokens created before a time (the `ix_accesstoken_created_at` index).
    pub(super) const DELETE_TOKENS_BEFORE: &str = "DELETE FROM accesstoken WHERE created_at < $1";
}

/// Users and their access tokens in PostgreSQL, through a sqlx pool. Tables as
/// fastapi-users-db-sqlalchemy makes them (`user` with a `UUID` id; `accesstoken` with a
/// `TIMESTAMP WITH TIME ZONE` creation time), plus a unique index on `lower(email)`, an index
/// on `accesstoken.user_id`, and the `axum_users_user_extra` table for custom fields (`JSONB`).
#[derive(Debug)]
pub struct PgStore<X = ()> {
    pool: PgPool,
    _extra: PhantomData<fn() -> X>,
}

impl<X> Clone for PgStore<X> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            _extra: PhantomData,
        }
    }
}

impl<X> PgStore<X> {
    /// Connects to the database at a `postgres:` (or `postgresql:`) URL with default pool
    /// settings.
    ///
    /// # Errors
    /// [`SqlStoreError::Url`] for a URL that does not parse, [`SqlStoreError::Connect`] when
    /// the server cannot be reached or refuses us.
    pub async fn connect(url: &str) -> Result<Self, SqlStoreError> {
        Self::connect_url(url, PoolSettings::default()).await
    }

    /// Connects to the database at a `postgres:` URL with the given pool settings.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub async fn connect_url(url: &str, settings: PoolSettings) -> Result<Self, SqlStoreError> {
        let options = PgConnectOptions::from_str(url).map_err(SqlStoreError::Url)?;
        Self::connect_with(options, settings).await
    }

    /// Connects with explicit connection options (a `search_path` through
    /// [`PgConnectOptions::options`], TLS files, …) and pool settings.
    ///
    /// # Errors
    /// [`SqlStoreError::Connect`] when the server cannot be reached or refuses us.
    pub async fn connect_with(
        options: PgConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlStoreError> {
        let pool: PgPool = crate::pool::open_pool(options, settings).await?;
        Ok(Self::from_pool(pool))
    }

    /// A store on a pool the application already has.
    #[must_use]
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            _extra: PhantomData,
        }
    }

    /// Applies the embedded migrations (in a transaction, under sqlx's advisory lock, so
    /// several instances starting at once are safe).
    ///
    /// # Errors
    /// [`SqlStoreError::NewerSchema`] when a newer build migrated the database (nothing is
    /// changed then); [`SqlStoreError::Migrate`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let migrator = postgres_migrator();
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
        let known = crate::schema::known(&postgres_migrator());
        let read = async {
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&self.pool)
                    .await?;
            if !exists {
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
    pub fn pool(&self) -> &PgPool {
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

    async fn try_create(&self, user: &User<X>, extra: Option<&str>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sql::INSERT_USER)
            .bind(user.id)
            .bind(&user.email)
            .bind(&user.hashed_password)
            .bind(user.is_active)
            .bind(user.is_superuser)
            .bind(user.is_verified)
            .execute(&mut *tx)
            .await?;
        if let Some(data) = extra {
            sqlx::query(sql::INSERT_EXTRA)
                .bind(user.id)
                .bind(data)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    async fn try_update(
        &self,
        id: Uuid,
        patch: &UserPatch<X>,
        extra: Option<&str>,
    ) -> Result<Option<PgRow>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(sql::UPDATE_USER)
            .bind(patch.email.as_deref())
            .bind(patch.hashed_password.as_deref())
            .bind(patch.is_active)
            .bind(patch.is_superuser)
            .bind(patch.is_verified)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
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

fn row_to_user<X: UserExtra>(row: &PgRow) -> Result<User<X>, StoreError> {
    let data: Option<&str> = row.try_get(6).map_err(row_error)?;
    Ok(User {
        id: row.try_get(0).map_err(row_error)?,
        email: row.try_get(1).map_err(row_error)?,
        hashed_password: row.try_get(2).map_err(row_error)?,
        is_active: row.try_get(3).map_err(row_error)?,
        is_superuser: row.try_get(4).map_err(row_error)?,
        is_verified: row.try_get(5).map_err(row_error)?,
        extra: read_extra(data)?,
    })
}

#[async_trait]
impl<X: UserExtra> UserStore<X> for PgStore<X> {
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        let row = sqlx::query(sql::GET_BY_ID)
            .bind(id)
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
        retry_aborted(|| self.try_create(&user, extra.as_deref()))
            .await
            .map_err(store_error)?;
        Ok(user)
    }

    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError> {
        let extra = patch.extra.as_ref().map(write_extra).transpose()?.flatten();
        let row = retry_aborted(|| self.try_update(id, &patch, extra.as_deref()))
            .await
            .map_err(store_error)?;
        row.as_ref().map(row_to_user).transpose()
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::DELETE_USER)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}

fn row_to_token(row: &PgRow) -> Result<AccessToken, StoreError> {
    Ok(AccessToken {
        token: row.try_get(0).map_err(row_error)?,
        user_id: row.try_get(1).map_err(row_error)?,
        created_at: from_utc(row.try_get(2).map_err(row_error)?)?,
    })
}

#[async_trait]
impl<X: 'static> AccessTokenStore for PgStore<X> {
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError> {
        let query = match created_after {
            None => sqlx::query(sql::GET_TOKEN).bind(token),
            Some(after) => sqlx::query(sql::GET_TOKEN_CREATED_AFTER)
                .bind(token)
                .bind(cutoff(after)?),
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
        retry_aborted(|| {
            sqlx::query(sql::INSERT_TOKEN)
                .bind(&token.token)
                .bind(created_at)
                .bind(token.user_id)
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
                .execute(&self.pool)
        })
        .await
        .map_err(store_error)?;
        Ok(())
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let done = retry_aborted(|| {
            sqlx::query(sql::DELETE_USER_TOKENS)
                .bind(user_id)
                .execute(&self.pool)
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        let before = cutoff(before)?;
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
