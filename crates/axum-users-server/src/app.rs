//! The application: store, hashing pool, manager, backends and routes, assembled from a
//! [`Config`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderName;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum_users::{
    AuthBackend, AuthRouterOptions, BearerTransport, CookieTransport, UsersRouterOptions,
    UsersState, auth_router, classic_router, jwks_router, register_router, reset_password_router,
    users_router, verify_router,
};
use axum_users_core::mail::{
    AccountMailer, EmailTemplates, LinkTemplate, MailError, Mailer, OutboxMailer, RetryingMailer,
    SmtpMailer,
};
use axum_users_core::{
    Argon2Hasher, DatabaseStrategy, HashPool, HashPoolConfig, JwtAlgorithm, JwtCodec, JwtStrategy,
    NoHooks, PasswordBinding, PasswordPolicy, RefreshTokenStore, RefreshTokens, TokenSettings,
    UserHooks, UserManager, WithPolicy,
};
use axum_users_redis::RedisStrategy;
use axum_users_sqlx::AnyUserStore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{BackendKind, Config, ConfigError, Profile};

use crate::error::ServerError;

/// The server's user type: no custom fields.
pub type Extra = ();

/// The assembled application.
#[derive(Debug)]
pub struct App {
    /// The router, ready to serve.
    pub router: Router,
    /// Its state (for draining background work at shutdown).
    pub state: UsersState<Extra>,
    /// The periodic purge of expired database tokens, when the database backend is on.
    pub purge: Option<tokio::task::JoinHandle<()>>,
}

/// Refresh tokens, when `AXUM_USERS_REFRESH_TOKENS` is on: in the database (default) or Redis.
fn refresh_tokens(
    config: &Config,
    store: &Arc<AnyUserStore<Extra>>,
) -> Result<Option<RefreshTokens>, ServerError> {
    let r = &config.refresh;
    if !r.enabled {
        return Ok(None);
    }
    let backing: Arc<dyn RefreshTokenStore> = match r.store.as_str() {
        "database" => store.clone(),
        "redis" => {
            let url = config.redis_url.as_deref().ok_or_else(|| {
                ConfigError::new(
                    "AXUM_USERS_REDIS_URL",
                    "refresh tokens in Redis need a Redis URL",
                )
            })?;
            Arc::new(
                axum_users_redis::RedisRefreshStore::lazy(url)
                    .map_err(|e| ConfigError::new("AXUM_USERS_REDIS_URL", e.to_string()))?,
            )
        }
        other => {
            return Err(ConfigError::new(
                "AXUM_USERS_REFRESH_TOKEN_STORE",
                format!("{other:?} is not a store (database or redis)"),
            )
            .into());
        }
    };
    Ok(Some(
        RefreshTokens::new(backing).with_lifetime(Duration::from_secs(r.lifetime_seconds)),
    ))
}

/// Deletes expired database tokens every `every` (FastAPI Users never does).
fn spawn_purge(strategy: DatabaseStrategy, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match strategy.purge_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "purged expired access tokens"),
                Err(error) => tracing::warn!(%error, "could not purge expired access tokens"),
            }
        }
    })
}

/// Derives a purpose-specific secret from the main one, so reset and verification tokens can
/// never be replayed as access tokens (or each other) even when only one secret is configured.
pub(crate) fn derive_secret(main: &str, purpose: &str) -> Vec<u8> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::new()
        .chain_update(b"axum-users/")
        .chain_update(purpose.as_bytes())
        .chain_update([0])
        .chain_update(main.as_bytes())
        .finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(digest)
        .into_bytes()
}

/// Opens the store (migrating it unless told not to) and builds the manager over it.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn manager(config: &Config, migrate: bool) -> Result<UserManager<Extra>, ServerError> {
    let store = crate::database::open(config, migrate).await?;
    Ok(manager_over(config, store))
}

/// The manager over an open store.
#[must_use]
pub fn manager_over(config: &Config, store: Arc<AnyUserStore<Extra>>) -> UserManager<Extra> {
    let hasher = HashPool::new(
        Arc::new(Argon2Hasher::new(config.argon2_params())),
        HashPoolConfig {
            workers: config.hash_workers,
            queue_per_worker: config.hash_queue_per_worker,
            low_priority: true,
        },
    );
    UserManager::new(store, hasher, Arc::new(NoHooks))
}

