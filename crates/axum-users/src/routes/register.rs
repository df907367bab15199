//! `POST /register` (FastAPI Users' `get_register_router`).

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_users_core::{CreateMode, UserExtra};

use crate::body::{decode_json, read_bytes};
use crate::error::{ApiError, Op, to_api};
use crate::limits::LimitedRoute;
use crate::schemas::{UserRead, parse_create};
use crate::state::UsersState;
use crate::validation::object;

/// `POST /register`: JSON `{email, password, ...custom fields}` → `201` with the user.
/// `id`, the privileged flags and unknown keys are ignored.
pub fn register_router<X, S>() -> Router<S>
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
                    register(&users, req, StatusCode::CREATED).await
                },
            ),
        )
        .method_not_allowed_fallback(super::method_not_allowed)
}

/// Registers from a request and answers `status` with the user.
pub(crate) async fn register<X: UserExtra>(
    users: &UsersState<X>,
    req: Request,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    users.limit_request(LimitedRoute::Register, &parts).await?;
    let bytes = read_bytes(body).await?;
    let obj = object(decode_json(&parts.headers, &bytes)?)?;
    let create = parse_create::<X>(&obj)?;
    let user = users
        .manager()
        .create(create, CreateMode::Public, &users.request_context(&parts))
        .await
        .map_err(|e| to_api(Op::Register, e))?;
    Ok((status, axum::Json(UserRead::from_user(&user))).into_response())
}
