//! # axum-users
//!
//! FastAPI Users for axum: registration, login, logout, the users API and the extractors
//! that guard your own handlers, wire-compatible with FastAPI Users 15.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use axum_users::*;
//! use axum_users_core::*;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = axum_users_sqlx_stand_in::store();
//! let hasher = HashPool::new(Arc::new(Argon2Hasher::default()), HashPoolConfig::default());
//! let manager = UserManager::<()>::new(store, hasher, Arc::new(NoHooks));
//! let codec = JwtCodec::hs256(b"change me: at least thirty-two bytes long").unwrap();
//! let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec, 3600));
//! let users = UsersState::new(manager, vec![jwt.clone()]);
//!
//! async fn protected(CurrentUser(user): CurrentUser) -> String {
//!     format!("Hello, {}", user.email)
//! }
//!
//! let app: Router = Router::new()
//!     .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
//!     .nest("/auth", register_router::<(), _>())
//!     .nest("/users", users_router::<(), _>(UsersRouterOptions::default()))
//!     .route("/protected", get(protected))
//!     .with_state(users);
//! # });
//! # mod axum_users_sqlx_stand_in {
//! #     pub fn store() -> std::sync::Arc<dyn axum_users_core::UserStore> {
//! #         std::sync::Arc::new(axum_users_core::MemoryStore::new())
//! #     }
//! # }
//! ```
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