fn backends(
    config: &Config,
    codec: &JwtCodec,
    database: &DatabaseStrategy,
    refresh: Option<&RefreshTokens>,
) -> Result<Vec<AuthBackend<Extra>>, ServerError> {
    let binding = match (
        config.revoke_on_password_change,
        config.require_token_binding,
    ) {
        (false, _) => PasswordBinding::Off,
        (true, false) => PasswordBinding::Bind,
        (true, true) => PasswordBinding::Require,
    };
    let jwt = Arc::new(
        JwtStrategy::new(codec.clone(), config.jwt_lifetime_seconds).password_binding(binding),
    );
    config
        .backends
        .iter()
        .map(|kind| match kind {
            BackendKind::Jwt => {
                let backend = AuthBackend::new("jwt", Arc::new(BearerTransport), jwt.clone());
                Ok(match refresh {
                    Some(tokens) => backend.with_refresh(tokens.clone()),
                    None => backend,
                })
            }
            BackendKind::Cookie => {
                let c = &config.cookie;
                let transport = CookieTransport::new()
                    .name(c.name.clone())
                    .max_age(c.max_age)
                    .domain(c.domain.clone())
                    .secure(c.secure)
                    .csrf_protection(c.csrf)
                    .trusted_origins(c.trusted_origins.clone());
                Ok(AuthBackend::new("cookie", Arc::new(transport), jwt.clone()))
            }
            BackendKind::Database => Ok(AuthBackend::new(
                "database",
                Arc::new(BearerTransport),
                Arc::new(database.clone()),
            )),
            BackendKind::Redis => {
                let url = config.redis_url.as_deref().unwrap_or_default();
                // Lazy: the server starts while Redis is down and answers 503 until it is back.
                let redis = RedisStrategy::lazy(url, Some(config.jwt_lifetime_seconds))
                    .map_err(|e| ConfigError::new("AXUM_USERS_REDIS_URL", e.to_string()))?;
                Ok(AuthBackend::new(
                    "redis",
                    Arc::new(BearerTransport),
                    Arc::new(redis),
                ))
            }
        })
        .collect()
}

/// The access-token codec: HS256 with the secret, or an asymmetric key from its PEM file
/// (plus retired keys that still verify).
///
/// # Errors
/// A key file that cannot be read or does not parse for the algorithm.
pub fn jwt_codec(config: &Config, secret: &str) -> Result<JwtCodec, ServerError> {
    let algorithm = config.jwt_algorithm()?;
    let Some(file) = config
        .jwt_private_key_file
        .as_ref()
        .filter(|_| algorithm != JwtAlgorithm::HS256)
    else {
        return JwtCodec::hs256(secret.as_bytes())
            .map_err(|e| ConfigError::new("AXUM_USERS_SECRET", e.to_string()).into());
    };
    let read = |setting: &'static str, path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|e| ConfigError::new(setting, format!("{}: {e}", path.display())))
    };
    let pem = read("AXUM_USERS_JWT_PRIVATE_KEY_FILE", file)?;
    let mut codec = JwtCodec::from_private_pem(algorithm, &pem).map_err(|e| {
        ConfigError::new(
            "AXUM_USERS_JWT_PRIVATE_KEY_FILE",
            format!("{}: {e}", file.display()),
        )
    })?;
    for path in &config.jwt_previous_key_files {
        let pem = read("AXUM_USERS_JWT_PREVIOUS_KEY_FILES", path)?;
        codec = codec.with_previous_key(&pem).map_err(|e| {
            ConfigError::new(
                "AXUM_USERS_JWT_PREVIOUS_KEY_FILES",
                format!("{}: {e}", path.display()),
            )
        })?;
    }
    Ok(codec)
}

/// The mailer of reset and verification emails: SMTP when configured, else `.eml` files in
/// the outbox folder; retried with backoff either way.
///
/// # Errors
/// A bad SMTP URL, sender, link template, template folder or outbox folder.
pub fn account_mailer(config: &Config) -> Result<AccountMailer, ServerError> {
    let m = &config.mail;
    let bad = |setting: &'static str| move |e: MailError| ConfigError::new(setting, e.to_string());
    let transport: Arc<dyn Mailer> = match &m.smtp_url {
        Some(url) => {
            let smtp = SmtpMailer::from_url(url, &m.from).map_err(bad("AXUM_USERS_SMTP_URL"))?;
            tracing::info!(server = smtp.server(), "emails go out over SMTP");
            Arc::new(RetryingMailer::new(smtp))
        }
        None => {
            let outbox =
                OutboxMailer::new(&m.outbox, &m.from).map_err(bad("AXUM_USERS_MAIL_OUTBOX"))?;
            tracing::info!(folder = %m.outbox.display(), "no AXUM_USERS_SMTP_URL: emails are written to the outbox folder");
            Arc::new(RetryingMailer::new(outbox))
        }
    };
    let templates = match &m.templates {
        Some(dir) => EmailTemplates::from_dir(dir).map_err(bad("AXUM_USERS_MAIL_TEMPLATES"))?,
        None => EmailTemplates::builtin(),
    };
    let reset = LinkTemplate::new(&config.link_template(&m.reset_url_template))
        .map_err(bad("AXUM_USERS_RESET_URL_TEMPLATE"))?;
    let verify = LinkTemplate::new(&config.link_template(&m.verify_url_template))
        .map_err(bad("AXUM_USERS_VERIFY_URL_TEMPLATE"))?;
    Ok(AccountMailer::new(transport, templates, reset, verify))
}

