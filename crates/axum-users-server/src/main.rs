//! The `axum-users` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use axum_users_server::cli::{Cli, Command};
use axum_users_server::{Config, ServerError, server};
use clap::Parser as _;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Settings first: they say how to log (a bad one is the one line below, in any format).
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    axum_users_server::logging::init(config.log_format);
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
    match runtime.block_on(run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli, config: Config) -> Result<(), ServerError> {
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
