//! The [`RequestContext`] hooks receive, read from a request.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum_users_core::RequestContext;

/// What hooks learn of a request: the peer address (when the app was served with
/// `into_make_service_with_connect_info`), the user agent, and `x-request-id`.
#[must_use]
pub fn request_context(parts: &Parts) -> RequestContext {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    RequestContext::new(
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip()),
        header(USER_AGENT.as_str()),
        header("x-request-id"),
    )
}
