//! The command line: `serve` (default), `create-user`, `migrate`.

use std::path::PathBuf;

use axum_users_core::{CreateMode, RequestContext, UserCreate, email};
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::ServerError;

/// axum-users: FastAPI Users' HTTP API as a service.
#[derive(Debug, Parser)]
#[command(name = "axum-users", version, about)]
pub struct Cli {
    /// TOML settings file (default: ./axum-users.toml when it exists).
    #[arg(long, global = true, env = "AXUM_USERS_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create a user directly in the database (e.g. the first superuser).
    CreateUser(CreateUser),
    /// Apply the database migrations and exit.
    Migrate,
}

/// `create-user` arguments.
#[derive(Debug, clap::Args)]
pub struct CreateUser {
    /// The user's email.
    #[arg(long)]
    pub email: String,
    /// The user's password.
    #[arg(long, env = "AXUM_USERS_NEW_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Make the user a superuser.
    #[arg(long)]
    pub superuser: bool,
    /// Mark the email as verified.
    #[arg(long)]
    pub verified: bool,
    /// Create the user inactive.
    #[arg(long)]
    pub inactive: bool,
}

/// Creates a user and returns it as the API would show it.
///
/// # Errors
/// An invalid email, a taken email, or a database failure.
pub async fn create_user(
    config: &Config,
    args: CreateUser,
) -> Result<serde_json::Value, ServerError> {
    let email =
        email::normalize(&args.email).map_err(|e| ServerError::Usage(format!("--email: {e}")))?;
    if args.password.is_empty() {
        return Err(ServerError::Usage(
            "--password: must not be empty".to_owned(),
        ));
    }
    let manager = crate::app::manager(config, true).await?;
    let create = UserCreate {
        email,
        password: args.password,
        is_active: Some(!args.inactive),
        is_superuser: Some(args.superuser),
        is_verified: Some(args.verified),
        extra: (),
    };
    let user = manager
        .create(create, CreateMode::Privileged, &RequestContext::default())
        .await
        .map_err(|e| match e {
            axum_users_core::ManagerError::UserAlreadyExists => {
                ServerError::Usage("--email: a user with this email already exists".to_owned())
            }
            other => ServerError::Manager(other),
        })?;
    Ok(serde_json::to_value(axum_users::UserRead::from_user(&user)).unwrap_or_default())
}

/// Applies the migrations.
///
/// # Errors
/// A database failure.
pub async fn migrate(config: &Config) -> Result<(), ServerError> {
    crate::app::manager(config, true).await?;
    Ok(())
}
