//! [`SqliteStore`]: the embedded default.

use std::marker::PhantomData;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum_users_core::{
    AccessToken, AccessTokenStore, StoreError, User, UserExtra, UserPatch, UserStore,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Row as _, SqlitePool};
use uuid::Uuid;

use crate::error::{SqlStoreError, store_error};
use crate::extra::{parse_id, read_extra, row_error, write_extra};
use crate::readers::Readers;
use crate::token::{
    check_token, cutoff, cutoff_plus_two_days, from_utc, parse_sqlite_text, sqlite_text, to_utc,
};
use crate::{PoolSettings, SchemaVersion};

/// The embedded SQLite migrations.
#[must_use]
pub fn sqlite_migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("migrations/sqlite")
}

const SELECT_ALL: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser,
    u.is_verified, x.data FROM "user" u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id
    ORDER BY u.email"#;
const GET_BY_ID: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser,
    u.is_verified, x.data FROM "user" u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id
    WHERE u.id = ?1"#;
const GET_TOKEN: &str = "SELECT token, user_id, created_at FROM accesstoken WHERE token = ?1";
const INSERT_TOKEN: &str =
    "INSERT INTO accesstoken (token, created_at, user_id) VALUES (?1, ?2, ?3)";
const DELETE_TOKEN: &str = "DELETE FROM accesstoken WHERE token = ?1";
const DELETE_USER_TOKENS: &str = "DELETE FROM accesstoken WHERE user_id = ?1";
/// Rows created before `?1` (SQLAlchemy's text). Rows in that format (a space at the 11th
/// character, nothing but digits and a point after the seconds) compare as text, which the
/// index serves. Others (a `T`, an offset) go through SQLite's own date parser, to the
/// millisecond; an offset of at most 14 hours puts every such row created before the cutoff
/// below `?2` (the cutoff plus two days) in text order, so the index still bounds the scan.
const DELETE_TOKENS_BEFORE: &str = "DELETE FROM accesstoken WHERE created_at < ?2 AND CASE
    WHEN substr(created_at, 11, 1) = ' ' AND substr(created_at, 20) NOT GLOB '*[^0-9.]*'
    THEN created_at < ?1
    ELSE julianday(created_at) < julianday(?1) END";
const GET_BY_EMAIL: &str = r#"SELECT u.id, u.email, u.hashed_password, u.is_active, u.is_superuser,
    u.is_verified, x.data FROM "user" u LEFT JOIN axum_users_user_extra x ON x.user_id = u.id
    WHERE lower(u.email) = lower(?1)"#;

/// Users and their access tokens in SQLite, through a sqlx pool (WAL mode, foreign keys on, a
/// busy timeout so concurrent writers wait rather than fail).
///
/// A file database opened by URL ([`connect`](Self::connect), [`connect_url`](Self::connect_url))
/// also gets one read-only connection per core (at most `max_connections`) for the lookups
/// every request makes, [`get`](UserStore::get) and [`get_by_email`](UserStore::get_by_email):
/// they run on the calling thread, never waiting (busy timeout zero), and fall back to the
/// pool when every such connection is in use or on any error. See `docs/performance.md`.
///
/// Access tokens live in FastAPI Users' `accesstoken` table, `created_at` as the text
/// SQLAlchemy writes (`YYYY-MM-DD HH:MM:SS.ffffff`, UTC); rows with a `T` separator or a
/// `Z`/`±HH:MM` suffix are read too.
#[derive(Debug)]
pub struct SqliteStore<X = ()> {
    pool: SqlitePool,
    readers: Option<Arc<Readers>>,
    _extra: PhantomData<fn() -> X>,
}

impl<X> Clone for SqliteStore<X> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            readers: self.readers.clone(),
            _extra: PhantomData,
        }
    }
}

impl<X> SqliteStore<X> {
    /// Opens (creating if missing) the database at a `sqlite:` URL.
    ///
    /// # Errors
    /// [`SqlStoreError::Url`] for a URL that does not parse, [`SqlStoreError::Connect`] when
    /// the file cannot be opened.
    pub async fn connect(url: &str) -> Result<Self, SqlStoreError> {
        let settings = PoolSettings {
            max_connections: 8,
            ..PoolSettings::default()
        };
        Self::connect_url(url, settings).await
    }

