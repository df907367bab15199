//! The OAuth routes over HTTP (CONTRACT §1 OAuth rows, §3, §4.7) against a real local OAuth2 /
//! OpenID Connect provider (`oauth_provider`), through the real providers of
//! `axum-users-oauth`, over SQLite: every status and `detail` of the callback, the three
//! outcomes of a login callback, association, the state's single use and its binding to the
//! CSRF cookie, and what never leaves the server (provider tokens).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod oauth_provider;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{Method, Request, StatusCode};
use axum_users::{
    AuthBackend, CookieTransport, CsrfCookie, OAuthAssociateOptions, OAuthRouterConfig,
    UsersRouterOptions, UsersState, not_found, oauth_associate_router, oauth_router, users_router,
};
use axum_users_core::oauth::{
    FlowSecrets, OAuthAccountStore, OAuthAccounts, OAuthCallbackOptions, OAuthProvider,
    OAuthStateCodec, TokenCipher,
};
use axum_users_core::{
    AccessClaims, Argon2Hasher, Argon2Params, CreateMode, HashPool, HashPoolConfig, JwtCodec,
    JwtStrategy, NoHooks, RequestContext, User, UserCreate, UserManager, UserPatch, UserStore,
};
use axum_users_oauth::{ClientCredentials, OAuth2Config, OidcConfig, ProfileSource};
use axum_users_sqlx::SqliteStore;
use common::{BuilderExt as _, Reply, detail, req};
use http_body_util::BodyExt as _;
use oauth_provider::{CLIENT_ID, CLIENT_SECRET, FakeProvider, Person, Spoil};
use serde_json::Value;
use tower::ServiceExt as _;

const SECRET: &[u8] = b"test secret of at least thirty-two bytes";
const STATE_SECRET: &[u8] = b"oauth state secret, thirty-two bytes+";
const CALLBACK: &str = "http://app.test/auth/fake/callback";

/// How the app is built.
#[derive(Default, Clone)]
struct Setup {
    options: OAuthCallbackOptions,
    requires_verification: bool,
    encrypt: bool,
}

struct App {
    router: Router,
    store: SqliteStore,
    manager: UserManager,
    codec: JwtCodec,
    provider: FakeProvider,
    _dir: tempfile::TempDir,
}

fn credentials() -> ClientCredentials {
    ClientCredentials::new(CLIENT_ID, Some(CLIENT_SECRET))
}

/// The generic OAuth2 provider `fake` (userinfo), at the fake provider.
fn generic(base: &str) -> Arc<dyn OAuthProvider> {
    let config = OAuth2Config::new(
        "fake",
        credentials(),
        format!("{base}/authorize"),
        format!("{base}/token"),
        ProfileSource::userinfo(format!("{base}/userinfo")),
    )
    .scopes(["profile", "email"]);
    Arc::new(config.build().unwrap())
}

/// The GitHub preset, pointed at the fake provider.
fn github(base: &str) -> Arc<dyn OAuthProvider> {
    let mut config = OAuth2Config::github(credentials());
    config.authorize_url = format!("{base}/authorize");
    config.token_url = format!("{base}/token");
    config.profile = ProfileSource::GitHub {
        api_url: format!("{base}/api"),
    };
    Arc::new(config.build().unwrap())
}

/// The GitLab preset for a GitLab at the fake provider (`client_secret_post`).
fn gitlab(base: &str) -> Arc<dyn OAuthProvider> {
    Arc::new(OAuth2Config::gitlab(credentials(), base).build().unwrap())
}

/// The Microsoft preset, pointed at the fake provider.
fn microsoft(base: &str) -> Arc<dyn OAuthProvider> {
    let mut config = OAuth2Config::microsoft(credentials(), "common");
    config.authorize_url = format!("{base}/authorize");
    config.token_url = format!("{base}/token");
    config.profile = ProfileSource::MicrosoftGraph {
        me_url: format!("{base}/v1.0/me"),
    };
    Arc::new(config.build().unwrap())
}

/// OpenID Connect by discovery at the fake provider.
fn oidc(base: &str) -> Arc<dyn OAuthProvider> {
    let discovery = format!("{base}/.well-known/openid-configuration");
    Arc::new(
        OidcConfig::new("oidc", credentials(), discovery)
            .build()
            .unwrap(),
    )
}

/// The Google preset (OIDC, `people/` ids) with the fake provider as its issuer.
fn google(base: &str) -> Arc<dyn OAuthProvider> {
    let mut config = OidcConfig::google(credentials());
    config.issuer_url = base.to_owned();
    Arc::new(config.build().unwrap())
}

