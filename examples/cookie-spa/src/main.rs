//! A cookie authentication backend for a single page app (SPA) served from another origin
//! than the API: the browser keeps the session in an `HttpOnly` cookie that scripts cannot
//! read, CORS lets the SPA's origin (and only it) call the API with credentials, and the
//! cookie transport's CSRF check refuses cookie-authenticated unsafe requests (`POST`,
//! `PATCH`, `DELETE`) coming from any other origin.
//!
//! Run it from the repository root:
//!
//! ```sh
//! cargo run -p cookie-spa        # API on http://127.0.0.1:8000, SPA expected at http://localhost:5173
//! ```
//!
//! In the SPA, send every request with `credentials: "include"`, and call the API by a host
//! name of the same *site* as the SPA's (e.g. SPA at `http://localhost:5173`, API at
//! `http://localhost:8000`): browsers send `SameSite=Lax` cookies on same-site requests only.
//!
//! ```js
//! const api = "http://localhost:8000";
//! await fetch(`${api}/auth/cookie/login`, {
//!   method: "POST", credentials: "include",
//!   body: new URLSearchParams({ username: "king.arthur@camelot.bt", password: "guinevere" }),
//! });                                                              // 204, Set-Cookie
//! const me = await (await fetch(`${api}/users/me`, { credentials: "include" })).json();
//! ```
//!
//! Environment: `EXAMPLE_ADDR` (default `127.0.0.1:8000`; port 0 picks a free one, and the
//! address is printed), `SPA_ORIGIN` (default `http://localhost:5173`: the one origin CORS
//! admits and the CSRF check trusts), `DATABASE_URL` (default `sqlite://cookie-spa.db`),
//! `SECRET` (at least 32 bytes; default: a random one), `COOKIE_SECURE` (default `false`
//! for plain-HTTP development; set `true` behind HTTPS).

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::routing::get;
use axum::{Json, Router};
use axum_users::core::{
    Argon2Hasher, HashPool, HashPoolConfig, JwtCodec, JwtStrategy, NoHooks, UserManager,
};
use axum_users::{
    AuthBackend, AuthRouterOptions, CookieTransport, CurrentUser, UsersRouterOptions, UsersState,
    auth_router, not_found, register_router, users_router,
};
use axum_users_sqlx::SqliteStore;
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;

/// Lifetime of the session (the cookie's `Max-Age` and the JWT inside it), in seconds.
const LIFETIME_SECONDS: u64 = 3600;

/// A route of the application's own, for any active user the cookie authenticates.
async fn authenticated_route(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(json!({ "message": format!("Hello {}!", user.email) }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let addr = env("EXAMPLE_ADDR", "127.0.0.1:8000");
    let spa_origin = env("SPA_ORIGIN", "http://localhost:5173");
    let database_url = env("DATABASE_URL", "sqlite://cookie-spa.db");
    let secret = std::env::var("SECRET").unwrap_or_else(|_| axum_users::core::generate_token());
    let secure = match env("COOKIE_SECURE", "false").as_str() {
        "true" | "1" => true,
        "false" | "0" => false,
        other => return Err(format!("COOKIE_SECURE: {other:?} is not true or false").into()),
    };

    let store = SqliteStore::<()>::connect(&database_url).await?;
    store.migrate().await?;
    let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
    let manager = UserManager::new(Arc::new(store), hasher, Arc::new(NoHooks));

    // Cookie transport × JWT strategy. Login answers 204 with
    // `Set-Cookie: fastapiusersauth=<jwt>; HttpOnly; Max-Age=3600; Path=/; SameSite=lax`.
    let cookie = CookieTransport::new()
        .max_age(Some(LIFETIME_SECONDS))
        .secure(secure)
        // A cookie-authenticated POST/PATCH/DELETE whose `Origin` is neither the API's own
        // nor the SPA's, or whose `Sec-Fetch-Site` is `cross-site`, gets 403.
        .csrf_protection(true)
        .trusted_origins(vec![spa_origin.clone()]);
    let codec = JwtCodec::hs256(secret.as_bytes())?;
    let backend = AuthBackend::new(
        "cookie",
        Arc::new(cookie),
        Arc::new(JwtStrategy::new(codec, LIFETIME_SECONDS)),
    );
    let state = UsersState::new(manager, vec![backend.clone()]);

    // CORS: the SPA's origin only, with credentials (the cookie). A credentialed CORS answer
    // cannot use wildcards, so methods and headers are listed.
    let cors = CorsLayer::new()
        // A list, not `exact`: a request from any other origin gets no
        // `Access-Control-Allow-Origin` at all.
        .allow_origin([HeaderValue::from_str(&spa_origin)?])
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([CONTENT_TYPE])
        .max_age(Duration::from_secs(600));

    let app = Router::new()
        .nest(
            "/auth/cookie",
            auth_router(backend, AuthRouterOptions::default()),
        )
        .nest("/auth", register_router::<(), _>())
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .route("/authenticated-route", get(authenticated_route))
        .fallback(not_found)
        .with_state(state)
        .layer(cors);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "cookie-spa listening on http://{} (SPA origin {spa_origin})",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
