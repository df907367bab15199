//! `Authorization: Bearer <token>`.

use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::Transport;
use crate::schemas::BearerResponse;

/// FastAPI Users' `BearerTransport`: the token in `Authorization: Bearer <t>` (scheme in any
/// case), login answers `200 {"access_token", "token_type": "bearer"}`, logout `204`. With
/// refresh tokens on ([`AuthBackend::with_refresh`](crate::AuthBackend::with_refresh)), login
/// and `/refresh` answer `{"access_token", "token_type": "bearer", "refresh_token"}`.
#[derive(Debug, Clone, Default)]
pub struct BearerTransport;

impl BearerTransport {
    /// The bearer transport.
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

impl Transport for BearerTransport {
    fn token(&self, parts: &Parts) -> Option<String> {
        let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
        // As FastAPI's `get_authorization_scheme_param`: split at the first space.
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return None;
        }
        Some(token.to_owned())
    }

    fn login_response(&self, token: String) -> Response {
        axum::Json(BearerResponse {
            access_token: token,
            token_type: "bearer",
            refresh_token: None,
        })
        .into_response()
    }

    fn carries_refresh_token(&self) -> bool {
        true
    }

    fn refresh_login_response(&self, access_token: String, refresh_token: String) -> Response {
        axum::Json(BearerResponse {
            access_token,
            token_type: "bearer",
            refresh_token: Some(refresh_token),
        })
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(auth: &str) -> Parts {
        axum::http::Request::builder()
            .header(AUTHORIZATION, auth)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn reads_bearer_in_any_case_only() {
        let t = BearerTransport;
        assert_eq!(t.token(&parts("Bearer abc")).as_deref(), Some("abc"));
        assert_eq!(t.token(&parts("bearer abc")).as_deref(), Some("abc"));
        assert_eq!(t.token(&parts("Basic abc")), None);
        assert_eq!(t.token(&parts("Bearer")), None);
        assert_eq!(t.token(&parts("Bearer ")), None);
    }
}
