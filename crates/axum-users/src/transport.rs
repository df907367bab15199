//! Where a token travels: the [`Transport`] trait and the [`BearerTransport`].

mod bearer;
mod cookie;

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

pub use self::bearer::BearerTransport;
pub use self::cookie::{CookieTransport, SameSite};
use crate::error::ApiError;

/// FastAPI Users' `Transport`: reads a token from a request and writes login and logout
/// responses. Reading is synchronous and does no I/O.
///
/// ```
/// use axum::http::request::Parts;
/// use axum::response::{IntoResponse, Response};
/// use axum_users::Transport;
///
/// /// Tokens in an `X-Api-Token` header.
/// struct HeaderTransport;
///
/// impl Transport for HeaderTransport {
///     fn token(&self, parts: &Parts) -> Option<String> {
///         parts.headers.get("x-api-token")?.to_str().ok().map(str::to_owned)
///     }
///     fn login_response(&self, token: String) -> Response {
///         axum::Json(serde_json::json!({ "token": token })).into_response()
///     }
/// }
/// ```
pub trait Transport: Send + Sync + 'static {
    /// The token carried by the request, if any.
    fn token(&self, parts: &Parts) -> Option<String>;

    /// The response to a successful login.
    fn login_response(&self, token: String) -> Response;

    /// Whether a login through this transport can hand out a refresh token beside the access
    /// token. By default not (a cookie transport: its login stays a 204); the bearer transport
    /// can. Refresh tokens are issued only through a transport that carries them.
    fn carries_refresh_token(&self) -> bool {
        false
    }

    /// The response to a login (or a `/refresh`) that issued a refresh token too. By default
    /// the plain [`login_response`](Self::login_response); the bearer transport answers
    /// `{"access_token", "token_type": "bearer", "refresh_token"}`.
    fn refresh_login_response(&self, access_token: String, refresh_token: String) -> Response {
        let _ = refresh_token;
        self.login_response(access_token)
    }

    /// The response to a logout; by default `204 No Content`.
    fn logout_response(&self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }

    /// Checks a request this transport's token authenticated, before it is let through (the
    /// cookie transport's CSRF check). By default everything passes.
    ///
    /// # Errors
    /// The refusal to answer, typically [`ApiError::Forbidden`].
    fn check_request(&self, parts: &Parts) -> Result<(), ApiError> {
        let _ = parts;
        Ok(())
    }
}
