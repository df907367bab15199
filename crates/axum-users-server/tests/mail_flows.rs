//! Reset and verification through the real server, with the emails really sent: to the
//! outbox folder, and over SMTP to a listener on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

mod support;

use axum_users_server::Profile;
use serde_json::{Value, json};
use support::{config, outbox_files, smtp::SmtpServer, start, token_in};

const RESET_LINK: &str = "http://app.test.example/reset-password?token=";
const VERIFY_LINK: &str = "http://app.test.example/verify?token=";

async fn login(
    http: &reqwest::Client,
    url: &str,
    email: &str,
    password: &str,
) -> reqwest::StatusCode {
    http.post(url)
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn v15_reset_through_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();
    let r = http
        .post(srv.url("/auth/register"))
        .json(&json!({"email": "gawain@camelot.bt", "password": "green-knight"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let before = http
        .post(srv.url("/auth/jwt/login"))
        .form(&[
            ("username", "gawain@camelot.bt"),
            ("password", "green-knight"),
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

    // Known and unknown addresses get the same answer; only the known one gets mail.
    for email in ["nobody@camelot.bt", "gawain@camelot.bt"] {
        let r = http
            .post(srv.url("/auth/forgot-password"))
            .json(&json!({"email": email}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        assert_eq!(r.text().await.unwrap(), "null");
    }
    let files = outbox_files(&dir.path().join("outbox"), 1).await;
    assert_eq!(files.len(), 1, "one email, for the known address only");
    let raw = std::fs::read(&files[0]).unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("To: gawain@camelot.bt"));
    let token = token_in(&raw, RESET_LINK);

    let reset = |password: &'static str| {
        let http = http.clone();
        let url = srv.url("/auth/reset-password");
        let token = token.clone();
        async move {
            http.post(url)
                .json(&json!({"token": token, "password": password}))
                .send()
                .await
                .unwrap()
        }
    };
    let r = reset("excalibur-returned").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "null");

    let login_url = srv.url("/auth/jwt/login");
    assert_eq!(
        login(&http, &login_url, "gawain@camelot.bt", "green-knight").await,
        400
    );
    assert_eq!(
        login(&http, &login_url, "gawain@camelot.bt", "excalibur-returned").await,
        200
    );
    // Single use.
    let r = reset("another-one").await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "RESET_PASSWORD_BAD_TOKEN"})
    );
    // Tokens issued before the reset are revoked.
    let r = http
        .get(srv.url("/users/me"))
        .bearer_auth(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn classic_reset_through_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::Classic)).await;
    let http = reqwest::Client::new();
    let r = http
        .post(srv.url("/register"))
        .json(&json!({"email": "kay@camelot.bt", "password": "seneschal"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .post(srv.url("/forgot-password"))
        .json(&json!({"email": "kay@camelot.bt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let files = outbox_files(&dir.path().join("outbox"), 1).await;
    let token = token_in(&std::fs::read(&files[0]).unwrap(), RESET_LINK);
    let r = http
        .post(srv.url("/reset-password"))
        .json(&json!({"token": token, "password": "brother-of-arthur"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let login_url = srv.url("/login");
    assert_eq!(
        login(&http, &login_url, "kay@camelot.bt", "brother-of-arthur").await,
        200
    );
    assert_eq!(
        login(&http, &login_url, "kay@camelot.bt", "seneschal").await,
        400
    );
    let r = http
        .post(srv.url("/reset-password"))
        .json(&json!({"token": "garbage", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    srv.stop().await;
}

#[tokio::test]
async fn reset_and_verify_over_smtp() {
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port()));
    c.mail.from = "Camelot <no-reply@camelot.bt>".into();
    let srv = start(c).await;
    let http = reqwest::Client::new();
    http.post(srv.url("/auth/register"))
        .json(&json!({"email": "percival@camelot.bt", "password": "holy-grail"}))
        .send()
        .await
        .unwrap();

    // Verification.
    let r = http
        .post(srv.url("/auth/request-verify-token"))
        .json(&json!({"email": "percival@camelot.bt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let mail = smtp.next_message().await;
    assert_eq!(mail.rcpt_to, ["percival@camelot.bt"]);
    assert_eq!(mail.mail_from, "no-reply@camelot.bt");
    let token = token_in(&mail.data, VERIFY_LINK);
    let r = http
        .post(srv.url("/auth/verify"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user: Value = r.json().await.unwrap();
    assert_eq!(user["is_verified"], true);
    assert_eq!(user["email"], "percival@camelot.bt");
    let r = http
        .post(srv.url("/auth/verify"))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "VERIFY_USER_ALREADY_VERIFIED"})
    );
    // A verified user gets no further verification email.
    http.post(srv.url("/auth/request-verify-token"))
        .json(&json!({"email": "percival@camelot.bt"}))
        .send()
        .await
        .unwrap();

    // Reset.
    http.post(srv.url("/auth/forgot-password"))
        .json(&json!({"email": "Percival@CAMELOT.bt"}))
        .send()
        .await
        .unwrap();
    let mail = smtp.next_message().await;
    let raw = String::from_utf8_lossy(&mail.data).to_string();
    assert!(
        raw.contains("reset") || raw.contains("Reset"),
        "the reset email, not a second verify email"
    );
    let token = token_in(&mail.data, RESET_LINK);
    let r = http
        .post(srv.url("/auth/reset-password"))
        .json(&json!({"token": token, "password": "fisher-king"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let login_url = srv.url("/auth/jwt/login");
    assert_eq!(
        login(&http, &login_url, "percival@camelot.bt", "fisher-king").await,
        200
    );
    srv.stop().await;
}
