//! One router factory per concern, as FastAPI Users' `get_*_router`. Each returns
//! `Router<S>` for any state `S` from which [`UsersState`](crate::UsersState) can be had, and
//! leaves `with_state` and the prefix to the caller.

mod auth;
mod classic;
mod jwks;
mod oauth;
mod refresh;
mod register;
mod reset;
mod users;
mod verify;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use self::auth::{AuthRouterOptions, auth_router};
pub use self::classic::classic_router;
pub use self::jwks::jwks_router;
pub use self::oauth::{
    CsrfCookie, OAuthAssociateOptions, OAuthRouterConfig, oauth_associate_router, oauth_router,
};
pub use self::register::register_router;
pub use self::reset::reset_password_router;
pub use self::users::{UsersRouterOptions, users_router};
pub use self::verify::verify_router;

/// `405 {"detail": "Method Not Allowed"}` (axum adds the `Allow` header).
pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(json!({ "detail": "Method Not Allowed" })),
    )
        .into_response()
}

/// `404 {"detail": "Not Found"}`, for an app's fallback.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({ "detail": "Not Found" })),
    )
        .into_response()
}

/// `200 null` / `202 null` bodies: the JSON literal `null`.
pub(crate) fn null_json(status: StatusCode) -> Response {
    (status, axum::Json(serde_json::Value::Null)).into_response()
}
