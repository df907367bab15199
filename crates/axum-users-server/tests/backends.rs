//! The database and Redis backends through the real server, and many instances sharing one
//! PostgreSQL and one Redis. PostgreSQL and Redis tests skip when their server is unreachable,
//! and fail instead under `CI=true`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

mod support;

use axum_users_server::Profile;
use axum_users_server::config::BackendKind;
use serde_json::{Value, json};
use support::{config, start};

fn service_missing(what: &str, error: &dyn std::fmt::Display) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is not reachable under CI=true: {error}");
    }
    eprintln!("skipping: {what} not reachable: {error}");
    true
}

/// A fresh PostgreSQL database for one test, or `None` (skip) locally when there is no server.
async fn fresh_postgres() -> Option<String> {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let pool = match sqlx::PgPool::connect(&admin).await {
        Ok(p) => p,
        Err(e) => return service_missing("PostgreSQL", &e).then_some(None).flatten(),
    };
    let name = format!("axu_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    Some(format!("{base}/{name}"))
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis_reachable() -> bool {
    let result = async {
        let client = redis::Client::open(redis_url())?;
        let mut c = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), result).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => !service_missing("Redis", &e),
        Err(e) => !service_missing("Redis", &e),
    }
}

async fn register(http: &reqwest::Client, base: &str, email: &str) -> reqwest::StatusCode {
    http.post(format!("{base}/auth/register"))
        .json(&json!({"email": email, "password": "round-table"}))
        .send()
        .await
        .unwrap()
        .status()
}

async fn login(http: &reqwest::Client, base: &str, backend: &str, email: &str) -> String {
    let r = http
        .post(format!("{base}/auth/{backend}/login"))
        .form(&[("username", email), ("password", "round-table")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{backend} login");
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn me(http: &reqwest::Client, base: &str, token: &str) -> reqwest::StatusCode {
    http.get(format!("{base}/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn logout(
    http: &reqwest::Client,
    base: &str,
    backend: &str,
    token: &str,
) -> reqwest::StatusCode {
    http.post(format!("{base}/auth/{backend}/logout"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn database_tokens_on_sqlite_login_use_logout_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.backends = vec![BackendKind::Jwt, BackendKind::Database];
    let srv = start(c).await;
    let http = reqwest::Client::new();
    assert_eq!(register(&http, &srv.base, "tor@camelot.bt").await, 201);
    let token = login(&http, &srv.base, "database", "tor@camelot.bt").await;
    assert_eq!(token.len(), 43);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(me(&http, &srv.base, &token).await, 200);
    let second = login(&http, &srv.base, "database", "tor@camelot.bt").await;
    assert_eq!(logout(&http, &srv.base, "database", &token).await, 204);
    assert_eq!(me(&http, &srv.base, &token).await, 401);
    assert_eq!(
        me(&http, &srv.base, &second).await,
        200,
        "only the token that logged out"
    );
    // A password change revokes the remaining database token.
    let r = http
        .patch(srv.url("/users/me"))
        .bearer_auth(&second)
        .json(&json!({"password": "new-round-table"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(me(&http, &srv.base, &second).await, 401);
    srv.stop().await;
}

#[tokio::test]
async fn redis_tokens_login_use_logout_and_redis_down_is_503() {
    if !redis_reachable().await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.backends = vec![BackendKind::Jwt, BackendKind::Redis];
    c.redis_url = Some(redis_url());
    let srv = start(c).await;
    let http = reqwest::Client::new();
    let email = format!("{}@camelot.bt", uuid::Uuid::new_v4().simple());
    assert_eq!(register(&http, &srv.base, &email).await, 201);
    let token = login(&http, &srv.base, "redis", &email).await;
    assert_eq!(me(&http, &srv.base, &token).await, 200);
    assert_eq!(logout(&http, &srv.base, "redis", &token).await, 204);
    assert_eq!(me(&http, &srv.base, &token).await, 401);
    srv.stop().await;

    // Redis away: a clear 503, quickly, never a hang; the JWT backend keeps working.
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.backends = vec![BackendKind::Redis, BackendKind::Jwt];
    c.redis_url = Some("redis://127.0.0.1:1".into());
    let srv = start(c).await;
    assert_eq!(register(&http, &srv.base, "kay@camelot.bt").await, 201);
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        http.post(srv.url("/auth/redis/login"))
            .form(&[("username", "kay@camelot.bt"), ("password", "round-table")])
            .send(),
    )
    .await
    .expect("no hang")
    .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Service Unavailable"})
    );
    srv.stop().await;
}

#[tokio::test]
async fn two_instances_share_one_postgres_and_one_redis() {
    let Some(url) = fresh_postgres().await else {
        return;
    };
    if !redis_reachable().await {
        return;
    }
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let instance = |dir: &std::path::Path| {
        let mut c = config(dir, Profile::V15);
        c.database_url = url.clone();
        c.secret = Some("a shared secret of at least thirty-two bytes".into());
        c.backends = vec![BackendKind::Jwt, BackendKind::Database, BackendKind::Redis];
        c.redis_url = Some(redis_url());
        c.database.max_connections = 20;
        c
    };
    let a = start(instance(dirs[0].path())).await;
    let b = start(instance(dirs[1].path())).await;
    let http = reqwest::Client::new();
    let email = format!("{}@camelot.bt", uuid::Uuid::new_v4().simple());
    assert_eq!(register(&http, &a.base, &email).await, 201);
    for backend in ["jwt", "database", "redis"] {
        let token = login(&http, &a.base, backend, &email).await;
        assert_eq!(
            me(&http, &b.base, &token).await,
            200,
            "{backend}: A's token works on B"
        );
        if backend != "jwt" {
            assert_eq!(logout(&http, &a.base, backend, &token).await, 204);
            assert_eq!(
                me(&http, &b.base, &token).await,
                401,
                "{backend}: logout on A honoured by B"
            );
        }
    }

    // 50 concurrent registrations of one address, spread over both: one 201, no 5xx.
    let email = format!("Race.{}@Camelot.bt", uuid::Uuid::new_v4().simple());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let http = http.clone();
            let base = if i % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            let email = if i % 3 == 0 {
                email.to_lowercase()
            } else {
                email.clone()
            };
            tokio::spawn(async move { register(&http, &base, &email).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        49,
        "{statuses:?}"
    );
    a.stop().await;
    b.stop().await;
    drop_postgres(&url).await;
}

/// Drops a database made by [`fresh_postgres`].
async fn drop_postgres(url: &str) {
    let admin = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let name = url.rsplit('/').next().unwrap();
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await
    .unwrap();
}
