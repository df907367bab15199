//! `POST /request-verify-token`, `POST /verify` (FastAPI Users' `get_verify_router`).

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_users_core::{ManagerError, UserExtra};

use super::null_json;
use crate::body::{decode_json, read_bytes};
use crate::error::{ApiError, Op, to_api};
use crate::limits::LimitedRoute;
use crate::schemas::UserRead;
use crate::state::UsersState;
use crate::validation::{Fields, embedded};

/// `POST /request-verify-token` (202 `null` always; the work happens after the answer) and
/// `POST /verify` (200 with the verified user).
pub fn verify_router<X, S>() -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    Router::new()
        .route("/request-verify-token", post(request_verify_token::<X>))
        .route("/verify", post(verify::<X>))
        .method_not_allowed_fallback(super::method_not_allowed)
}

async fn request_verify_token<X: UserExtra>(
    State(users): State<UsersState<X>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    users
        .limit_request(LimitedRoute::RequestVerifyToken, &parts)
        .await?;
    let bytes = read_bytes(body).await?;
    let obj = embedded(decode_json(&parts.headers, &bytes)?, &["email"])?;
    let mut f = Fields::new(&obj);
    let email = f.required_email("email");
    let Some(email) = email.filter(|_| f.errors.is_empty()) else {
        return Err(ApiError::Validation(f.errors));
    };
    let ctx = users.request_context(&parts);
    let manager = users.manager().clone();
    let limits = users.limits().cloned();
    users.spawn_background(async move {
        let user = match manager.store().get_by_email(&email).await {
            Ok(Some(user)) => user,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "request-verify-token: user lookup failed");
                return;
            }
        };
        if let Some(limits) = limits
            && !limits
                .allow_send(LimitedRoute::RequestVerifyToken, &user.email)
                .await
        {
            tracing::info!(user_id = %user.id, "request-verify-token: account over its email budget; nothing sent");
            return;
        }
        match manager.request_verify(&user, &ctx).await {
            Ok(_) | Err(ManagerError::UserInactive | ManagerError::UserAlreadyVerified) => {}
            Err(error) => {
                tracing::error!(user_id = %user.id, %error, "request-verify-token failed")
            }
        }
    });
    Ok(null_json(StatusCode::ACCEPTED))
}

async fn verify<X: UserExtra>(
    State(users): State<UsersState<X>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    users.limit_request(LimitedRoute::Verify, &parts).await?;
    let bytes = read_bytes(body).await?;
    let obj = embedded(decode_json(&parts.headers, &bytes)?, &["token"])?;
    let mut f = Fields::new(&obj);
    let Some(token) = f.required_str("token").filter(|_| f.errors.is_empty()) else {
        return Err(ApiError::Validation(f.errors));
    };
    let user = users
        .manager()
        .verify(token, &users.request_context(&parts))
        .await
        .map_err(|e| to_api(Op::Verify, e))?;
    Ok(axum::Json(UserRead::from_user(&user)).into_response())
}
