//! `GET /authorize`, `GET /callback` of an OAuth provider, for login (FastAPI Users'
//! `get_oauth_router`) and for associating the provider account with the current user
//! (`get_oauth_associate_router`).

mod cookie;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::extract::{FromRef, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_users_core::oauth::{
    AuthorizationRequest, CallbackRequest, FlowSecrets, MemoryStateStore, OAuthAccounts,
    OAuthCallbackOptions, OAuthIdentity, OAuthProvider, OAuthStateCodec, OAuthStateError,
    OAuthStateStore,
};
use axum_users_core::{JwtError, ManagerError, UserExtra};
use serde::Serialize;
use uuid::Uuid;

pub use self::cookie::CsrfCookie;
use crate::authenticator::Requirement;
use crate::backend::AuthBackend;
use crate::error::{ApiError, ErrorCode, Op, to_api};
use crate::schemas::UserRead;
use crate::state::UsersState;

/// One provider's routes: the provider, where its accounts live, the state secret, the
/// callback's public URL, and how callbacks behave.
///
/// ```no_run
/// # use std::sync::Arc;
/// # fn provider() -> Arc<dyn axum_users_core::oauth::OAuthProvider> { unimplemented!() }
/// use axum_users::{CsrfCookie, OAuthRouterConfig};
/// use axum_users_core::oauth::{OAuthAccounts, OAuthCallbackOptions};
/// use axum_users_core::MemoryStore;
///
/// let accounts = OAuthAccounts::new(Arc::new(MemoryStore::<()>::new()));
/// let config = OAuthRouterConfig::new(
///     provider(),
///     accounts,
///     b"a state secret of at least thirty-two bytes",
///     "https://app.example.com/auth/google/callback",
/// )
/// .unwrap()
/// .options(OAuthCallbackOptions { is_verified_by_default: true, ..Default::default() })
/// .frontend_redirect(Some("https://app.example.com/welcome".into()));
/// ```
pub struct OAuthRouterConfig<X = ()> {
    provider: Arc<dyn OAuthProvider>,
    accounts: OAuthAccounts<X>,
    states: OAuthStateCodec,
    state_store: Arc<dyn OAuthStateStore>,
    redirect_url: String,
    options: OAuthCallbackOptions,
    csrf_cookie: CsrfCookie,
    frontend_redirect: Option<String>,
}

impl<X> Clone for OAuthRouterConfig<X> {
    fn clone(&self) -> Self {
        Self {
            provider: Arc::clone(&self.provider),
            accounts: self.accounts.clone(),
            states: self.states.clone(),
            state_store: Arc::clone(&self.state_store),
            redirect_url: self.redirect_url.clone(),
            options: self.options,
            csrf_cookie: self.csrf_cookie.clone(),
            frontend_redirect: self.frontend_redirect.clone(),
        }
    }
}

impl<X> fmt::Debug for OAuthRouterConfig<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthRouterConfig")
            .field("provider", &self.provider.name())
            .field("accounts", &self.accounts)
            .field("redirect_url", &self.redirect_url)
            .field("options", &self.options)
            .field("csrf_cookie", &self.csrf_cookie)
            .field("frontend_redirect", &self.frontend_redirect)
            .finish_non_exhaustive()
    }
}

impl<X: UserExtra> OAuthRouterConfig<X> {
    /// The routes of `provider`, linking accounts in `accounts`, with states signed by
    /// `state_secret` (HS256, at least 32 random bytes advised), and `redirect_url` the public
    /// URL of the callback route (registered at the provider). Spent states are remembered in
    /// this process ([`MemoryStateStore`]); several instances need a shared
    /// [`state_store`](Self::state_store).
    ///
    /// # Errors
    /// [`JwtError::Key`] for an empty secret.
    pub fn new(
        provider: Arc<dyn OAuthProvider>,
        accounts: OAuthAccounts<X>,
        state_secret: &[u8],
        redirect_url: impl Into<String>,
    ) -> Result<Self, JwtError> {
        Ok(Self {
            provider,
            accounts,
            states: OAuthStateCodec::new(state_secret)?,
            state_store: Arc::new(MemoryStateStore::new()),
            redirect_url: redirect_url.into(),
            options: OAuthCallbackOptions::default(),
            csrf_cookie: CsrfCookie::default(),
            frontend_redirect: None,
        })
    }