/// Mounts, over a fresh SQLite file, with a bearer JWT backend:
/// `/auth/{fake,github,oidc,google}` (login), `/auth/cookie` (the `fake` provider through a
/// cookie backend, redirecting to the frontend), `/auth/expired` (states that expire at
/// once), `/auth/associate/fake`, and `/users`.
async fn app_with(setup: Setup) -> App {
    let provider = FakeProvider::start().await;
    let base = provider.base().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let store = SqliteStore::<()>::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = HashPool::new(
        Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
        HashPoolConfig {
            workers: 2,
            ..HashPoolConfig::default()
        },
    );
    let manager = UserManager::new(Arc::new(store.clone()), pool, Arc::new(NoHooks));
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let strategy = JwtStrategy::new(codec.clone(), 3600);
    let jwt = AuthBackend::bearer_jwt("jwt", strategy.clone());
    let cookie = AuthBackend::new(
        "cookie",
        Arc::new(CookieTransport::new()),
        Arc::new(strategy),
    );
    let mut accounts = OAuthAccounts::new(Arc::new(store.clone()));
    if setup.encrypt {
        accounts = accounts
            .encrypt_tokens(TokenCipher::new(b"token encryption secret, 32 bytes").unwrap());
    }
    let state_store = Arc::new(store.clone());
    let config = |provider: Arc<dyn OAuthProvider>, callback: &str| {
        OAuthRouterConfig::new(provider, accounts.clone(), STATE_SECRET, callback)
            .unwrap()
            .options(setup.options)
            .state_store(state_store.clone())
    };
    let state = UsersState::new(manager.clone(), vec![jwt.clone(), cookie.clone()]);
    let router = Router::new()
        .nest(
            "/auth/fake",
            oauth_router(jwt.clone(), config(generic(&base), CALLBACK)),
        )
        .nest(
            "/auth/github",
            oauth_router(
                jwt.clone(),
                config(github(&base), "http://app.test/auth/github/callback"),
            ),
        )
        .nest(
            "/auth/oidc",
            oauth_router(
                jwt.clone(),
                config(oidc(&base), "http://app.test/auth/oidc/callback"),
            ),
        )
        .nest(
            "/auth/google",
            oauth_router(
                jwt.clone(),
                config(google(&base), "http://app.test/auth/google/callback"),
            ),
        )
        .nest(
            "/auth/gitlab",
            oauth_router(
                jwt.clone(),
                config(gitlab(&base), "http://app.test/auth/gitlab/callback"),
            ),
        )
        .nest(
            "/auth/microsoft",
            oauth_router(
                jwt.clone(),
                config(microsoft(&base), "http://app.test/auth/microsoft/callback"),
            ),
        )
        .nest(
            "/auth/cookie",
            oauth_router(
                cookie,
                config(generic(&base), "http://app.test/auth/cookie/callback")
                    .frontend_redirect(Some("http://frontend.test/welcome".into())),
            ),
        )
        .nest(
            "/auth/expired",
            oauth_router(
                jwt.clone(),
                config(generic(&base), "http://app.test/auth/expired/callback").state_lifetime(0),
            ),
        )
        .nest(
            "/auth/associate/fake",
            oauth_associate_router(
                config(
                    generic(&base),
                    "http://app.test/auth/associate/fake/callback",
                ),
                OAuthAssociateOptions {
                    requires_verification: setup.requires_verification,
                },
            ),
        )
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .fallback(not_found)
        .with_state(state);
    App {
        router,
        store,
        manager,
        codec,
        provider,
        _dir: dir,
    }
}

async fn default_app() -> App {
    app_with(Setup::default()).await
}

