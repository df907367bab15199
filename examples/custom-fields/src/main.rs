//! Custom user fields: FastAPI Users' "add your own fields to the `User` model and to the
//! `UserRead`, `UserCreate` and `UserUpdate` schemas", done with one struct.
//!
//! [`Profile`] is the `X` of `User<X>`: its fields are flattened into the user's JSON,
//! accepted (and validated, with FastAPI-shaped 422s) by `POST /auth/register` and
//! `PATCH /users/me`, stored beside the user row, and merged into the `UserRead`,
//! `UserCreate` and `UserUpdate` schemas of the OpenAPI document at `GET /openapi.json`.
//!
//! Run it from the repository root:
//!
//! ```sh
//! cargo run -p custom-fields
//! curl -X POST localhost:8000/auth/register -H 'content-type: application/json' \
//!      -d '{"email": "king.arthur@camelot.bt", "password": "guinevere", "first_name": "Arthur", "birthdate": "0476-12-25"}'
//! # 201 {"id": "…", "email": "king.arthur@camelot.bt", …, "first_name": "Arthur", "birthdate": "0476-12-25"}
//! curl -X POST localhost:8000/auth/jwt/login -d 'username=king.arthur@camelot.bt&password=guinevere'
//! curl -X PATCH localhost:8000/users/me -H "Authorization: Bearer <access_token>" \
//!      -H 'content-type: application/json' -d '{"first_name": "Wart"}'
//! # 200 {…, "first_name": "Wart", "birthdate": "0476-12-25"}: a PATCH changes only what it names
//! curl localhost:8000/openapi.json
//! ```
//!
//! Environment: `EXAMPLE_ADDR` (default `127.0.0.1:8000`; port 0 picks a free one, and the
//! address is printed), `DATABASE_URL` (default `sqlite://custom-fields.db`), `SECRET` (at
//! least 32 bytes; default: a random one).

use std::error::Error;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use axum_users::core::{
    Argon2Hasher, HashPool, HashPoolConfig, JwtCodec, JwtStrategy, NoHooks, UserManager,
};
use axum_users::openapi::OpenApiBuilder;
use axum_users::{
    AuthBackend, AuthRouterOptions, CurrentUser, UsersRouterOptions, UsersState, auth_router,
    not_found, register_router, users_router,
};
use axum_users_sqlx::SqliteStore;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// Lifetime of the access tokens, in seconds.
const LIFETIME_SECONDS: u64 = 3600;

/// The custom fields of every user of this application.
///
/// Serde decides the wire format and what is required: `first_name` must be given at
/// registration, `birthdate` may be left out (or `null`). `ToSchema` puts the same rules in
/// the OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
struct Profile {
    /// The user's first name.
    first_name: String,
    /// The user's date of birth, `YYYY-MM-DD`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    birthdate: Option<NaiveDate>,
}

/// A route of the application's own that reads the custom fields.
async fn authenticated_route(CurrentUser(user): CurrentUser<Profile>) -> Json<Value> {
    Json(json!({
        "message": format!("Hello {}!", user.extra.first_name),
        "birthdate": user.extra.birthdate,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let addr = env("EXAMPLE_ADDR", "127.0.0.1:8000");
    let database_url = env("DATABASE_URL", "sqlite://custom-fields.db");
    let secret = std::env::var("SECRET").unwrap_or_else(|_| axum_users::core::generate_token());

    // Every type is parameterised by the custom fields: store, manager, state, routers.
    let store = SqliteStore::<Profile>::connect(&database_url).await?;
    store.migrate().await?;
    let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
    let manager = UserManager::<Profile>::new(Arc::new(store), hasher, Arc::new(NoHooks));
    let codec = JwtCodec::hs256(secret.as_bytes())?;
    let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec, LIFETIME_SECONDS));
    let state = UsersState::new(manager, vec![jwt.clone()]);

    // The document of the routers below, with `Profile`'s fields merged into `UserRead`,
    // `UserCreate` (required as serde requires them) and `UserUpdate` (all optional).
    let doc = OpenApiBuilder::new("custom-fields", env!("CARGO_PKG_VERSION"))
        .auth("/auth/jwt", "jwt", AuthRouterOptions::default())
        .register("/auth")
        .users("/users", UsersRouterOptions::default())
        .user_fields::<Profile>()
        .build();

    let app = Router::new()
        .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
        .nest("/auth", register_router::<Profile, _>())
        .nest(
            "/users",
            users_router::<Profile, _>(UsersRouterOptions::default()),
        )
        .route("/authenticated-route", get(authenticated_route))
        .route("/openapi.json", get(move || async move { Json(doc) }))
        .fallback(not_found)
        .with_state(state);

    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "custom-fields listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