    /// How callbacks treat what the provider says (`associate_by_email`,
    /// `is_verified_by_default`, `trust_email_verified`; all off by default). The associate
    /// routes use only `trust_email_verified`.
    #[must_use]
    pub fn options(mut self, options: OAuthCallbackOptions) -> Self {
        self.options = options;
        self
    }

    /// The CSRF cookie's attributes.
    #[must_use]
    pub fn csrf_cookie(mut self, cookie: CsrfCookie) -> Self {
        self.csrf_cookie = cookie;
        self
    }

    /// Where spent states are remembered (a SQL store, shared by every instance).
    #[must_use]
    pub fn state_store(mut self, store: Arc<dyn OAuthStateStore>) -> Self {
        self.state_store = store;
        self
    }

    /// How long a flow may take, in seconds (default 3600); the cookie lives as long.
    #[must_use]
    pub fn state_lifetime(mut self, seconds: u64) -> Self {
        self.states = self.states.lifetime_seconds(seconds);
        self.csrf_cookie = self.csrf_cookie.max_age(seconds);
        self
    }

    /// After a successful callback, answer `303 See Other` to this URL (a page of the
    /// frontend) instead of the login response (or the associated user). The transport's
    /// headers stay, its body goes: a cookie transport's `Set-Cookie` logs the browser in,
    /// while a bearer token would be lost, so use it with the cookie transport. Errors keep
    /// their JSON answers.
    #[must_use]
    pub fn frontend_redirect(mut self, url: Option<String>) -> Self {
        self.frontend_redirect = url;
        self
    }

    /// The provider.
    #[must_use]
    pub fn provider(&self) -> &Arc<dyn OAuthProvider> {
        &self.provider
    }
}

/// Options of [`oauth_associate_router`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OAuthAssociateOptions {
    /// Both routes demand a verified user (403 otherwise).
    pub requires_verification: bool,
}

/// `GET /authorize` and `GET /callback` for logging in with a provider through `backend`
/// (FastAPI Users' `get_oauth_router`). Nest it at `/auth/{provider}`.
///
/// - `/authorize?scopes=…` answers `200 {"authorization_url"}` and sets the CSRF cookie.
/// - `/callback?code=…&state=…` checks the state and the cookie before it exchanges the code,
///   spends the state, then answers the backend's login response (or a 303 to the frontend),
///   with the CSRF cookie cleared.
pub fn oauth_router<X, S>(backend: AuthBackend<X>, config: OAuthRouterConfig<X>) -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    let config = Arc::new(config);
    let authorize_config = Arc::clone(&config);
    Router::new()
        .route(
            "/authorize",
            get(move |req: Request| {
                let config = Arc::clone(&authorize_config);
                async move {
                    let (parts, _) = req.into_parts();
                    authorize(&config, &parts, None).await
                }
            }),
        )
        .route(
            "/callback",
            get(move |State(users): State<UsersState<X>>, req: Request| {
                let config = Arc::clone(&config);
                let backend = backend.clone();
                async move {
                    let (parts, _) = req.into_parts();
                    let result = login_callback(&users, &backend, &config, &parts).await;
                    config.finish(result)
                }
            }),
        )
        .method_not_allowed_fallback(super::method_not_allowed)
}

/// `GET /authorize` and `GET /callback` for linking a provider account to the current user
/// (FastAPI Users' `get_oauth_associate_router`). Nest it at `/auth/associate/{provider}`.
/// Both routes demand an active user (401), verified when `options` say so (403); the callback
/// answers `200` with the user (or a 303 to the frontend). An account already linked to
/// another user is refused (400 `OAUTH_USER_ALREADY_EXISTS`).
pub fn oauth_associate_router<X, S>(
    config: OAuthRouterConfig<X>,
    options: OAuthAssociateOptions,
) -> Router<S>
where
    X: UserExtra,
    S: Clone + Send + Sync + 'static,
    UsersState<X>: FromRef<S>,
{
    let requirement = Requirement::ACTIVE.verified_if(options.requires_verification);
    let config = Arc::new(config);
    let authorize_config = Arc::clone(&config);
    Router::new()
        .route(
            "/authorize",
            get(move |State(users): State<UsersState<X>>, req: Request| {
                let config = Arc::clone(&authorize_config);
                async move {
                    let (parts, _) = req.into_parts();
                    let auth = users.authorize(&parts, requirement).await?;
                    authorize(&config, &parts, Some(auth.user.id)).await
                }
            }),
        )
        .route(
            "/callback",
            get(move |State(users): State<UsersState<X>>, req: Request| {
                let config = Arc::clone(&config);
                async move {
                    let (parts, _) = req.into_parts();
                    let result = associate_callback(&users, &config, &parts, requirement).await;
                    config.finish(result)
                }
            }),
        )
        .method_not_allowed_fallback(super::method_not_allowed)
}

