//! # axum-users
//!
//! FastAPI Users for axum: registration, login, logout, the users API and the extractors
//! that guard your own handlers, wire-compatible with FastAPI Users 15.
//!
//! ## Quick start
//!
//! FastAPI Users' quickstart, ported (the full program is `examples/quickstart`): a SQLite
//! database, one bearer JWT backend, the routers, and a route of your own guarded by the
//! [`CurrentUser`] extractor.
//!
//! ```
//! use std::sync::Arc;
//!
//! use axum::{Json, Router, routing::get};
//! use axum_users::core::{Argon2Hasher, HashPool, HashPoolConfig, JwtCodec, JwtStrategy, NoHooks, UserManager};
//! use axum_users::{
//!     AuthBackend, AuthRouterOptions, CurrentUser, UsersRouterOptions, UsersState, auth_router,
//!     register_router, reset_password_router, users_router, verify_router,
//! };
//! use axum_users_sqlx::SqliteStore;
//! use serde_json::{Value, json};
//!
//! async fn authenticated_route(CurrentUser(user): CurrentUser) -> Json<Value> {
//!     Json(json!({ "message": format!("Hello {}!", user.email) }))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let database_url = format!("sqlite://{}", dir.path().join("users.db").display());
//! # let secret = "a secret of at least thirty-two bytes, from your settings";
//! // FastAPI Users' `user` table, created if missing.
//! let store = SqliteStore::<()>::connect(&database_url).await?;
//! store.migrate().await?;
//! // argon2id with FastAPI Users' parameters, on a bounded pool of threads.
//! let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
//! let manager = UserManager::new(Arc::new(store), hasher, Arc::new(NoHooks));
//! // The authentication backend: bearer transport × JWT strategy.
//! let jwt = AuthBackend::bearer_jwt(
//!     "jwt",
//!     JwtStrategy::new(JwtCodec::hs256(secret.as_bytes())?, 3600),
//! );
//! let users = UsersState::new(manager, vec![jwt.clone()]);
//!
//! let app: Router = Router::new()
//!     .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
//!     .nest(
//!         "/auth",
//!         register_router::<(), _>()
//!             .merge(reset_password_router::<(), _>())
//!             .merge(verify_router::<(), _>()),
//!     )
//!     .nest("/users", users_router::<(), _>(UsersRouterOptions::default()))
//!     .route("/authenticated-route", get(authenticated_route))
//!     .with_state(users);
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let serve = async move {
//! axum::serve(listener, app).await?;
//! # Ok::<_, std::io::Error>(()) };
//! # drop(serve);
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
//! ```
//!
//! Then `POST /auth/register`, `POST /auth/jwt/login`, `GET /users/me`, and your
//! `GET /authenticated-route`, exactly as with FastAPI Users.
//!
//! | piece | FastAPI Users | here |
//! |---|---|---|
//! | `AuthenticationBackend` | transport × strategy | [`AuthBackend`] = [`Transport`] × [`Strategy`](axum_users_core::Strategy) |
//! | `current_user(active=True)` | dependency | [`CurrentUser`], [`VerifiedUser`], [`Superuser`], [`AuthenticatedUser`], each also `Option<_>` |
//! | `get_auth_router` … | router factories | [`auth_router`], [`register_router`], [`users_router`], [`classic_router`] |
//! | `get_oauth_router`, `get_oauth_associate_router` | OAuth2 / OpenID Connect | [`oauth_router`], [`oauth_associate_router`] (providers: crate `axum-users-oauth`) |
//! | `ErrorCode` | string enum | [`ErrorCode`]; every error becomes HTTP in [`error`] |
#![deny(missing_docs)]

mod authenticator;
mod backend;
mod body;
mod context;
pub mod error;
mod extract;
pub mod limits;
pub mod openapi;
mod routes;
mod schemas;
mod state;
mod transport;
mod validation;

pub use authenticator::{Authenticated, Authenticator, Requirement};
pub use backend::AuthBackend;
pub use body::MAX_BODY_BYTES;
pub use context::request_context;
pub use error::{ApiError, ErrorCode, ValidationItem};
pub use extract::{AuthenticatedUser, CurrentUser, Superuser, VerifiedUser};
pub use routes::{
    AuthRouterOptions, UsersRouterOptions, auth_router, classic_router, jwks_router,
    method_not_allowed, not_found, register_router, reset_password_router, users_router,
    verify_router,
};
pub use routes::{
    CsrfCookie, OAuthAssociateOptions, OAuthRouterConfig, oauth_associate_router, oauth_router,
};
pub use schemas::{BearerResponse, UserRead, parse_user_id};
pub use state::UsersState;
pub use transport::{BearerTransport, CookieTransport, SameSite, Transport};
pub use validation::MAX_PASSWORD_CHARS;

/// The core crate, re-exported.
pub use axum_users_core as core;
