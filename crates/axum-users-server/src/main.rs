//! The `axum-users` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use axum_users_server::cli::{Cli, Command};
use axum_users_server::{Config, ServerError, server};
use clap::Parser as _;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), ServerError> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.bind)
                .await
                .map_err(|e| {
                    ServerError::Usage(format!(
                        "AXUM_USERS_BIND: cannot listen on {}: {e}",
                        config.bind
                    ))
                })?;
            server::run(listener, config, server::shutdown_signal()).await
        }
        Command::CreateUser(args) => {
            let user = axum_users_server::cli::create_user(&config, args).await?;
            println!("{user}");
            Ok(())
        }
        Command::Migrate => {
            axum_users_server::cli::migrate(&config).await?;
            eprintln!("migrations applied");
            Ok(())
        }
    }
}
