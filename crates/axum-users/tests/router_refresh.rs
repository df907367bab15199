//! Refresh tokens through the real routers over SQLite (CONTRACT §5): login answers three
//! keys, `POST /auth/jwt/refresh` rotates, reuse revokes the family, logout and password
//! changes revoke, bad tokens are 401, bad bodies 422; with refresh tokens off nothing changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::{Method, StatusCode};
use axum_users::limits::{Limit, LimitedRoute, ManualClock, RateLimits};
use axum_users::openapi::{AuthDocOptions, OpenApiBuilder};
use axum_users::{
    AuthBackend, AuthRouterOptions, CookieTransport, UsersRouterOptions, UsersState, auth_router,
    not_found, register_router, reset_password_router, users_router,
};
use axum_users_core::{
    JwtStrategy, RefreshTokenStore as _, RefreshTokens, RequestContext, UserPatch, UserStore as _,
    refresh_token_hash,
};
use common::{
    BuilderExt as _, LIFETIME, Opts, PASSWORD, Reply, TestApp, app_with, detail, errors,
    jwt_payload, login_form, me, req, send, user, verified,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// A clock the test moves by hand.
#[derive(Clone)]
struct Hand(Arc<Mutex<SystemTime>>);

impl Hand {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

/// Refresh tokens live a day in these tests.
const REFRESH_LIFETIME: Duration = Duration::from_secs(86_400);

/// The app as `common` builds it, re-mounted with a bearer JWT backend and a cookie backend
/// (both with refresh tokens when `refresh`), reset-password and users, over the same SQLite
/// store (which keeps the refresh tokens too).
async fn app(opts: Opts, refresh: bool) -> (TestApp, Hand) {
    app_limited(opts, refresh, None).await
}

/// [`app`] with rate limits on its state.
async fn app_limited(opts: Opts, refresh: bool, limits: Option<RateLimits>) -> (TestApp, Hand) {
    let requires_verification = opts.login_requires_verification;
    let mut app = app_with(opts).await;
    let hand = Hand(Arc::new(Mutex::new(SystemTime::now())));
    let clock = hand.clone();
    let tokens = RefreshTokens::new(Arc::new(app.store.clone()))
        .with_lifetime(REFRESH_LIFETIME)
        .with_clock(move || clock.now());
    let strategy = Arc::new(JwtStrategy::new(app.codec.clone(), LIFETIME));
    let mut jwt = AuthBackend::new(
        "jwt",
        Arc::new(axum_users::BearerTransport),
        strategy.clone(),
    );
    let mut cookie = AuthBackend::new(
        "cookie",
        Arc::new(CookieTransport::new().secure(false)),
        strategy,
    );
    if refresh {
        jwt = jwt.with_refresh(tokens.clone());
        cookie = cookie.with_refresh(tokens);
    }
    let state = UsersState::new(app.manager.clone(), vec![jwt.clone(), cookie.clone()]);
    let state = match limits {
        Some(limits) => state.with_limits(limits),
        None => state,
    };
    let options = AuthRouterOptions {
        requires_verification,
    };
    app.router = Router::new()
        .nest("/auth/jwt", auth_router(jwt, options))
        .nest("/auth/cookie", auth_router(cookie, options))
        .nest(
            "/auth",
            register_router::<(), _>().merge(reset_password_router::<(), _>()),
        )
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .fallback(not_found)
        .with_state(state);
    (app, hand)
}

async fn on() -> (TestApp, Hand) {
    app(Opts::default(), true).await
}

fn keys(body: &Value) -> BTreeSet<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

fn three() -> BTreeSet<String> {
    ["access_token", "refresh_token", "token_type"]
        .map(str::to_owned)
        .into()
}

/// The tokens of a 200 login or refresh, checking the body's shape.
fn pair(r: &Reply) -> (String, String) {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let body = r.json();
    assert_eq!(keys(&body), three(), "{body}");
    assert_eq!(body["token_type"], "bearer");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Logs in through the jwt backend: `(access, refresh)`.
async fn login(app: &TestApp, email: &str) -> (String, String) {
    pair(&login_form(app, email, PASSWORD).await)
}

async fn refresh(app: &TestApp, token: &str) -> Reply {
    send(
        app,
        req(Method::POST, "/auth/jwt/refresh").json(&json!({ "refresh_token": token })),
    )
    .await
}

fn assert_unauthorized(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    assert_eq!(r.json(), detail("Unauthorized"));
    assert!(r.header("www-authenticate").is_none());
}

async fn logout(app: &TestApp, access: &str) -> Reply {
    send(
        app,
        req(Method::POST, "/auth/jwt/logout").bearer(access).empty(),
    )
    .await
}

#[tokio::test]
async fn login_gives_three_keys_and_refresh_a_new_pair() {
    let (app, _) = on().await;
    let u = user(&app, "percival@camelot.bt").await;
    let (access, refresh_token) = login(&app, "percival@camelot.bt").await;
    assert_eq!(refresh_token.len(), 43);
    let claims = jwt_payload(&access);
    assert_eq!(claims["sub"], u.id.to_string());
    let family = claims["sid"].as_str().unwrap().to_owned();
    Uuid::parse_str(&family).unwrap();
    assert_eq!(me(&app, &access).await.status, StatusCode::OK);

    let (access2, refresh2) = pair(&refresh(&app, &refresh_token).await);
    assert_ne!(refresh2, refresh_token);
    let claims2 = jwt_payload(&access2);
    assert_eq!(claims2["sub"], u.id.to_string());
    assert_eq!(claims2["sid"], family.as_str(), "the session is the same");
    assert_eq!(me(&app, &access2).await.status, StatusCode::OK);
    // And again, with the new one.
    let (_, refresh3) = pair(&refresh(&app, &refresh2).await);
    assert_ne!(refresh3, refresh2);
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_its_whole_family() {
    let (app, _) = on().await;
    user(&app, "lancelot@camelot.bt").await;
    let (_, r1) = login(&app, "lancelot@camelot.bt").await;
    let (_, other) = login(&app, "lancelot@camelot.bt").await;
    let (_, r2) = pair(&refresh(&app, &r1).await);
    let (_, r3) = pair(&refresh(&app, &r2).await);
    // The thief (or the client) presents r1 again.
    assert_unauthorized(&refresh(&app, &r1).await);
    // The newest token of the family is dead, as is every other.
    assert_unauthorized(&refresh(&app, &r3).await);
    assert_unauthorized(&refresh(&app, &r2).await);
    // Another session of the same user lives on.
    pair(&refresh(&app, &other).await);
}

#[tokio::test]
async fn logout_revokes_the_session_but_not_the_access_token() {
    let (app, _) = on().await;
    user(&app, "gawain@camelot.bt").await;
    let (access, r1) = login(&app, "gawain@camelot.bt").await;
    let (_, other) = login(&app, "gawain@camelot.bt").await;
    let r = logout(&app, &access).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    assert_unauthorized(&refresh(&app, &r1).await);
    // No logout invalidates an access JWT: it lives until `exp`.
    assert_eq!(me(&app, &access).await.status, StatusCode::OK);
    pair(&refresh(&app, &other).await);

    // Logging out with a refreshed access token ends the same session.
    let (_, r) = login(&app, "gawain@camelot.bt").await;
    let (access2, r2) = pair(&refresh(&app, &r).await);
    assert_eq!(logout(&app, &access2).await.status, StatusCode::NO_CONTENT);
    assert_unauthorized(&refresh(&app, &r2).await);
}

#[tokio::test]
async fn a_password_change_or_reset_revokes_every_session() {
    let (app, _) = on().await;
    let u = user(&app, "tristan@camelot.bt").await;
    let (access, a) = login(&app, "tristan@camelot.bt").await;
    let (_, b) = login(&app, "tristan@camelot.bt").await;
    let stranger = user(&app, "iseult@camelot.bt").await;
    let (_, s) = login(&app, &stranger.email).await;
    let r = send(
        &app,
        req(Method::PATCH, "/users/me")
            .bearer(&access)
            .json(&json!({ "password": "a new password" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_unauthorized(&refresh(&app, &a).await);
    assert_unauthorized(&refresh(&app, &b).await);
    let (_, s2) = pair(&refresh(&app, &s).await);

    // A reset, too.
    let (_, c) = pair(&login_form(&app, &u.email, "a new password").await);
    let token = app
        .manager
        .forgot_password(
            &app.manager.get(u.id).await.unwrap(),
            &RequestContext::default(),
        )
        .await
        .unwrap();
    let r = send(
        &app,
        req(Method::POST, "/auth/reset-password")
            .json(&json!({ "token": token, "password": PASSWORD })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_unauthorized(&refresh(&app, &c).await);
    pair(&refresh(&app, &s2).await);
}

#[tokio::test]
async fn a_deleted_or_inactive_user_cannot_refresh() {
    let (app, _) = on().await;
    let u = user(&app, "mordred@camelot.bt").await;
    let (_, r) = login(&app, &u.email).await;
    let active = |is_active| UserPatch {
        is_active: Some(is_active),
        ..UserPatch::default()
    };
    common::patch_row(&app, u.id, active(false)).await;
    assert_unauthorized(&refresh(&app, &r).await);
    // The session was revoked when the refresh was refused: reactivation does not revive it.
    assert!(
        app.store
            .get_refresh_token(&refresh_token_hash(&r))
            .await
            .unwrap()
            .is_none()
    );
    common::patch_row(&app, u.id, active(true)).await;
    assert_unauthorized(&refresh(&app, &r).await);
    // Deleted: the user's families go with the user (the cascade); the token reads as unknown.
    let (_, fresh) = login(&app, &u.email).await;
    assert!(app.store.delete(u.id).await.unwrap());
    assert_unauthorized(&refresh(&app, &fresh).await);
}

#[tokio::test]
async fn an_unverified_user_cannot_refresh_where_verification_is_required() {
    let (app, _) = app(
        Opts {
            login_requires_verification: true,
            ..Opts::default()
        },
        true,
    )
    .await;
    let u = verified(&app, "galahad@camelot.bt").await;
    let (_, r) = login(&app, &u.email).await;
    let (_, r2) = pair(&refresh(&app, &r).await);
    common::patch_row(
        &app,
        u.id,
        UserPatch {
            is_verified: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    assert_unauthorized(&refresh(&app, &r2).await);
}

#[tokio::test]
async fn unknown_malformed_foreign_and_expired_tokens_are_401() {
    let (app, hand) = on().await;
    user(&app, "kay@camelot.bt").await;
    let (access, r) = login(&app, "kay@camelot.bt").await;
    let long = "x".repeat(5000);
    for bad in [
        "",
        "nope",
        long.as_str(),
        access.as_str(),
        "Ch2Xx0v0nCLpEk3N1yJ8hS2uNq0a7Yd1lFqR6tWm9Zc",
    ] {
        assert_unauthorized(&refresh(&app, bad).await);
    }
    // The real one still works: failed attempts cost nothing.
    let (_, r2) = pair(&refresh(&app, &r).await);
    // A day on, it has expired.
    hand.advance(REFRESH_LIFETIME);
    assert_unauthorized(&refresh(&app, &r2).await);
}

#[tokio::test]
async fn malformed_bodies_are_422_in_pydantics_shape() {
    let (app, _) = on().await;
    let missing = vec![("missing".to_owned(), json!(["body", "refresh_token"]))];
    for body in [json!({}), json!([]), json!("token"), json!(null), json!(3)] {
        let r = send(&app, req(Method::POST, "/auth/jwt/refresh").json(&body)).await;
        assert_eq!(errors(&r), missing, "{body}");
    }
    let r = send(&app, req(Method::POST, "/auth/jwt/refresh").empty()).await;
    assert_eq!(errors(&r), missing);
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/refresh").form(&[("refresh_token", "x")]),
    )
    .await;
    assert_eq!(errors(&r), missing);
    for value in [json!(5), json!(null), json!(["x"]), json!({"a": 1})] {
        let r = send(
            &app,
            req(Method::POST, "/auth/jwt/refresh").json(&json!({ "refresh_token": value })),
        )
        .await;
        assert_eq!(
            errors(&r),
            vec![("string_type".to_owned(), json!(["body", "refresh_token"]))],
            "{value}"
        );
    }
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/refresh").raw("application/json", "{\"refresh_token\": }"),
    )
    .await;
    assert_eq!(errors(&r)[0].0, "json_invalid");
    // Only POST.
    let r = send(&app, req(Method::GET, "/auth/jwt/refresh").empty()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_simultaneous_refreshes_of_one_token_exactly_one_succeeds() {
    let (app, _) = on().await;
    user(&app, "bedivere@camelot.bt").await;
    let app = Arc::new(app);
    for _ in 0..5 {
        let (_, r) = login(&app, "bedivere@camelot.bt").await;
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (app, r) = (Arc::clone(&app), r.clone());
                tokio::spawn(async move { refresh(&app, &r).await })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap().status);
        }
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
    }
}

#[tokio::test]
async fn the_cookie_login_stays_204_without_a_refresh_route() {
    let (app, _) = on().await;
    user(&app, "elaine@camelot.bt").await;
    let r = send(
        &app,
        req(Method::POST, "/auth/cookie/login")
            .form(&[("username", "elaine@camelot.bt"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    let cookie = r.header("set-cookie").unwrap();
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("fastapiusersauth=");
    assert!(jwt_payload(token).get("sid").is_none());
    let r = send(
        &app,
        req(Method::POST, "/auth/cookie/refresh").json(&json!({ "refresh_token": "x" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_refresh_tokens_off_nothing_changes() {
    let (app, _) = app(Opts::default(), false).await;
    user(&app, "bors@camelot.bt").await;
    let r = login_form(&app, "bors@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(
        keys(&body),
        ["access_token", "token_type"].map(str::to_owned).into()
    );
    let claims = jwt_payload(body["access_token"].as_str().unwrap());
    assert!(claims.get("sid").is_none(), "{claims}");
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/refresh").json(&json!({ "refresh_token": "x" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), detail("Not Found"));
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(logout(&app, access).await.status, StatusCode::NO_CONTENT);
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document.

fn doc(refresh: bool) -> Value {
    let doc = OpenApiBuilder::new("axum-users", "0.1.0")
        .auth(
            "/auth/jwt",
            "jwt",
            AuthDocOptions::bearer().refresh_tokens(refresh),
        )
        .auth(
            "/auth/cookie",
            "cookie",
            AuthDocOptions::cookie("fastapiusersauth").refresh_tokens(refresh),
        )
        .users("/users", UsersRouterOptions::default())
        .build();
    serde_json::to_value(&doc).unwrap()
}

fn schema_ref(response: &Value) -> &str {
    response["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
}

#[test]
fn the_document_lists_the_refresh_route_and_field_when_on() {
    let on = doc(true);
    let paths: BTreeSet<&str> = on["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert!(paths.contains("/auth/jwt/refresh"));
    assert!(
        !paths.contains("/auth/cookie/refresh"),
        "no refresh through a cookie"
    );
    let op = &on["paths"]["/auth/jwt/refresh"]["post"];
    assert_eq!(op["operationId"], "auth_jwt_refresh_auth_jwt_refresh_post");
    let statuses: BTreeSet<&str> = op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(statuses, ["200", "400", "401", "413", "422", "503"].into());
    assert_eq!(
        schema_ref(&op["responses"]["200"]),
        "#/components/schemas/BearerRefreshResponse"
    );
    assert!(op.get("security").is_none(), "no Authorization needed");
    let body = &on["components"]["schemas"]["Body_auth_jwt_refresh_auth_jwt_refresh_post"];
    assert_eq!(body["required"], json!(["refresh_token"]));
    let login = &on["paths"]["/auth/jwt/login"]["post"]["responses"]["200"];
    assert_eq!(
        schema_ref(login),
        "#/components/schemas/BearerRefreshResponse"
    );
    let example = &login["content"]["application/json"]["examples"]["tokens"]["value"];
    assert_eq!(keys(example), three());
    let schema = &on["components"]["schemas"]["BearerRefreshResponse"];
    let required: BTreeSet<String> = serde_json::from_value(schema["required"].clone()).unwrap();
    assert_eq!(required, three());
    let logout = &on["paths"]["/auth/jwt/logout"]["post"]["description"];
    assert!(logout.as_str().unwrap().contains("refresh-token family"));
    // The cookie login is unchanged.
    assert!(on["paths"]["/auth/cookie/login"]["post"]["responses"]["204"].is_object());

    let off = doc(false);
    assert!(off["paths"].get("/auth/jwt/refresh").is_none());
    assert!(
        off["components"]["schemas"]
            .get("BearerRefreshResponse")
            .is_none()
    );
    assert_eq!(
        schema_ref(&off["paths"]["/auth/jwt/login"]["post"]["responses"]["200"]),
        "#/components/schemas/BearerResponse"
    );
}

/// Validates `instance` against the component or inline `schema` of `doc`.
fn schema_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let registry = jsonschema::Registry::new()
        .add("urn:openapi-doc", doc.clone())
        .unwrap()
        .prepare()
        .unwrap();
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => json!({ "$ref": format!("urn:openapi-doc{r}") }),
        None => schema.clone(),
    };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[tokio::test]
async fn examples_and_real_answers_match_the_documented_schemas() {
    let doc = doc(true);
    let mut checked = 0;
    for path in ["/auth/jwt/login", "/auth/jwt/refresh", "/auth/jwt/logout"] {
        let op = &doc["paths"][path]["post"];
        for (status, response) in op["responses"].as_object().unwrap() {
            let Some(media) = response.get("content").map(|c| &c["application/json"]) else {
                continue;
            };
            for (key, example) in media["examples"].as_object().into_iter().flatten() {
                let errors = schema_errors(&doc, &media["schema"], &example["value"]);
                assert!(errors.is_empty(), "{path} {status} {key}: {errors:?}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples");

    let (app, _) = on().await;
    user(&app, "dagonet@camelot.bt").await;
    let schema_of = |path: &str, status: &str| {
        doc["paths"][path]["post"]["responses"][status]["content"]["application/json"]["schema"]
            .clone()
    };
    let login = login_form(&app, "dagonet@camelot.bt", PASSWORD).await;
    let (_, r) = pair(&login);
    let answers = [
        ("/auth/jwt/login", login),
        ("/auth/jwt/refresh", refresh(&app, &r).await),
        ("/auth/jwt/refresh", refresh(&app, &r).await),
        (
            "/auth/jwt/refresh",
            send(
                &app,
                req(Method::POST, "/auth/jwt/refresh").json(&json!({})),
            )
            .await,
        ),
    ];
    for (path, answer) in answers {
        let status = answer.status.as_str().to_owned();
        let schema = schema_of(path, &status);
        assert!(schema.is_object(), "{path} {status} is not documented");
        let errors = schema_errors(&doc, &schema, &answer.json());
        assert!(errors.is_empty(), "{path} {status}: {errors:?}");
    }
}

#[tokio::test]
async fn refresh_is_limited_per_client_ip_and_recovers() {
    let clock = ManualClock::new();
    let limits = RateLimits::default()
        .with_clock(Arc::new(clock.clone()))
        .with_ip_limit(LimitedRoute::Refresh, Some(Limit::per_minute(2)));
    let (app, _) = app_limited(Opts::default(), true, Some(limits)).await;
    let from = |peer: [u8; 4], token: &str| {
        let mut r = req(Method::POST, "/auth/jwt/refresh").json(&json!({ "refresh_token": token }));
        r.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                peer, 40_000,
            ))));
        r
    };
    let alice = [203, 0, 113, 7];
    // Two guesses are answered (401), the third is refused before any lookup.
    for _ in 0..2 {
        assert_unauthorized(&send(&app, from(alice, "guess")).await);
    }
    let r = send(&app, from(alice, "guess")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    assert_eq!(r.json(), detail("Too Many Requests"));
    assert!(r.header("retry-after").is_some());
    // Another client is not affected; alice recovers once the window has slid by.
    assert_unauthorized(&send(&app, from([198, 51, 100, 1], "guess")).await);
    clock.advance(Duration::from_secs(120));
    assert_unauthorized(&send(&app, from(alice, "guess")).await);
}
