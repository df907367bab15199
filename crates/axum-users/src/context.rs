//! The [`RequestContext`] hooks receive, read from a request.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use axum_users_core::{RequestContext, UserExtra};

use crate::state::UsersState;

/// What hooks learn of a request: the peer address (when the app was served with
/// `into_make_service_with_connect_info`), the user agent, and `x-request-id`.
///
/// The routers use [`UsersState::request_context`], which also believes `X-Forwarded-For`
/// from the rate limits' trusted proxies.
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

impl<X: UserExtra> UsersState<X> {
    /// What hooks learn of a request, as [`request_context`], with the client address taken
    /// as the rate limits take it: the socket peer, or the `X-Forwarded-For` hop of a trusted
    /// proxy ([`crate::limits::client_ip`]), so audit lines and limits name the same client.
    #[must_use]
    pub fn request_context(&self, parts: &Parts) -> RequestContext {
        let mut ctx = request_context(parts);
        if let Some(limits) = self.limits() {
            ctx.client_ip = limits.client_ip(parts);
        }
        ctx
    }
}