async fn send(app: &App, req: Request<Body>) -> Reply {
    let response = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// `GET uri`, with the CSRF cookie and a bearer token when given.
async fn get(app: &App, uri: &str, cookie: Option<&str>, bearer: Option<&str>) -> Reply {
    let mut b = req(Method::GET, uri);
    if let Some(c) = cookie {
        b = b.header(COOKIE, format!("fastapiusersoauthcsrf={c}"));
    }
    if let Some(t) = bearer {
        b = b.bearer(t);
    }
    send(app, b.empty()).await
}

fn set_cookies(r: &Reply) -> Vec<String> {
    r.headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The value the authorize route put in the CSRF cookie.
fn csrf_of(r: &Reply) -> String {
    let cookie = set_cookies(r)
        .into_iter()
        .find(|c| c.starts_with("fastapiusersoauthcsrf="))
        .expect("a CSRF cookie");
    cookie["fastapiusersoauthcsrf=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

const CLEARED: &str =
    "fastapiusersoauthcsrf=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure";

fn assert_cookie_cleared(r: &Reply) {
    assert!(
        set_cookies(r).iter().any(|c| c == CLEARED),
        "the callback clears the CSRF cookie: {:?}",
        set_cookies(r)
    );
}

/// A started flow: the authorization URL and the CSRF cookie's value.
async fn start(app: &App, prefix: &str, bearer: Option<&str>) -> (String, String) {
    let r = get(app, &format!("{prefix}/authorize"), None, bearer).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let url = r.json()["authorization_url"].as_str().unwrap().to_owned();
    (url, csrf_of(&r))
}

async fn callback(
    app: &App,
    prefix: &str,
    code: &str,
    state: &str,
    cookie: Option<&str>,
    bearer: Option<&str>,
) -> Reply {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("code", code)
        .append_pair("state", state)
        .finish();
    get(app, &format!("{prefix}/callback?{query}"), cookie, bearer).await
}

/// A whole login as `person` through the provider at `prefix`.
async fn login_as(app: &App, prefix: &str, person: Person) -> Reply {
    app.provider.sign_in_as(person);
    let (url, cookie) = start(app, prefix, None).await;
    let (code, state) = app.provider.approve(&url).await;
    callback(app, prefix, &code, &state, Some(&cookie), None).await
}

fn assert_code(r: &Reply, code: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.json(), detail(code));
    assert_cookie_cleared(r);
}

/// The user a bearer login response stands for.
async fn whoami(app: &App, r: &Reply) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let me = get(app, "/users/me", None, Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    me.json()
}

async fn user(app: &App, email: &str, active: bool, verified: bool) -> User {
    let mut c = UserCreate::new(email.to_owned(), "guinevere".to_owned());
    c.is_active = Some(active);
    c.is_verified = Some(verified);
    app.manager
        .create(c, CreateMode::Privileged, &RequestContext::default())
        .await
        .unwrap()
}

fn token_for(app: &App, user: &User) -> String {
    app.codec
        .encode(&AccessClaims::new(user.id.to_string(), 3600))
        .unwrap()
}

fn id_of(v: &Value) -> uuid::Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Authorize.

#[tokio::test]
async fn authorize_answers_the_url_and_sets_the_csrf_cookie() {
    let app = default_app().await;
    let r = get(&app, "/auth/fake/authorize", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.json();
    assert_eq!(body.as_object().unwrap().len(), 1);
    let url = reqwest::Url::parse(body["authorization_url"].as_str().unwrap()).unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}/authorize?", app.provider.base()))
    );
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], CALLBACK);
    assert_eq!(q["scope"], "profile email");
    assert_eq!(q["code_challenge_method"], "S256");
    let cookie = csrf_of(&r);
    assert_eq!(cookie.len(), 43);
    assert_eq!(
        set_cookies(&r),
        vec![format!(
            "fastapiusersoauthcsrf={cookie}; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"
        )]
    );
    // The state: FastAPI Users' claims, bound to the cookie without containing it.
    let state = common::jwt_payload(&q["state"]);
    assert_eq!(state["aud"], "fastapi-users:oauth-state");
    assert_eq!(state["oauth_name"], "fake");
    assert!(state.get("sub").is_none());
    assert_eq!(
        state["csrftoken"],
        FlowSecrets::from_cookie(&cookie).csrf_digest()
    );
    assert!(!q["state"].contains(&cookie) && !url.as_str().contains(&cookie));
    // The PKCE challenge is the S256 of a verifier that appears nowhere.
    assert_eq!(q["code_challenge"].len(), 43);

    // Repeated `scopes` replace the configured ones.
    let r = get(
        &app,
        "/auth/fake/authorize?scopes=read&scopes=write",
        None,
        None,
    )
    .await;
    let url = reqwest::Url::parse(r.json()["authorization_url"].as_str().unwrap()).unwrap();
    let scope = url
        .query_pairs()
        .find(|(k, _)| k == "scope")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(scope, "read write");
}

// ---------------------------------------------------------------------------------------------
// The three outcomes of a login callback.

#[tokio::test]
async fn a_new_account_creates_an_unverified_user_and_logs_in() {
    let app = default_app().await;
    let r = login_as(&app, "/auth/fake", Person::new("1001", "Arthur@Camelot.BT")).await;
    assert_cookie_cleared(&r);
    assert_eq!(r.json()["token_type"], "bearer");
    let me = whoami(&app, &r).await;
    assert_eq!(me["email"], "Arthur@camelot.bt");
    assert_eq!(me["is_verified"], false);
    assert_eq!(me["is_active"], true);
    assert_eq!(me["is_superuser"], false);
    // UserRead never carries provider tokens (nor oauth_accounts).
    assert_eq!(me.as_object().unwrap().len(), 5, "{me}");
    let id = id_of(&me);
    let stored = app.store.get(id).await.unwrap().unwrap();
    assert!(stored.hashed_password.starts_with("$argon2id$"));
    let linked = app.store.list_oauth_accounts(id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].oauth_name, "fake");
    assert_eq!(linked[0].account_id, "1001");
    assert!(linked[0].access_token.starts_with("at-"));
    assert!(
        linked[0]
            .refresh_token
            .as_deref()
            .unwrap()
            .starts_with("rt-")
    );
    assert!(linked[0].expires_at.unwrap() > 1_700_000_000);
    // The user can log in again with a password nobody knows: no.
    assert!(
        app.manager
            .authenticate("arthur@camelot.bt", "")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_linked_account_logs_its_user_in_and_refreshes_the_tokens() {
    let app = default_app().await;
    let first = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("7", "a@camelot.bt")).await,
    )
    .await;
    let before = app.store.list_oauth_accounts(id_of(&first)).await.unwrap();
    // The provider now says another email: the same account, the same user.
    let second = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("7", "b@camelot.bt")).await,
    )
    .await;
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["email"], "a@camelot.bt");
    let after = app.store.list_oauth_accounts(id_of(&first)).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, before[0].id);
    assert_ne!(after[0].access_token, before[0].access_token);
    assert_eq!(after[0].account_email, "b@camelot.bt");
}

