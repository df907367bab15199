//! The server's token backends end to end: cookie login/logout with its CSRF check,
//! asymmetric keys published as a JWKS, and revocation on password change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

mod support;

use axum_users_server::Profile;
use base64::Engine as _;
use serde_json::{Value, json};
use support::{config, start};

async fn register(http: &reqwest::Client, base: &str, email: &str, password: &str) {
    let r = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn cookie_login_me_logout_with_the_reference_headers() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.cookie.max_age = Some(3600);
    let srv = start(c).await;
    let http = reqwest::Client::new();
    register(&http, &srv.base, "elaine@camelot.bt", "astolat-lily").await;

    let r = http
        .post(srv.url("/auth/cookie/login"))
        .form(&[
            ("username", "elaine@camelot.bt"),
            ("password", "astolat-lily"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(r.bytes().await.unwrap().is_empty());
    let token = set_cookie
        .strip_prefix("fastapiusersauth=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_owned();
    assert_eq!(
        set_cookie,
        format!("fastapiusersauth={token}; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure")
    );
    let cookie = format!("fastapiusersauth={token}");

    let r = http
        .get(srv.url("/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["email"],
        "elaine@camelot.bt"
    );

    // CSRF: a cookie-authenticated unsafe request from another origin is refused; the same
    // request from no browser (no Origin) or from the server's own origin passes.
    let host = srv.base.trim_start_matches("http://").to_owned();
    let r = http
        .patch(srv.url("/users/me"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Forbidden"})
    );
    let r = http
        .patch(srv.url("/users/me"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .patch(srv.url("/users/me"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{host}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .patch(srv.url("/users/me"))
        .header("cookie", &cookie)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = http
        .post(srv.url("/auth/cookie/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["set-cookie"],
        "fastapiusersauth=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure"
    );
    let r = http
        .post(srv.url("/auth/cookie/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn rs256_tokens_verify_through_the_published_jwks() {
    use jwt_simple::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    std::fs::write(
        &key,
        include_bytes!("../../axum-users-core/tests/keys/rsa.pem"),
    )
    .unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.jwt_algorithm = "RS256".into();
    c.jwt_private_key_file = Some(key);
    let srv = start(c).await;
    let http = reqwest::Client::new();
    register(&http, &srv.base, "nimue@avalon.bt", "lady-of-the-lake").await;
    let token = http
        .post(srv.url("/auth/jwt/login"))
        .form(&[
            ("username", "nimue@avalon.bt"),
            ("password", "lady-of-the-lake"),
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
    let r = http
        .get(srv.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let jwks: Value = r.json().await.unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kty"], "RSA");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let public = RS256PublicKey::from_components(
        &b64.decode(jwk["n"].as_str().unwrap()).unwrap(),
        &b64.decode(jwk["e"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let claims = public.verify_token::<NoCustomClaims>(&token, None).unwrap();
    let me: Value = http
        .get(srv.url("/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(claims.subject.as_deref(), me["id"].as_str());
    srv.stop().await;
}

#[tokio::test]
async fn hs256_publishes_no_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let r = reqwest::get(srv.url("/.well-known/jwks.json"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    srv.stop().await;
}

#[tokio::test]
async fn a_password_change_revokes_earlier_tokens_of_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();
    register(&http, &srv.base, "bedivere@camelot.bt", "one-handed").await;
    let login = |path: &'static str| {
        let http = http.clone();
        let url = srv.url(path);
        async move {
            http.post(url)
                .form(&[
                    ("username", "bedivere@camelot.bt"),
                    ("password", "one-handed"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let bearer = login("/auth/jwt/login")
        .await
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = login("/auth/cookie/login").await.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let r = http
        .patch(srv.url("/users/me"))
        .bearer_auth(&bearer)
        .json(&json!({"password": "returned-the-sword"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(srv.url("/users/me"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .get(srv.url("/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    srv.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_kills_the_family() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.refresh.enabled = true;
    let srv = start(c).await;
    let http = reqwest::Client::new();
    register(&http, &srv.base, "lamorak@camelot.bt", "jousting-champion").await;
    let login: Value = http
        .post(srv.url("/auth/jwt/login"))
        .form(&[
            ("username", "lamorak@camelot.bt"),
            ("password", "jousting-champion"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&String> = login.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "refresh_token", "token_type"]);
    let first = login["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let http = http.clone();
        let url = srv.url("/auth/jwt/refresh");
        async move {
            http.post(url)
                .json(&json!({"refresh_token": token}))
                .send()
                .await
                .unwrap()
        }
    };
    let r = refresh(first.clone()).await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["refresh_token"], login["refresh_token"]);
    let me = http
        .get(srv.url("/users/me"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // Reusing the rotated token is refused and revokes the family, newest token included.
    let r = refresh(first).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Unauthorized"})
    );
    let r = refresh(second["refresh_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(r.status(), 401);
    srv.stop().await;
}
