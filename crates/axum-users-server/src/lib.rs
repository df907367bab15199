//! # axum-users server
//!
//! FastAPI Users' HTTP API as a ready service. `main.rs` only parses the command line;
//! everything else is here so tests can start the real server on port 0:
//!
//! ```no_run
//! # async fn f() -> Result<(), axum_users_server::ServerError> {
//! use axum_users_server::{Config, server};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! server::run(listener, Config::default(), server::shutdown_signal()).await
//! # }
//! ```
//!
//! # Layout
//! - [`config`]: settings from `axum-users.toml` and `AXUM_USERS_*`.
//! - [`secret`]: the signing secret, generated on first start if not given.
//! - [`database`]: the store picked by the database URL's scheme.
//! - [`app`]: the router assembled from the settings.
//! - [`docs`]: the OpenAPI documents served at `/openapi.json` and `/docs`.
//! - [`oauth`]: the `[oauth.<name>]` providers and their login and associate routes.
//! - [`hooks`]: reset and verification tokens sent by email.
//! - [`audit`]: security events as structured `audit` log events.
//! - [`pages`]: the reset-password and verification pages behind the email links.
//! - [`health`], [`metrics`], [`logging`]: `/health`, `/health/ready`, `/metrics`, text or
//!   JSON logs with a request id.
//! - [`server`]: [`server::run`] and graceful shutdown; [`http`]: the connection loop with
//!   its header, time and size bounds.
//! - [`cli`]: the `create-user` and `migrate` commands.
#![deny(missing_docs)]

pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod database;
pub mod docs;
mod error;
pub mod health;
pub mod hooks;
pub mod http;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod oauth;
pub mod pages;
pub mod secret;
pub mod server;

pub use config::{Config, ConfigError, Profile};
pub use error::ServerError;