#[tokio::test]
async fn an_existing_email_is_linked_only_with_associate_by_email() {
    let app = default_app().await;
    let known = user(&app, "percival@camelot.bt", true, false).await;
    let r = login_as(&app, "/auth/fake", Person::new("9", "Percival@camelot.bt")).await;
    assert_code(&r, "OAUTH_USER_ALREADY_EXISTS");
    assert!(
        app.store
            .list_oauth_accounts(known.id)
            .await
            .unwrap()
            .is_empty()
    );

    let app = app_with(Setup {
        options: OAuthCallbackOptions {
            associate_by_email: true,
            ..OAuthCallbackOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let known = user(&app, "percival@camelot.bt", true, false).await;
    let me = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("9", "Percival@camelot.bt")).await,
    )
    .await;
    assert_eq!(id_of(&me), known.id);
    assert_eq!(me["is_verified"], false, "not trusted: stays unverified");
    assert_eq!(
        app.store.list_oauth_accounts(known.id).await.unwrap().len(),
        1
    );
    // An address the provider says is unverified is never linked by email.
    user(&app, "bors@camelot.bt", true, false).await;
    let mut unverified = Person::new("10", "bors@camelot.bt");
    unverified.email_verified = Some(false);
    let r = login_as(&app, "/auth/fake", unverified).await;
    assert_code(&r, "OAUTH_USER_ALREADY_EXISTS");
}

#[tokio::test]
async fn is_verified_by_default_and_trusted_email_verified() {
    let app = app_with(Setup {
        options: OAuthCallbackOptions {
            is_verified_by_default: true,
            ..OAuthCallbackOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let mut unverified = Person::new("1", "a@camelot.bt");
    unverified.email_verified = Some(false);
    let me = whoami(&app, &login_as(&app, "/auth/fake", unverified).await).await;
    assert_eq!(me["is_verified"], true);

    // Without trust, the provider's `email_verified` changes nothing (FastAPI Users).
    let app = default_app().await;
    let me = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("1", "a@camelot.bt")).await,
    )
    .await;
    assert_eq!(me["is_verified"], false);

    let app = app_with(Setup {
        options: OAuthCallbackOptions {
            trust_email_verified: true,
            associate_by_email: true,
            ..OAuthCallbackOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let me_ = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("1", "a@camelot.bt")).await,
    )
    .await;
    assert_eq!(me_["is_verified"], true);
    let mut unverified = Person::new("2", "b@camelot.bt");
    unverified.email_verified = Some(false);
    let me_ = whoami(&app, &login_as(&app, "/auth/fake", unverified).await).await;
    assert_eq!(me_["is_verified"], false);
    // An existing user whose address the provider vouches for becomes verified.
    let known = user(&app, "c@camelot.bt", true, false).await;
    let me_ = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("3", "c@camelot.bt")).await,
    )
    .await;
    assert_eq!(id_of(&me_), known.id);
    assert_eq!(me_["is_verified"], true);
}

#[tokio::test]
async fn no_email_or_an_invalid_one_is_oauth_not_available_email() {
    let app = default_app().await;
    let mut none = Person::new("1", "x@camelot.bt");
    none.email = None;
    assert_code(
        &login_as(&app, "/auth/fake", none).await,
        "OAUTH_NOT_AVAILABLE_EMAIL",
    );
    for invalid in ["merlin@localhost", "not an address", "a@b@camelot.bt"] {
        let r = login_as(&app, "/auth/fake", Person::new("1", invalid)).await;
        assert_code(&r, "OAUTH_NOT_AVAILABLE_EMAIL");
    }
}

#[tokio::test]
async fn an_inactive_user_is_refused_with_bad_credentials() {
    let app = default_app().await;
    let me = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("5", "kay@camelot.bt")).await,
    )
    .await;
    let patch = UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    };
    app.store.update(id_of(&me), patch).await.unwrap();
    let r = login_as(&app, "/auth/fake", Person::new("5", "kay@camelot.bt")).await;
    assert_code(&r, "LOGIN_BAD_CREDENTIALS");
}

// ---------------------------------------------------------------------------------------------
// The state and the CSRF cookie, all checked before the code is exchanged.

