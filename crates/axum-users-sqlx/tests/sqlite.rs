//! The store conformance suite against SQLite files (one fresh file per test), directly and
//! through [`connect_any`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum_users_core::conformance::Profile;
use axum_users_sqlx::{AnyUserStore, PoolSettings, SqliteStore, StoreKind, connect_any};

/// A fresh file's `sqlite:` URL. Kept (not deleted on drop): the pool holds the file open
/// for the test's lifetime.
fn fresh_url() -> String {
    let path = tempfile::tempdir().unwrap().keep().join("users.db");
    format!("sqlite://{}", path.display())
}

async fn fresh() -> SqliteStore<Profile> {
    let store = SqliteStore::connect(&fresh_url()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

axum_users_core::user_store_tests!(fresh());

/// The same suite through the store [`connect_any`] picks for a `sqlite:` URL.
mod via_connect_any {
    use super::*;

    async fn fresh() -> AnyUserStore<Profile> {
        let settings = PoolSettings {
            max_connections: 4,
            ..PoolSettings::default()
        };
        let store = connect_any(&fresh_url(), settings).await.unwrap();
        assert_eq!(store.kind(), StoreKind::Sqlite);
        store.migrate().await.unwrap();
        store
    }

    axum_users_core::user_store_tests!(fresh());
}
