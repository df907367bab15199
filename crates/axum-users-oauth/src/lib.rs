//! OAuth2 and OpenID Connect providers for [axum-users](https://docs.rs/axum-users), on the
//! [`oauth2`] and [`openidconnect`] crates: each is an
//! [`OAuthProvider`](axum_users_core::oauth::OAuthProvider) that the routers of `axum-users`
//! (`oauth_router`, `oauth_associate_router`) drive.
//!
//! | provider | built with | account id (as httpx-oauth's, so FastAPI Users rows keep matching) | email |
//! |---|---|---|---|
//! | any OAuth2 server | [`OAuth2Config::new`] | a field of the userinfo response (`sub`, else `id`) | `email`, `email_verified` |
//! | any OpenID Connect provider | [`OidcConfig::new`] (discovery) | the ID token's `sub` | the ID token's (else userinfo's) `email`, `email_verified` |
//! | Google | [`OidcConfig::google`] | `people/<sub>` | ID token, `email_verified` |
//! | GitHub | [`OAuth2Config::github`] | `/user` `id` | the primary *verified* address of `/user/emails` |
//! | Microsoft (Entra ID) | [`OAuth2Config::microsoft`] | Graph `/me` `id` | `mail`, else `userPrincipalName`; never verified |
//! | GitLab (or a self-hosted one) | [`OAuth2Config::gitlab`] | `/api/v4/user` `id` | `email`; verified when `confirmed_at` is set |
//!
//! Every provider uses PKCE (S256). Its HTTP client ([`HttpSettings`]) follows no redirect, has
//! a connect and a total timeout, and reads at most 1 MiB of a profile response; it speaks
//! TLS through rustls.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum_users_core::oauth::OAuthProvider;
//! use axum_users_oauth::{ClientCredentials, OAuth2Config, OidcConfig};
//!
//! let google = OidcConfig::google(ClientCredentials::new("id", Some("secret"))).build()?;
//! let github = OAuth2Config::github(ClientCredentials::new("id", Some("secret"))).build()?;
//! let providers: Vec<Arc<dyn OAuthProvider>> = vec![Arc::new(google), Arc::new(github)];
//! # Ok::<(), axum_users_oauth::ProviderError>(())
//! ```
#![deny(missing_docs)]

mod http;
mod oauth2_provider;
mod oidc;
mod profile;

pub use self::http::{ClientCredentials, HttpSettings, ProviderError};
pub use self::oauth2_provider::{OAuth2Config, OAuth2Provider, TokenAuth};
pub use self::oidc::{OidcConfig, OidcProvider};
pub use self::profile::ProfileSource;
