//! The store conformance suites (users, access tokens) against SQLite files (one fresh file per
//! test), directly and through [`connect_any`], and the `accesstoken` table as FastAPI Users
//! uses it.
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
    axum_users_core::token_store_tests!(fresh());
}

axum_users_core::token_store_tests!(fresh());

#[path = "support/tokens.rs"]
mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum_users_core::{AccessToken, AccessTokenStore, UserStore, generate_token};
use sqlx::{Connection as _, Row as _, SqliteConnection, SqlitePool};
use tokens::{fastapi_text, fastapi_time, knight};
use uuid::Uuid;

type Insert = Box<dyn Fn(String, String, Uuid) -> Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Writes an `accesstoken` row as FastAPI Users does on SQLite: `created_at` as SQLAlchemy's
/// UTC text, the user's id as hyphenated text.
fn fastapi_insert(pool: &SqlitePool) -> Insert {
    let pool = pool.clone();
    Box::new(move |token, created_at, user_id| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query("INSERT INTO accesstoken (token, created_at, user_id) VALUES (?, ?, ?)")
                .bind(token)
                .bind(created_at)
                .bind(user_id.to_string())
                .execute(&pool)
                .await
                .unwrap();
        })
    })
}

#[tokio::test]
async fn reads_rows_fastapi_users_wrote() {
    let store = Arc::new(fresh().await);
    let insert = fastapi_insert(store.pool());
    tokens::reads_rows_fastapi_users_wrote(store, insert).await;
}

#[tokio::test]
async fn expired_rows_are_refused_and_purged() {
    let store = Arc::new(fresh().await);
    let insert = fastapi_insert(store.pool());
    tokens::expired_rows_are_refused_and_purged(store, insert).await;
}

#[tokio::test]
async fn deleting_a_user_deletes_their_tokens() {
    let store = Arc::new(fresh().await);
    let insert = fastapi_insert(store.pool());
    tokens::deleting_a_user_deletes_their_tokens(store, insert).await;
}

#[tokio::test]
async fn a_token_taken_is_a_conflict() {
    tokens::a_token_taken_is_a_conflict(Arc::new(fresh().await)).await;
}

#[tokio::test]
async fn tokens_need_an_existing_user() {
    tokens::tokens_need_an_existing_user(Arc::new(fresh().await)).await;
}

/// What we write is the text FastAPI Users writes, so FastAPI Users' own lookup (a text
/// comparison with its `max_age`, same format) serves our tokens too.
#[tokio::test]
async fn writes_the_text_fastapi_users_writes() {
    let store = fresh().await;
    let u = store.create(knight("gareth@camelot.bt")).await.unwrap();
    let token = AccessToken {
        token: generate_token(),
        user_id: u.id,
        created_at: fastapi_time() + Duration::from_nanos(789),
    };
    let stored = store.create_token(token.clone()).await.unwrap();
    assert_eq!(stored.created_at, fastapi_time(), "cut to the microsecond");

    let row = sqlx::query("SELECT created_at, typeof(created_at), user_id FROM accesstoken")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "2026-01-02 03:04:05.123456");
    assert_eq!(row.get::<String, _>(1), "text");
    assert_eq!(row.get::<String, _>(2), u.id.hyphenated().to_string());

    let fastapi_lookup = "SELECT count(*) FROM accesstoken WHERE token = ? AND created_at >= ?";
    for (max_age, found) in [
        (fastapi_time() - Duration::from_secs(1), 1),
        (fastapi_time() + Duration::from_secs(1), 0),
    ] {
        let n: i64 = sqlx::query_scalar(fastapi_lookup)
            .bind(&token.token)
            .bind(fastapi_text(max_age))
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(n, found);
    }
}