#[tokio::test]
async fn state_errors_and_the_code_is_never_exchanged() {
    let app = default_app().await;
    let (url, cookie) = start(&app, "/auth/fake", None).await;
    let (code, state) = app.provider.approve(&url).await;

    // No state, a garbage one, one signed with another secret, one of another audience.
    let r = get(
        &app,
        &format!("/auth/fake/callback?code={code}"),
        Some(&cookie),
        None,
    )
    .await;
    assert_code(&r, "ACCESS_TOKEN_DECODE_ERROR");
    let r = callback(&app, "/auth/fake", &code, "garbage", Some(&cookie), None).await;
    assert_code(&r, "ACCESS_TOKEN_DECODE_ERROR");
    let other = OAuthStateCodec::new(b"another state secret, 32 bytes long")
        .unwrap()
        .issue(&FlowSecrets::from_cookie(&cookie), "fake", None)
        .unwrap()
        .0;
    let r = callback(&app, "/auth/fake", &code, &other, Some(&cookie), None).await;
    assert_code(&r, "ACCESS_TOKEN_DECODE_ERROR");
    let access = app
        .codec
        .encode(&AccessClaims::new("x".into(), 60))
        .unwrap();
    let r = callback(&app, "/auth/fake", &code, &access, Some(&cookie), None).await;
    assert_code(&r, "ACCESS_TOKEN_DECODE_ERROR");

    // No CSRF cookie, or another browser's.
    let r = callback(&app, "/auth/fake", &code, &state, None, None).await;
    assert_code(&r, "OAUTH_INVALID_STATE");
    let (_, other_cookie) = start(&app, "/auth/fake", None).await;
    let r = callback(&app, "/auth/fake", &code, &state, Some(&other_cookie), None).await;
    assert_code(&r, "OAUTH_INVALID_STATE");

    // A state for another provider, with its own cookie.
    let (gh_url, gh_cookie) = start(&app, "/auth/github", None).await;
    let (_, gh_state) = app.provider.approve(&gh_url).await;
    let r = callback(&app, "/auth/fake", &code, &gh_state, Some(&gh_cookie), None).await;
    assert_code(&r, "OAUTH_INVALID_STATE");

    assert_eq!(app.provider.exchanges(), 0, "no code was exchanged");

    // The right state and cookie: now it is.
    let r = callback(&app, "/auth/fake", &code, &state, Some(&cookie), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(app.provider.exchanges(), 1);
}

#[tokio::test]
async fn a_state_is_single_use() {
    let app = default_app().await;
    let (url, cookie) = start(&app, "/auth/fake", None).await;
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(&app, "/auth/fake", &code, &state, Some(&cookie), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_cookie_cleared(&r);
    // Replayed (cookie kept by the attacker, or a new code with the old state): refused
    // before any exchange.
    let (url2, _) = start(&app, "/auth/fake", None).await;
    let (code2, _) = app.provider.approve(&url2).await;
    for c in [&code, &code2] {
        let r = callback(&app, "/auth/fake", c, &state, Some(&cookie), None).await;
        assert_code(&r, "OAUTH_INVALID_STATE");
    }
    assert_eq!(app.provider.exchanges(), 1);
}

#[tokio::test]
async fn an_expired_state_is_access_token_already_expired() {
    let app = default_app().await;
    let (url, cookie) = start(&app, "/auth/expired", None).await;
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(&app, "/auth/expired", &code, &state, Some(&cookie), None).await;
    assert_code(&r, "ACCESS_TOKEN_ALREADY_EXPIRED");
    assert_eq!(app.provider.exchanges(), 0);
}

#[tokio::test]
async fn provider_error_and_missing_code() {
    let app = default_app().await;
    let (_, cookie) = start(&app, "/auth/fake", None).await;
    let r = get(
        &app,
        "/auth/fake/callback?error=access_denied&state=x",
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), detail("access_denied"));
    assert_cookie_cleared(&r);
    let r = get(
        &app,
        "/auth/fake/callback?error=%3Cscript%3E%22",
        None,
        None,
    )
    .await;
    assert_eq!(r.json(), detail("Bad Request"));
    let r = get(&app, "/auth/fake/callback?state=x", Some(&cookie), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), detail("Bad Request"));
    assert_cookie_cleared(&r);
    assert_eq!(app.provider.exchanges(), 0);
}

