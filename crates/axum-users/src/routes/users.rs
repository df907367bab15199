//! `GET/PATCH /me`, `GET/PATCH/DELETE /{id}` (FastAPI Users' `get_users_router`).

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_users_core::{CreateMode, User, UserExtra};

use crate::authenticator::Requirement;
use crate::body::{decode_json, read_bytes};
use crate::error::{ApiError, Op, to_api};
use crate::schemas::{UserRead, parse_update, parse_user_id};
use crate::state::UsersState;
use crate::validation::object;

/// Options of [`users_router`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UsersRouterOptions {
    /// Every route demands a verified user (403 otherwise).
    pub requires_verification: bool,
}

fn ok_user<X: UserExtra>(user: &User<X>) -> Response {
    axum::Json(UserRead::from_user(user)).into_response()
}

/// The users API: the current user's profile, and superuser management by id.
pub fn users_router<X, S>(options: UsersRouterOptions) -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    let me = Requirement::ACTIVE.verified_if(options.requires_verification);
    let admin = me.superuser();
    Router::new()
        .route(
            "/me",
            get(
                move |State(users): State<UsersState<X>>, req: Request| async move {
                    let (parts, _) = req.into_parts();
                    let auth = users.authorize(&parts, me).await?;
                    Ok::<_, ApiError>(ok_user(&auth.user))
                },
            )
            .patch(
                move |State(users): State<UsersState<X>>, req: Request| async move {
                    let (parts, body) = req.into_parts();
                    let auth = users.authorize(&parts, me).await?;
                    update(&users, &parts, body, &auth.user, CreateMode::Public).await
                },
            )
            // FastAPI routes `DELETE /me` to `DELETE /{id}` with the id "me": superusers only,
            // and then no such user.
            .delete(
                move |State(users): State<UsersState<X>>, req: Request| async move {
                    let (parts, _) = req.into_parts();
                    users.authorize(&parts, admin).await?;
                    Err::<Response, ApiError>(ApiError::NotFound)
                },
            ),
        )
        .route(
            "/{id}",
            get(
                move |State(users): State<UsersState<X>>, req: Request| async move {
                    let (mut parts, _) = req.into_parts();
                    users.authorize(&parts, admin).await?;
                    let target = target(&users, &mut parts).await?;
                    Ok::<_, ApiError>(ok_user(&target))
                },
            )
            .patch(
                move |State(users): State<UsersState<X>>, req: Request| async move {
                    let (mut parts, body) = req.into_parts();
                    users.authorize(&parts, admin).await?;
                    let target = target(&users, &mut parts).await?;
                    update(&users, &parts, body, &target, CreateMode::Privileged).await
                },
            )
            .delete(
                move |State(users): State<UsersState<X>>, req: Request| async move {
                    let (mut parts, _) = req.into_parts();
                    users.authorize(&parts, admin).await?;
                    let target = target(&users, &mut parts).await?;
                    users
                        .manager()
                        .delete(&target, &users.request_context(&parts))
                        .await
                        .map_err(|e| to_api(Op::Lookup, e))?;
                    Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
                },
            ),
        )
        .method_not_allowed_fallback(super::method_not_allowed)
}

/// The user named by the `{id}` path segment: 404 when unparseable or unknown.
async fn target<X: UserExtra>(
    users: &UsersState<X>,
    parts: &mut Parts,
) -> Result<User<X>, ApiError> {
    let Ok(Path(raw)) = Path::<String>::from_request_parts(parts, &()).await else {
        return Err(ApiError::NotFound);
    };
    let id = parse_user_id(&raw).ok_or(ApiError::NotFound)?;
    users
        .manager()
        .get(id)
        .await
        .map_err(|e| to_api(Op::Lookup, e))
}

async fn update<X: UserExtra>(
    users: &UsersState<X>,
    parts: &Parts,
    body: axum::body::Body,
    user: &User<X>,
    mode: CreateMode,
) -> Result<Response, ApiError> {
    let bytes = read_bytes(body).await?;
    let obj = object(decode_json(&parts.headers, &bytes)?)?;
    let update = parse_update(&obj, &user.extra, mode == CreateMode::Privileged)?;
    let password_changed = update.password.is_some();
    let updated = users
        .manager()
        .update(user, update, mode, &users.request_context(parts))
        .await
        .map_err(|e| to_api(Op::Update, e))?;
    if password_changed {
        users.revoke_all(&updated).await;
    }
    Ok(ok_user(&updated))
}
