//! The store conformance suite and MariaDB/MySQL-specific checks, against the server named
//! by `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`). Each test works in a
//! database of its own (`t_<uuid>`, dropped at the end). Without a server the tests are
//! skipped, unless `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::str::FromStr;
use std::sync::Arc;

use axum_users_core::conformance::Profile;
use axum_users_core::{StoreError, User, UserExtra, UserStore};
use axum_users_sqlx::{AnyUserStore, MySqlStore, PoolSettings, StoreKind, connect_any};
use serde::{Deserialize, Serialize};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, MySqlConnection, Row as _};
use support::{Scratch, admin, scratch_name};
use uuid::Uuid;

const DEFAULT_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// A fresh, empty database (with the server's default collation, or the one given): the
/// server's URL and the database's name. `None` when skipping.
async fn scratch_database(collation: Option<&str>) -> Option<(String, String)> {
    let (url, mut conn) =
        admin::<MySqlConnection>("MariaDB", "TEST_MYSQL_URL", DEFAULT_URL).await?;
    let name = scratch_name();
    let create = match collation {
        Some(c) => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE {c}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(AssertSqlSafe(create))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    Some((url, name))
}

/// Ends the store's sessions on the database and drops it.
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

fn database_options(url: &str, name: &str) -> MySqlConnectOptions {
    MySqlConnectOptions::from_str(url).unwrap().database(name)
}

/// A migrated store on a fresh database.
async fn fresh<X: UserExtra>(collation: Option<&str>) -> Option<Scratch<MySqlStore<X>>> {
    let (url, name) = scratch_database(collation).await?;
    let store = MySqlStore::connect_with(database_options(&url, &name), PoolSettings::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Some(Scratch::new(store, move || drop_database(url, name)))
}

/// With the server's default collation (`utf8mb4_general_ci` here: FastAPI Users' own
/// `ix_user_email` is then case-insensitive already).
mod default_collation {
    use super::*;

    axum_users_core::user_store_tests!(std::future::ready(match fresh::<Profile>(None).await {
        Some(store) => store,
        None => return,
    }));
    axum_users_core::token_store_tests!(std::future::ready(match fresh::<Profile>(None).await {
        Some(store) => store,
        None => return,
    }));
}

/// With a binary collation, where `ix_user_email` tells cases apart: case-insensitive
/// uniqueness then rests on the `email_lower` column alone.
mod binary_collation {
    use super::*;

    axum_users_core::user_store_tests!(std::future::ready(
        match fresh::<Profile>(Some("utf8mb4_bin")).await {
            Some(store) => store,
            None => return,
        }
    ));
    axum_users_core::token_store_tests!(std::future::ready(
        match fresh::<Profile>(Some("utf8mb4_bin")).await {
            Some(store) => store,
            None => return,
        }
    ));
}

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

/// Many rounds of the conformance suite's race: InnoDB may pick deadlock victims among
/// concurrent inserts of one key; the store retries them, so callers only ever see one
/// winner and conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_surface_deadlocks() {
    let Some(scratch) = fresh::<Profile>(Some("utf8mb4_bin")).await else {
        return;
    };
    let store: Arc<dyn UserStore<Profile>> = Arc::new(scratch);
    for round in 0..15 {
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let email = if i % 2 == 0 {
                    format!("bedivere{round}@camelot.bt")
                } else {
                    format!("Bedivere{round}@Camelot.bt")
                };
                tokio::spawn(async move { store.create(user(&email)).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::Conflict) => {}
                Err(e) => panic!("round {round}: unexpected error {e:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
    }
}

/// The index `EXPLAIN` says MariaDB would use for a statement's `user u` row.
async fn index_used(store: &MySqlStore<Profile>, statement: &str, probe: &str) -> Option<String> {
    let rows = sqlx::query(AssertSqlSafe(format!("EXPLAIN {statement}")))
        .bind(probe)
        .fetch_all(store.pool())
        .await
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.get::<Option<String>, _>("table").as_deref() == Some("u"));
    row.and_then(|r| r.get::<Option<String>, _>("key"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_by_email_and_id_use_indexes() {
    let Some(scratch) = fresh::<Profile>(None).await else {
        return;
    };
    let store = &scratch.store;
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(
            store
                .create(user(&format!("knight{i}@camelot.bt")))
                .await
                .unwrap()
                .id,
        );
    }
    // Probes that match a row: for one that matches none, MariaDB reads the unique index
    // while planning and reports no table at all ("Impossible WHERE").
    let sql = axum_users_sqlx::__sql::mysql::GET_BY_EMAIL;
    let key = index_used(store, sql, "Knight7@Camelot.bt").await;
    assert_eq!(key.as_deref(), Some("axum_users_user_email_lower"));
    let sql = axum_users_sqlx::__sql::mysql::GET_BY_ID;
    let key = index_used(store, sql, &ids[7].to_string()).await;
    assert_eq!(key.as_deref(), Some("PRIMARY"));
}

/// Custom fields a FastAPI Users database has no row for: every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct Nickname {
    nickname: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_fastapi_users_database_as_is() {
    let Some((url, name)) = scratch_database(Some("utf8mb4_bin")).await else {
        return;
    };
    let options = database_options(&url, &name);
    // What fastapi-users-db-sqlalchemy 7 creates, and a user it registered.
    let mut conn = MySqlConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE user (id CHAR(36) NOT NULL, email VARCHAR(320) NOT NULL,
             hashed_password VARCHAR(1024) NOT NULL, is_active BOOL NOT NULL,
             is_superuser BOOL NOT NULL, is_verified BOOL NOT NULL, PRIMARY KEY (id));
         CREATE UNIQUE INDEX ix_user_email ON user (email);
         INSERT INTO user VALUES ('1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11', 'Tristan@lyonesse.bt',
             '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01', 1, 0, 1);",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let store = MySqlStore::<Nickname>::connect_with(options, PoolSettings::default())
        .await
        .unwrap();
    let store = Scratch::new(store, {
        let name = name.clone();
        move || drop_database(url, name)
    });
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
    assert!(tristan.is_verified && tristan.is_active && !tristan.is_superuser);
    assert_eq!(tristan.extra, Nickname::default());

    let mut twin = tristan.clone();
    twin.id = Uuid::new_v4();
    twin.email = "TRISTAN@lyonesse.bt".to_owned();
    assert!(matches!(
        store.create(twin).await,
        Err(StoreError::Conflict)
    ));

    // The reference's six columns are unchanged; ours is the generated one after them.
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR)
         FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'user' ORDER BY ORDINAL_POSITION",
    )
    .bind(&name)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let columns: Vec<_> = columns.iter().map(|(c, t)| format!("{c} {t}")).collect();
    assert_eq!(
        columns,
        [
            "id char(36)",
            "email varchar(320)",
            "hashed_password varchar(1024)",
            "is_active tinyint(1)",
            "is_superuser tinyint(1)",
            "is_verified tinyint(1)",
            "email_lower varchar(320)",
        ]
    );
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_any_picks_mysql_for_mariadb_urls() {
    let Some((url, name)) = scratch_database(None).await else {
        return;
    };
    let (_, rest) = url.split_once("://").unwrap();
    let (server, _) = rest.rsplit_once('/').unwrap_or((rest, ""));
    let any_url = format!("mariadb://{server}/{name}");
    let settings = PoolSettings {
        max_connections: 2,
        ..PoolSettings::default()
    };
    let store = connect_any::<Profile>(&any_url, settings).await.unwrap();
    assert_eq!(store.kind(), StoreKind::MySql);
    assert!(matches!(store, AnyUserStore::MySql(_)));
    let store = Scratch::new(store, move || drop_database(url, name));
    store.store.migrate().await.unwrap();
    let u = store.create(user("Kay@camelot.bt")).await.unwrap();
    assert_eq!(
        store.get_by_email("kay@camelot.bt").await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(store.store.list().await.unwrap(), vec![u]);
}

#[path = "support/tokens.rs"]
mod tokens;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use axum_users_core::{AccessToken, AccessTokenStore, generate_token};
use sqlx::MySqlPool;

type Insert = Box<dyn Fn(String, String, Uuid) -> Pin<Box<dyn Future<Output = ()> + Send>>>;

/// Writes an `accesstoken` row as FastAPI Users does on MariaDB/MySQL: `created_at` as
/// SQLAlchemy's UTC text, the user's id as hyphenated text.
fn fastapi_insert(pool: &MySqlPool) -> Insert {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_rows_fastapi_users_wrote() {
    let Some(scratch) = fresh::<Profile>(None).await else {
        return;
    };
    let insert = fastapi_insert(scratch.store.pool());
    tokens::reads_rows_fastapi_users_wrote(Arc::new(scratch), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_rows_are_refused_and_purged() {
    let Some(scratch) = fresh::<Profile>(None).await else {
        return;
    };
    let insert = fastapi_insert(scratch.store.pool());
    tokens::expired_rows_are_refused_and_purged(Arc::new(scratch), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_deletes_their_tokens() {
    let Some(scratch) = fresh::<Profile>(None).await else {
        return;
    };
    let insert = fastapi_insert(scratch.store.pool());
    tokens::deleting_a_user_deletes_their_tokens(Arc::new(scratch), insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_taken_is_a_conflict() {
    let Some(scratch) = fresh::<Profile>(None).await else {
        return;
    };
    tokens::a_token_taken_is_a_conflict(Arc::new(scratch)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_need_an_existing_user() {
    let Some(scratch) = fresh::<Profile>(None).await else {
        return;
    };
    tokens::tokens_need_an_existing_user(Arc::new(scratch)).await;
}

/// The token is a credential: with the server's case-insensitive collation on `token`, a
/// token in another case still finds nothing and deletes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_match_exactly_under_a_case_insensitive_collation() {
    let Some(scratch) = fresh::<Profile>(Some("utf8mb4_general_ci")).await else {
        return;
    };
    let store = &scratch.store;
    let u = store.create(user("Lionel@camelot.bt")).await.unwrap();
    let token = AccessToken {
        token: "aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789-_aBcDe".to_owned(),
        user_id: u.id,
        created_at: SystemTime::now(),
    };
    store.create_token(token.clone()).await.unwrap();
    let other_case = token.token.to_ascii_lowercase();
    assert!(store.get_token(&other_case, None).await.unwrap().is_none());
    let earlier = Some(SystemTime::now() - Duration::from_secs(60));
    assert!(
        store
            .get_token(&other_case, earlier)
            .await
            .unwrap()
            .is_none()
    );
    store.delete_token(&other_case).await.unwrap();
    assert!(store.get_token(&token.token, None).await.unwrap().is_some());
    store.delete_token(&token.token).await.unwrap();
    assert!(store.get_token(&token.token, None).await.unwrap().is_none());
}

/// A database FastAPI Users created (SQLAlchemy's MySQL DDL, where `created_at` is a
/// `TIMESTAMP`) is adopted as it is: its tokens are read in UTC and the table is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_fastapi_users_tokens() {
    let Some((url, name)) = scratch_database(None).await else {
        return;
    };
    let options = database_options(&url, &name);
    let mut conn = MySqlConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE user (id CHAR(36) NOT NULL, email VARCHAR(320) NOT NULL,
             hashed_password VARCHAR(1024) NOT NULL, is_active BOOL NOT NULL,
             is_superuser BOOL NOT NULL, is_verified BOOL NOT NULL, PRIMARY KEY (id));
         CREATE UNIQUE INDEX ix_user_email ON user (email);
         CREATE TABLE accesstoken (token VARCHAR(43) NOT NULL, created_at TIMESTAMP NOT NULL,
             user_id CHAR(36) NOT NULL, PRIMARY KEY (token),
             FOREIGN KEY(user_id) REFERENCES user (id) ON DELETE cascade);
         CREATE INDEX ix_accesstoken_created_at ON accesstoken (created_at);
         INSERT INTO user VALUES ('1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11', 'Tristan@lyonesse.bt',
             '$2b$12$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01', 1, 0, 1);
         SET time_zone = '+00:00';
         INSERT INTO accesstoken VALUES ('sR1Jk0m4lq3c6Vd2wzq7XbYpTnE9HfG5uAoLiK8xM0s',
             '2026-01-02 03:04:05.123456', '1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11');",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let store = MySqlStore::<Profile>::connect_with(options, PoolSettings::default())
        .await
        .unwrap();
    let store = Scratch::new(store, {
        let name = name.clone();
        move || drop_database(url, name)
    });
    store.store.migrate().await.unwrap();
    store.store.migrate().await.unwrap(); // a second run has nothing to do

    let tristan = Uuid::parse_str("1d3c7f4e-8b1a-4c1e-9a55-0e2b7a6f1c11").unwrap();
    let row = store
        .get_token("sR1Jk0m4lq3c6Vd2wzq7XbYpTnE9HfG5uAoLiK8xM0s", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.user_id, tristan);
    // A `TIMESTAMP` keeps whole seconds: the fraction FastAPI Users sent is gone.
    let second = tokens::fastapi_time() - Duration::from_micros(123_456);
    assert!(
        row.created_at >= second && row.created_at <= second + Duration::from_secs(1),
        "{:?}",
        row.created_at
    );

    let ours = AccessToken {
        token: generate_token(),
        user_id: tristan,
        created_at: SystemTime::now(),
    };
    store.create_token(ours.clone()).await.unwrap();
    let read = store.get_token(&ours.token, None).await.unwrap().unwrap();
    let drift = ours
        .created_at
        .duration_since(read.created_at)
        .unwrap_or_else(|e| e.duration());
    assert!(drift < Duration::from_secs(1), "{drift:?}");

    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR)
         FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'accesstoken' ORDER BY ORDINAL_POSITION",
    )
    .bind(&name)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let columns: Vec<_> = columns.iter().map(|(c, t)| format!("{c} {t}")).collect();
    assert_eq!(
        columns,
        [
            "token varchar(43)",
            "created_at timestamp",
            "user_id char(36)"
        ]
    );

    assert!(store.delete(tristan).await.unwrap());
    assert!(store.get_token(&ours.token, None).await.unwrap().is_none());
    conn.close().await.unwrap();
}
