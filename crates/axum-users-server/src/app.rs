//! The application: store, hashing pool, manager, backends and routes, assembled from a
//! [`Config`].

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderName;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum_users::{
    AuthBackend, AuthRouterOptions, UsersRouterOptions, UsersState, auth_router, classic_router,
    register_router, users_router,
};
use axum_users_core::{
    Argon2Hasher, HashPool, HashPoolConfig, JwtCodec, JwtStrategy, NoHooks, UserManager,
};
use axum_users_sqlx::SqliteStore;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{Config, Profile};
use crate::database::DatabaseKind;
use crate::error::ServerError;

/// The server's user type: no custom fields.
pub type Extra = ();

/// Opens the store (migrating it unless told not to) and builds the manager.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn manager(config: &Config, migrate: bool) -> Result<UserManager<Extra>, ServerError> {
    let store = match DatabaseKind::from_url(&config.database_url)? {
        DatabaseKind::Sqlite => SqliteStore::<Extra>::connect(&config.database_url).await?,
    };
    if migrate {
        store.migrate().await?;
    }
    let hasher = HashPool::new(
        Arc::new(Argon2Hasher::new(config.argon2_params())),
        HashPoolConfig {
            workers: config.hash_workers,
            queue_per_worker: config.hash_queue_per_worker,
            low_priority: true,
        },
    );
    Ok(UserManager::new(Arc::new(store), hasher, Arc::new(NoHooks)))
}

/// Builds the whole HTTP application.
///
/// # Errors
/// A bad secret, or a database that cannot be opened or migrated.
pub async fn build(config: &Config) -> Result<Router, ServerError> {
    let secret = crate::secret::load_or_create(config.secret.as_deref(), &config.secret_file)?;
    let codec = JwtCodec::hs256(secret.as_bytes())
        .map_err(|e| crate::config::ConfigError::new("AXUM_USERS_SECRET", e.to_string()))?;
    let manager = manager(config, true).await?;
    let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec, config.jwt_lifetime_seconds));
    let state = UsersState::new(manager, vec![jwt.clone()]);
    let verification = config.requires_verification;

    let (api, doc) = match config.profile {
        Profile::V15 => {
            let api = Router::new()
                .nest(
                    "/auth/jwt",
                    auth_router(jwt, AuthRouterOptions { requires_verification: verification }),
                )
                .nest("/auth", register_router::<Extra, _>())
                .nest(
                    "/users",
                    users_router::<Extra, _>(UsersRouterOptions { requires_verification: verification }),
                );
            (api, crate::docs::v15_document(config))
        }
        Profile::Classic => {
            let prefix = config.classic_prefix.as_str();
            let routes = classic_router(jwt);
            let api = if prefix.is_empty() { routes } else { Router::new().nest(prefix, routes) };
            (api, crate::docs::classic_document(config))
        }
    };

    let sensitive: Arc<[HeaderName]> = Arc::new([AUTHORIZATION, COOKIE, SET_COOKIE]);
    let x_request_id = HeaderName::from_static("x-request-id");
    let docs: Router<UsersState<Extra>> = SwaggerUi::new("/docs")
        .url("/openapi.json", doc)
        .config(utoipa_swagger_ui::Config::default().persist_authorization(true))
        .into();
    Ok(api
        .merge(docs)
        .fallback(axum_users::not_found)
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveHeadersLayer::from_shared(sensitive))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid)))
}