#[tokio::test]
async fn a_refused_code_is_500_and_an_unreachable_provider_503() {
    let app = default_app().await;
    let (url, cookie) = start(&app, "/auth/fake", None).await;
    let (_, state) = app.provider.approve(&url).await;
    let r = callback(
        &app,
        "/auth/fake",
        "not-a-code",
        &state,
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{:?}", r.body);
    assert_eq!(r.json(), detail("Internal Server Error"));
    assert_cookie_cleared(&r);

    // A provider on a port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let store = SqliteStore::<()>::in_memory().await.unwrap();
    store.migrate().await.unwrap();
    let manager = UserManager::new(
        Arc::new(store.clone()),
        HashPool::new(
            Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
            HashPoolConfig::default(),
        ),
        Arc::new(NoHooks),
    );
    let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(app.codec.clone(), 60));
    let accounts = OAuthAccounts::new(Arc::new(store.clone()));
    let config =
        OAuthRouterConfig::new(generic(&closed), accounts.clone(), STATE_SECRET, CALLBACK).unwrap();
    let oidc_config =
        OAuthRouterConfig::new(oidc(&closed), accounts, STATE_SECRET, CALLBACK).unwrap();
    let router: Router = Router::new()
        .nest("/auth/fake", oauth_router(jwt.clone(), config))
        .nest("/auth/oidc", oauth_router(jwt.clone(), oidc_config))
        .with_state(UsersState::new(manager, vec![jwt]));
    let offline = App {
        router,
        store: app.store.clone(),
        manager: app.manager.clone(),
        codec: app.codec.clone(),
        provider: app.provider.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (url, cookie) = start(&offline, "/auth/fake", None).await;
    let state = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let r = callback(&offline, "/auth/fake", "code", &state, Some(&cookie), None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    // OpenID Connect discovery that cannot happen: the authorize route is 503 too.
    let r = get(&offline, "/auth/oidc/authorize", None, None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect and the presets.

#[tokio::test]
async fn oidc_login_by_discovery_with_a_verified_id_token() {
    let app = app_with(Setup {
        options: OAuthCallbackOptions {
            trust_email_verified: true,
            ..OAuthCallbackOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let (url, _) = start(&app, "/auth/oidc", None).await;
    let q: std::collections::HashMap<String, String> = reqwest::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(q["nonce"].len(), 43);
    let me = whoami(
        &app,
        &login_as(
            &app,
            "/auth/oidc",
            Person::new("oidc-sub-1", "gawain@camelot.bt"),
        )
        .await,
    )
    .await;
    assert_eq!(me["email"], "gawain@camelot.bt");
    assert_eq!(
        me["is_verified"], true,
        "the ID token's email_verified, trusted"
    );
    let linked = app.store.list_oauth_accounts(id_of(&me)).await.unwrap();
    assert_eq!(linked[0].account_id, "oidc-sub-1");

    // No email in the ID token: the userinfo endpoint's.
    app.provider.spoil(Spoil::NoEmail);
    let me = whoami(
        &app,
        &login_as(
            &app,
            "/auth/oidc",
            Person::new("oidc-sub-2", "gareth@camelot.bt"),
        )
        .await,
    )
    .await;
    assert_eq!(me["email"], "gareth@camelot.bt");
}

#[tokio::test]
async fn oidc_refuses_bad_id_tokens() {
    let app = default_app().await;
    app.provider.spoil(Spoil::Nonce);
    let r = login_as(&app, "/auth/oidc", Person::new("s", "a@camelot.bt")).await;
    assert_code(&r, "OAUTH_INVALID_STATE");
    for spoil in [
        Spoil::Audience,
        Spoil::Expired,
        Spoil::Signature,
        Spoil::Issuer,
    ] {
        app.provider.spoil(spoil);
        let r = login_as(&app, "/auth/oidc", Person::new("s", "a@camelot.bt")).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{spoil:?}");
        assert_cookie_cleared(&r);
    }
    assert!(
        app.manager.get_by_email("a@camelot.bt").await.is_err(),
        "nobody was created"
    );
}

#[tokio::test]
async fn google_preset_uses_people_ids() {
    let app = default_app().await;
    let me = whoami(
        &app,
        &login_as(
            &app,
            "/auth/google",
            Person::new("1234567890", "arthur@camelot.bt"),
        )
        .await,
    )
    .await;
    let linked = app.store.list_oauth_accounts(id_of(&me)).await.unwrap();
    assert_eq!(linked[0].oauth_name, "google");
    assert_eq!(linked[0].account_id, "people/1234567890");
}

#[tokio::test]
async fn github_preset_takes_the_primary_verified_email() {
    let app = default_app().await;
    let mut person = Person::new("583231", "ignored@camelot.bt");
    person.github_emails = vec![
        ("other@camelot.bt".into(), false, true),
        ("octo@camelot.bt".into(), true, true),
    ];
    let me = whoami(&app, &login_as(&app, "/auth/github", person).await).await;
    assert_eq!(me["email"], "octo@camelot.bt");
    let linked = app.store.list_oauth_accounts(id_of(&me)).await.unwrap();
    assert_eq!(linked[0].account_id, "583231");

    // A primary address GitHub has not verified is no address.
    let mut person = Person::new("583232", "x@camelot.bt");
    person.github_emails = vec![
        ("unverified@camelot.bt".into(), true, false),
        ("verified@camelot.bt".into(), false, true),
    ];
    let r = login_as(&app, "/auth/github", person).await;
    assert_code(&r, "OAUTH_NOT_AVAILABLE_EMAIL");
}

#[tokio::test]
async fn gitlab_preset_posts_its_secret_and_reads_confirmed_at() {
    let app = app_with(Setup {
        options: OAuthCallbackOptions {
            trust_email_verified: true,
            ..OAuthCallbackOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let (url, _) = start(&app, "/auth/gitlab", None).await;
    assert!(url.starts_with(&format!("{}/oauth/authorize?", app.provider.base())));
    assert!(url.contains("scope=read_user"));
    let me = whoami(
        &app,
        &login_as(
            &app,
            "/auth/gitlab",
            Person::new("4242", "gitlab@camelot.bt"),
        )
        .await,
    )
    .await;
    assert_eq!(me["is_verified"], true, "confirmed_at is set");
    let linked = app.store.list_oauth_accounts(id_of(&me)).await.unwrap();
    assert_eq!(
        (linked[0].oauth_name.as_str(), linked[0].account_id.as_str()),
        ("gitlab", "4242")
    );
    let mut unconfirmed = Person::new("4243", "new@camelot.bt");
    unconfirmed.email_verified = Some(false);
    let me = whoami(&app, &login_as(&app, "/auth/gitlab", unconfirmed).await).await;
    assert_eq!(me["is_verified"], false);
}

#[tokio::test]
async fn microsoft_preset_reads_graph_and_never_vouches() {
    let app = app_with(Setup {
        options: OAuthCallbackOptions {
            trust_email_verified: true,
            ..OAuthCallbackOptions::default()
        },
        ..Setup::default()
    })
    .await;
    let (url, _) = start(&app, "/auth/microsoft", None).await;
    assert!(url.contains("response_mode=query") && url.contains("scope=User.Read"));
    let guid = "8f9c2b1e-1111-2222-3333-444455556666";
    let me = whoami(
        &app,
        &login_as(
            &app,
            "/auth/microsoft",
            Person::new(guid, "merlin@contoso.bt"),
        )
        .await,
    )
    .await;
    assert_eq!(me["email"], "merlin@contoso.bt");
    assert_eq!(me["is_verified"], false, "Graph's mail is not vouched for");
    let linked = app.store.list_oauth_accounts(id_of(&me)).await.unwrap();
    assert_eq!(linked[0].account_id, guid);
    // Without `mail`, the user principal name.
    let mut no_mail = Person::new("9f9c2b1e-1111-2222-3333-444455556666", "x@contoso.bt");
    no_mail.email = None;
    let me = whoami(&app, &login_as(&app, "/auth/microsoft", no_mail).await).await;
    assert_eq!(
        me["email"],
        "upn.9f9c2b1e-1111-2222-3333-444455556666@contoso.onmicrosoft.com"
    );
}

// ---------------------------------------------------------------------------------------------
// Association.

#[tokio::test]
async fn associate_links_the_account_to_the_current_user() {
    let app = default_app().await;
    let lancelot = user(&app, "lancelot@camelot.bt", true, false).await;
    let token = token_for(&app, &lancelot);
    app.provider
        .sign_in_as(Person::new("lake-1", "lancelot@lake.bt"));
    let (url, cookie) = start(&app, "/auth/associate/fake", Some(&token)).await;
    let state = common::jwt_payload(
        &reqwest::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1,
    );
    assert_eq!(state["sub"], lancelot.id.to_string());
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(
        &app,
        "/auth/associate/fake",
        &code,
        &state,
        Some(&cookie),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_cookie_cleared(&r);
    let body = r.json();
    assert_eq!(id_of(&body), lancelot.id);
    assert_eq!(body["email"], "lancelot@camelot.bt");
    assert_eq!(body.as_object().unwrap().len(), 5, "no tokens: {body}");
    let linked = app.store.list_oauth_accounts(lancelot.id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].account_email, "lancelot@lake.bt");

    // The account now logs its user in.
    let me = whoami(
        &app,
        &login_as(
            &app,
            "/auth/fake",
            Person::new("lake-1", "lancelot@lake.bt"),
        )
        .await,
    )
    .await;
    assert_eq!(id_of(&me), lancelot.id);
}

#[tokio::test]
async fn associate_refuses_an_account_linked_to_another_user() {
    let app = default_app().await;
    let owner = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("x-1", "owner@camelot.bt")).await,
    )
    .await;
    let thief = user(&app, "mordred@camelot.bt", true, false).await;
    let token = token_for(&app, &thief);
    app.provider
        .sign_in_as(Person::new("x-1", "owner@camelot.bt"));
    let (url, cookie) = start(&app, "/auth/associate/fake", Some(&token)).await;
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(
        &app,
        "/auth/associate/fake",
        &code,
        &state,
        Some(&cookie),
        Some(&token),
    )
    .await;
    assert_code(&r, "OAUTH_USER_ALREADY_EXISTS");
    assert!(
        app.store
            .list_oauth_accounts(thief.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.store
            .get_oauth_account("fake", "x-1")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        id_of(&owner)
    );
}

#[tokio::test]
async fn associate_demands_the_user_and_their_own_state() {
    let app = app_with(Setup {
        requires_verification: true,
        ..Setup::default()
    })
    .await;
    // 401 without a token, 403 unverified (verification required here).
    let r = get(&app, "/auth/associate/fake/authorize", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), detail("Unauthorized"));
    let unverified = user(&app, "tor@camelot.bt", true, false).await;
    let r = get(
        &app,
        "/auth/associate/fake/authorize",
        None,
        Some(&token_for(&app, &unverified)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), detail("Forbidden"));
    let r = get(
        &app,
        "/auth/associate/fake/callback?code=c&state=s",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_cookie_cleared(&r);

    // A state issued to one user is refused to another (400 "Bad Request"), before any
    // exchange; so is a login state.
    let a = user(&app, "ector@camelot.bt", true, true).await;
    let b = user(&app, "kay@camelot.bt", true, true).await;
    let (url, cookie) = start(&app, "/auth/associate/fake", Some(&token_for(&app, &a))).await;
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(
        &app,
        "/auth/associate/fake",
        &code,
        &state,
        Some(&cookie),
        Some(&token_for(&app, &b)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), detail("Bad Request"));
    let (url, cookie) = start(&app, "/auth/fake", None).await;
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(
        &app,
        "/auth/associate/fake",
        &code,
        &state,
        Some(&cookie),
        Some(&token_for(&app, &a)),
    )
    .await;
    assert_eq!(r.json(), detail("Bad Request"));
    // And an associate state is no login state.
    let (url, cookie) = start(&app, "/auth/associate/fake", Some(&token_for(&app, &a))).await;
    let (code, state) = app.provider.approve(&url).await;
    let r = callback(&app, "/auth/fake", &code, &state, Some(&cookie), None).await;
    assert_code(&r, "OAUTH_INVALID_STATE");
    assert_eq!(app.provider.exchanges(), 0);
}

// ---------------------------------------------------------------------------------------------
// The frontend redirect, and tokens at rest.

#[tokio::test]
async fn a_cookie_login_can_redirect_to_the_frontend() {
    let app = default_app().await;
    let r = login_as(
        &app,
        "/auth/cookie",
        Person::new("c-1", "elaine@camelot.bt"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{:?}", r.body);
    assert_eq!(r.header("location"), Some("http://frontend.test/welcome"));
    assert!(r.body.is_empty());
    let cookies = set_cookies(&r);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("fastapiusersauth=") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
    assert_cookie_cleared(&r);
    // Errors stay JSON.
    let r = get(&app, "/auth/cookie/callback?state=x", None, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn provider_tokens_are_encrypted_at_rest() {
    let app = app_with(Setup {
        encrypt: true,
        ..Setup::default()
    })
    .await;
    let me = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("e-1", "enid@camelot.bt")).await,
    )
    .await;
    let raw = app.store.list_oauth_accounts(id_of(&me)).await.unwrap();
    assert!(raw[0].access_token.starts_with("enc:v1:"), "{raw:?}");
    assert!(
        raw[0]
            .refresh_token
            .as_deref()
            .unwrap()
            .starts_with("enc:v1:")
    );
    let accounts = OAuthAccounts::new(Arc::new(app.store.clone()))
        .encrypt_tokens(TokenCipher::new(b"token encryption secret, 32 bytes").unwrap());
    let opened = accounts.list(id_of(&me)).await.unwrap();
    assert!(opened[0].access_token.starts_with("at-"));
    // A second login re-seals the refreshed tokens and still finds the account.
    let again = me_again(&app).await;
    assert_eq!(again, me["id"]);
}

async fn me_again(app: &App) -> Value {
    whoami(
        app,
        &login_as(app, "/auth/fake", Person::new("e-1", "enid@camelot.bt")).await,
    )
    .await["id"]
        .clone()
}

#[tokio::test]
async fn deleting_the_user_unlinks_the_account() {
    let app = default_app().await;
    let me = whoami(
        &app,
        &login_as(&app, "/auth/fake", Person::new("d-1", "dagonet@camelot.bt")).await,
    )
    .await;
    assert!(app.store.delete(id_of(&me)).await.unwrap());
    assert!(
        app.store
            .get_oauth_account("fake", "d-1")
            .await
            .unwrap()
            .is_none()
    );
    // Logging in again makes a new user.
    let again = me_again_as(&app, "d-1", "dagonet@camelot.bt").await;
    assert_ne!(again, me["id"]);
}

async fn me_again_as(app: &App, sub: &str, email: &str) -> Value {
    whoami(
        app,
        &login_as(app, "/auth/fake", Person::new(sub, email)).await,
    )
    .await["id"]
        .clone()
}

#[test]
fn csrf_cookie_is_configurable() {
    let _ = CsrfCookie::default().secure(false).max_age(600);
}
