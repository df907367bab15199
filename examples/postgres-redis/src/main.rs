//! Users in PostgreSQL, with two stateful token backends side by side:
//!
//! - `/auth/database`: bearer transport × database strategy. Tokens are rows of FastAPI
//!   Users' `accesstoken` table, so logout and password changes revoke them at once.
//! - `/auth/redis`: bearer transport × Redis strategy, with FastAPI Users' keys
//!   (`fastapi_users_token:<token>` → user id), so both can share a Redis.
//!
//! A protected route accepts a token of either backend (they are tried in order).
//!
//! Run it from the repository root, with PostgreSQL and Redis running:
//!
//! ```sh
//! createdb test            # or point DATABASE_URL at any database you own
//! cargo run -p postgres-redis
//! curl -X POST localhost:8000/auth/register -H 'content-type: application/json' \
//!      -d '{"email": "king.arthur@camelot.bt", "password": "guinevere"}'
//! curl -X POST localhost:8000/auth/database/login -d 'username=king.arthur@camelot.bt&password=guinevere'
//! curl -X POST localhost:8000/auth/redis/login -d 'username=king.arthur@camelot.bt&password=guinevere'
//! curl localhost:8000/authenticated-route -H "Authorization: Bearer <access_token>"
//! ```
//!
//! Environment: `EXAMPLE_ADDR` (default `127.0.0.1:8000`; port 0 picks a free one, and the
//! address is printed), `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`;
//! the tables are created if missing), `REDIS_URL` (default `redis://127.0.0.1:6379`). Both
//! are connected at start: the example stops with an error if either is unreachable.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_users::core::{
    Argon2Hasher, DatabaseStrategy, HashPool, HashPoolConfig, NoHooks, UserManager,
};
use axum_users::{
    AuthBackend, AuthRouterOptions, BearerTransport, CurrentUser, UsersRouterOptions, UsersState,
    auth_router, not_found, register_router, users_router,
};
use axum_users_redis::RedisStrategy;
use axum_users_sqlx::PgStore;
use serde_json::{Value, json};

/// Lifetime of the tokens of both backends, in seconds.
const LIFETIME_SECONDS: u64 = 3600;

/// A route of the application's own: a token of either backend will do.
async fn authenticated_route(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(json!({ "message": format!("Hello {}!", user.email) }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let addr = env("EXAMPLE_ADDR", "127.0.0.1:8000");
    let database_url = env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test");
    let redis_url = env("REDIS_URL", "redis://127.0.0.1:6379");

    // FastAPI Users' `user` and `accesstoken` tables (created if missing; an existing
    // FastAPI Users database is adopted as it is).
    let store = PgStore::<()>::connect(&database_url)
        .await
        .map_err(|e| format!("DATABASE_URL: cannot open {database_url}: {e}"))?;
    store.migrate().await?;
    let store = Arc::new(store);

    let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
    let manager = UserManager::new(store.clone(), hasher, Arc::new(NoHooks));

    // Database tokens: rows of `accesstoken`, expiring after the lifetime.
    let database = AuthBackend::new(
        "database",
        Arc::new(BearerTransport),
        Arc::new(DatabaseStrategy::new(
            store,
            Some(Duration::from_secs(LIFETIME_SECONDS)),
        )),
    );
    // Redis tokens, connected now so that a missing Redis stops the start.
    let redis = RedisStrategy::connect(&redis_url, Some(LIFETIME_SECONDS))
        .await
        .map_err(|e| format!("REDIS_URL: cannot connect to {redis_url}: {e}"))?;
    let redis = AuthBackend::new("redis", Arc::new(BearerTransport), Arc::new(redis));

    // Both backends authenticate requests (in this order); each has its own login/logout.
    let state = UsersState::new(manager, vec![database.clone(), redis.clone()]);
    let app = Router::new()
        .nest(
            "/auth/database",
            auth_router(database, AuthRouterOptions::default()),
        )
        .nest(
            "/auth/redis",
            auth_router(redis, AuthRouterOptions::default()),
        )
        .nest("/auth", register_router::<(), _>())
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .route("/authenticated-route", get(authenticated_route))
        .fallback(not_found)
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "postgres-redis listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
