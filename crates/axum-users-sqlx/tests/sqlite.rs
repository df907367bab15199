//! The store conformance suite against SQLite files (one fresh file per test).

use axum_users_core::conformance::Profile;
use axum_users_sqlx::SqliteStore;

async fn fresh() -> SqliteStore<Profile> {
    // Kept (not deleted on drop): the pool holds the file open for the test's lifetime.
    let path = tempfile::tempdir().unwrap().keep().join("users.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    store.migrate().await.unwrap();
    store
}

axum_users_core::user_store_tests!(fresh());
