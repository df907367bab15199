//! Several backends at once, through the real routers over SQLite: bearer JWT at `/auth/jwt`,
//! cookie JWT at `/auth/cookie`, bearer database tokens at `/auth/database` (CONTRACT §1, §2
//! "Backends are tried in order", §3, §5; reference §1.5, §3.2, §8.10, §8.11).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use axum_users_core::{AccessClaims, JwtCodec, UserPatch};
use common::*;
use serde_json::json;

const COOKIE: &str = "fastapiusersauth";
const CLEARED: &str = "fastapiusersauth=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure";

/// jwt, cookie, database: tried in this order.
async fn three() -> FullApp {
    full_app(FullOpts {
        backends: vec![Backend::Jwt, Backend::Cookie, Backend::Database],
        ..FullOpts::default()
    })
    .await
}

/// `POST /auth/<backend>/login` with the fixture password (or another).
async fn login_at(app: &TestApp, backend: &str, email: &str, password: &str) -> Reply {
    send(
        app,
        req(Method::POST, &format!("/auth/{backend}/login"))
            .form(&[("username", email), ("password", password)]),
    )
    .await
}

/// A bearer token from `/auth/jwt` or `/auth/database`.
async fn bearer_login(app: &TestApp, backend: &str, email: &str) -> String {
    let r = login_at(app, backend, email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{backend}: {:?}", r.body);
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// The cookie value set by `/auth/cookie/login`.
async fn cookie_login(app: &TestApp, email: &str) -> String {
    let r = login_at(app, "cookie", email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    cookie_value(r.header("set-cookie").unwrap())
}

fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    assert_eq!(name, COOKIE);
    value.to_owned()
}

/// A request carrying any of a bearer token and the auth cookie.
fn with(
    b: axum::http::request::Builder,
    bearer: Option<&str>,
    cookie: Option<&str>,
) -> axum::http::request::Builder {
    let b = match bearer {
        Some(t) => b.bearer(t),
        None => b,
    };
    match cookie {
        Some(c) => b.header("cookie", format!("{COOKIE}={c}")),
        None => b,
    }
}

async fn me_as(app: &TestApp, bearer: Option<&str>, cookie: Option<&str>) -> Reply {
    send(
        app,
        with(req(Method::GET, "/users/me"), bearer, cookie).empty(),
    )
    .await
}

/// The email `GET /users/me` answers for these credentials, or `None` for a 401.
async fn who(app: &TestApp, bearer: Option<&str>, cookie: Option<&str>) -> Option<String> {
    let r = me_as(app, bearer, cookie).await;
    if r.status == StatusCode::UNAUTHORIZED {
        assert_eq!(r.json(), detail("Unauthorized"));
        assert!(r.header("www-authenticate").is_none());
        return None;
    }
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    Some(r.json()["email"].as_str().unwrap().to_owned())
}

async fn logout_at(
    app: &TestApp,
    backend: &str,
    bearer: Option<&str>,
    cookie: Option<&str>,
) -> Reply {
    send(
        app,
        with(
            req(Method::POST, &format!("/auth/{backend}/logout")),
            bearer,
            cookie,
        )
        .empty(),
    )
    .await
}

fn assert_plain_204(r: &Reply) {
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(r.body.is_empty());
    assert!(r.header("set-cookie").is_none());
}

fn assert_cookie_cleared(r: &Reply) {
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(r.body.is_empty());
    let all: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(all, [CLEARED]);
}

fn some(email: &str) -> Option<String> {
    Some(email.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Each strategy on its own.

#[tokio::test]
async fn each_backend_logs_in_in_its_own_shape() {
    let app = three().await;
    let u = user(&app.app, "lancelot@camelot.bt").await;

    let r = login_at(&app.app, "jwt", "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        jwt_payload(body["access_token"].as_str().unwrap())["sub"],
        json!(u.id.to_string())
    );

    let r = login_at(&app.app, "cookie", "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    let set: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(set.len(), 1);
    let token = cookie_value(set[0]);
    assert_eq!(
        set[0],
        format!("{COOKIE}={token}; HttpOnly; Path=/; SameSite=lax; Secure"),
        "a session cookie: no Max-Age by default"
    );
    assert_eq!(jwt_payload(&token)["sub"], json!(u.id.to_string()));

    let r = login_at(&app.app, "database", "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {token}"
    );
    // Each login writes a new row: a new token every time.
    assert_ne!(
        bearer_login(&app.app, "database", "lancelot@camelot.bt").await,
        token
    );
}

#[tokio::test]
async fn a_configured_max_age_is_in_the_cookie_and_logout_clears_it_byte_for_byte() {
    let app = full_app(FullOpts {
        backends: vec![Backend::Cookie],
        cookie_max_age: Some(LIFETIME),
        ..FullOpts::default()
    })
    .await;
    user(&app.app, "lancelot@camelot.bt").await;
    let r = login_at(&app.app, "cookie", "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let set = r.header("set-cookie").unwrap();
    let token = cookie_value(set);
    assert_eq!(
        set,
        format!("{COOKIE}={token}; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure")
    );
    assert_cookie_cleared(&logout_at(&app.app, "cookie", None, Some(&token)).await);
}

#[tokio::test]
async fn a_jwt_outlives_its_logout() {
    // Reference §3.2 and CONTRACT §5: JWT logout does nothing server-side.
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    let token = bearer_login(&app.app, "jwt", "lancelot@camelot.bt").await;
    assert_eq!(
        who(&app.app, Some(&token), None).await,
        some("lancelot@camelot.bt")
    );
    assert_plain_204(&logout_at(&app.app, "jwt", Some(&token), None).await);
    assert_eq!(
        who(&app.app, Some(&token), None).await,
        some("lancelot@camelot.bt")
    );
}

#[tokio::test]
async fn cookie_login_use_logout_then_the_cleared_cookie_is_refused() {
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    let token = cookie_login(&app.app, "lancelot@camelot.bt").await;
    assert_eq!(
        who(&app.app, None, Some(&token)).await,
        some("lancelot@camelot.bt")
    );
    let r = logout_at(&app.app, "cookie", None, Some(&token)).await;
    assert_cookie_cleared(&r);
    // A browser honouring the header now sends an empty cookie (or none): 401.
    assert_eq!(who(&app.app, None, Some("\"\"")).await, None);
    assert_eq!(who(&app.app, None, Some("")).await, None);
    assert_eq!(who(&app.app, None, None).await, None);
    // The cookie's JWT itself is stateless, as the reference's: replayed, it still works.
    assert_eq!(
        who(&app.app, None, Some(&token)).await,
        some("lancelot@camelot.bt")
    );
}

#[tokio::test]
async fn database_login_use_logout_then_the_token_is_refused() {
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    let token = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    let other_session = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    assert_eq!(
        who(&app.app, Some(&token), None).await,
        some("lancelot@camelot.bt")
    );
    assert_plain_204(&logout_at(&app.app, "database", Some(&token), None).await);
    assert_eq!(who(&app.app, Some(&token), None).await, None);
    let r = logout_at(&app.app, "database", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a second logout");
    assert_eq!(r.json(), detail("Unauthorized"));
    // Only the token that logged out: the user's other session lives on.
    assert_eq!(
        who(&app.app, Some(&other_session), None).await,
        some("lancelot@camelot.bt")
    );
}

#[tokio::test]
async fn logout_without_a_usable_token_is_401_on_every_backend() {
    let app = three().await;
    for backend in ["jwt", "cookie", "database"] {
        for (bearer, cookie) in [
            (None, None),
            (Some("garbage"), None),
            (None, Some("garbage")),
        ] {
            let r = logout_at(&app.app, backend, bearer, cookie).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{backend}");
            assert_eq!(r.json(), detail("Unauthorized"));
            assert!(
                r.header("set-cookie").is_none(),
                "{backend}: nothing cleared"
            );
        }
    }
}

#[tokio::test]
async fn every_backend_refuses_an_inactive_or_deleted_users_tokens() {
    let app = three().await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let jwt = bearer_login(&app.app, "jwt", "lancelot@camelot.bt").await;
    let cookie = cookie_login(&app.app, "lancelot@camelot.bt").await;
    let db = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    let flag = |active| UserPatch {
        is_active: Some(active),
        ..UserPatch::default()
    };
    patch_row(&app.app, u.id, flag(false)).await;
    assert_eq!(who(&app.app, Some(&jwt), None).await, None);
    assert_eq!(who(&app.app, None, Some(&cookie)).await, None);
    assert_eq!(who(&app.app, Some(&db), None).await, None);
    patch_row(&app.app, u.id, flag(true)).await;
    assert_eq!(
        who(&app.app, Some(&db), None).await,
        some("lancelot@camelot.bt")
    );
    let admin = superuser(&app.app, "arthur@camelot.bt").await;
    let admin_token = token_for(&app.app, &admin);
    let r = send(
        &app.app,
        req(Method::DELETE, &format!("/users/{}", u.id))
            .bearer(&admin_token)
            .empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(who(&app.app, Some(&jwt), None).await, None);
    assert_eq!(who(&app.app, None, Some(&cookie)).await, None);
    assert_eq!(who(&app.app, Some(&db), None).await, None);
}

// ---------------------------------------------------------------------------------------------
// Backends tried in order.

#[tokio::test]
async fn the_first_backend_that_yields_a_user_wins() {
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    user(&app.app, "gawain@camelot.bt").await;
    let lancelot_jwt = bearer_login(&app.app, "jwt", "lancelot@camelot.bt").await;
    let lancelot_db = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    let gawain_cookie = cookie_login(&app.app, "gawain@camelot.bt").await;

    // jwt before cookie.
    assert_eq!(
        who(&app.app, Some(&lancelot_jwt), Some(&gawain_cookie)).await,
        some("lancelot@camelot.bt")
    );
    // cookie before database: a database bearer token loses to a cookie.
    assert_eq!(
        who(&app.app, Some(&lancelot_db), Some(&gawain_cookie)).await,
        some("gawain@camelot.bt")
    );
    // Alone, the database token is found by the third backend.
    assert_eq!(
        who(&app.app, Some(&lancelot_db), None).await,
        some("lancelot@camelot.bt")
    );
}

#[tokio::test]
async fn a_bad_first_token_falls_through_to_a_good_second_one() {
    let app = three().await;
    let lancelot = user(&app.app, "lancelot@camelot.bt").await;
    user(&app.app, "gawain@camelot.bt").await;
    let gawain_cookie = cookie_login(&app.app, "gawain@camelot.bt").await;
    let foreign = JwtCodec::hs256(b"some other secret of thirty-two bytes!!!")
        .unwrap()
        .encode(&AccessClaims::new(lancelot.id.to_string(), LIFETIME))
        .unwrap();
    let expired = app
        .app
        .codec
        .encode(&json!({
            "sub": lancelot.id.to_string(),
            "aud": ["fastapi-users:auth"],
            "exp": 1_000_000_000u64,
        }))
        .unwrap();
    for bad in ["garbage", foreign.as_str(), expired.as_str()] {
        assert_eq!(
            who(&app.app, Some(bad), Some(&gawain_cookie)).await,
            some("gawain@camelot.bt"),
            "{bad}"
        );
        assert_eq!(who(&app.app, Some(bad), None).await, None, "{bad} alone");
    }
    // A good JWT of a user since deleted falls through too.
    let mordred = user(&app.app, "mordred@camelot.bt").await;
    let mordred_jwt = bearer_login(&app.app, "jwt", "mordred@camelot.bt").await;
    app.app.manager.store().delete(mordred.id).await.unwrap();
    assert_eq!(
        who(&app.app, Some(&mordred_jwt), Some(&gawain_cookie)).await,
        some("gawain@camelot.bt")
    );
}

#[tokio::test]
async fn the_order_is_the_one_configured() {
    let app = full_app(FullOpts {
        backends: vec![Backend::Cookie, Backend::Jwt],
        ..FullOpts::default()
    })
    .await;
    user(&app.app, "lancelot@camelot.bt").await;
    user(&app.app, "gawain@camelot.bt").await;
    let lancelot_jwt = bearer_login(&app.app, "jwt", "lancelot@camelot.bt").await;
    let gawain_cookie = cookie_login(&app.app, "gawain@camelot.bt").await;
    assert_eq!(
        who(&app.app, Some(&lancelot_jwt), Some(&gawain_cookie)).await,
        some("gawain@camelot.bt")
    );
}

// ---------------------------------------------------------------------------------------------
// Logout through any backend (reference §8.11): the token that authenticated is handed to the
// strategy of the router whose /logout was called.

#[tokio::test]
async fn jwt_logout_with_a_database_token_answers_204_and_the_token_keeps_working() {
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    let db = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    assert_plain_204(&logout_at(&app.app, "jwt", Some(&db), None).await);
    assert_eq!(
        who(&app.app, Some(&db), None).await,
        some("lancelot@camelot.bt")
    );
    // Through the cookie router: its transport's answer (the cookie cleared), its strategy's
    // (stateless) destroy.
    assert_cookie_cleared(&logout_at(&app.app, "cookie", Some(&db), None).await);
    assert_eq!(
        who(&app.app, Some(&db), None).await,
        some("lancelot@camelot.bt")
    );
    // Through its own router, it is destroyed.
    assert_plain_204(&logout_at(&app.app, "database", Some(&db), None).await);
    assert_eq!(who(&app.app, Some(&db), None).await, None);
}

#[tokio::test]
async fn database_logout_with_a_jwt_destroys_nothing() {
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    let jwt = bearer_login(&app.app, "jwt", "lancelot@camelot.bt").await;
    let cookie = cookie_login(&app.app, "lancelot@camelot.bt").await;
    let db = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    assert_plain_204(&logout_at(&app.app, "database", Some(&jwt), None).await);
    assert_plain_204(&logout_at(&app.app, "database", None, Some(&cookie)).await);
    assert_eq!(
        who(&app.app, Some(&jwt), None).await,
        some("lancelot@camelot.bt")
    );
    assert_eq!(
        who(&app.app, None, Some(&cookie)).await,
        some("lancelot@camelot.bt")
    );
    assert_eq!(
        who(&app.app, Some(&db), None).await,
        some("lancelot@camelot.bt")
    );
}

#[tokio::test]
async fn logout_destroys_the_token_that_authenticated_not_another_carried_along() {
    let app = three().await;
    user(&app.app, "lancelot@camelot.bt").await;
    user(&app.app, "gawain@camelot.bt").await;
    let lancelot_db = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    let gawain_cookie = cookie_login(&app.app, "gawain@camelot.bt").await;
    // The cookie (second backend) authenticates the request, before the database token
    // (third): the database strategy is handed the cookie's JWT, which is no row of its own.
    assert_plain_204(
        &logout_at(
            &app.app,
            "database",
            Some(&lancelot_db),
            Some(&gawain_cookie),
        )
        .await,
    );
    assert_eq!(
        who(&app.app, Some(&lancelot_db), None).await,
        some("lancelot@camelot.bt")
    );
    assert_eq!(
        who(&app.app, None, Some(&gawain_cookie)).await,
        some("gawain@camelot.bt")
    );
}

// ---------------------------------------------------------------------------------------------
// A password reset revokes every session (CONTRACT §5).

#[tokio::test]
async fn a_password_reset_refuses_every_token_issued_before_it() {
    let app = three().await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let bystander = user(&app.app, "gawain@camelot.bt").await;
    let jwt = bearer_login(&app.app, "jwt", "lancelot@camelot.bt").await;
    let cookie = cookie_login(&app.app, "lancelot@camelot.bt").await;
    let db = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    let db_again = bearer_login(&app.app, "database", "lancelot@camelot.bt").await;
    let other_db = bearer_login(&app.app, "database", "gawain@camelot.bt").await;
    for (bearer, cookie) in [
        (Some(&jwt), None),
        (None, Some(&cookie)),
        (Some(&db), None),
        (Some(&db_again), None),
    ] {
        assert_eq!(
            who(
                &app.app,
                bearer.map(String::as_str),
                cookie.map(String::as_str)
            )
            .await,
            some("lancelot@camelot.bt")
        );
    }

    let r = post_json(
        &app.app,
        "/auth/forgot-password",
        &json!({ "email": "lancelot@camelot.bt" }),
    )
    .await;
    assert_null(&r, StatusCode::ACCEPTED);
    let token = app.hooks.reset_token(u.id, 1).await;
    // Asking for a reset revokes nothing.
    assert_eq!(
        who(&app.app, Some(&db), None).await,
        some("lancelot@camelot.bt")
    );
    assert_eq!(
        who(&app.app, Some(&jwt), None).await,
        some("lancelot@camelot.bt")
    );
    let r = post_json(
        &app.app,
        "/auth/reset-password",
        &json!({ "token": token, "password": "excalibur-2" }),
    )
    .await;
    assert_null(&r, StatusCode::OK);

    assert_eq!(who(&app.app, Some(&jwt), None).await, None, "bearer JWT");
    assert_eq!(who(&app.app, None, Some(&cookie)).await, None, "cookie JWT");
    assert_eq!(who(&app.app, Some(&db), None).await, None, "database");
    assert_eq!(who(&app.app, Some(&db_again), None).await, None, "database");
    // Nobody else's.
    assert_eq!(
        who(&app.app, Some(&other_db), None).await,
        some("gawain@camelot.bt"),
        "{}",
        bystander.id
    );
    // New sessions, with the new password, on every backend.
    for backend in ["jwt", "database"] {
        let r = login_at(&app.app, backend, "lancelot@camelot.bt", "excalibur-2").await;
        let fresh = r.json()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            who(&app.app, Some(&fresh), None).await,
            some("lancelot@camelot.bt")
        );
    }
    let r = login_at(&app.app, "cookie", "lancelot@camelot.bt", "excalibur-2").await;
    let fresh = cookie_value(r.header("set-cookie").unwrap());
    assert_eq!(
        who(&app.app, None, Some(&fresh)).await,
        some("lancelot@camelot.bt")
    );
}
