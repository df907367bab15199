//! Linked OAuth accounts (FastAPI Users' `oauth_account` table) and spent OAuth states, for
//! every store: [`OAuthAccountStore`] and [`OAuthStateStore`].
//!
//! Migration `0003_oauth_account.sql` of each engine creates the table as
//! fastapi-users-db-sqlalchemy 7 does, plus `axum_users_legacy_duplicate` and the unique index
//! over (`oauth_name`, `account_id`, it) that links a provider account to one user at most,
//! and the `axum_users_oauth_state` table.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum_users_core::oauth::{OAuthAccount, OAuthAccountStore, OAuthStateStore};
use axum_users_core::{StoreError, UserExtra};
use sqlx::Row as _;
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

/// The statements, per engine.
mod sql {
    pub(super) mod sqlite {
        pub(in crate::oauth) const GET: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE oauth_name = ?1 AND account_id = ?2 \
             ORDER BY axum_users_legacy_duplicate LIMIT 1"
        );
        pub(in crate::oauth) const GET_BY_ID: &str =
            concat!("SELECT ", columns!(), " FROM oauth_account WHERE id = ?1");
        pub(in crate::oauth) const LIST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE user_id = ?1 ORDER BY oauth_name, account_id"
        );
        pub(in crate::oauth) const INSERT: &str = concat!(
            "INSERT INTO oauth_account (",
            columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        );
        pub(in crate::oauth) const UPDATE: &str = "UPDATE oauth_account SET access_token = ?1, \
            expires_at = ?2, refresh_token = ?3, account_email = ?4 WHERE id = ?5";
        pub(in crate::oauth) const DELETE: &str = "DELETE FROM oauth_account WHERE id = ?1";
        pub(in crate::oauth) const PURGE_STATES: &str =
            "DELETE FROM axum_users_oauth_state WHERE expires_at < ?1";
        pub(in crate::oauth) const SPEND_STATE: &str =
            "INSERT INTO axum_users_oauth_state (id, expires_at) VALUES (?1, ?2)";
    }

    pub(super) mod postgres {
        pub(in crate::oauth) const GET: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE oauth_name = $1 AND account_id = $2 \
             ORDER BY axum_users_legacy_duplicate LIMIT 1"
        );
        pub(in crate::oauth) const GET_BY_ID: &str =
            concat!("SELECT ", columns!(), " FROM oauth_account WHERE id = $1");
        pub(in crate::oauth) const LIST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE user_id = $1 ORDER BY oauth_name, account_id"
        );
        pub(in crate::oauth) const INSERT: &str = concat!(
            "INSERT INTO oauth_account (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        pub(in crate::oauth) const UPDATE: &str = "UPDATE oauth_account SET access_token = $1, \
            expires_at = $2, refresh_token = $3, account_email = $4 WHERE id = $5";
        pub(in crate::oauth) const DELETE: &str = "DELETE FROM oauth_account WHERE id = $1";
        pub(in crate::oauth) const PURGE_STATES: &str =
            "DELETE FROM axum_users_oauth_state WHERE expires_at < $1";
        pub(in crate::oauth) const SPEND_STATE: &str =
            "INSERT INTO axum_users_oauth_state (id, expires_at) VALUES ($1, $2)";
    }

    pub(super) mod mysql {
        // The table's collation may be case-insensitive (FastAPI Users' DDL names none): the
        // first comparisons find the rows through the index, the binary ones keep only the
        // very provider and account asked for.
        pub(in crate::oauth) const GET: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE oauth_name = ? AND account_id = ? \
             AND oauth_name = CAST(? AS BINARY) AND account_id = CAST(? AS BINARY) \
             ORDER BY axum_users_legacy_duplicate LIMIT 1"
        );
        pub(in crate::oauth) const GET_BY_ID: &str =
            concat!("SELECT ", columns!(), " FROM oauth_account WHERE id = ?");
        pub(in crate::oauth) const LIST: &str = concat!(
            "SELECT ",
            columns!(),
            " FROM oauth_account WHERE user_id = ? ORDER BY oauth_name, account_id"
        );
        pub(in crate::oauth) const INSERT: &str = concat!(
            "INSERT INTO oauth_account (",
            columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        );
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
        sqlx::query(sql::sqlite::INSERT)
            .bind(account.id.hyphenated().to_string())
            .bind(account.user_id.hyphenated().to_string())
            .bind(&account.oauth_name)
            .bind(&account.access_token)
            .bind(account.expires_at)
            .bind(account.refresh_token.as_deref())
            .bind(&account.account_id)
            .bind(&account.account_email)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
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
        sqlx::query(sql::sqlite::UPDATE)
            .bind(&account.access_token)
            .bind(account.expires_at)
            .bind(account.refresh_token.as_deref())
            .bind(&account.account_email)
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
        retry_aborted(|| {
            sqlx::query(sql::postgres::INSERT)
                .bind(account.id)
                .bind(account.user_id)
                .bind(&account.oauth_name)
                .bind(&account.access_token)
                .bind(expires_at)
                .bind(account.refresh_token.as_deref())
                .bind(&account.account_id)
                .bind(&account.account_email)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(account)
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let changed = retry_aborted(|| {
            sqlx::query(sql::postgres::UPDATE)
                .bind(&account.access_token)
                .bind(expires_at)
                .bind(account.refresh_token.as_deref())
                .bind(&account.account_email)
                .bind(account.id)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?
        .rows_affected();
        if changed == 0 {
            return Ok(None);
        }
        let row = sqlx::query(sql::postgres::GET_BY_ID)
            .bind(account.id)
            .fetch_optional(self.pool())
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
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        row.as_ref().map(mysql_row).transpose()
    }

    async fn add_oauth_account(&self, account: OAuthAccount) -> Result<OAuthAccount, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let id = account.id.hyphenated().to_string();
        let user_id = account.user_id.hyphenated().to_string();
        retry_aborted(|| {
            sqlx::query(sql::mysql::INSERT)
                .bind(&id)
                .bind(&user_id)
                .bind(&account.oauth_name)
                .bind(&account.access_token)
                .bind(expires_at)
                .bind(account.refresh_token.as_deref())
                .bind(&account.account_id)
                .bind(&account.account_email)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?;
        Ok(account)
    }

    async fn update_oauth_account(
        &self,
        account: OAuthAccount,
    ) -> Result<Option<OAuthAccount>, StoreError> {
        let expires_at = int4(account.expires_at)?;
        let id = account.id.hyphenated().to_string();
        // sqlx asks for CLIENT_FOUND_ROWS: this counts the rows matched, changed or not.
        let matched = retry_aborted(|| {
            sqlx::query(sql::mysql::UPDATE)
                .bind(&account.access_token)
                .bind(expires_at)
                .bind(account.refresh_token.as_deref())
                .bind(&account.account_email)
                .bind(&id)
                .execute(self.pool())
        })
        .await
        .map_err(store_error)?
        .rows_affected();
        if matched == 0 {
            return Ok(None);
        }
        let row = sqlx::query(sql::mysql::GET_BY_ID)
            .bind(&id)
            .fetch_optional(self.pool())
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
