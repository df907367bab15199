//! [`run`]: serve the application on a listener until `shutdown` resolves (the mini-redis
//! shape: `main` parses, tests call this on port 0).

use std::future::Future;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::error::ServerError;

/// How long a shutdown waits for background work (emails) to finish.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves until `shutdown` completes, then finishes the requests in flight.
///
/// # Errors
/// When the application cannot be built (bad secret, database) or serving fails.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let app = crate::app::build(&config).await?;
    tracing::info!(address = %listener.local_addr()?, profile = ?config.profile, "axum-users listening");
    crate::http::serve(listener, app.router, &config.http, shutdown).await?;
    if let Some(purge) = &app.purge {
        purge.abort();
    }
    // Let work answered with 202 (reset and verification emails) finish, within reason.
    let background = app.state.background();
    background.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, background.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            pending = background.len(),
            "background work still running at shutdown"
        );
    }
    tracing::info!("axum-users stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
