//! Refresh-token families (migration `0004_refresh_token.sql`) on every engine: the
//! `RefreshTokenStore` conformance suite, the cascade from `user`, and what the tables hold
//! (hashes, never tokens). SQLite runs on fresh files; PostgreSQL (`TEST_DATABASE_URL`) and
//! MariaDB (`TEST_MYSQL_URL`) in scratch schemas/databases, skipped when the server is away
//! unless `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum_users_core::conformance::Profile;
use axum_users_core::{
    RefreshError, RefreshTokenStore, RefreshTokens, User, UserStore, refresh_token_hash,
};
use axum_users_sqlx::{MySqlStore, PgStore, PoolSettings, SqliteStore, StoreKind, connect_any};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, PgConnection};
use support::{Scratch, admin, scratch_name};
use uuid::Uuid;

fn knight() -> User<Profile> {
    User {
        id: Uuid::new_v4(),
        email: format!("knight.{}@camelot.bt", Uuid::new_v4().simple()),
        hashed_password: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        is_active: true,
        is_superuser: false,
        is_verified: false,
        extra: Profile::default(),
    }
}

/// Through the service: the tables hold the token's SHA-256 and no token; purging counts the
/// expired tokens; reuse revokes the family in the database.
async fn service_round_trip<S>(store: Arc<S>, stored_hashes: impl AsyncFn() -> Vec<String>)
where
    S: UserStore<Profile> + RefreshTokenStore,
{
    let user = store.create(knight()).await.unwrap();
    let tokens = RefreshTokens::new(store.clone()).with_lifetime(Duration::from_secs(3600));
    let first = tokens.issue(user.id).await.unwrap();
    let second = tokens.rotate(&first.token).await.unwrap();
    let hashes = stored_hashes().await;
    assert_eq!(hashes.len(), 2, "{hashes:?}");
    for token in [&first.token, &second.token] {
        assert!(hashes.contains(&refresh_token_hash(token)));
        assert!(!hashes.contains(token));
    }
    assert!(matches!(
        tokens.rotate(&first.token).await,
        Err(RefreshError::Reused { .. })
    ));
    assert!(stored_hashes().await.is_empty(), "the family is deleted");

    // Two hours on, both tokens of a fresh family have expired: purged, family and all.
    let a = tokens.issue(user.id).await.unwrap();
    tokens.rotate(&a.token).await.unwrap();
    let later = tokens
        .clone()
        .with_clock(|| SystemTime::now() + Duration::from_secs(7200));
    assert_eq!(later.purge_expired().await.unwrap(), 2);
    assert!(stored_hashes().await.is_empty());
}

mod sqlite {
    use super::*;

    fn fresh_url() -> String {
        let path = tempfile::tempdir().unwrap().keep().join("users.db");
        format!("sqlite://{}", path.display())
    }

    async fn fresh() -> SqliteStore<Profile> {
        let store = SqliteStore::connect(&fresh_url()).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    axum_users_core::refresh_store_tests!(fresh());

    #[tokio::test]
    async fn deleting_a_user_deletes_their_families() {
        let store = Arc::new(fresh().await);
        axum_users_core::refresh::conformance::refresh_cascade_on_user_delete(store.clone(), store)
            .await;
    }

    #[tokio::test]
    async fn the_table_holds_hashes() {
        let store = Arc::new(fresh().await);
        let pool = store.pool().clone();
        service_round_trip(store, async || {
            sqlx::query_scalar("SELECT token_hash FROM axum_users_refresh_token")
                .fetch_all(&pool)
                .await
                .unwrap()
        })
        .await;
    }

    /// The same suite through the store `connect_any` picks.
    mod via_connect_any {
        use super::*;

        async fn fresh() -> axum_users_sqlx::AnyUserStore<Profile> {
            let store = connect_any(&fresh_url(), PoolSettings::default())
                .await
                .unwrap();
            assert_eq!(store.kind(), StoreKind::Sqlite);
            store.migrate().await.unwrap();
            store
        }

        axum_users_core::refresh_store_tests!(fresh());
    }
}

mod postgres {
    use super::*;

