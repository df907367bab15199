//! The connection loop and the per-request deadline: bounds on what one client may hold.
//!
//! `axum::serve` gives hyper no timer, so hyper's header-read timeout never fires and a client
//! that sends one header byte a minute (slowloris) keeps its connection forever. This loop is
//! `axum::serve` with the bounds of [`HttpSettings`]: a deadline on reading each request's head,
//! a cap on its header count and bytes (431 beyond), and graceful shutdown. [`request_deadline`]
//! bounds the whole request, body upload included (503 with `Retry-After` beyond).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::config::HttpSettings;

/// How long a shutdown waits for the requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Answers 503 with `Retry-After: 1` (the contract's unavailable body) when the request is not
/// answered within `limit`: a slow body upload, or a store that hangs. Dropping the handler's
/// future cancels its work; a hash already on the pool finishes there and is discarded.
pub async fn request_deadline(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                limit_seconds = limit.as_secs(),
                "request timed out; answered 503"
            );
            axum_users::ApiError::Unavailable { retry_after: 1 }.into_response()
        }
    }
}

fn builder(settings: &HttpSettings) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.header_read_timeout_seconds))
        .max_headers(settings.max_headers)
        .max_buf_size(settings.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(settings.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the requests in flight
/// finish (for at most 30 s). Each request carries `ConnectInfo<SocketAddr>` of its peer.
///
/// # Errors
/// Never at present: a failed `accept` (e.g. out of file descriptors) is logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let builder = builder(settings);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = router
            .clone()
            .map_request(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request.map(Body::new)
            });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::routing::get;
    use http_body_util::BodyExt as _;

    use super::*;

    /// A handler slower than the deadline gets 503 with `Retry-After` and the contract's body;
    /// a fast one is untouched. The clock is paused, so no test time passes.
    #[tokio::test(start_paused = true)]
    async fn the_deadline_answers_503_for_slow_requests() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(|r, n| {
                request_deadline(Duration::from_secs(30), r, n)
            }));
        let slow = app
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(slow.status(), 503);
        assert_eq!(slow.headers()["retry-after"], "1");
        let body = slow.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], br#"{"detail":"Service Unavailable"}"#);
        let fast = app
            .oneshot(Request::get("/fast").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fast.status(), 200);
    }
}
