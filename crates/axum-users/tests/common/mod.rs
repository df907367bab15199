//! Shared helpers of the HTTP tests: the app as the server mounts it, over a real SQLite
//! database in a temporary file, plus request builders and user fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, Request, StatusCode, request};
use axum_users::{
    AuthBackend, AuthRouterOptions, UsersRouterOptions, UsersState, auth_router, not_found,
    register_router, users_router,
};
use axum_users_core::{
    Argon2Hasher, Argon2Params, CreateMode, HashPool, HashPoolConfig, InvalidPassword, JwtCodec,
    JwtStrategy, NoHooks, PasswordBinding, PasswordSubject, RequestContext, User, UserCreate,
    UserExtra, UserHooks, UserManager, UserPatch, UserStore,
};
use axum_users_sqlx::SqliteStore;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt as _;
use uuid::Uuid;

/// The HS256 secret access tokens are signed with.
pub(crate) const SECRET: &[u8] = b"test secret of at least thirty-two bytes";
/// Lifetime of access tokens, in seconds.
pub(crate) const LIFETIME: u64 = 3600;
/// The password every fixture user gets.
pub(crate) const PASSWORD: &str = "guinevere";
/// FastAPI Users 15.0.5's `PasswordHelper().hash("guinevere")` (argon2id m=65536, t=3, p=4).
pub(crate) const REFERENCE_ARGON2: &str = "$argon2id$v=19$m=65536,t=3,p=4$UKD8NkImbB4z2+aKzBWPqA$HQHNt+ww72uogvisk9A8T25ZZB/WmwIgyCg3MxWTw4k";
/// Python bcrypt 5.0.0's `hashpw(b"guinevere", gensalt(12))`.
pub(crate) const REFERENCE_BCRYPT: &str =
    "$2b$12$fQuaytHpDUDfN6wHawL.ueGOk1dQ/BDq0f5umWL9jU.59Zzg3rP4W";

/// Custom user fields, as an application would declare them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    #[serde(default)]
    pub(crate) first_name: Option<String>,
    #[serde(default)]
    pub(crate) newsletter: bool,
}

/// How to build the app.
pub(crate) struct Opts<X = ()> {
    /// `auth_router(.., AuthRouterOptions { requires_verification })`.
    pub(crate) login_requires_verification: bool,
    /// `users_router(UsersRouterOptions { requires_verification })`.
    pub(crate) users_require_verification: bool,
    /// The manager's hooks (default: none).
    pub(crate) hooks: Option<Arc<dyn UserHooks<X>>>,
    /// argon2 parameters (default: insecure_fast).
    pub(crate) argon2: Argon2Params,
    /// The hashing pool.
    pub(crate) pool: HashPoolConfig,
    /// How access JWTs relate to the password (default: the library's default).
    pub(crate) binding: PasswordBinding,
}

impl<X> Default for Opts<X> {
    fn default() -> Self {
        Self {
            login_requires_verification: false,
            users_require_verification: false,
            hooks: None,
            argon2: Argon2Params::insecure_fast(),
            pool: HashPoolConfig {
                workers: 2,
                ..HashPoolConfig::default()
            },
            binding: PasswordBinding::default(),
        }
    }
}

/// The app plus what the tests inspect behind it.
pub(crate) struct TestApp<X = ()> {
    pub(crate) router: Router,
    pub(crate) store: SqliteStore<X>,
    pub(crate) manager: UserManager<X>,
    pub(crate) codec: JwtCodec,
    _dir: tempfile::TempDir,
}

/// The default app: no custom fields, no hooks, verification not required.
pub(crate) async fn app() -> TestApp {
    app_with(Opts::default()).await
}

/// The app with custom fields ([`Profile`]).
pub(crate) async fn profile_app() -> TestApp<Profile> {
    app_with(Opts::default()).await
}