    const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    async fn drop_schema(url: String, name: String) {
        let Ok(mut conn) = PgConnection::connect(&url).await else {
            return;
        };
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&name)
        .execute(&mut conn)
        .await;
        let _ = sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE"
        )))
        .execute(&mut conn)
        .await;
    }

    /// A migrated store on a fresh schema; `None` when skipping.
    async fn fresh() -> Option<Scratch<PgStore<Profile>>> {
        let (url, mut conn) =
            admin::<PgConnection>("PostgreSQL", "TEST_DATABASE_URL", DEFAULT_URL).await?;
        let name = scratch_name();
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", name.as_str())])
            .application_name(&name);
        let store = PgStore::connect_with(options, PoolSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Some(Scratch::new(store, move || drop_schema(url, name)))
    }

    /// The scratch (users, dropped last) and its store (refresh tokens).
    async fn pair() -> Option<(Arc<Scratch<PgStore<Profile>>>, Arc<PgStore<Profile>>)> {
        let scratch = fresh().await?;
        let store = Arc::new(scratch.store.clone());
        Some((Arc::new(scratch), store))
    }

    axum_users_core::refresh_store_tests!(split std::future::ready(match pair().await {
        Some(pair) => pair,
        None => return,
    }));

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_user_deletes_their_families() {
        let Some((users, refresh)) = pair().await else {
            return;
        };
        axum_users_core::refresh::conformance::refresh_cascade_on_user_delete(users, refresh).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_table_holds_hashes() {
        let Some((_scratch, store)) = pair().await else {
            return;
        };
        let pool = store.pool().clone();
        service_round_trip(store, async || {
            sqlx::query_scalar("SELECT token_hash::text FROM axum_users_refresh_token")
                .fetch_all(&pool)
                .await
                .unwrap()
        })
        .await;
    }
}

mod mysql {
    use super::*;

    const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

    async fn drop_database(url: String, name: String) {
        let Ok(mut conn) = MySqlConnection::connect(&url).await else {
            return;
        };
        let ids: Vec<u64> = sqlx::query_scalar(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for id in ids {
            let _ = sqlx::query(AssertSqlSafe(format!("KILL CONNECTION {id}")))
                .execute(&mut conn)
                .await;
        }
        let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut conn)
            .await;
    }

    /// A migrated store on a fresh database (the server's default collation, case-insensitive
    /// here: the hash column is `ascii_bin` whatever it is); `None` when skipping.
    async fn fresh() -> Option<Scratch<MySqlStore<Profile>>> {
        let (url, mut conn) =
            admin::<MySqlConnection>("MariaDB", "TEST_MYSQL_URL", DEFAULT_URL).await?;
        let name = scratch_name();
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let options = MySqlConnectOptions::from_str(&url).unwrap().database(&name);
        let store = MySqlStore::connect_with(options, PoolSettings::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Some(Scratch::new(store, move || drop_database(url, name)))
    }

    async fn pair() -> Option<(Arc<Scratch<MySqlStore<Profile>>>, Arc<MySqlStore<Profile>>)> {
        let scratch = fresh().await?;
        let store = Arc::new(scratch.store.clone());
        Some((Arc::new(scratch), store))
    }

    axum_users_core::refresh_store_tests!(split std::future::ready(match pair().await {
        Some(pair) => pair,
        None => return,
    }));

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_user_deletes_their_families() {
        let Some((users, refresh)) = pair().await else {
            return;
        };
        axum_users_core::refresh::conformance::refresh_cascade_on_user_delete(users, refresh).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_table_holds_hashes() {
        let Some((_scratch, store)) = pair().await else {
            return;
        };
        let pool = store.pool().clone();
        service_round_trip(store, async || {
            sqlx::query_scalar("SELECT token_hash FROM axum_users_refresh_token")
                .fetch_all(&pool)
                .await
                .unwrap()
        })
        .await;
    }

    /// A hash in another case is another hash, whatever the database's collation.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_match_on_bytes() {
        let Some((_scratch, store)) = pair().await else {
            return;
        };
        let user = store.create(knight()).await.unwrap();
        let tokens = RefreshTokens::new(store.clone());
        let issued = tokens.issue(user.id).await.unwrap();
        let hash = refresh_token_hash(&issued.token);
        let pool = store.pool();
        let upper: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM axum_users_refresh_token WHERE token_hash = ?",
        )
        .bind(hash.to_uppercase())
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(upper, 0);
        assert!(store.get_refresh_token(&hash).await.unwrap().is_some());
    }
}