/// Builds the whole HTTP application.
///
/// # Errors
/// A bad secret, or a database that cannot be opened or migrated.
pub async fn build(config: &Config) -> Result<App, ServerError> {
    let secret = crate::secret::load_or_create(config.secret.as_deref(), &config.secret_file)?;
    let codec = jwt_codec(config, &secret)?;
    let reset = config.reset_secret.as_ref().map_or_else(
        || derive_secret(&secret, "reset"),
        |s| s.clone().into_bytes(),
    );
    let verify = config.verify_secret.as_ref().map_or_else(
        || derive_secret(&secret, "verify"),
        |s| s.clone().into_bytes(),
    );
    let tokens = TokenSettings::new(&reset, &verify)
        .map_err(|e| ConfigError::new("AXUM_USERS_SECRET", e.to_string()))?;
    let metrics = crate::metrics::Metrics::new();
    let mail: Arc<dyn UserHooks<Extra>> = Arc::new(crate::audit::AuditHooks::new(Arc::new(
        crate::hooks::MailHooks::new(account_mailer(config)?).with_metrics(metrics.clone()),
    )));
    let p = config.password;
    let hooks: Arc<dyn UserHooks<Extra>> = if p.enabled {
        let policy = PasswordPolicy {
            min_chars: p.min_length,
            max_chars: p.max_length,
            forbid_email_local_part: p.forbid_email,
            common_passwords: p.forbid_common,
        };
        Arc::new(WithPolicy::new(policy, mail))
    } else {
        mail
    };
    let store = crate::database::open(config, config.auto_migrate).await?;
    let database = DatabaseStrategy::new(
        store.clone(),
        Some(Duration::from_secs(config.jwt_lifetime_seconds)),
    );
    let purge = config.backends.contains(&BackendKind::Database).then(|| {
        spawn_purge(
            database.clone(),
            Duration::from_secs(config.token_purge_interval_seconds),
        )
    });
    let manager = manager_over(config, store.clone())
        .with_tokens(tokens)
        .with_hooks(hooks);
    let refresh = refresh_tokens(config, &store)?;
    let backends = backends(config, &codec, &database, refresh.as_ref())?;
    // `[oauth.<name>]` (v15 only: the settings refuse it with the classic profile).
    let oauth = crate::oauth::router(config, &secret, &store, &backends)?;
    let state = UsersState::new(manager, backends.clone());
    let state = match crate::limits::rate_limits(config)? {
        Some(limits) => state.with_limits(limits),
        None => state,
    };
    metrics.watch(&state);
    let readiness = crate::health::Readiness::new(config, store)?;
    let verification = config.requires_verification;

    let (api, doc) = match config.profile {
        Profile::V15 => {
            let mut api = Router::new();
            for backend in backends {
                let prefix = format!("/auth/{}", backend.name());
                api = api.nest(
                    &prefix,
                    auth_router(
                        backend,
                        AuthRouterOptions {
                            requires_verification: verification,
                        },
                    ),
                );
            }
            let api = api
                .nest(
                    "/auth",
                    register_router::<Extra, _>()
                        .merge(reset_password_router::<Extra, _>())
                        .merge(verify_router::<Extra, _>()),
                )
                .nest(
                    "/users",
                    users_router::<Extra, _>(UsersRouterOptions {
                        requires_verification: verification,
                    }),
                )
                .merge(oauth);
            (api, crate::docs::v15_document(config))
        }
        Profile::Classic => {
            let prefix = config.classic_prefix.as_str();
            let jwt = backends.into_iter().next().ok_or_else(|| {
                ConfigError::new("AXUM_USERS_BACKENDS", "the classic profile needs a backend")
            })?;
            let routes = classic_router(jwt);
            let api = if prefix.is_empty() {
                routes
            } else {
                Router::new().nest(prefix, routes)
            };
            (api, crate::docs::classic_document(config))
        }
    };

    let request_timeout = Duration::from_secs(config.http.request_timeout_seconds);
    let sensitive: Arc<[HeaderName]> = Arc::new([AUTHORIZATION, COOKIE, SET_COOKIE]);
    let x_request_id = HeaderName::from_static("x-request-id");
    let docs: Router<UsersState<Extra>> = SwaggerUi::new("/docs")
        .url("/openapi.json", doc)
        .config(
            utoipa_swagger_ui::Config::default()
                .persist_authorization(true)
                // Swagger UI's default loads a badge from validator.swagger.io, sending it the
                // document's URL, whenever the page's host is not localhost.
                .validator_url("none"),
        )
        .into();
    let api = if codec.algorithm() == JwtAlgorithm::HS256 {
        api
    } else {
        api.merge(jwks_router(&codec))
    };
    let api = api.merge(crate::health::router(readiness));
    let api = if config.metrics {
        api.merge(metrics.router())
    } else {
        api
    };
    // The pages behind the email links; the classic profile has its API at /reset-password.
    let api = if config.profile == Profile::V15 && config.pages {
        api.merge(crate::pages::router(config, &reset, &verify)?)
    } else {
        api
    };
    let router = api
        .merge(docs)
        .fallback(axum_users::not_found)
        .with_state(state.clone())
        // Inside the metrics layer, so a request that times out is counted with its 503.
        .layer(axum::middleware::from_fn(move |request, next| {
            crate::http::request_deadline(request_timeout, request, next)
        }))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            crate::metrics::Metrics::track,
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(crate::logging::trace_layer())
        .layer(SetSensitiveHeadersLayer::from_shared(sensitive))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid));
    Ok(App {
        router,
        state,
        purge,
    })
}
