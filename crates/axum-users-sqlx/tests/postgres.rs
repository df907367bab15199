//! The store conformance suite and PostgreSQL-specific checks, against the server named by
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Each test works in
//! a schema of its own (`t_<uuid>`, dropped at the end). Without a server the tests are
//! skipped, unless `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;

use axum_users_core::conformance::Profile;
use axum_users_core::{StoreError, User, UserStore};
use axum_users_sqlx::{PgStore, PoolSettings, StoreKind, connect_any};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection, Row as _};
use support::{Scratch, admin, scratch_name};
use uuid::Uuid;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh, empty schema: the server's URL and the schema's name. `None` when skipping.
async fn scratch_schema() -> Option<(String, String)> {
    let (url, mut conn) =
        admin::<PgConnection>("PostgreSQL", "TEST_DATABASE_URL", DEFAULT_URL).await?;
    let name = scratch_name();
    sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    Some((url, name))
}

/// Ends the store's sessions (tagged with the schema's name as `application_name`) and drops
/// the schema.
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

/// Connection options for a scratch schema.
fn schema_options(url: &str, name: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", name)])
        .application_name(name)
}

/// A migrated store on a fresh schema.
async fn fresh<X: axum_users_core::UserExtra>() -> Option<Scratch<PgStore<X>>> {
    let (url, name) = scratch_schema().await?;
    let store = PgStore::connect_with(schema_options(&url, &name), PoolSettings::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Some(Scratch::new(store, move || drop_schema(url, name)))
}

axum_users_core::user_store_tests!(std::future::ready(match fresh::<Profile>().await {
    Some(store) => store,
    None => return,
}));

fn user(email: &str) -> User<Profile> {
    User {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        hashed_password: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        is_active: true,
        is_superuser: false,
        is_verified: false,
        extra: Profile {
            first_name: Some("Gawain".to_owned()),
            age: 30,
        },
    }
}

/// The plan of a statement, one line per row of `EXPLAIN`, with sequential scans disabled so
/// that a tiny table does not hide an unusable index.
async fn plan(
    store: &PgStore<Profile>,
    statement: &str,
    bind: impl FnOnce(&str) -> String,
) -> String {
    let mut tx = store.pool().begin().await.unwrap();
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .unwrap();
    let explain = bind(&format!("EXPLAIN {statement}"));
    let rows = sqlx::query(AssertSqlSafe(explain))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    rows.iter()
        .map(|r| r.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_by_email_and_id_are_index_scans() {
    let Some(scratch) = fresh::<Profile>().await else {
        return;
    };
    let store = &scratch.store;
    for i in 0..50 {
        store
            .create(user(&format!("knight{i}@camelot.bt")))
            .await
            .unwrap();
    }
    sqlx::query(r#"ANALYZE "user""#)
        .execute(store.pool())
        .await
        .unwrap();
    let sql = &axum_users_sqlx::__sql::postgres::GET_BY_EMAIL;
    let by_email = plan(store, sql, |s| s.replace("$1", "'Knight7@Camelot.bt'")).await;
    assert!(by_email.contains("Index"), "{by_email}");
    assert!(
        by_email.contains("axum_users_user_email_lower"),
        "{by_email}"
    );
    assert!(!by_email.contains("Seq Scan"), "{by_email}");

    let id = Uuid::new_v4();
    let sql = &axum_users_sqlx::__sql::postgres::GET_BY_ID;
    let by_id = plan(store, sql, |s| s.replace("$1", &format!("'{id}'::uuid"))).await;
    assert!(by_id.contains("Index"), "{by_id}");
    assert!(by_id.contains("user_pkey"), "{by_id}");
    assert!(!by_id.contains("Seq Scan"), "{by_id}");
}

/// Custom fields a FastAPI Users database has no row for: every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct Nickname {
    nickname: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_fastapi_users_database_as_is() {
    let Some((url, name)) = scratch_schema().await else {
        return;
    };
    let options = schema_options(&url, &name);
    // What fastapi-users-db-sqlalchemy 7 creates, and a user it registered.
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        r#"CREATE TABLE "user" (id UUID NOT NULL PRIMARY KEY, email VARCHAR(320) NOT NULL,
               hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
               is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL);
           CREATE UNIQUE INDEX ix_user_email ON "user" (email);
           INSERT INTO "user" VALUES ('1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11', 'Tristan@lyonesse.bt',
               '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01', true, false, true);"#,
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let store = PgStore::<Nickname>::connect_with(options, PoolSettings::default())
        .await
        .unwrap();
    let store = Scratch::new(store, move || drop_schema(url, name));
    store.store.migrate().await.unwrap();
    store.store.migrate().await.unwrap(); // a second run has nothing to do

    let tristan = store
        .get_by_email("tristan@LYONESSE.bt")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tristan.id,
        Uuid::parse_str("1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11").unwrap()
    );
    assert_eq!(tristan.email, "Tristan@lyonesse.bt");
    assert!(tristan.is_verified);
    assert_eq!(tristan.extra, Nickname::default());

    let mut twin = tristan.clone();
    twin.id = Uuid::new_v4();
    twin.email = "TRISTAN@lyonesse.bt".to_owned();
    assert!(matches!(
        store.create(twin).await,
        Err(StoreError::Conflict)
    ));

    // The reference's table is unchanged: the same six columns.
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'user' ORDER BY ordinal_position",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let columns: Vec<_> = columns.iter().map(|(c, t)| format!("{c} {t}")).collect();
    assert_eq!(
        columns,
        [
            "id uuid",
            "email character varying",
            "hashed_password character varying",
            "is_active boolean",
            "is_superuser boolean",
            "is_verified boolean"
        ]
    );
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_any_picks_postgres() {
    let Some((url, name)) = scratch_schema().await else {
        return;
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let any_url = format!("{url}{sep}application_name={name}&options=-c%20search_path%3D{name}")
        .replacen("postgres://", "postgresql://", 1);
    let settings = PoolSettings {
        max_connections: 2,
        ..PoolSettings::default()
    };
    let store = connect_any::<Profile>(&any_url, settings).await.unwrap();
    assert_eq!(store.kind(), StoreKind::Postgres);
    let store = Scratch::new(store, {
        let name = name.clone();
        move || drop_schema(url, name)
    });
    store.store.migrate().await.unwrap();
    let u = store.create(user("Kay@camelot.bt")).await.unwrap();
    assert_eq!(
        store.get_by_email("kay@camelot.bt").await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(store.store.list().await.unwrap(), vec![u]);
    // The tables went to the scratch schema, not to `public`.
    let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(match &store.store {
            axum_users_sqlx::AnyUserStore::Postgres(pg) => pg.pool(),
            _ => unreachable!(),
        })
        .await
        .unwrap();
    assert_eq!(schema, name);
}

axum_users_core::token_store_tests!(std::future::ready(match fresh::<Profile>().await {
    Some(store) => store,
    None => return,
}));

#[path = "support/tokens.rs"]
mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum_users_core::{AccessTokenStore, generate_token};
use sqlx::PgPool;

type Insert = Box<dyn Fn(String, String, Uuid) -> Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Writes an `accesstoken` row as FastAPI Users does on PostgreSQL: `created_at` a
/// `timestamptz` in UTC, the user's id a `uuid`.
fn fastapi_insert(pool: &PgPool) -> Insert {
    let pool = pool.clone();
    Box::new(move |token, created_at, user_id| {
        let pool = pool.clone();
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO accesstoken (token, created_at, user_id)
                 VALUES ($1, $2::timestamptz, $3::uuid)",
            )
            .bind(token)
            .bind(format!("{created_at}+00"))
            .bind(user_id.to_string())
            .execute(&pool)
            .await
            .unwrap();
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_rows_fastapi_users_wrote() {
    let Some(scratch) = fresh::<Profile>().await else {
        return;
    };
    let insert = fastapi_insert(scratch.store.pool());
    tokens::reads_rows_fastapi_users_wrote(Arc::new(scratch), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_are_refused_and_purged() {
    let Some(scratch) = fresh::<Profile>().await else {
        return;
    };
    let insert = fastapi_insert(scratch.store.pool());
    tokens::expired_rows_are_refused_and_purged(Arc::new(scratch), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_deletes_their_tokens() {
    let Some(scratch) = fresh::<Profile>().await else {
        return;
    };
    let insert = fastapi_insert(scratch.store.pool());
    tokens::deleting_a_user_deletes_their_tokens(Arc::new(scratch), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_taken_is_a_conflict() {
    let Some(scratch) = fresh::<Profile>().await else {
        return;
    };
    tokens::a_token_taken_is_a_conflict(Arc::new(scratch)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_need_an_existing_user() {
    let Some(scratch) = fresh::<Profile>().await else {
        return;
    };
    tokens::tokens_need_an_existing_user(Arc::new(scratch)).await;
}

/// A database FastAPI Users created (SQLAlchemy's DDL for `user` and `accesstoken`) is adopted
/// as it is: its tokens are read, whatever the session's time zone was when they were
/// written, and the table is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_fastapi_users_tokens() {
    let Some((url, name)) = scratch_schema().await else {
        return;
    };
    let options = schema_options(&url, &name);
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        r#"CREATE TABLE "user" (id UUID NOT NULL, email VARCHAR(320) NOT NULL,
               hashed_password VARCHAR(1024) NOT NULL, is_active BOOLEAN NOT NULL,
               is_superuser BOOLEAN NOT NULL, is_verified BOOLEAN NOT NULL, PRIMARY KEY (id));
           CREATE UNIQUE INDEX ix_user_email ON "user" (email);
           CREATE TABLE accesstoken (token VARCHAR(43) NOT NULL,
               created_at TIMESTAMP WITH TIME ZONE NOT NULL, user_id UUID NOT NULL,
               PRIMARY KEY (token),
               FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE cascade);
           CREATE INDEX ix_accesstoken_created_at ON accesstoken (created_at);
           INSERT INTO "user" VALUES ('1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11', 'Tristan@lyonesse.bt',
               '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01', true, false, true);
           SET TIME ZONE 'Asia/Kolkata';
           INSERT INTO accesstoken VALUES ('sR1Jk0m4lq3c6Vd2wzq7XbYpTnE9HfG5uAoLiK8xM0s',
               '2026-01-02 08:34:05.123456', '1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11');"#,
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let store = PgStore::<Profile>::connect_with(options, PoolSettings::default())
        .await
        .unwrap();
    let store = Scratch::new(store, move || drop_schema(url, name));
    store.store.migrate().await.unwrap();
    store.store.migrate().await.unwrap(); // a second run has nothing to do

    let tristan = Uuid::parse_str("1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11").unwrap();
    let row = store
        .get_token("sR1Jk0m4lq3c6Vd2wzq7XbYpTnE9HfG5uAoLiK8xM0s", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.user_id, row.created_at),
        (tristan, tokens::fastapi_time())
    );

    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename = 'accesstoken' ORDER BY indexname",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "accesstoken_pkey",
            "axum_users_accesstoken_user_id",
            "ix_accesstoken_created_at"
        ]
    );
    let token = axum_users_core::AccessToken {
        token: generate_token(),
        user_id: tristan,
        created_at: std::time::SystemTime::now(),
    };
    store.create_token(token.clone()).await.unwrap();
    assert!(store.delete(tristan).await.unwrap());
    assert!(store.get_token(&token.token, None).await.unwrap().is_none());
    conn.close().await.unwrap();
}