/// Mounts the routers as the server does: `/auth/jwt` (bearer JWT login/logout), `/auth`
/// (register), `/users`, and the JSON 404 fallback, over a fresh migrated SQLite file.
pub(crate) async fn app_with<X: UserExtra>(opts: Opts<X>) -> TestApp<X> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let store = SqliteStore::<X>::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = HashPool::new(Arc::new(Argon2Hasher::new(opts.argon2)), opts.pool);
    let hooks: Arc<dyn UserHooks<X>> = opts.hooks.unwrap_or_else(|| Arc::new(NoHooks));
    let manager = UserManager::new(Arc::new(store.clone()), pool, hooks);
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let jwt = AuthBackend::bearer_jwt(
        "jwt",
        JwtStrategy::new(codec.clone(), LIFETIME).password_binding(opts.binding),
    );
    let state = UsersState::new(manager.clone(), vec![jwt.clone()]);
    let router = Router::new()
        .nest(
            "/auth/jwt",
            auth_router(
                jwt,
                AuthRouterOptions {
                    requires_verification: opts.login_requires_verification,
                },
            ),
        )
        .nest("/auth", register_router::<X, _>())
        .nest(
            "/users",
            users_router::<X, _>(UsersRouterOptions {
                requires_verification: opts.users_require_verification,
            }),
        )
        .fallback(not_found)
        .with_state(state);
    TestApp {
        router,
        store,
        manager,
        codec,
        _dir: dir,
    }
}

/// Hooks whose `validate_password` refuses passwords under 8 characters.
#[derive(Debug)]
pub(crate) struct MinLength;

/// The reason [`MinLength`] gives.
pub(crate) const TOO_SHORT: &str = "Password should be at least 8 characters";

#[async_trait::async_trait]
impl<X: Send + Sync + 'static> UserHooks<X> for MinLength {
    async fn validate_password(
        &self,
        password: &str,
        _subject: PasswordSubject<'_, X>,
    ) -> Result<(), InvalidPassword> {
        if password.chars().count() < 8 {
            return Err(InvalidPassword::new(TOO_SHORT));
        }
        Ok(())
    }
}

