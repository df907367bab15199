//! SQL stores for [axum-users](https://docs.rs/axum-users), on sqlx.
//!
//! Tables follow fastapi-users-db-sqlalchemy (`user`, later `accesstoken`, `oauth_account`), so
//! a database made by FastAPI Users can be served as it is; what axum-users adds lives in tables
//! of its own (`axum_users_*`) and in indexes.
//!
//! ```no_run
//! # async fn run() -> Result<(), axum_users_sqlx::SqlStoreError> {
//! let store = axum_users_sqlx::SqliteStore::<()>::connect("sqlite://users.db").await?;
//! store.migrate().await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod error;
mod sqlite;

pub use error::SqlStoreError;
pub use sqlite::{SqliteStore, sqlite_migrator};
