//! The classic profile: the seed's 2019 routes (`POST /register` → 200, `POST /login` → 200
//! `{"token"}`).

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_users_core::UserExtra;
use serde_json::json;

use crate::backend::AuthBackend;
use crate::error::ApiError;
use crate::state::UsersState;

/// `POST /register` (200 with the user), `POST /login` (200 `{"token": "<jwt>"}`),
/// `POST /forgot-password` (202) and `POST /reset-password` (200), as the 2019 contract;
/// privileged flags on register are ignored as in v15.
pub fn classic_router<X, S>(backend: AuthBackend<X>) -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    Router::new()
        .route(
            "/register",
            post(
                |State(users): State<UsersState<X>>, req: Request| async move {
                    super::register::register(&users, req, StatusCode::OK).await
                },
            ),
        )
        .route(
            "/login",
            post(move |State(users): State<UsersState<X>>, req: Request| {
                let backend = backend.clone();
                async move {
                    let (user, ctx) = super::auth::check_credentials(&users, req, false).await?;
                    let token = backend.strategy().write_token(&user).await?;
                    users.manager().on_after_login(&user, &ctx).await;
                    Ok::<Response, ApiError>(axum::Json(json!({ "token": token })).into_response())
                }
            }),
        )
        .route("/forgot-password", post(super::reset::forgot_password::<X>))
        .route("/reset-password", post(super::reset::reset_password::<X>))
        .method_not_allowed_fallback(super::method_not_allowed)
}