#[derive(Serialize)]
struct AuthorizeResponse {
    authorization_url: String,
}

/// The query of the routes: repeated `scopes`, and the callback's `code`, `state`, `error`
/// (the first of each).
#[derive(Default)]
struct Query {
    scopes: Vec<String>,
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

impl Query {
    fn of(parts: &Parts) -> Self {
        let mut q = Self::default();
        let Some(raw) = parts.uri.query() else {
            return q;
        };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            match key.as_ref() {
                "scopes" => q.scopes.push(value.into_owned()),
                "code" if q.code.is_none() => q.code = Some(value.into_owned()),
                "state" if q.state.is_none() => q.state = Some(value.into_owned()),
                "error" if q.error.is_none() => q.error = Some(value.into_owned()),
                _ => {}
            }
        }
        q
    }
}

/// The provider's `error`, passed on when it looks like an OAuth error code (RFC 6749's
/// character set, at most 100 characters); anything else is a plain "Bad Request".
fn provider_error(error: String) -> ApiError {
    let printable = |c: char| matches!(c, '\x20'..='\x7e') && c != '"' && c != '\\';
    if !error.is_empty() && error.len() <= 100 && error.chars().all(printable) {
        ApiError::OAuthCallbackError(error)
    } else {
        ApiError::BadRequest("Bad Request")
    }
}

/// `GET /authorize`: a new flow. `sub` is the user being associated.
async fn authorize<X: UserExtra>(
    config: &OAuthRouterConfig<X>,
    parts: &Parts,
    sub: Option<Uuid>,
) -> Result<Response, ApiError> {
    let query = Query::of(parts);
    let secrets = FlowSecrets::generate();
    let (state, _) = config
        .states
        .issue(&secrets, config.provider.name(), sub)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let scopes = (!query.scopes.is_empty()).then_some(query.scopes.as_slice());
    let url = config
        .provider
        .authorization_url(&AuthorizationRequest {
            redirect_uri: &config.redirect_url,
            state: &state,
            scopes,
            pkce_verifier: &secrets.pkce_verifier(),
            nonce: &secrets.nonce(),
        })
        .await
        .map_err(|e| to_api(Op::OAuthCallback, ManagerError::OAuthProvider(e)))?;
    let mut response = axum::Json(AuthorizeResponse {
        authorization_url: url,
    })
    .into_response();
    if !config
        .csrf_cookie
        .set(response.headers_mut(), secrets.cookie_value())
    {
        return Err(ApiError::Internal("invalid CSRF cookie attributes".into()));
    }
    no_store(&mut response);
    Ok(response)
}

fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn invalid_state() -> ApiError {
    ApiError::Code(ErrorCode::OauthInvalidState)
}

