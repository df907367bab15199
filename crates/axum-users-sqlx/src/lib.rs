//! SQL stores for [axum-users](https://docs.rs/axum-users), on sqlx: [`SqliteStore`],
//! [`PgStore`] (PostgreSQL) and [`MySqlStore`] (MariaDB, MySQL), each with embedded
//! migrations, and [`connect_any`] to pick one from a database URL. Each is a `UserStore`, an
//! `AccessTokenStore` (the tokens of a `DatabaseStrategy`) and a `RefreshTokenStore`
//! (refresh-token families and their hashed tokens). Each is also an `OAuthAccountStore`
//! (linked provider accounts) and an `OAuthStateStore` (spent OAuth states, shared by every
//! instance).
//!
//! Tables follow fastapi-users-db-sqlalchemy (`user`, `accesstoken`, `oauth_account`), so a
//! database made by FastAPI Users can be served as it is; what axum-users adds lives in tables
//! of its own (`axum_users_*`: custom fields, refresh tokens, spent OAuth states, and the
//! links that hold a provider account to one user, `axum_users_oauth_link`), plus indexes on
//! `user` and `accesstoken` and, on MariaDB/MySQL, the generated column `user.email_lower`
//! (for case-insensitive uniqueness) that FastAPI Users' inserts fill by default.
//! `oauth_account` is left exactly as FastAPI Users creates it.
//!
//! ```no_run
//! # async fn run() -> Result<(), axum_users_sqlx::SqlStoreError> {
//! use axum_users_sqlx::{PoolSettings, connect_any};
//!
//! let store = connect_any::<()>("sqlite://users.db", PoolSettings::default()).await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod any;
mod error;
mod extra;
mod mysql;
mod oauth;
mod pool;
mod postgres;
mod readers;
mod refresh;
mod schema;
mod sqlite;
mod token;

pub use any::{AnyUserStore, StoreKind, connect_any};
pub use error::SqlStoreError;
pub use mysql::{MySqlStore, mysql_migrator};
pub use pool::PoolSettings;
pub use postgres::{PgStore, postgres_migrator};
pub use schema::SchemaVersion;
pub use sqlite::{SqliteStore, sqlite_migrator};

/// The SQL the stores run, exposed only so that tests can `EXPLAIN` it. Not an API.
#[doc(hidden)]
pub mod __sql {
    pub use crate::mysql::sql as mysql;
    pub use crate::postgres::sql as postgres;
}
