//! The domain of [axum-users](https://docs.rs/axum-users): FastAPI Users' concepts without axum
//! and without SQL.
//!
//! | concept | item |
//! |---|---|
//! | the user, with custom fields | [`User`], [`UserExtra`] |
//! | where users live | [`UserStore`] (plus [`MemoryStore`] with the `memory` feature) |
//! | passwords | [`PasswordHasher`], [`Argon2Hasher`], [`HashPool`] |
//! | JSON Web Tokens | [`JwtCodec`], [`AccessClaims`] |
//! | what a token is | [`Strategy`], [`JwtStrategy`] |
//! | the business rules | [`UserManager`], [`UserHooks`] |
//! | the password policy | [`PasswordPolicy`], [`WithPolicy`] ([`policy`]) |
//! | refresh tokens (rotation, reuse detection) | [`RefreshTokens`], [`RefreshTokenStore`] ([`refresh`]) |
//! | OAuth2 / OpenID Connect login | [`oauth`]: [`OAuthProvider`](oauth::OAuthProvider), [`OAuthAccountStore`](oauth::OAuthAccountStore), [`UserManager::oauth_callback`] |
//! | errors | [`ManagerError`], [`StoreError`], [`HashError`], [`StrategyError`] |
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # {
//! use std::sync::Arc;
//! use axum_users_core::{
//!     Argon2Hasher, CreateMode, HashPool, MemoryStore, NoHooks, RequestContext, UserCreate,
//!     UserManager, email,
//! };
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // Cheap argon2 parameters keep the example fast; servers use the reference's defaults.
//! let pool = HashPool::new(Arc::new(Argon2Hasher::new(axum_users_core::Argon2Params::insecure_fast())), Default::default());
//! let manager = UserManager::<()>::new(Arc::new(MemoryStore::new()), pool, Arc::new(NoHooks));
//! let create = UserCreate::new(email::normalize("King.Arthur@Camelot.BT").unwrap(), "guinevere".into());
//! let user = manager.create(create, CreateMode::Public, &RequestContext::default()).await.unwrap();
//! assert_eq!(user.email, "King.Arthur@camelot.bt");
//! let again = manager.authenticate("king.arthur@camelot.bt", "guinevere").await.unwrap();
//! assert_eq!(again.map(|u| u.id), Some(user.id));
//! # });
//! # }
//! ```
#![deny(missing_docs)]

pub mod email;
mod error;
mod hooks;
mod jwt;
pub mod mail;
mod manager;
mod model;
pub mod oauth;
mod password;
pub mod policy;
pub mod refresh;
mod store;
mod strategy;

pub use error::{BoxError, ManagerError};
pub use hooks::{InvalidPassword, NoHooks, PasswordSubject, RequestContext, UserHooks};
pub use jwt::{
    AUDIENCE_AUTH, AUDIENCE_OAUTH_STATE, AUDIENCE_RESET, AUDIENCE_VERIFY, AccessClaims,
    JwtAlgorithm, JwtCodec, JwtError, password_fingerprint,
};
pub use manager::{CreateMode, TokenSettings, UserManager};
pub use model::{User, UserCreate, UserExtra, UserPatch, UserUpdate};
pub use password::{
    Argon2Hasher, Argon2Params, HashError, HashPool, HashPoolConfig, PasswordHasher, Verified,
    generate_password, generate_password as generate_token,
};
pub use policy::{PasswordPolicy, WithPolicy};
pub use refresh::{
    DEFAULT_REFRESH_LIFETIME, IssuedRefreshToken, RefreshError, RefreshTokenRecord,
    RefreshTokenStore, RefreshTokens, RotateOutcome, RotatedRefreshToken, refresh_token_hash,
};
pub use store::token::{AccessToken, AccessTokenStore};
pub use store::{StoreError, UserStore};
pub use strategy::{DatabaseStrategy, JwtStrategy, PasswordBinding, Strategy, StrategyError};

#[cfg(feature = "memory")]
pub use refresh::MemoryRefreshStore;
#[cfg(feature = "memory")]
pub use store::memory::MemoryStore;

#[cfg(feature = "conformance")]
pub use store::conformance;