/// The app with [`MinLength`] hooks.
pub(crate) async fn strict_app() -> TestApp {
    app_with(Opts {
        hooks: Some(Arc::new(MinLength)),
        ..Opts::default()
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Requests and responses.

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON (panics if it is not JSON).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// A header as a string.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// Sends one request through the app.
pub(crate) async fn send<X>(app: &TestApp<X>, req: Request<Body>) -> Reply {
    let response = app.router.clone().oneshot(req).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A request builder.
pub(crate) fn req(method: Method, uri: &str) -> request::Builder {
    Request::builder().method(method).uri(uri)
}

/// Building requests fluently.
pub(crate) trait BuilderExt {
    /// Adds `Authorization: Bearer <token>`.
    fn bearer(self, token: &str) -> Self;
    /// A JSON body.
    fn json(self, body: &Value) -> Request<Body>;
    /// An urlencoded form body.
    fn form(self, pairs: &[(&str, &str)]) -> Request<Body>;
    /// A body of any content type.
    fn raw(self, content_type: &str, body: impl Into<Body>) -> Request<Body>;
    /// No body.
    fn empty(self) -> Request<Body>;
}

impl BuilderExt for request::Builder {
    fn bearer(self, token: &str) -> Self {
        self.header(AUTHORIZATION, format!("Bearer {token}"))
    }

    fn json(self, body: &Value) -> Request<Body> {
        self.raw("application/json", serde_json::to_vec(body).unwrap())
    }

    fn form(self, pairs: &[(&str, &str)]) -> Request<Body> {
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.raw("application/x-www-form-urlencoded", encoded)
    }

    fn raw(self, content_type: &str, body: impl Into<Body>) -> Request<Body> {
        self.header(CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap()
    }

    fn empty(self) -> Request<Body> {
        self.body(Body::empty()).unwrap()
    }
}

/// `POST /auth/jwt/login` with this form.
pub(crate) async fn login_form<X>(app: &TestApp<X>, username: &str, password: &str) -> Reply {
    send(
        app,
        req(Method::POST, "/auth/jwt/login")
            .form(&[("username", username), ("password", password)]),
    )
    .await
}

/// Logs in and returns the access token (asserting 200).
pub(crate) async fn login<X>(app: &TestApp<X>, email: &str, password: &str) -> String {
    let r = login_form(app, email, password).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "login of {email} failed: {:?}",
        r.json()
    );
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// `GET /users/me` with a token.
pub(crate) async fn me<X>(app: &TestApp<X>, token: &str) -> Reply {
    send(app, req(Method::GET, "/users/me").bearer(token).empty()).await
}

/// The JSON body FastAPI gives for a business error or an auth failure.
pub(crate) fn detail(code: &str) -> Value {
    serde_json::json!({ "detail": code })
}

/// The `(type, loc)` of every item of a 422 body, asserting its shape on the way.
pub(crate) fn errors(reply: &Reply) -> Vec<(String, Value)> {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        reply.body
    );
    let body = reply.json();
    let items = body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("not a 422 list: {body}"));
    items
        .iter()
        .map(|item| {
            assert!(item["msg"].is_string(), "{item}");
            assert!(item.get("input").is_some(), "{item}");
            (
                item["type"].as_str().unwrap().to_owned(),
                item["loc"].clone(),
            )
        })
        .collect()
}

/// The JSON payload of a JWT, decoded without checking the signature.
pub(crate) fn jwt_payload(token: &str) -> Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Fixtures, made through the manager (privileged, as an administrator or CLI would).

/// Flags of a fixture user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flags {
    pub(crate) active: bool,
    pub(crate) superuser: bool,
    pub(crate) verified: bool,
}

/// An active, plain, unverified user.
pub(crate) const PLAIN: Flags = Flags {
    active: true,
    superuser: false,
    verified: false,
};
/// An active, verified superuser.
pub(crate) const SUPER: Flags = Flags {
    active: true,
    superuser: true,
    verified: true,
};
/// An inactive user.
pub(crate) const INACTIVE: Flags = Flags {
    active: false,
    superuser: false,
    verified: false,
};
/// An inactive superuser.
pub(crate) const INACTIVE_SUPER: Flags = Flags {
    active: false,
    superuser: true,
    verified: true,
};
/// An active verified user.
pub(crate) const VERIFIED: Flags = Flags {
    active: true,
    superuser: false,
    verified: true,
};

/// Creates a user with [`PASSWORD`] and these flags.
pub(crate) async fn create<X: UserExtra + Default>(
    app: &TestApp<X>,
    email: &str,
    flags: Flags,
) -> User<X> {
    let mut c = UserCreate::new(
        axum_users_core::email::normalize(email).unwrap(),
        PASSWORD.into(),
    );
    c.is_active = Some(flags.active);
    c.is_superuser = Some(flags.superuser);
    c.is_verified = Some(flags.verified);
    app.manager
        .create(c, CreateMode::Privileged, &RequestContext::default())
        .await
        .unwrap()
}

/// A plain user.
pub(crate) async fn user<X: UserExtra + Default>(app: &TestApp<X>, email: &str) -> User<X> {
    create(app, email, PLAIN).await
}

/// An active superuser.
pub(crate) async fn superuser<X: UserExtra + Default>(app: &TestApp<X>, email: &str) -> User<X> {
    create(app, email, SUPER).await
}

/// An inactive user.
pub(crate) async fn inactive<X: UserExtra + Default>(app: &TestApp<X>, email: &str) -> User<X> {
    create(app, email, INACTIVE).await
}

/// A verified user.
pub(crate) async fn verified<X: UserExtra + Default>(app: &TestApp<X>, email: &str) -> User<X> {
    create(app, email, VERIFIED).await
}

/// The stored row of a user, read back from SQLite.
pub(crate) async fn stored<X: UserExtra>(app: &TestApp<X>, id: Uuid) -> Option<User<X>> {
    app.store.get(id).await.unwrap()
}

/// Writes a patch straight to the store (bypassing every rule), e.g. a legacy hash.
pub(crate) async fn patch_row<X: UserExtra>(app: &TestApp<X>, id: Uuid, patch: UserPatch<X>) {
    app.store.update(id, patch).await.unwrap().unwrap();
}

/// A token for a user minted directly with the codec, without the additive `pfp` claim (as
/// FastAPI Users mints them with the same secret).
pub(crate) fn token_for<X>(app: &TestApp<X>, user: &User<X>) -> String {
    app.codec
        .encode(&axum_users_core::AccessClaims::new(
            user.id.to_string(),
            LIFETIME,
        ))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Rate limits (tests/limits*.rs).

/// The app with rate limits, and its state (to drain background work).
pub(crate) struct LimitedApp<X = ()> {
    pub(crate) app: TestApp<X>,
    pub(crate) state: UsersState<X>,
}

/// As [`app_with`], plus `/auth/forgot-password`, `/auth/reset-password`,
/// `/auth/request-verify-token` and `/auth/verify`, with `limits` in the state.
pub(crate) async fn app_with_limits<X: UserExtra>(
    opts: Opts<X>,
    limits: axum_users::limits::RateLimits,
) -> LimitedApp<X> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let store = SqliteStore::<X>::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = HashPool::new(Arc::new(Argon2Hasher::new(opts.argon2)), opts.pool);
    let hooks: Arc<dyn UserHooks<X>> = opts.hooks.unwrap_or_else(|| Arc::new(NoHooks));
    let manager = UserManager::new(Arc::new(store.clone()), pool, hooks);
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let jwt = AuthBackend::bearer_jwt(
        "jwt",
        JwtStrategy::new(codec.clone(), LIFETIME).password_binding(opts.binding),
    );
    let state = UsersState::new(manager.clone(), vec![jwt.clone()]).with_limits(limits);
    let router = Router::new()
        .nest(
            "/auth/jwt",
            auth_router(
                jwt,
                AuthRouterOptions {
                    requires_verification: opts.login_requires_verification,
                },
            ),
        )
        .nest("/auth", register_router::<X, _>())
        .nest("/auth", axum_users::reset_password_router::<X, _>())
        .nest("/auth", axum_users::verify_router::<X, _>())
        .nest(
            "/users",
            users_router::<X, _>(UsersRouterOptions {
                requires_verification: opts.users_require_verification,
            }),
        )
        .fallback(not_found)
        .with_state(state.clone());
    LimitedApp {
        app: TestApp {
            router,
            store,
            manager,
            codec,
            _dir: dir,
        },
        state,
    }
}

// ---------------------------------------------------------------------------------------------
// Hooks that record every event, and an app with the reset and verify routers and several
// backends (tests/router_reset.rs, tests/router_verify.rs, tests/backends.rs).

/// One hook call, as [`RecordingHooks`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HookEvent {
    /// `on_after_register`.
    Register { user: Uuid },
    /// `on_after_login`.
    Login { user: Uuid },
    /// `on_after_update`.
    Update { user: Uuid },
    /// `on_after_forgot_password`, with the reset token it was handed.
    ForgotPassword { user: Uuid, token: String },
    /// `on_after_reset_password`.
    ResetPassword { user: Uuid },
    /// `on_after_request_verify`, with the verification token it was handed.
    RequestVerify { user: Uuid, token: String },
    /// `on_after_verify`.
    Verify { user: Uuid },
}

/// Hooks that record every event (and the tokens handed to `on_after_forgot_password` and
/// `on_after_request_verify`), and whose `validate_password` refuses passwords under 8
/// characters ([`TOO_SHORT`]). Token hooks can be held back by a gate, to observe a request
/// answered before its background work ends.
#[derive(Debug)]
pub(crate) struct RecordingHooks {
    events: std::sync::Mutex<Vec<HookEvent>>,
    recorded: tokio::sync::Notify,
    gate: tokio::sync::watch::Sender<bool>,
}

impl Default for RecordingHooks {
    fn default() -> Self {
        Self {
            events: std::sync::Mutex::new(Vec::new()),
            recorded: tokio::sync::Notify::new(),
            gate: tokio::sync::watch::Sender::new(true),
        }
    }
}

/// How long a test waits for background work before failing.
pub(crate) const HOOK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl RecordingHooks {
    fn record(&self, event: HookEvent) {
        self.events.lock().unwrap().push(event);
        self.recorded.notify_waiters();
    }

    async fn pass_gate(&self) {
        let mut rx = self.gate.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }

    /// Holds `on_after_forgot_password` and `on_after_request_verify` until [`Self::open`].
    pub(crate) fn close(&self) {
        self.gate.send_replace(false);
    }

    /// Lets held token hooks run.
    pub(crate) fn open(&self) {
        self.gate.send_replace(true);
    }

    /// Every event so far, in order.
    pub(crate) fn events(&self) -> Vec<HookEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Forgets the events so far.
    pub(crate) fn clear(&self) {
        self.events.lock().unwrap().clear();
    }

    /// Waits (at most [`HOOK_WAIT`]) until `pick` finds an event, and returns what it found.
    pub(crate) async fn wait_for<T>(&self, mut pick: impl FnMut(&HookEvent) -> Option<T>) -> T {
        self.wait_until(|events| events.iter().find_map(&mut pick))
            .await
    }

    /// Waits (at most [`HOOK_WAIT`]) until `look` finds something in the events so far.
    pub(crate) async fn wait_until<T>(&self, mut look: impl FnMut(&[HookEvent]) -> Option<T>) -> T {
        let found = tokio::time::timeout(HOOK_WAIT, async {
            loop {
                let notified = self.recorded.notified();
                tokio::pin!(notified);
                // Registered before looking, so a record made in between is not missed.
                notified.as_mut().enable();
                if let Some(t) = look(&self.events.lock().unwrap()) {
                    return t;
                }
                notified.await;
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            panic!(
                "no such hook event within {HOOK_WAIT:?}; events: {:?}",
                self.events()
            )
        })
    }

    /// Waits for the `n`-th (1-based) reset token handed over for `user`.
    pub(crate) async fn reset_token(&self, user: Uuid, n: usize) -> String {
        self.nth_token(n, |e| match e {
            HookEvent::ForgotPassword { user: u, token } if *u == user => Some(token.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for the `n`-th (1-based) verification token handed over for `user`.
    pub(crate) async fn verify_token(&self, user: Uuid, n: usize) -> String {
        self.nth_token(n, |e| match e {
            HookEvent::RequestVerify { user: u, token } if *u == user => Some(token.clone()),
            _ => None,
        })
        .await
    }

    async fn nth_token(&self, n: usize, pick: impl Fn(&HookEvent) -> Option<String>) -> String {
        assert!(n >= 1);
        self.wait_until(|events| events.iter().filter_map(&pick).nth(n - 1))
            .await
    }
}

#[async_trait::async_trait]
impl UserHooks<()> for RecordingHooks {
    async fn validate_password(
        &self,
        password: &str,
        _subject: PasswordSubject<'_, ()>,
    ) -> Result<(), InvalidPassword> {
        if password.chars().count() < 8 {
            return Err(InvalidPassword::new(TOO_SHORT));
        }
        Ok(())
    }

    async fn on_after_register(
        &self,
        user: &User,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.record(HookEvent::Register { user: user.id });
        Ok(())
    }

    async fn on_after_login(
        &self,
        user: &User,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.record(HookEvent::Login { user: user.id });
        Ok(())
    }

    async fn on_after_update(
        &self,
        user: &User,
        _update: &axum_users_core::UserUpdate,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.record(HookEvent::Update { user: user.id });
        Ok(())
    }

    async fn on_after_forgot_password(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.pass_gate().await;
        self.record(HookEvent::ForgotPassword {
            user: user.id,
            token: token.to_owned(),
        });
        Ok(())
    }

    async fn on_after_reset_password(
        &self,
        user: &User,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.record(HookEvent::ResetPassword { user: user.id });
        Ok(())
    }

    async fn on_after_request_verify(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.pass_gate().await;
        self.record(HookEvent::RequestVerify {
            user: user.id,
            token: token.to_owned(),
        });
        Ok(())
    }

    async fn on_after_verify(
        &self,
        user: &User,
        _ctx: &RequestContext,
    ) -> Result<(), axum_users_core::BoxError> {
        self.record(HookEvent::Verify { user: user.id });
        Ok(())
    }
}

/// A backend [`full_app`] can mount, at `/auth/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// Bearer × JWT at `/auth/jwt`.
    Jwt,
    /// Cookie × JWT at `/auth/cookie`.
    Cookie,
    /// Bearer × database tokens (the SQLite store's token table) at `/auth/database`.
    Database,
}

impl Backend {
    /// Its mount point's last segment.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::Cookie => "cookie",
            Self::Database => "database",
        }
    }
}

/// How to build a [`full_app`].
pub(crate) struct FullOpts {
    /// The backends, tried in this order (default: jwt only).
    pub(crate) backends: Vec<Backend>,
    /// The reset/verification token settings (default: the manager's ephemeral ones).
    pub(crate) tokens: Option<axum_users_core::TokenSettings>,
    /// The cookie transport's `Max-Age` (default: none, a session cookie).
    pub(crate) cookie_max_age: Option<u64>,
}

impl Default for FullOpts {
    fn default() -> Self {
        Self {
            backends: vec![Backend::Jwt],
            tokens: None,
            cookie_max_age: None,
        }
    }
}

/// An app with every v15 router except OAuth, [`RecordingHooks`], and its state (to drain
/// the background work).
pub(crate) struct FullApp {
    pub(crate) app: TestApp,
    pub(crate) state: UsersState,
    pub(crate) hooks: Arc<RecordingHooks>,
}

impl FullApp {
    /// Waits until every piece of background work started so far (forgot-password,
    /// request-verify-token) has finished.
    pub(crate) async fn drain(&self) {
        let background = self.state.background();
        background.close();
        tokio::time::timeout(HOOK_WAIT, background.wait())
            .await
            .expect("background work did not finish");
        background.reopen();
    }
}

/// Mounts, over a fresh migrated SQLite file: each backend's login/logout at
/// `/auth/<name>`, register, forgot/reset-password and request-verify-token/verify at
/// `/auth`, the users router at `/users`, and the JSON 404 fallback. The manager has
/// [`RecordingHooks`] and fast argon2.
pub(crate) async fn full_app(opts: FullOpts) -> FullApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    let store = SqliteStore::<()>::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let pool = HashPool::new(
        Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
        HashPoolConfig {
            workers: 2,
            ..HashPoolConfig::default()
        },
    );
    let hooks = Arc::new(RecordingHooks::default());
    let mut manager = UserManager::new(Arc::new(store.clone()), pool, hooks.clone());
    if let Some(tokens) = opts.tokens {
        manager = manager.with_tokens(tokens);
    }
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let backends: Vec<(Backend, AuthBackend)> = opts
        .backends
        .iter()
        .map(|&kind| {
            let backend = match kind {
                Backend::Jwt => {
                    AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec.clone(), LIFETIME))
                }
                Backend::Cookie => AuthBackend::new(
                    "cookie",
                    Arc::new(axum_users::CookieTransport::new().max_age(opts.cookie_max_age)),
                    Arc::new(JwtStrategy::new(codec.clone(), LIFETIME)),
                ),
                Backend::Database => AuthBackend::new(
                    "database",
                    Arc::new(axum_users::BearerTransport::new()),
                    Arc::new(axum_users_core::DatabaseStrategy::new(
                        Arc::new(store.clone()),
                        Some(std::time::Duration::from_secs(LIFETIME)),
                    )),
                ),
            };
            (kind, backend)
        })
        .collect();
    let state = UsersState::new(
        manager.clone(),
        backends.iter().map(|(_, b)| b.clone()).collect(),
    );
    let mut router = Router::new();
    for (kind, backend) in backends {
        router = router.nest(
            &format!("/auth/{}", kind.name()),
            auth_router(backend, AuthRouterOptions::default()),
        );
    }
    let router = router
        .nest("/auth", register_router::<(), _>())
        .nest("/auth", axum_users::reset_password_router::<(), _>())
        .nest("/auth", axum_users::verify_router::<(), _>())
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .fallback(not_found)
        .with_state(state.clone());
    FullApp {
        app: TestApp {
            router,
            store,
            manager,
            codec,
            _dir: dir,
        },
        state,
        hooks,
    }
}

/// `POST <path>` with a JSON body.
pub(crate) async fn post_json<X>(app: &TestApp<X>, path: &str, body: &Value) -> Reply {
    send(app, req(Method::POST, path).json(body)).await
}

/// Asserts the exact `null` success body: the four bytes `null`, typed `application/json`.
pub(crate) fn assert_null(r: &Reply, status: StatusCode) {
    assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(&r.body[..], b"null");
    assert_eq!(r.header("content-type"), Some("application/json"));
}