    /// Opens (creating if missing) the database at a `sqlite:` URL with the given pool
    /// settings. An in-memory URL (`sqlite::memory:`, `mode=memory`) gets
    /// [`PoolSettings::in_memory`] whatever is asked, since each connection would otherwise
    /// see a database of its own, and closing the last one would drop it.
    ///
    /// # Errors
    /// [`SqlStoreError::Url`] for a URL that does not parse, [`SqlStoreError::Connect`] when
    /// the file cannot be opened.
    pub async fn connect_url(url: &str, settings: PoolSettings) -> Result<Self, SqlStoreError> {
        let options = SqliteConnectOptions::from_str(url).map_err(SqlStoreError::Url)?;
        if url.contains(":memory:") || url.contains("mode=memory") {
            let settings = PoolSettings {
                acquire_timeout: settings.acquire_timeout,
                ..PoolSettings::in_memory()
            };
            return Self::connect_with(options, settings).await;
        }
        let path = options.get_filename().to_path_buf();
        let mut store = Self::connect_with(options, settings).await?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let n = cores.min(usize::try_from(settings.max_connections).unwrap_or(usize::MAX));
        // The pool has created the file and put it in WAL mode; a failure here only costs speed.
        match Readers::open(&path, n) {
            Ok(readers) => store.readers = Some(Arc::new(readers)),
            Err(error) => {
                tracing::warn!(%error, "no SQLite reader connections; lookups use the pool");
            }
        }
        Ok(store)
    }

    /// A private in-memory database (one connection), for tests and examples.
    ///
    /// # Errors
    /// [`SqlStoreError::Connect`] if SQLite cannot start.
    pub async fn in_memory() -> Result<Self, SqlStoreError> {
        let options =
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(SqlStoreError::Url)?;
        Self::connect_with(options, PoolSettings::in_memory()).await
    }

    /// Opens a database with explicit options and pool settings. WAL mode, foreign keys and
    /// a 10 s busy timeout are set on top of `options`. Every query goes through the pool
    /// (no reader connections: the options may name a private in-memory database).
    ///
    /// # Errors
    /// [`SqlStoreError::Connect`] when the database cannot be opened.
    pub async fn connect_with(
        options: SqliteConnectOptions,
        settings: PoolSettings,
    ) -> Result<Self, SqlStoreError> {
        let pool: SqlitePool = crate::pool::open_pool(tuned(options), settings).await?;
        Ok(Self {
            pool,
            readers: None,
            _extra: PhantomData,
        })
    }