/// Rows in Python's `isoformat()` shapes (a `T`, an offset) are read as the times they are,
/// and expire and are purged by time, not by text order.
#[tokio::test]
async fn isoformat_rows_are_read_and_purged_by_time() {
    let store = fresh().await;
    let u = store.create(knight("gareth@camelot.bt")).await.unwrap();
    let insert = fastapi_insert(store.pool());
    // (stored text, microseconds from 2026-01-02 03:04:05.123456 UTC)
    let rows = [
        ("2026-01-02T03:04:05.000000", -123_456),
        ("2026-01-02 03:04:06.000000+00:00", 876_544),
        ("2026-01-02 05:04:04.000000+02:00", -1_123_456),
        ("2026-01-01T23:04:06-04:00", 876_544),
        ("2026-01-02 03:04:05.123455", -1),
        ("2026-01-02 03:04:05.123456Z", 0),
        ("2026-01-02 03:04:05.123456", 0),
    ];
    let mut tokens = Vec::new();
    for (text, _) in rows {
        let token = generate_token();
        insert(token.clone(), text.to_owned(), u.id).await;
        tokens.push(token);
    }
    let at = |offset: i64| {
        let d = Duration::from_micros(offset.unsigned_abs());
        if offset < 0 {
            fastapi_time() - d
        } else {
            fastapi_time() + d
        }
    };
    for (token, (text, offset)) in tokens.iter().zip(rows) {
        let row = store.get_token(token, None).await.unwrap().unwrap();
        assert_eq!(row.created_at, at(offset), "{text}");
        let live = store.get_token(token, Some(fastapi_time())).await.unwrap();
        assert_eq!(live.is_some(), offset >= 0, "{text}");
    }

    let purged = store
        .delete_tokens_created_before(fastapi_time())
        .await
        .unwrap();
    assert_eq!(purged, 3);
    for (token, (text, offset)) in tokens.iter().zip(rows) {
        let kept = store.get_token(token, None).await.unwrap().is_some();
        assert_eq!(kept, offset >= 0, "{text}");
    }
}

/// A database FastAPI Users created (SQLAlchemy's DDL for `user` and `accesstoken`, where
/// `created_at` is declared `TIMESTAMP`) is adopted as it is: its tokens are read, the table is
/// left alone, and the cascade works.
#[tokio::test]
async fn adopts_a_fastapi_users_database() {
    let url = fresh_url();
    let mut conn = SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    sqlx::raw_sql(
        r#"CREATE TABLE "user" (id CHAR(36) NOT NULL, email VARCHAR(320) NOT NULL,
               hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
               is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, PRIMARY KEY (id));
           CREATE UNIQUE INDEX ix_user_email ON "user" (email);
           CREATE TABLE accesstoken (token VARCHAR(43) NOT NULL, created_at TIMESTAMP NOT NULL,
               user_id CHAR(36) NOT NULL, PRIMARY KEY (token),
               FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE cascade);
           CREATE INDEX ix_accesstoken_created_at ON accesstoken (created_at);
           INSERT INTO "user" VALUES ('1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11', 'Tristan@lyonesse.bt',
               '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01', 1, 0, 1);
           INSERT INTO accesstoken VALUES ('sR1Jk0m4lq3c6Vd2wzq7XbYpTnE9HfG5uAoLiK8xM0s',
               '2026-01-02 03:04:05.123456', '1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11');"#,
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let store = SqliteStore::<Profile>::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap(); // a second run has nothing to do

    let tristan = Uuid::parse_str("1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11").unwrap();
    let token = "sR1Jk0m4lq3c6Vd2wzq7XbYpTnE9HfG5uAoLiK8xM0s";
    let row = store.get_token(token, None).await.unwrap().unwrap();
    assert_eq!((row.user_id, row.created_at), (tristan, fastapi_time()));
    let ours = AccessToken {
        token: generate_token(),
        user_id: tristan,
        created_at: SystemTime::now(),
    };
    store.create_token(ours.clone()).await.unwrap();

    let columns: Vec<(String, String)> =
        sqlx::query_as("SELECT name, type FROM pragma_table_info('accesstoken') ORDER BY cid")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let columns: Vec<_> = columns.iter().map(|(c, t)| format!("{c} {t}")).collect();
    assert_eq!(
        columns,
        [
            "token VARCHAR(43)",
            "created_at TIMESTAMP",
            "user_id CHAR(36)"
        ]
    );

    assert!(store.delete(tristan).await.unwrap());
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM accesstoken")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
    conn.close().await.unwrap();
}