impl<X: UserExtra> OAuthRouterConfig<X> {
    /// The checks of a callback, in this order, all before the code is exchanged: the
    /// provider's `error`, a `code`, the state's signature, audience and expiry, the CSRF
    /// cookie against the state (constant-time), the state's provider, the user being
    /// associated (`sub`: `None` for login, whose states must have none), the state spent
    /// once. Then the exchange, with the flow's PKCE verifier and nonce.
    async fn identify(
        &self,
        parts: &Parts,
        op: Op,
        sub: Option<Uuid>,
    ) -> Result<OAuthIdentity, ApiError> {
        let query = Query::of(parts);
        if let Some(error) = query.error {
            return Err(provider_error(error));
        }
        let Some(code) = query.code.filter(|c| !c.is_empty()) else {
            return Err(ApiError::BadRequest("Bad Request"));
        };
        let claims = self
            .states
            .decode(query.state.as_deref().unwrap_or_default())
            .map_err(|e| to_api(op, ManagerError::OAuthState(e)))?;
        let secrets = self
            .csrf_cookie
            .read(parts)
            .map(|token| FlowSecrets::from_cookie(&token))
            .ok_or_else(invalid_state)?;
        if !secrets.matches(&claims) || claims.oauth_name.as_deref() != Some(self.provider.name()) {
            return Err(invalid_state());
        }
        match sub {
            None if claims.sub.is_some() => return Err(invalid_state()),
            Some(id) if claims.sub.as_deref() != Some(id.to_string().as_str()) => {
                return Err(ApiError::BadRequest("Bad Request"));
            }
            _ => {}
        }
        let jti = claims.jti.as_deref().ok_or_else(invalid_state)?;
        let expires_at = UNIX_EPOCH + Duration::from_secs(claims.exp);
        let fresh = self
            .state_store
            .consume_oauth_state(jti, expires_at)
            .await
            .map_err(|e| to_api(op, ManagerError::Store(e)))?;
        if !fresh {
            return Err(to_api(
                op,
                ManagerError::OAuthState(OAuthStateError::Invalid),
            ));
        }
        self.provider
            .callback(&CallbackRequest {
                code: &code,
                redirect_uri: &self.redirect_url,
                pkce_verifier: &secrets.pkce_verifier(),
                nonce: &secrets.nonce(),
            })
            .await
            .map_err(|e| to_api(op, ManagerError::OAuthProvider(e)))
    }

    /// A callback's answer: the success (as a 303 to the frontend, when configured) or the
    /// error, always clearing the CSRF cookie and never cached.
    fn finish(&self, result: Result<Response, ApiError>) -> Response {
        let mut response = match (result, &self.frontend_redirect) {
            (Ok(success), Some(url)) => see_other(success, url),
            (Ok(success), None) => success,
            (Err(e), _) => e.into_response(),
        };
        self.csrf_cookie.clear(response.headers_mut());
        no_store(&mut response);
        response
    }
}

/// `303 See Other` to `url`, keeping the headers of `response` but its body and content
/// headers.
fn see_other(response: Response, url: &str) -> Response {
    let Ok(location) = HeaderValue::from_str(url) else {
        return ApiError::Internal("invalid frontend redirect URL".into()).into_response();
    };
    let (parts, _) = response.into_parts();
    let mut redirect = StatusCode::SEE_OTHER.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            redirect.headers_mut().append(name, value.clone());
        }
    }
    redirect.headers_mut().insert(header::LOCATION, location);
    redirect
}

async fn login_callback<X: UserExtra>(
    users: &UsersState<X>,
    backend: &AuthBackend<X>,
    config: &OAuthRouterConfig<X>,
    parts: &Parts,
) -> Result<Response, ApiError> {
    let identity = config.identify(parts, Op::OAuthCallback, None).await?;
    let ctx = users.request_context(parts);
    let login = users
        .manager()
        .oauth_callback(
            &config.accounts,
            config.provider.name(),
            &identity,
            config.options,
            &ctx,
        )
        .await
        .map_err(|e| to_api(Op::OAuthCallback, e))?;
    if !login.user.is_active {
        return Err(to_api(Op::OAuthCallback, ManagerError::UserInactive));
    }
    // The backend's own login answer: with refresh tokens on, a refresh-token family too.
    let response = backend.login_response(&login.user).await?;
    users.manager().on_after_login(&login.user, &ctx).await;
    Ok(response)
}

async fn associate_callback<X: UserExtra>(
    users: &UsersState<X>,
    config: &OAuthRouterConfig<X>,
    parts: &Parts,
    requirement: Requirement,
) -> Result<Response, ApiError> {
    let auth = users.authorize(parts, requirement).await?;
    let identity = config
        .identify(parts, Op::OAuthAssociate, Some(auth.user.id))
        .await?;
    let options = OAuthCallbackOptions {
        trust_email_verified: config.options.trust_email_verified,
        ..OAuthCallbackOptions::default()
    };
    let user = users
        .manager()
        .oauth_associate_callback(
            &config.accounts,
            &auth.user,
            config.provider.name(),
            &identity,
            options,
            &users.request_context(parts),
        )
        .await
        .map_err(|e| to_api(Op::OAuthAssociate, e))?;
    Ok(axum::Json(UserRead::from_user(&user)).into_response())
}
