//! Linked OAuth accounts (FastAPI Users' `oauth_account` table) and spent OAuth states, for
//! every store: [`OAuthAccountStore`] and [`OAuthStateStore`].
//!
//! Migration `0003_oauth_account.sql` of each engine creates `oauth_account` as
//! fastapi-users-db-sqlalchemy 7 does (and leaves an existing one exactly as it is), plus two
//! tables of ours: `axum_users_oauth_link` and `axum_users_oauth_state`.
//!
//! **One provider account, one user.** FastAPI Users never checks this, and its table has no
//! key for it. Every row this module inserts into or updates in `oauth_account` gets, in the
//! same transaction, its row in `axum_users_oauth_link`, whose primary key is
//! (`oauth_name`, `account_id`): of two concurrent links of one account, the database lets one
//! commit. An insert is also refused when any row of the pair exists (one FastAPI Users wrote
//! included). Rows FastAPI Users writes have no link until an update of ours gives them one;
//! lookups take the linked row first, then the one with the smallest id, so an account FastAPI
//! Users linked to several users resolves to one of them, always the same.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum_users_core::oauth::{OAuthAccount, OAuthAccountStore, OAuthStateStore};
use axum_users_core::{StoreError, UserExtra};
use sqlx::Row as _;
use sqlx::{MySqlPool, PgPool, SqlitePool};
use uuid::Uuid;

use crate::error::{retry_aborted, store_error};
use crate::extra::{parse_id, row_error};
use crate::{AnyUserStore, MySqlStore, PgStore, SqliteStore};

/// The columns every query reads, in the order the row readers expect.
macro_rules! columns {
    () => {
        "id, user_id, oauth_name, access_token, expires_at, refresh_token, account_id, \
         account_email"
    };
}

/// The same columns of `oauth_account o`, for the lookup that joins the links.
macro_rules! o_columns {
    () => {
        "o.id, o.user_id, o.oauth_name, o.access_token, o.expires_at, o.refresh_token, \
         o.account_id, o.account_email"
    };
}

