//! `POST /login`, `POST /logout` (FastAPI Users' `get_auth_router`), and `POST /refresh` with
//! refresh tokens on.

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::response::Response;
use axum::routing::post;
use axum_users_core::{RequestContext, User, UserExtra};

use crate::authenticator::Requirement;
use crate::backend::AuthBackend;
use crate::body::{decode_form, read_bytes};
use crate::error::{ApiError, ErrorCode, Op, to_api};
use crate::limits::LimitedRoute;
use crate::schemas::parse_login;
use crate::state::UsersState;

/// Options of [`auth_router`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthRouterOptions {
    /// Refuse login (400 `LOGIN_USER_NOT_VERIFIED`) and logout (403) to unverified users.
    pub requires_verification: bool,
}

/// `POST /login` (form `username`, `password`) and `POST /logout` for one backend; with
/// refresh tokens on ([`AuthBackend::with_refresh`]), `POST /refresh` too (JSON
/// `{"refresh_token"}`), login answers a `refresh_token` as well, and logout revokes the
/// session's refresh-token family.
///
/// ```
/// # use axum::Router;
/// # use axum_users::{auth_router, AuthBackend, AuthRouterOptions, UsersState};
/// # fn f(backend: AuthBackend) {
/// let app: Router<UsersState> =
///     Router::new().nest("/auth/jwt", auth_router(backend, AuthRouterOptions::default()));
/// # }
/// ```
pub fn auth_router<X, S>(backend: AuthBackend<X>, options: AuthRouterOptions) -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    let login_backend = backend.clone();
    let refresh_backend = backend.clone();
    let router = Router::new()
        .route(
            "/login",
            post(move |State(users): State<UsersState<X>>, req: Request| {
                let backend = login_backend.clone();
                async move {
                    let (user, ctx) =
                        check_credentials(&users, req, options.requires_verification).await?;
                    let response = backend.login_response(&user).await?;
                    users.manager().on_after_login(&user, &ctx).await;
                    Ok::<Response, ApiError>(response)
                }
            }),
        )
        .route(
            "/logout",
            post(move |State(users): State<UsersState<X>>, req: Request| {
                let backend = backend.clone();
                async move {
                    let (parts, _) = req.into_parts();
                    let requirement =
                        Requirement::ACTIVE.verified_if(options.requires_verification);
                    let auth = users.authorize(&parts, requirement).await?;
                    backend
                        .strategy()
                        .destroy_token(&auth.token, &auth.user)
                        .await?;
                    super::refresh::end_session(&backend, &auth.token).await?;
                    Ok::<Response, ApiError>(backend.transport().logout_response())
                }
            }),
        );
    // `POST /refresh` only with refresh tokens on (and a transport that carries them).
    let router = match refresh_backend.refresh().cloned() {
        Some(tokens) => router.route(
            "/refresh",
            post(move |State(users): State<UsersState<X>>, req: Request| {
                let (backend, tokens) = (refresh_backend.clone(), tokens.clone());
                async move {
                    super::refresh::refresh(
                        &users,
                        &backend,
                        &tokens,
                        options.requires_verification,
                        req,
                    )
                    .await
                }
            }),
        ),
        None => router,
    };
    router.method_not_allowed_fallback(super::method_not_allowed)
}

/// Reads the login form and checks the credentials: 422 for a malformed form, 400
/// `LOGIN_BAD_CREDENTIALS` for an unknown email, a wrong password or an inactive user, 400
/// `LOGIN_USER_NOT_VERIFIED` when verification is required (only once the password matched).
///
/// With rate limits ([`UsersState::with_limits`]): the per-IP limit first (429, before the
/// body is read), then the account's lockout (429, before any hashing); a failure is counted
/// toward the lockout, a success clears the count. Every failed credential check fires
/// `on_after_failed_login`, limits or not.
pub(crate) async fn check_credentials<X: UserExtra>(
    users: &UsersState<X>,
    req: Request,
    requires_verification: bool,
) -> Result<(User<X>, RequestContext), ApiError> {
    let (parts, body) = req.into_parts();
    users.limit_request(LimitedRoute::Login, &parts).await?;
    let bytes = read_bytes(body).await?;
    let form = parse_login(decode_form(&parts.headers, bytes).await)?;
    if let Some(limits) = users.limits() {
        limits.check_login(&form.username).await?;
    }
    let user = users
        .manager()
        .authenticate(&form.username, &form.password)
        .await
        .map_err(|e| to_api(Op::Login, e))?;
    let ctx = users.request_context(&parts);
    let user = match user {
        Some(user) if user.is_active => user,
        inactive => {
            failed_login(users, &form.username, inactive, &ctx).await;
            return Err(ApiError::Code(ErrorCode::LoginBadCredentials));
        }
    };
    if let Some(limits) = users.limits() {
        limits.record_success(&form.username).await;
    }
    if requires_verification && !user.is_verified {
        return Err(ApiError::Code(ErrorCode::LoginUserNotVerified));
    }
    Ok((user, ctx))
}

/// A failed credential check: counted toward the account's lockout, then
/// `on_after_failed_login` with the user when the email names one (`user` is the inactive
/// user whose password matched, or `None`: looked up then).
async fn failed_login<X: UserExtra>(
    users: &UsersState<X>,
    email: &str,
    user: Option<User<X>>,
    ctx: &RequestContext,
) {
    let user = match user {
        Some(user) => Some(user),
        None => users
            .manager()
            .store()
            .get_by_email(email)
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "failed login: user lookup failed");
                None
            }),
    };
    if let Some(limits) = users.limits() {
        limits
            .record_failed_login(email, user.as_ref().map(|u| u.id))
            .await;
    }
    if let Err(error) = users
        .manager()
        .hooks()
        .on_after_failed_login(email, user.as_ref(), ctx)
        .await
    {
        tracing::error!(
            hook = "on_after_failed_login",
            user_id = user.as_ref().map(|u| tracing::field::display(u.id)),
            %error,
            "user hook failed"
        );
    }
}
