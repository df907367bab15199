//! Refresh-token families in SQL (migration `0004_refresh_token.sql` of each engine): every
//! store of this crate, and [`AnyUserStore`], is a [`RefreshTokenStore`].
//!
//! Two tables of our own: `axum_users_refresh_family` (one row per login session: id, user,
//! creation, latest expiry of its tokens; `ON DELETE CASCADE` from `user`) and
//! `axum_users_refresh_token` (the SHA-256 of each token, its family, creation, expiry and
//! rotation time; `ON DELETE CASCADE` from the family). Revoking deletes families; their tokens
//! go with them.
//!
//! A rotation is one transaction that first locks the token's family row (PostgreSQL and
//! MariaDB/MySQL: `SELECT … FOR UPDATE`; SQLite: `BEGIN IMMEDIATE`, which takes the database's
//! write lock), then reads the token with a locking read and, if it is live, marks it rotated
//! (`… AND rotated_at IS NULL`, checked to change one row), inserts the successor and extends
//! the family. Two rotations of one token are therefore serialised on the family row and the
//! second sees the first's mark (reuse); a revocation (a `DELETE` of the family row) waits for a
//! rotation in progress, or makes it find no family, so no successor outlives its family.
//! PostgreSQL and MariaDB writes run again when the database aborts them as deadlock victims.

use std::time::SystemTime;

use async_trait::async_trait;
use axum_users_core::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome, StoreError};
use sqlx::types::time::OffsetDateTime;
use sqlx::{MySqlPool, PgPool, Row as _, SqlitePool};
use uuid::Uuid;

use crate::error::{retry_aborted, store_error};
use crate::extra::{parse_id, row_error};
use crate::token::{cutoff, from_utc, naive_utc, parse_sqlite_text, sqlite_text, to_utc};
use crate::{AnyUserStore, MySqlStore, PgStore, SqliteStore};