/// The statements, per engine.
mod sql {
    pub(super) mod sqlite {
        /// The pair's linked row, else its row with the smallest id.
        pub(in crate::oauth) const GET: &str = concat!(
            "SELECT ",
            o_columns!(),
            " FROM oauth_account o LEFT JOIN axum_users_oauth_link l \
             ON l.oauth_name = ?1 AND l.account_id = ?2 AND l.oauth_account_id = o.id \
             WHERE o.oauth_name = ?1 AND o.account_id = ?2 \
             ORDER BY l.oauth_account_id IS NULL, o.id LIMIT 1"
        );
        pub(in crate::oauth) const GET_BY_ID: &str =
            concat!("SELECT ", columns!(), " FROM oauth_account WHERE id = ?1");
        pub(in crate::oauth) const LIST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE user_id = ?1 ORDER BY oauth_name, account_id"
        );
        /// Whether the pair has a row, linked or not.
        pub(in crate::oauth) const EXISTS: &str =
            "SELECT 1 FROM oauth_account WHERE oauth_name = ?1 AND account_id = ?2 LIMIT 1";
        /// A link to a row that is gone: another writer deleted it without the cascade
        /// (FastAPI Users does not turn SQLite's foreign keys on).
        pub(in crate::oauth) const DROP_DANGLING_LINK: &str = "DELETE FROM axum_users_oauth_link \
            WHERE oauth_name = ?1 AND account_id = ?2 \
            AND oauth_account_id NOT IN (SELECT id FROM oauth_account)";
        pub(in crate::oauth) const INSERT: &str = concat!(
            "INSERT INTO oauth_account (",
            columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        );
        pub(in crate::oauth) const LINK: &str = "INSERT INTO axum_users_oauth_link \
            (oauth_name, account_id, oauth_account_id) VALUES (?1, ?2, ?3)";
        /// Links an updated row unless its pair is linked already (`WHERE true` tells SQLite's
        /// parser that `ON CONFLICT` is the upsert clause).
        pub(in crate::oauth) const LINK_IF_FREE: &str = "INSERT INTO axum_users_oauth_link \
            (oauth_name, account_id, oauth_account_id) \
            SELECT oauth_name, account_id, id FROM oauth_account WHERE id = ?1 AND true \
            ON CONFLICT DO NOTHING";
        pub(in crate::oauth) const UPDATE: &str = "UPDATE oauth_account SET access_token = ?1, \
            expires_at = ?2, refresh_token = ?3, account_email = ?4 WHERE id = ?5";
        pub(in crate::oauth) const DELETE: &str = "DELETE FROM oauth_account WHERE id = ?1";
        pub(in crate::oauth) const PURGE_STATES: &str =
            "DELETE FROM axum_users_oauth_state WHERE expires_at < ?1";
        pub(in crate::oauth) const SPEND_STATE: &str =
            "INSERT INTO axum_users_oauth_state (id, expires_at) VALUES (?1, ?2)";
    }

    pub(super) mod postgres {
        /// The pair's linked row, else its row with the smallest id.
        pub(in crate::oauth) const GET: &str = concat!(
            "SELECT ",
            o_columns!(),
            " FROM oauth_account o LEFT JOIN axum_users_oauth_link l \
             ON l.oauth_name = $1 AND l.account_id = $2 AND l.oauth_account_id = o.id \
             WHERE o.oauth_name = $1 AND o.account_id = $2 \
             ORDER BY l.oauth_account_id IS NULL, o.id LIMIT 1"
        );
        pub(in crate::oauth) const GET_BY_ID: &str =
            concat!("SELECT ", columns!(), " FROM oauth_account WHERE id = $1");
        pub(in crate::oauth) const LIST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE user_id = $1 ORDER BY oauth_name, account_id"
        );
        /// Whether the pair has a row, linked or not.
        pub(in crate::oauth) const EXISTS: &str =
            "SELECT 1 FROM oauth_account WHERE oauth_name = $1 AND account_id = $2 LIMIT 1";
        pub(in crate::oauth) const INSERT: &str = concat!(
            "INSERT INTO oauth_account (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        pub(in crate::oauth) const LINK: &str = "INSERT INTO axum_users_oauth_link \
            (oauth_name, account_id, oauth_account_id) VALUES ($1, $2, $3)";
        /// Links an updated row unless its pair is linked already.
        pub(in crate::oauth) const LINK_IF_FREE: &str = "INSERT INTO axum_users_oauth_link \
            (oauth_name, account_id, oauth_account_id) \
            SELECT oauth_name, account_id, id FROM oauth_account WHERE id = $1 \
            ON CONFLICT DO NOTHING";
        pub(in crate::oauth) const UPDATE: &str = "UPDATE oauth_account SET access_token = $1, \
            expires_at = $2, refresh_token = $3, account_email = $4 WHERE id = $5";
        pub(in crate::oauth) const DELETE: &str = "DELETE FROM oauth_account WHERE id = $1";
        pub(in crate::oauth) const PURGE_STATES: &str =
            "DELETE FROM axum_users_oauth_state WHERE expires_at < $1";
        pub(in crate::oauth) const SPEND_STATE: &str =
            "INSERT INTO axum_users_oauth_state (id, expires_at) VALUES ($1, $2)";
    }

    pub(super) mod mysql {
        // `oauth_account`'s collation may be case-insensitive (FastAPI Users' DDL names none):
        // the first comparisons find the rows through the index, the binary ones keep only the
        // very provider and account asked for. The link's pair is `utf8mb4_bin` already.

        /// The pair's linked row, else its row with the smallest id. Binds: name, id, name,
        /// id, name, id.
        pub(in crate::oauth) const GET: &str = concat!(
            "SELECT ",
            o_columns!(),
            " FROM oauth_account o LEFT JOIN axum_users_oauth_link l \
             ON l.oauth_name = ? AND l.account_id = ? AND l.oauth_account_id = o.id \
             WHERE o.oauth_name = ? AND o.account_id = ? \
             AND o.oauth_name = CAST(? AS BINARY) AND o.account_id = CAST(? AS BINARY) \
             ORDER BY l.oauth_account_id IS NULL, o.id LIMIT 1"
        );
        pub(in crate::oauth) const GET_BY_ID: &str =
            concat!("SELECT ", columns!(), " FROM oauth_account WHERE id = ?");
        pub(in crate::oauth) const LIST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE user_id = ? ORDER BY oauth_name, account_id"
        );
        /// Whether the pair has a row, linked or not. Binds: name, id, name, id.
        pub(in crate::oauth) const EXISTS: &str = "SELECT 1 FROM oauth_account \
            WHERE oauth_name = ? AND account_id = ? \
            AND oauth_name = CAST(? AS BINARY) AND account_id = CAST(? AS BINARY) LIMIT 1";
        pub(in crate::oauth) const INSERT: &str = concat!(
            "INSERT INTO oauth_account (",
            columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        );
        pub(in crate::oauth) const LINK: &str = "INSERT INTO axum_users_oauth_link \
            (oauth_name, account_id, oauth_account_id) VALUES (?, ?, ?)";
        /// Links an updated row unless its pair is linked already (the no-op update leaves
        /// the existing link as it is).
        pub(in crate::oauth) const LINK_IF_FREE: &str = "INSERT INTO axum_users_oauth_link \
            (oauth_name, account_id, oauth_account_id) \
            SELECT oauth_name, account_id, id FROM oauth_account WHERE id = ? \
            ON DUPLICATE KEY UPDATE oauth_account_id = oauth_account_id";
        pub(in crate::oauth) const UPDATE: &str = "UPDATE oauth_account SET access_token = ?, \
            expires_at = ?, refresh_token = ?, account_email = ? WHERE id = ?";
        pub(in crate::oauth) const DELETE: &str = "DELETE FROM oauth_account WHERE id = ?";
        pub(in crate::oauth) const PURGE_STATES: &str =
            "DELETE FROM axum_users_oauth_state WHERE expires_at < ?";
        pub(in crate::oauth) const SPEND_STATE: &str =
            "INSERT INTO axum_users_oauth_state (id, expires_at) VALUES (?, ?)";
    }
}

