//! The real server on port 0 (the mini-redis way), driven over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

use std::net::SocketAddr;
use std::path::Path;

use axum_users_server::{Config, Profile, cli, server};
use serde_json::{Value, json};
use tokio::sync::oneshot;

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), axum_users_server::ServerError>>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

fn config(dir: &Path, profile: Profile) -> Config {
    let mut c = Config::default();
    c.database_url = format!("sqlite://{}", dir.join("users.db").display());
    c.secret_file = dir.join("secret");
    c.profile = profile;
    c.argon2.memory_kib = 1024;
    c.argon2.iterations = 1;
    c.argon2.parallelism = 1;
    c.hash_workers = 2;
    c
}

async fn start(config: Config) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(listener, config, async move {
        let _ = rx.await;
    }));
    Running {
        base: format!("http://{addr}"),
        stop: Some(tx),
        task,
    }
}

#[tokio::test]
async fn v15_register_login_me_logout_then_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();

    let r = http
        .post(format!("{}/auth/register", srv.base))
        .json(&json!({"email": "lancelot@camelot.bt", "password": "guinevere"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();

    let r = http
        .post(format!("{}/auth/jwt/login", srv.base))
        .form(&[
            ("username", "Lancelot@Camelot.bt"),
            ("password", "guinevere"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = http
        .get(format!("{}/users/me", srv.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(r.json::<Value>().await.unwrap(), created);

    let r = http
        .post(format!("{}/auth/jwt/logout", srv.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    let r = http
        .get(format!("{}/openapi.json", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["openapi"], "3.1.0");
    let r = http
        .get(format!("{}/docs/", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("swagger-ui"));

    srv.stop().await;
    // The secret was generated once, readable by the owner only.
    assert!(dir.path().join("secret").exists());
}

#[tokio::test]
async fn classic_profile_serves_the_2019_contract() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::Classic)).await;
    let http = reqwest::Client::new();

    let r = http
        .post(format!("{}/register", srv.base))
        .json(&json!({"email": "king.arthur@camelot.bt", "password": "guinevere", "is_superuser": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["is_superuser"], false, "privileged flags are ignored");
    assert_eq!(user["is_active"], true);

    let r = http
        .post(format!("{}/register", srv.base))
        .json(&json!({"email": "KING.ARTHUR@camelot.bt", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    let r = http
        .post(format!("{}/login", srv.base))
        .form(&[
            ("username", "king.arthur@camelot.bt"),
            ("password", "guinevere"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["token"]
    );

    let r = http
        .post(format!("{}/login", srv.base))
        .form(&[
            ("username", "king.arthur@camelot.bt"),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(format!("{}/login", srv.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    // v15 routes are not mounted in this profile.
    let r = http
        .post(format!("{}/auth/register", srv.base))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    srv.stop().await;
}

#[tokio::test]
async fn classic_profile_under_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::Classic);
    c.classic_prefix = "/users".into();
    let srv = start(c).await;
    let r = reqwest::Client::new()
        .post(format!("{}/users/register", srv.base))
        .json(&json!({"email": "bedivere@camelot.bt", "password": "excalibur-returned"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    srv.stop().await;
}

#[tokio::test]
async fn create_user_makes_a_superuser_the_api_recognises() {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), Profile::V15);
    let args = cli::CreateUser {
        email: "Merlin@Avalon.BT".into(),
        password: "magic-words".into(),
        superuser: true,
        verified: true,
        inactive: false,
    };
    let created = cli::create_user(&c, args).await.unwrap();
    assert_eq!(created["email"], "Merlin@avalon.bt");
    assert_eq!(created["is_superuser"], true);
    assert_eq!(created["is_verified"], true);

    let again = cli::CreateUser {
        email: "merlin@avalon.bt".into(),
        password: "x".into(),
        superuser: false,
        verified: false,
        inactive: false,
    };
    let err = cli::create_user(&c, again).await.unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    let srv = start(c).await;
    let http = reqwest::Client::new();
    let token = http
        .post(format!("{}/auth/jwt/login", srv.base))
        .form(&[
            ("username", "merlin@avalon.bt"),
            ("password", "magic-words"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created["id"].as_str().unwrap();
    let r = http
        .get(format!("{}/users/{id}", srv.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), created);
    srv.stop().await;
}

#[tokio::test]
async fn bad_settings_fail_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.secret = Some("too short".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = server::run(listener, c, std::future::pending())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("AXUM_USERS_SECRET:"), "{err}");

    let mut c = config(dir.path(), Profile::V15);
    c.database_url = "sqlite:///nonexistent-dir/for/sure/users.db".into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = server::run(listener, c, std::future::pending())
        .await
        .unwrap_err();
    let line = err.to_string();
    assert!(line.starts_with("AXUM_USERS_DATABASE_URL:"), "{line}");
    assert!(!line.contains('\n'));
}

#[tokio::test]
async fn the_server_applies_its_password_policy_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();
    for (password, reason) in [
        ("short", "Password should be at least 8 characters"),
        ("password", "This password is too common"),
        (
            "gareth-the-brave",
            "Password should not contain the email address",
        ),
    ] {
        let r = http
            .post(format!("{}/auth/register", srv.base))
            .json(&json!({"email": "gareth@camelot.bt", "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{password}");
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"detail": {"code": "REGISTER_INVALID_PASSWORD", "reason": reason}}),
            "{password}"
        );
    }
    srv.stop().await;

    // Off, it is FastAPI Users' behaviour: any password.
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.password.enabled = false;
    let srv = start(c).await;
    let r = reqwest::Client::new()
        .post(format!("{}/auth/register", srv.base))
        .json(&json!({"email": "gareth@camelot.bt", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    srv.stop().await;
}