    /// Applies the embedded migrations.
    ///
    /// # Errors
    /// [`SqlStoreError::NewerSchema`] when a newer build migrated the database (nothing is
    /// changed then); [`SqlStoreError::Migrate`] when a migration fails.
    pub async fn migrate(&self) -> Result<(), SqlStoreError> {
        let migrator = sqlite_migrator();
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
        let known = crate::schema::known(&sqlite_migrator());
        let read = async {
            let exists: i64 = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master \
                 WHERE type = 'table' AND name = '_sqlx_migrations')",
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
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The settings every connection gets: WAL, foreign keys, a 10 s busy timeout.
fn tuned(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
}

impl<X: UserExtra> SqliteStore<X> {
    /// A user by one text parameter: on a reader connection when one is free, else (or when
    /// it fails) through the pool.
    async fn lookup(&self, sql: &'static str, param: &str) -> Result<Option<User<X>>, StoreError> {
        if let Some(found) = self.readers.as_ref().and_then(|r| r.lookup(sql, param)) {
            return found;
        }
        let row = sqlx::query(sql)
            .bind(param.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(row_to_user).transpose()
    }
}

fn row_to_user<X: UserExtra>(row: &sqlx::sqlite::SqliteRow) -> Result<User<X>, StoreError> {
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
impl<X: UserExtra> UserStore<X> for SqliteStore<X> {
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        let mut buf = Uuid::encode_buffer();
        self.lookup(GET_BY_ID, id.hyphenated().encode_lower(&mut buf))
            .await
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError> {
        self.lookup(GET_BY_EMAIL, email).await
    }

    async fn create(&self, user: User<X>) -> Result<User<X>, StoreError> {
        let extra = write_extra(&user.extra)?;
        let id = user.id.hyphenated().to_string();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        sqlx::query(
            r#"INSERT INTO "user" (id, email, hashed_password, is_active, is_superuser, is_verified)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6)"#,
        )
        .bind(&id)
        .bind(&user.email)
        .bind(&user.hashed_password)
        .bind(user.is_active)
        .bind(user.is_superuser)
        .bind(user.is_verified)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        if let Some(data) = extra {
            sqlx::query("INSERT INTO axum_users_user_extra (user_id, data) VALUES (?1, ?2)")
                .bind(&id)
                .bind(data)
                .execute(&mut *tx)
                .await
                .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(user)
    }

    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError> {
        let extra = patch.extra.as_ref().map(write_extra).transpose()?.flatten();
        let id = id.hyphenated().to_string();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        let changed = sqlx::query(
            r#"UPDATE "user" SET
                email = COALESCE(?1, email),
                hashed_password = COALESCE(?2, hashed_password),
                is_active = COALESCE(?3, is_active),
                is_superuser = COALESCE(?4, is_superuser),
                is_verified = COALESCE(?5, is_verified)
               WHERE id = ?6"#,
        )
        .bind(patch.email.as_deref())
        .bind(patch.hashed_password.as_deref())
        .bind(patch.is_active)
        .bind(patch.is_superuser)
        .bind(patch.is_verified)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        if let Some(data) = extra {
            sqlx::query(
                "INSERT INTO axum_users_user_extra (user_id, data) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
            )
            .bind(&id)
            .bind(data)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        let row = sqlx::query(GET_BY_ID)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        row.as_ref().map(row_to_user).transpose()
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query(r#"DELETE FROM "user" WHERE id = ?1"#)
            .bind(id.hyphenated().to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}

impl<X> SqliteStore<X> {
    /// Every user, ordered by email (for administration tools; not exposed over HTTP).
    ///
    /// # Errors
    /// A store failure.
    pub async fn list(&self) -> Result<Vec<User<X>>, StoreError>
    where
        X: UserExtra,
    {
        let rows = sqlx::query(SELECT_ALL)
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(row_to_user).collect()
    }
}

fn row_to_token(row: &sqlx::sqlite::SqliteRow) -> Result<AccessToken, StoreError> {
    let user_id: &str = row.try_get(1).map_err(row_error)?;
    let created_at: &str = row.try_get(2).map_err(row_error)?;
    Ok(AccessToken {
        token: row.try_get(0).map_err(row_error)?,
        user_id: parse_id(user_id)?,
        created_at: from_utc(parse_sqlite_text(created_at)?)?,
    })
}

#[async_trait]
impl<X: 'static> AccessTokenStore for SqliteStore<X> {
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError> {
        let row = sqlx::query(GET_TOKEN)
            .bind(token)
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let found = row_to_token(&row)?;
        // `created_at >= created_after`, compared here (the row is one, found by its key) so
        // that rows in any format SQLite may hold compare as times, not as text.
        if let Some(after) = created_after {
            let after = from_utc(cutoff(after)?)?;
            if found.created_at < after {
                return Ok(None);
            }
        }
        Ok(Some(found))
    }

    async fn create_token(&self, token: AccessToken) -> Result<AccessToken, StoreError> {
        check_token(&token.token)?;
        let created_at = to_utc(token.created_at)?;
        sqlx::query(INSERT_TOKEN)
            .bind(&token.token)
            .bind(sqlite_text(created_at))
            .bind(token.user_id.hyphenated().to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(AccessToken {
            created_at: from_utc(created_at)?,
            ..token
        })
    }

    async fn delete_token(&self, token: &str) -> Result<(), StoreError> {
        sqlx::query(DELETE_TOKEN)
            .bind(token)
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let done = sqlx::query(DELETE_USER_TOKENS)
            .bind(user_id.hyphenated().to_string())
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        let done = sqlx::query(DELETE_TOKENS_BEFORE)
            .bind(sqlite_text(cutoff(before)?))
            .bind(sqlite_text(cutoff_plus_two_days(before)?))
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected())
    }
}