/// Seconds since the epoch (before it: 0).
fn epoch_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A spent state is a row; a second insert of it is a unique violation.
fn spent(result: Result<(), StoreError>) -> Result<bool, StoreError> {
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `expires_at` for an `INTEGER` column of PostgreSQL or MySQL (32 bits).
fn int4(expires_at: Option<i64>) -> Result<Option<i32>, StoreError> {
    expires_at
        .map(|v| i32::try_from(v).map_err(|e| StoreError::Backend(Box::new(e))))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// SQLite.

fn sqlite_row(row: &sqlx::sqlite::SqliteRow) -> Result<OAuthAccount, StoreError> {
    let id: &str = row.try_get(0).map_err(row_error)?;
    let user_id: &str = row.try_get(1).map_err(row_error)?;
    Ok(OAuthAccount {
        id: parse_id(id)?,
        user_id: parse_id(user_id)?,
        oauth_name: row.try_get(2).map_err(row_error)?,
        access_token: row.try_get(3).map_err(row_error)?,
        expires_at: row.try_get(4).map_err(row_error)?,
        refresh_token: row.try_get(5).map_err(row_error)?,
        account_id: row.try_get(6).map_err(row_error)?,
        account_email: row.try_get(7).map_err(row_error)?,
    })
}

/// Inserts the row and its link, in one transaction that holds SQLite's write lock from the
/// start, so the check for an existing row and the insert cannot be split by another writer
/// of ours.
async fn sqlite_add(pool: &SqlitePool, account: &OAuthAccount) -> Result<(), StoreError> {
    use sql::sqlite as q;
    let id = account.id.hyphenated().to_string();
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(store_error)?;
    let taken = sqlx::query(q::EXISTS)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?
        .is_some();
    if taken {
        return Err(StoreError::Conflict);
    }
    sqlx::query(q::DROP_DANGLING_LINK)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::query(q::INSERT)
        .bind(&id)
        .bind(account.user_id.hyphenated().to_string())
        .bind(&account.oauth_name)
        .bind(&account.access_token)
        .bind(account.expires_at)
        .bind(account.refresh_token.as_deref())
        .bind(&account.account_id)
        .bind(&account.account_email)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::query(q::LINK)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)
}

#[async_trait]
impl<X: UserExtra> OAuthAccountStore<X> for SqliteStore<X> {
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let row = sqlx::query(sql::sqlite::GET)
            .bind(oauth_name)
            .bind(account_id)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(sqlite_row).transpose()
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        sqlite_add(self.pool(), &account).await?;
        Ok(account)
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let id = account.id.hyphenated().to_string();
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(store_error)?;
        let changed = sqlx::query(sql::sqlite::UPDATE)
            .bind(&account.access_token)
            .bind(account.expires_at)
            .bind(account.refresh_token.as_deref())
            .bind(&account.account_email)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        sqlx::query(sql::sqlite::LINK_IF_FREE)
            .bind(&id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        let row = sqlx::query(sql::sqlite::GET_BY_ID)
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        row.as_ref().map(sqlite_row).transpose()
    }

    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError> {
        let rows = sqlx::query(sql::sqlite::LIST)
            .bind(user_id.hyphenated().to_string())
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        rows.iter().map(sqlite_row).collect()
    }

    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::sqlite::DELETE)
            .bind(id.hyphenated().to_string())
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl<X: 'static> OAuthStateStore for SqliteStore<X> {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        sqlx::query(sql::sqlite::PURGE_STATES)
            .bind(epoch_seconds(SystemTime::now()))
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        spent(
            sqlx::query(sql::sqlite::SPEND_STATE)
                .bind(id)
                .bind(epoch_seconds(expires_at))
                .execute(self.pool())
                .await
                .map(drop)
                .map_err(store_error),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL.

fn pg_row(row: &sqlx::postgres::PgRow) -> Result<OAuthAccount, StoreError> {
    let expires_at: Option<i32> = row.try_get(4).map_err(row_error)?;
    Ok(OAuthAccount {
        id: row.try_get(0).map_err(row_error)?,
        user_id: row.try_get(1).map_err(row_error)?,
        oauth_name: row.try_get(2).map_err(row_error)?,
        access_token: row.try_get(3).map_err(row_error)?,
        expires_at: expires_at.map(i64::from),
        refresh_token: row.try_get(5).map_err(row_error)?,
        account_id: row.try_get(6).map_err(row_error)?,
        account_email: row.try_get(7).map_err(row_error)?,
    })
}

/// Inserts the row and its link in one transaction; `false` (nothing written) when the pair
/// has a row already. Of concurrent inserts of one pair, the link's primary key lets one
/// commit; the others fail on it (a unique violation: a conflict).
async fn pg_try_add(
    pool: &PgPool,
    account: &OAuthAccount,
    expires_at: Option<i32>,
) -> Result<bool, sqlx::Error> {
    use sql::postgres as q;
    let mut tx = pool.begin().await?;
    let taken = sqlx::query(q::EXISTS)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if taken {
        return Ok(false);
    }
    sqlx::query(q::INSERT)
        .bind(account.id)
        .bind(account.user_id)
        .bind(&account.oauth_name)
        .bind(&account.access_token)
        .bind(expires_at)
        .bind(account.refresh_token.as_deref())
        .bind(&account.account_id)
        .bind(&account.account_email)
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::LINK)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .bind(account.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Rewrites the row, links it unless its pair is linked already, and reads it back, in one
/// transaction; `None` when the row is gone.
async fn pg_try_update(
    pool: &PgPool,
    account: &OAuthAccount,
    expires_at: Option<i32>,
) -> Result<Option<sqlx::postgres::PgRow>, sqlx::Error> {
    use sql::postgres as q;
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(q::UPDATE)
        .bind(&account.access_token)
        .bind(expires_at)
        .bind(account.refresh_token.as_deref())
        .bind(&account.account_email)
        .bind(account.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Ok(None);
    }
    sqlx::query(q::LINK_IF_FREE)
        .bind(account.id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(q::GET_BY_ID)
        .bind(account.id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

#[async_trait]
impl<X: UserExtra> OAuthAccountStore<X> for PgStore<X> {
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let row = sqlx::query(sql::postgres::GET)
            .bind(oauth_name)
            .bind(account_id)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(pg_row).transpose()
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let added = retry_aborted(|| pg_try_add(self.pool(), &account, expires_at))
            .await
            .map_err(store_error)?;
        if !added {
            return Err(StoreError::Conflict);
        }
        Ok(account)
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let row = retry_aborted(|| pg_try_update(self.pool(), &account, expires_at))
            .await
            .map_err(store_error)?;
        row.as_ref().map(pg_row).transpose()
    }

    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError> {
        let rows = sqlx::query(sql::postgres::LIST)
            .bind(user_id)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        rows.iter().map(pg_row).collect()
    }

    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError> {
        let done = retry_aborted(|| {
            sqlx::query(sql::postgres::DELETE)
                .bind(id)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl<X: 'static> OAuthStateStore for PgStore<X> {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        sqlx::query(sql::postgres::PURGE_STATES)
            .bind(epoch_seconds(SystemTime::now()))
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        spent(
            sqlx::query(sql::postgres::SPEND_STATE)
                .bind(id)
                .bind(epoch_seconds(expires_at))
                .execute(self.pool())
                .await
                .map(drop)
                .map_err(store_error),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// MariaDB / MySQL.

fn mysql_row(row: &sqlx::mysql::MySqlRow) -> Result<OAuthAccount, StoreError> {
    let id: &str = row.try_get(0).map_err(row_error)?;
    let user_id: &str = row.try_get(1).map_err(row_error)?;
    let expires_at: Option<i32> = row.try_get(4).map_err(row_error)?;
    Ok(OAuthAccount {
        id: parse_id(id)?,
        user_id: parse_id(user_id)?,
        oauth_name: row.try_get(2).map_err(row_error)?,
        access_token: row.try_get(3).map_err(row_error)?,
        expires_at: expires_at.map(i64::from),
        refresh_token: row.try_get(5).map_err(row_error)?,
        account_id: row.try_get(6).map_err(row_error)?,
        account_email: row.try_get(7).map_err(row_error)?,
    })
}

/// Inserts the row and its link in one transaction; `false` (nothing written) when the pair
/// has a row already. Of concurrent inserts of one pair, the link's primary key lets one
/// commit; the others fail on it (a duplicate key: a conflict), or InnoDB picks them as
/// deadlock victims and the retry meets the committed row.
async fn mysql_try_add(
    pool: &MySqlPool,
    account: &OAuthAccount,
    expires_at: Option<i32>,
) -> Result<bool, sqlx::Error> {
    use sql::mysql as q;
    let id = account.id.hyphenated().to_string();
    let mut tx = pool.begin().await?;
    let taken = sqlx::query(q::EXISTS)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if taken {
        return Ok(false);
    }
    sqlx::query(q::INSERT)
        .bind(&id)
        .bind(account.user_id.hyphenated().to_string())
        .bind(&account.oauth_name)
        .bind(&account.access_token)
        .bind(expires_at)
        .bind(account.refresh_token.as_deref())
        .bind(&account.account_id)
        .bind(&account.account_email)
        .execute(&mut *tx)
        .await?;
    sqlx::query(q::LINK)
        .bind(&account.oauth_name)
        .bind(&account.account_id)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Rewrites the row, links it unless its pair is linked already, and reads it back, in one
/// transaction; `None` when the row is gone.
async fn mysql_try_update(
    pool: &MySqlPool,
    account: &OAuthAccount,
    expires_at: Option<i32>,
) -> Result<Option<sqlx::mysql::MySqlRow>, sqlx::Error> {
    use sql::mysql as q;
    let id = account.id.hyphenated().to_string();
    let mut tx = pool.begin().await?;
    // sqlx asks for CLIENT_FOUND_ROWS: this counts the rows matched, changed or not.
    let matched = sqlx::query(q::UPDATE)
        .bind(&account.access_token)
        .bind(expires_at)
        .bind(account.refresh_token.as_deref())
        .bind(&account.account_email)
        .bind(&id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if matched == 0 {
        return Ok(None);
    }
    sqlx::query(q::LINK_IF_FREE)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(q::GET_BY_ID)
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(row)
}

#[async_trait]
impl<X: UserExtra> OAuthAccountStore<X> for MySqlStore<X> {
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let row = sqlx::query(sql::mysql::GET)
            .bind(oauth_name)
            .bind(account_id)
            .bind(oauth_name)
            .bind(account_id)
            .bind(oauth_name)
            .bind(account_id)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(mysql_row).transpose()
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let added = retry_aborted(|| mysql_try_add(self.pool(), &account, expires_at))
            .await
            .map_err(store_error)?;
        if !added {
            return Err(StoreError::Conflict);
        }
        Ok(account)
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let row = retry_aborted(|| mysql_try_update(self.pool(), &account, expires_at))
            .await
            .map_err(store_error)?;
        row.as_ref().map(mysql_row).transpose()
    }

    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError> {
        let rows = sqlx::query(sql::mysql::LIST)
            .bind(user_id.hyphenated().to_string())
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        rows.iter().map(mysql_row).collect()
    }

    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError> {
        let id = id.hyphenated().to_string();
        let done = retry_aborted(|| {
            sqlx::query(sql::mysql::DELETE)
                .bind(&id)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}

#[async_trait]
impl<X: 'static> OAuthStateStore for MySqlStore<X> {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        retry_aborted(|| {
            sqlx::query(sql::mysql::PURGE_STATES)
                .bind(epoch_seconds(SystemTime::now()))
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        spent(
            retry_aborted(|| {
                sqlx::query(sql::mysql::SPEND_STATE)
                    .bind(id)
                    .bind(epoch_seconds(expires_at))
                    .execute(self.pool())
            })
            .await
            .map(drop)
            .map_err(store_error),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Whichever store a URL picked.

#[async_trait]
impl<X: UserExtra> OAuthAccountStore<X> for AnyUserStore<X> {
    async fn get_oauth_account(
        &self,
        oauth_name: &str,
        account_id: &str,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get_oauth_account(oauth_name, account_id).await,
            Self::Postgres(s) => s.get_oauth_account(oauth_name, account_id).await,
            Self::MySql(s) => s.get_oauth_account(oauth_name, account_id).await,
        }
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        match self {
            Self::Sqlite(s) => s.add_oauth_account(account).await,
            Self::Postgres(s) => s.add_oauth_account(account).await,
            Self::MySql(s) => s.add_oauth_account(account).await,
        }
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        match self {
            Self::Sqlite(s) => s.update_oauth_account(account).await,
            Self::Postgres(s) => s.update_oauth_account(account).await,
            Self::MySql(s) => s.update_oauth_account(account).await,
        }
    }

    async fn list_oauth_accounts(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, StoreError> {
        match self {
            Self::Sqlite(s) => s.list_oauth_accounts(user_id).await,
            Self::Postgres(s) => s.list_oauth_accounts(user_id).await,
            Self::MySql(s) => s.list_oauth_accounts(user_id).await,
        }
    }

    async fn delete_oauth_account(&self, id: Uuid) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete_oauth_account(id).await,
            Self::Postgres(s) => s.delete_oauth_account(id).await,
            Self::MySql(s) => s.delete_oauth_account(id).await,
        }
    }
}

#[async_trait]
impl<X: 'static> OAuthStateStore for AnyUserStore<X> {
    async fn consume_oauth_state(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.consume_oauth_state(id, expires_at).await,
            Self::Postgres(s) => s.consume_oauth_state(id, expires_at).await,
            Self::MySql(s) => s.consume_oauth_state(id, expires_at).await,
        }
    }
}
