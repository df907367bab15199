//! `GET /health` (liveness) and `GET /health/ready` (readiness).
//!
//! - `/health` answers `200 {"status": "ok"}` without any I/O: the process is up and serving.
//! - `/health/ready` checks the database (`SELECT 1`) and, when `AXUM_USERS_REDIS_URL` is set,
//!   Redis (`PING`), concurrently, each bounded by [`CHECK_TIMEOUT`]: `200 {"status": "ok",
//!   "checks": {"database": "ok", "redis": "ok"}}`, or `503 {"status": "unavailable", "checks":
//!   {…, "redis": "unavailable"}}` naming the one that failed. Why it failed goes to the log
//!   (at `warn`), not to the client.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_users_redis::RedisStrategy;
use axum_users_sqlx::AnyUserStore;
use serde_json::{Map, Value, json};

use crate::app::Extra;
use crate::config::{Config, ConfigError};

/// How long one readiness check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/health/ready` checks.
#[derive(Clone)]
pub struct Readiness {
    store: Arc<AnyUserStore<Extra>>,
    redis: Option<RedisStrategy>,
    timeout: Duration,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("database", &self.store.kind())
            .field("redis", &self.redis.is_some())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Readiness {
    /// Checks of the store, and of the configured Redis (if any).
    ///
    /// # Errors
    /// A Redis URL that does not parse (`AXUM_USERS_REDIS_URL`).
    pub fn new(config: &Config, store: Arc<AnyUserStore<Extra>>) -> Result<Self, ConfigError> {
        let redis = config
            .redis_url
            .as_deref()
            .map(|url| {
                // Lazy: connects on the first check, so a Redis that is down does not stop
                // the start (readiness says so instead).
                RedisStrategy::lazy(url, None)
                    .map(|r| r.timeout(CHECK_TIMEOUT))
                    .map_err(|e| ConfigError::new("AXUM_USERS_REDIS_URL", e.to_string()))
            })
            .transpose()?;
        Ok(Self {
            store,
            redis,
            timeout: CHECK_TIMEOUT,
        })
    }

    /// Runs every check; `(name, ok)` in a fixed order.
    pub async fn check(&self) -> Vec<(&'static str, bool)> {
        let database = bounded("database", self.timeout, self.store.ping());
        let redis = async {
            match &self.redis {
                Some(r) => Some(bounded("redis", self.timeout, r.ping()).await),
                None => None,
            }
        };
        let (database, redis) = tokio::join!(database, redis);
        let mut checks = vec![("database", database)];
        if let Some(redis) = redis {
            checks.push(("redis", redis));
        }
        checks
    }
}

async fn bounded<E: std::fmt::Display>(
    name: &'static str,
    timeout: Duration,
    check: impl Future<Output = Result<(), E>>,
) -> bool {
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::warn!(check = name, %error, "readiness check failed");
            false
        }
        Err(_) => {
            tracing::warn!(
                check = name,
                timeout_ms = timeout.as_millis(),
                "readiness check timed out"
            );
            false
        }
    }
}

/// `GET /health` and `GET /health/ready`.
pub fn router<S: Clone + Send + Sync + 'static>(readiness: Readiness) -> Router<S> {
    Router::new()
        .route("/health", get(live))
        .route("/health/ready", get(ready))
        .method_not_allowed_fallback(axum_users::method_not_allowed)
        .with_state(readiness)
}

async fn live() -> Response {
    no_store(StatusCode::OK, json!({"status": "ok"}))
}

async fn ready(State(readiness): State<Readiness>) -> Response {
    let checks = readiness.check().await;
    let all_ok = checks.iter().all(|&(_, ok)| ok);
    let map: Map<String, Value> = checks
        .into_iter()
        .map(|(name, ok)| {
            let state = if ok { "ok" } else { "unavailable" };
            (name.to_owned(), Value::from(state))
        })
        .collect();
    let (status, word) = if all_ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    no_store(status, json!({"status": word, "checks": map}))
}

fn no_store(status: StatusCode, body: Value) -> Response {
    (status, [(CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}
