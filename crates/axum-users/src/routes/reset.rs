//! `POST /forgot-password`, `POST /reset-password` (FastAPI Users' `get_reset_password_router`).

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum_users_core::{ManagerError, UserExtra};

use super::null_json;
use crate::body::{decode_json, read_bytes};
use crate::error::{ApiError, Op, to_api};
use crate::limits::LimitedRoute;
use crate::state::UsersState;
use crate::validation::{Fields, embedded};

/// `POST /forgot-password` (202 `null` always, known address or not: the lookup, token and
/// email happen after the answer, so timing tells nothing) and `POST /reset-password`.
pub fn reset_password_router<X, S>() -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    Router::new()
        .route("/forgot-password", post(forgot_password::<X>))
        .route("/reset-password", post(reset_password::<X>))
        .method_not_allowed_fallback(super::method_not_allowed)
}

pub(crate) async fn forgot_password<X: UserExtra>(
    State(users): State<UsersState<X>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    users
        .limit_request(LimitedRoute::ForgotPassword, &parts)
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
                tracing::error!(%error, "forgot-password: user lookup failed");
                return;
            }
        };
        if let Some(limits) = limits
            && !limits
                .allow_send(LimitedRoute::ForgotPassword, &user.email)
                .await
        {
            tracing::info!(user_id = %user.id, "forgot-password: account over its email budget; nothing sent");
            return;
        }
        match manager.forgot_password(&user, &ctx).await {
            Ok(_) | Err(ManagerError::UserInactive) => {}
            Err(error) => tracing::error!(user_id = %user.id, %error, "forgot-password failed"),
        }
    });
    Ok(null_json(StatusCode::ACCEPTED))
}

pub(crate) async fn reset_password<X: UserExtra>(
    State(users): State<UsersState<X>>,
    req: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    users
        .limit_request(LimitedRoute::ResetPassword, &parts)
        .await?;
    let bytes = read_bytes(body).await?;
    let obj = embedded(decode_json(&parts.headers, &bytes)?, &["token", "password"])?;
    let mut f = Fields::new(&obj);
    let token = f.required_str("token");
    let password = f.required_str("password");
    if let Some(p) = password {
        f.check_password("password", p);
    }
    let (Some(token), Some(password)) = (token, password) else {
        return Err(ApiError::Validation(f.errors));
    };
    if !f.errors.is_empty() {
        return Err(ApiError::Validation(f.errors));
    }
    let user = users
        .manager()
        .reset_password(token, password, &users.request_context(&parts))
        .await
        .map_err(|e| to_api(Op::ResetPassword, e))?;
    users.revoke_all(&user).await;
    if let Some(limits) = users.limits() {
        limits.clear_lockout(&user.email).await;
    }
    Ok(null_json(StatusCode::OK))
}
