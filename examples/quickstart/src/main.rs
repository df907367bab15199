//! FastAPI Users' quickstart ("SQLAlchemy" + "JWT" + "Bearer"), ported to axum-users: a
//! SQLite database, one bearer JWT backend at `/auth/jwt`, the register, reset-password,
//! verify and users routers, and a protected route of the application's own.
//!
//! Run it from the repository root:
//!
//! ```sh
//! cargo run -p quickstart                        # http://127.0.0.1:8000, database ./quickstart.db
//! EXAMPLE_ADDR=127.0.0.1:9000 DATABASE_URL=sqlite:///tmp/q.db cargo run -p quickstart
//! ```
//!
//! Then:
//!
//! ```sh
//! curl -X POST localhost:8000/auth/register -H 'content-type: application/json' \
//!      -d '{"email": "king.arthur@camelot.bt", "password": "guinevere"}'
//! curl -X POST localhost:8000/auth/jwt/login -d 'username=king.arthur@camelot.bt&password=guinevere'
//! curl localhost:8000/authenticated-route -H "Authorization: Bearer <access_token>"
//! # {"message":"Hello king.arthur@camelot.bt!"}
//! ```
//!
//! Environment: `EXAMPLE_ADDR` (default `127.0.0.1:8000`; port 0 picks a free one, and the
//! address is printed), `DATABASE_URL` (default `sqlite://quickstart.db`, created if missing),
//! `SECRET` (the JWT signing secret, at least 32 bytes; default: a random one, so tokens die
//! with the process). `GET /openapi.json` serves the API's OpenAPI document.

use std::error::Error;
use std::sync::Arc;

use async_trait::async_trait;
use axum::routing::get;
use axum::{Json, Router};
use axum_users::core::{
    Argon2Hasher, BoxError, HashPool, HashPoolConfig, JwtCodec, JwtStrategy, RequestContext, User,
    UserHooks, UserManager,
};
use axum_users::openapi::OpenApiBuilder;
use axum_users::{
    AuthBackend, AuthRouterOptions, CurrentUser, UsersRouterOptions, UsersState, auth_router,
    not_found, register_router, reset_password_router, users_router, verify_router,
};
use axum_users_sqlx::SqliteStore;
use serde_json::{Value, json};

/// Lifetime of the access tokens, in seconds (the quickstart's `lifetime_seconds=3600`).
const LIFETIME_SECONDS: u64 = 3600;

/// The quickstart's `UserManager` callbacks: they print what happened. A real application
/// would email the tokens instead (see the `custom-hooks` example).
#[derive(Debug)]
struct QuickstartHooks;

#[async_trait]
impl UserHooks for QuickstartHooks {
    async fn on_after_register(&self, user: &User, _ctx: &RequestContext) -> Result<(), BoxError> {
        println!("User {} has registered.", user.id);
        Ok(())
    }

    async fn on_after_forgot_password(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        println!(
            "User {} has forgot their password. Reset token: {token}",
            user.id
        );
        Ok(())
    }

    async fn on_after_request_verify(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        println!(
            "Verification requested for user {}. Verification token: {token}",
            user.id
        );
        Ok(())
    }
}

/// The quickstart's `/authenticated-route`: any active user.
async fn authenticated_route(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(json!({ "message": format!("Hello {}!", user.email) }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let database_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://quickstart.db".to_owned());
    let secret = std::env::var("SECRET").unwrap_or_else(|_| axum_users::core::generate_token());
    let addr = std::env::var("EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());

    // The database: FastAPI Users' `user` table, created if missing.
    let store = SqliteStore::<()>::connect(&database_url).await?;
    store.migrate().await?;

    // Passwords are hashed with argon2id (FastAPI Users' parameters) on a bounded thread pool.
    let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
    let manager = UserManager::new(Arc::new(store), hasher, Arc::new(QuickstartHooks));

    // The authentication backend: bearer transport × JWT strategy.
    let codec = JwtCodec::hs256(secret.as_bytes())?;
    let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec, LIFETIME_SECONDS));
    let state = UsersState::new(manager, vec![jwt.clone()]);

    // The OpenAPI document of the routers, mounted at the same prefixes as below.
    let doc = OpenApiBuilder::new("quickstart", env!("CARGO_PKG_VERSION"))
        .auth("/auth/jwt", "jwt", AuthRouterOptions::default())
        .register("/auth")
        .reset_password("/auth")
        .verify("/auth")
        .users("/users", UsersRouterOptions::default())
        .build();

    let app = Router::new()
        .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
        .nest("/auth", register_router::<(), _>())
        .nest("/auth", reset_password_router::<(), _>())
        .nest("/auth", verify_router::<(), _>())
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .route("/authenticated-route", get(authenticated_route))
        .route("/openapi.json", get(move || async move { Json(doc) }))
        .fallback(not_found)
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("quickstart listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