/// Whether `hash` can be a stored token hash: 64 lower-case hex characters. Anything else
/// names no token and is not sent to the database.
fn plausible(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn refuse_hash(hash: &str) -> Result<(), StoreError> {
    if plausible(hash) {
        Ok(())
    } else {
        Err(StoreError::Backend(
            format!(
                "a refresh token hash is 64 lower-case hex characters, not {} bytes",
                hash.len()
            )
            .into(),
        ))
    }
}

/// What a rotation does with the token it locked.
enum Step {
    Invalid,
    Reused,
    Rotate,
}

/// Expired (also exactly at `expires_at`) before rotated: an expired token never revokes.
fn decide(expires_at: OffsetDateTime, rotated: bool, now: OffsetDateTime) -> Step {
    if expires_at <= now {
        Step::Invalid
    } else if rotated {
        Step::Reused
    } else {
        Step::Rotate
    }
}

/// An id stored as `CHAR(36)`, as a driver error (inside retried transactions).
fn decode_id(text: &str) -> Result<Uuid, sqlx::Error> {
    Uuid::parse_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

// ---------------------------------------------------------------------------------------------
// SQLite

mod sqlite_sql {
    pub(super) const INSERT_FAMILY: &str = "INSERT INTO axum_users_refresh_family
        (family_id, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)";
    pub(super) const INSERT_TOKEN: &str = "INSERT INTO axum_users_refresh_token
        (token_hash, family_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)";
    pub(super) const GET: &str = "SELECT t.family_id, f.user_id, t.created_at, t.expires_at,
        t.rotated_at FROM axum_users_refresh_token t
        JOIN axum_users_refresh_family f ON f.family_id = t.family_id WHERE t.token_hash = ?1";
    pub(super) const MARK: &str = "UPDATE axum_users_refresh_token SET rotated_at = ?2
        WHERE token_hash = ?1 AND rotated_at IS NULL";
    // Fixed-width UTC text: `max` of the texts is the later time.
    pub(super) const EXTEND: &str = "UPDATE axum_users_refresh_family
        SET expires_at = max(expires_at, ?2) WHERE family_id = ?1";
    pub(super) const REVOKE_FAMILY: &str =
        "DELETE FROM axum_users_refresh_family WHERE family_id = ?1";
    pub(super) const REVOKE_USER: &str = "DELETE FROM axum_users_refresh_family WHERE user_id = ?1";
    pub(super) const PURGE_TOKENS: &str =
        "DELETE FROM axum_users_refresh_token WHERE expires_at <= ?1";
    pub(super) const PURGE_FAMILIES: &str =
        "DELETE FROM axum_users_refresh_family WHERE expires_at <= ?1";
}

fn sqlite_text_of(t: SystemTime) -> Result<String, StoreError> {
    Ok(sqlite_text(to_utc(t)?))
}

fn sqlite_time(row: &sqlx::sqlite::SqliteRow, index: usize) -> Result<SystemTime, StoreError> {
    let text: &str = row.try_get(index).map_err(row_error)?;
    from_utc(parse_sqlite_text(text)?)
}

fn sqlite_record(
    token_hash: &str,
    row: &sqlx::sqlite::SqliteRow,
) -> Result<RefreshTokenRecord, StoreError> {
    let family: &str = row.try_get(0).map_err(row_error)?;
    let user: &str = row.try_get(1).map_err(row_error)?;
    let rotated: Option<&str> = row.try_get(4).map_err(row_error)?;
    Ok(RefreshTokenRecord {
        token_hash: token_hash.to_owned(),
        family_id: parse_id(family)?,
        user_id: parse_id(user)?,
        created_at: sqlite_time(row, 2)?,
        expires_at: sqlite_time(row, 3)?,
        rotated_at: rotated
            .map(|t| parse_sqlite_text(t).and_then(from_utc))
            .transpose()?,
    })
}

async fn sqlite_create(pool: &SqlitePool, first: RefreshTokenRecord) -> Result<(), StoreError> {
    use sqlite_sql as q;
    refuse_hash(&first.token_hash)?;
    let created = sqlite_text_of(first.created_at)?;
    let expires = sqlite_text_of(first.expires_at)?;
    let family = first.family_id.hyphenated().to_string();
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(store_error)?;
    sqlx::query(q::INSERT_FAMILY)
        .bind(&family)
        .bind(first.user_id.hyphenated().to_string())
        .bind(&created)
        .bind(&expires)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::query(q::INSERT_TOKEN)
        .bind(&first.token_hash)
        .bind(&family)
        .bind(&created)
        .bind(&expires)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)
}

async fn sqlite_get(
    pool: &SqlitePool,
    token_hash: &str,
) -> Result<Option<RefreshTokenRecord>, StoreError> {
    if !plausible(token_hash) {
        return Ok(None);
    }
    let row = sqlx::query(sqlite_sql::GET)
        .bind(token_hash)
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
    row.map(|row| sqlite_record(token_hash, &row)).transpose()
}

async fn sqlite_rotate(
    pool: &SqlitePool,
    token_hash: &str,
    next_hash: &str,
    now: SystemTime,
    next_expires_at: SystemTime,
) -> Result<RotateOutcome, StoreError> {
    use sqlite_sql as q;
    if !plausible(token_hash) {
        return Ok(RotateOutcome::Invalid);
    }
    refuse_hash(next_hash)?;
    let now = to_utc(now)?;
    let now_text = sqlite_text(now);
    let next_expires = sqlite_text_of(next_expires_at)?;
    // The write lock first: every writer waits for this rotation, and it reads the latest rows.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(store_error)?;
    let row = sqlx::query(q::GET)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
    let Some(row) = row else {
        return Ok(RotateOutcome::Invalid);
    };
    let record = sqlite_record(token_hash, &row)?;
    let (user_id, family_id) = (record.user_id, record.family_id);
    match decide(to_utc(record.expires_at)?, record.rotated_at.is_some(), now) {
        Step::Invalid => return Ok(RotateOutcome::Invalid),
        Step::Reused => return Ok(RotateOutcome::Reused { user_id, family_id }),
        Step::Rotate => {}
    }
    let marked = sqlx::query(q::MARK)
        .bind(token_hash)
        .bind(&now_text)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?
        .rows_affected();
    if marked != 1 {
        return Ok(RotateOutcome::Reused { user_id, family_id });
    }
    let family = family_id.hyphenated().to_string();
    sqlx::query(q::INSERT_TOKEN)
        .bind(next_hash)
        .bind(&family)
        .bind(&now_text)
        .bind(&next_expires)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::query(q::EXTEND)
        .bind(&family)
        .bind(&next_expires)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(RotateOutcome::Rotated { user_id, family_id })
}

#[async_trait]
impl<X: 'static> RefreshTokenStore for SqliteStore<X> {
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError> {
        sqlite_create(self.pool(), first).await
    }

    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        sqlite_get(self.pool(), token_hash).await
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError> {
        sqlite_rotate(self.pool(), token_hash, next_hash, now, next_expires_at).await
    }

    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query(sqlite_sql::REVOKE_FAMILY)
            .bind(family_id.hyphenated().to_string())
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let done = sqlx::query(sqlite_sql::REVOKE_USER)
            .bind(user_id.hyphenated().to_string())
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn purge_expired_refresh_tokens(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = sqlite_text(cutoff(now)?);
        let tokens = sqlx::query(sqlite_sql::PURGE_TOKENS)
            .bind(&now)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        sqlx::query(sqlite_sql::PURGE_FAMILIES)
            .bind(&now)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(tokens.rows_affected())
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

mod pg_sql {
    pub(super) const INSERT_FAMILY: &str = "INSERT INTO axum_users_refresh_family
        (family_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    pub(super) const INSERT_TOKEN: &str = "INSERT INTO axum_users_refresh_token
        (token_hash, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    pub(super) const GET: &str = "SELECT t.family_id, f.user_id, t.created_at, t.expires_at,
        t.rotated_at FROM axum_users_refresh_token t
        JOIN axum_users_refresh_family f ON f.family_id = t.family_id WHERE t.token_hash = $1";
    pub(super) const FAMILY_OF: &str =
        "SELECT family_id FROM axum_users_refresh_token WHERE token_hash = $1";
    pub(super) const LOCK_FAMILY: &str =
        "SELECT user_id FROM axum_users_refresh_family WHERE family_id = $1 FOR UPDATE";
    pub(super) const LOCK_TOKEN: &str = "SELECT expires_at, rotated_at
        FROM axum_users_refresh_token WHERE token_hash = $1 FOR UPDATE";
    pub(super) const MARK: &str = "UPDATE axum_users_refresh_token SET rotated_at = $2
        WHERE token_hash = $1 AND rotated_at IS NULL";
    pub(super) const EXTEND: &str = "UPDATE axum_users_refresh_family
        SET expires_at = GREATEST(expires_at, $2) WHERE family_id = $1";
    pub(super) const REVOKE_FAMILY: &str =
        "DELETE FROM axum_users_refresh_family WHERE family_id = $1";
    pub(super) const REVOKE_USER: &str = "DELETE FROM axum_users_refresh_family WHERE user_id = $1";
    pub(super) const PURGE_TOKENS: &str =
        "DELETE FROM axum_users_refresh_token WHERE expires_at <= $1";
    pub(super) const PURGE_FAMILIES: &str =
        "DELETE FROM axum_users_refresh_family WHERE expires_at <= $1";
}

async fn pg_try_create(
    pool: &PgPool,
    first: &RefreshTokenRecord,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    use pg_sql as q;
    let mut tx = pool.begin().await?;
    sqlx::query(q::INSERT_FAMILY)
        .bind(first.family_id)
        .bind(first.user_id)
        .bind(created)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::INSERT_TOKEN)
        .bind(&first.token_hash)
        .bind(first.family_id)
        .bind(created)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

async fn pg_try_rotate(
    pool: &PgPool,
    token_hash: &str,
    next_hash: &str,
    now: OffsetDateTime,
    next_expires: OffsetDateTime,
) -> Result<RotateOutcome, sqlx::Error> {
    use pg_sql as q;
    let mut tx = pool.begin().await?;
    let family: Option<Uuid> = sqlx::query_scalar(q::FAMILY_OF)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(family_id) = family else {
        return Ok(RotateOutcome::Invalid);
    };
    // The family row first, as a revocation takes it.
    let user: Option<Uuid> = sqlx::query_scalar(q::LOCK_FAMILY)
        .bind(family_id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(user_id) = user else {
        return Ok(RotateOutcome::Invalid);
    };
    let Some(row) = sqlx::query(q::LOCK_TOKEN)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(RotateOutcome::Invalid);
    };
    let expires_at: OffsetDateTime = row.try_get(0)?;
    let rotated_at: Option<OffsetDateTime> = row.try_get(1)?;
    match decide(expires_at, rotated_at.is_some(), now) {
        Step::Invalid => return Ok(RotateOutcome::Invalid),
        Step::Reused => return Ok(RotateOutcome::Reused { user_id, family_id }),
        Step::Rotate => {}
    }
    let marked = sqlx::query(q::MARK)
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if marked != 1 {
        return Ok(RotateOutcome::Reused { user_id, family_id });
    }
    sqlx::query(q::INSERT_TOKEN)
        .bind(next_hash)
        .bind(family_id)
        .bind(now)
        .bind(next_expires)
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::EXTEND)
        .bind(family_id)
        .bind(next_expires)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(RotateOutcome::Rotated { user_id, family_id })
}

#[async_trait]
impl<X: 'static> RefreshTokenStore for PgStore<X> {
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError> {
        refuse_hash(&first.token_hash)?;
        let created = to_utc(first.created_at)?;
        let expires = to_utc(first.expires_at)?;
        retry_aborted(|| pg_try_create(self.pool(), &first, created, expires))
            .await
            .map_err(store_error)
    }

    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        if !plausible(token_hash) {
            return Ok(None);
        }
        let row = sqlx::query(pg_sql::GET)
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let rotated: Option<OffsetDateTime> = row.try_get(4).map_err(row_error)?;
        Ok(Some(RefreshTokenRecord {
            token_hash: token_hash.to_owned(),
            family_id: row.try_get(0).map_err(row_error)?,
            user_id: row.try_get(1).map_err(row_error)?,
            created_at: from_utc(row.try_get(2).map_err(row_error)?)?,
            expires_at: from_utc(row.try_get(3).map_err(row_error)?)?,
            rotated_at: rotated.map(from_utc).transpose()?,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError> {
        if !plausible(token_hash) {
            return Ok(RotateOutcome::Invalid);
        }
        refuse_hash(next_hash)?;
        let now = to_utc(now)?;
        let next_expires = to_utc(next_expires_at)?;
        retry_aborted(|| pg_try_rotate(self.pool(), token_hash, next_hash, now, next_expires))
            .await
            .map_err(store_error)
    }

    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        let done = retry_aborted(|| {
            sqlx::query(pg_sql::REVOKE_FAMILY)
                .bind(family_id)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let done = retry_aborted(|| {
            sqlx::query(pg_sql::REVOKE_USER)
                .bind(user_id)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn purge_expired_refresh_tokens(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = cutoff(now)?;
        let tokens = retry_aborted(|| {
            sqlx::query(pg_sql::PURGE_TOKENS)
                .bind(now)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        retry_aborted(|| {
            sqlx::query(pg_sql::PURGE_FAMILIES)
                .bind(now)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(tokens.rows_affected())
    }
}

// ---------------------------------------------------------------------------------------------
// MariaDB / MySQL

mod mysql_sql {
    pub(super) const INSERT_FAMILY: &str = "INSERT INTO axum_users_refresh_family
        (family_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)";
    pub(super) const INSERT_TOKEN: &str = "INSERT INTO axum_users_refresh_token
        (token_hash, family_id, created_at, expires_at) VALUES (?, ?, ?, ?)";
    pub(super) const GET: &str = "SELECT t.family_id, f.user_id, t.created_at, t.expires_at,
        t.rotated_at FROM axum_users_refresh_token t
        JOIN axum_users_refresh_family f ON f.family_id = t.family_id WHERE t.token_hash = ?";
    pub(super) const FAMILY_OF: &str =
        "SELECT family_id FROM axum_users_refresh_token WHERE token_hash = ?";
    pub(super) const LOCK_FAMILY: &str =
        "SELECT user_id FROM axum_users_refresh_family WHERE family_id = ? FOR UPDATE";
    // A locking read: the latest committed row, not the transaction's snapshot.
    pub(super) const LOCK_TOKEN: &str = "SELECT expires_at, rotated_at
        FROM axum_users_refresh_token WHERE token_hash = ? FOR UPDATE";
    pub(super) const MARK: &str = "UPDATE axum_users_refresh_token SET rotated_at = ?
        WHERE token_hash = ? AND rotated_at IS NULL";
    pub(super) const EXTEND: &str = "UPDATE axum_users_refresh_family
        SET expires_at = GREATEST(expires_at, ?) WHERE family_id = ?";
    pub(super) const REVOKE_FAMILY: &str =
        "DELETE FROM axum_users_refresh_family WHERE family_id = ?";
    pub(super) const REVOKE_USER: &str = "DELETE FROM axum_users_refresh_family WHERE user_id = ?";
    pub(super) const PURGE_TOKENS: &str =
        "DELETE FROM axum_users_refresh_token WHERE expires_at <= ?";
    pub(super) const PURGE_FAMILIES: &str =
        "DELETE FROM axum_users_refresh_family WHERE expires_at <= ?";
}

async fn mysql_try_create(
    pool: &MySqlPool,
    first: &RefreshTokenRecord,
    created: OffsetDateTime,
    expires: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    use mysql_sql as q;
    let family = first.family_id.hyphenated().to_string();
    let mut tx = pool.begin().await?;
    sqlx::query(q::INSERT_FAMILY)
        .bind(&family)
        .bind(first.user_id.hyphenated().to_string())
        .bind(naive_utc(created))
        .bind(naive_utc(expires))
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::INSERT_TOKEN)
        .bind(&first.token_hash)
        .bind(&family)
        .bind(naive_utc(created))
        .bind(naive_utc(expires))
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

async fn mysql_try_rotate(
    pool: &MySqlPool,
    token_hash: &str,
    next_hash: &str,
    now: OffsetDateTime,
    next_expires: OffsetDateTime,
) -> Result<RotateOutcome, sqlx::Error> {
    use mysql_sql as q;
    let mut tx = pool.begin().await?;
    let family: Option<String> = sqlx::query_scalar(q::FAMILY_OF)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(family) = family else {
        return Ok(RotateOutcome::Invalid);
    };
    let family_id = decode_id(&family)?;
    // The family row first, as a revocation takes it.
    let user: Option<String> = sqlx::query_scalar(q::LOCK_FAMILY)
        .bind(&family)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(user) = user else {
        return Ok(RotateOutcome::Invalid);
    };
    let user_id = decode_id(&user)?;
    let Some(row) = sqlx::query(q::LOCK_TOKEN)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(RotateOutcome::Invalid);
    };
    let expires_at: OffsetDateTime = row.try_get(0)?;
    let rotated_at: Option<OffsetDateTime> = row.try_get(1)?;
    match decide(expires_at, rotated_at.is_some(), now) {
        Step::Invalid => return Ok(RotateOutcome::Invalid),
        Step::Reused => return Ok(RotateOutcome::Reused { user_id, family_id }),
        Step::Rotate => {}
    }
    let marked = sqlx::query(q::MARK)
        .bind(naive_utc(now))
        .bind(token_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if marked != 1 {
        return Ok(RotateOutcome::Reused { user_id, family_id });
    }
    sqlx::query(q::INSERT_TOKEN)
        .bind(next_hash)
        .bind(&family)
        .bind(naive_utc(now))
        .bind(naive_utc(next_expires))
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::EXTEND)
        .bind(naive_utc(next_expires))
        .bind(&family)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(RotateOutcome::Rotated { user_id, family_id })
}

#[async_trait]
impl<X: 'static> RefreshTokenStore for MySqlStore<X> {
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError> {
        refuse_hash(&first.token_hash)?;
        let created = to_utc(first.created_at)?;
        let expires = to_utc(first.expires_at)?;
        retry_aborted(|| mysql_try_create(self.pool(), &first, created, expires))
            .await
            .map_err(store_error)
    }

    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        if !plausible(token_hash) {
            return Ok(None);
        }
        let row = sqlx::query(mysql_sql::GET)
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let family: &str = row.try_get(0).map_err(row_error)?;
        let user: &str = row.try_get(1).map_err(row_error)?;
        let created: OffsetDateTime = row.try_get(2).map_err(row_error)?;
        let expires: OffsetDateTime = row.try_get(3).map_err(row_error)?;
        let rotated: Option<OffsetDateTime> = row.try_get(4).map_err(row_error)?;
        Ok(Some(RefreshTokenRecord {
            token_hash: token_hash.to_owned(),
            family_id: parse_id(family)?,
            user_id: parse_id(user)?,
            created_at: from_utc(created)?,
            expires_at: from_utc(expires)?,
            rotated_at: rotated.map(from_utc).transpose()?,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError> {
        if !plausible(token_hash) {
            return Ok(RotateOutcome::Invalid);
        }
        refuse_hash(next_hash)?;
        let now = to_utc(now)?;
        let next_expires = to_utc(next_expires_at)?;
        retry_aborted(|| mysql_try_rotate(self.pool(), token_hash, next_hash, now, next_expires))
            .await
            .map_err(store_error)
    }

    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        let family = family_id.hyphenated().to_string();
        let done = retry_aborted(|| {
            sqlx::query(mysql_sql::REVOKE_FAMILY)
                .bind(&family)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError> {
        let user = user_id.hyphenated().to_string();
        let done = retry_aborted(|| {
            sqlx::query(mysql_sql::REVOKE_USER)
                .bind(&user)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn purge_expired_refresh_tokens(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = naive_utc(cutoff(now)?);
        let tokens = retry_aborted(|| {
            sqlx::query(mysql_sql::PURGE_TOKENS)
                .bind(now)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        retry_aborted(|| {
            sqlx::query(mysql_sql::PURGE_FAMILIES)
                .bind(now)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(tokens.rows_affected())
    }
}

// ---------------------------------------------------------------------------------------------
// Any

#[async_trait]
impl<X: 'static> RefreshTokenStore for AnyUserStore<X> {
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.create_refresh_family(first).await,
            Self::Postgres(s) => s.create_refresh_family(first).await,
            Self::MySql(s) => s.create_refresh_family(first).await,
        }
    }

    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get_refresh_token(token_hash).await,
            Self::Postgres(s) => s.get_refresh_token(token_hash).await,
            Self::MySql(s) => s.get_refresh_token(token_hash).await,
        }
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError> {
        match self {
            Self::Sqlite(s) => {
                s.rotate_refresh_token(token_hash, next_hash, now, next_expires_at)
                    .await
            }
            Self::Postgres(s) => {
                s.rotate_refresh_token(token_hash, next_hash, now, next_expires_at)
                    .await
            }
            Self::MySql(s) => {
                s.rotate_refresh_token(token_hash, next_hash, now, next_expires_at)
                    .await
            }
        }
    }

    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.revoke_refresh_family(family_id).await,
            Self::Postgres(s) => s.revoke_refresh_family(family_id).await,
            Self::MySql(s) => s.revoke_refresh_family(family_id).await,
        }
    }

    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.revoke_user_refresh_families(user_id).await,
            Self::Postgres(s) => s.revoke_user_refresh_families(user_id).await,
            Self::MySql(s) => s.revoke_user_refresh_families(user_id).await,
        }
    }

    async fn purge_expired_refresh_tokens(&self, now: SystemTime) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.purge_expired_refresh_tokens(now).await,
            Self::Postgres(s) => s.purge_expired_refresh_tokens(now).await,
            Self::MySql(s) => s.purge_expired_refresh_tokens(now).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_sha256_hashes_reach_the_database() {
        let good = axum_users_core::refresh_token_hash("abc");
        assert!(plausible(&good));
        assert!(!plausible(&good.to_uppercase()));
        assert!(!plausible(&good[1..]));
        assert!(!plausible(&format!("{good}0")));
        assert!(!plausible(""));
        assert!(refuse_hash("zz").is_err());
    }
}
