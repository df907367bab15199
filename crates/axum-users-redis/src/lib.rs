//! A Redis token [`Strategy`] for [axum-users](https://docs.rs/axum-users): FastAPI Users'
//! `RedisStrategy`, with the same keys and values, so that a FastAPI Users deployment and an
//! axum-users one can share a Redis and accept each other's tokens.
//!
//! | key | value | expiry |
//! |---|---|---|
//! | `<prefix><token>` | the user's id, hyphenated (`str(uuid)`) | the token lifetime (none for `None`) |
//! | `<prefix>user:<user id>` | the user's tokens (a sorted set scored by expiry time), for [`Strategy::revoke_all`] | the lifetime, renewed by each login |
//!
//! The prefix defaults to FastAPI Users' `fastapi_users_token:`; tokens are
//! `secrets.token_urlsafe()`'s: 32 random bytes, base64url without padding (43 characters).
//!
//! Every Redis request is bounded by a timeout (2 s by default): a Redis that is down or hangs
//! makes a request fail promptly with [`StrategyError::Backend`] (which the HTTP layer answers
//! with 503), never hang. The connection is a [`redis::aio::ConnectionManager`], which reconnects
//! by itself after an I/O error; after a timeout the strategy abandons the connection and opens
//! a fresh one on the next request, so a connection that went silent does not stay in use.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use axum_users_core::{Strategy, StrategyError, User, UserManager};
//! use axum_users_redis::RedisStrategy;
//!
//! async fn login_and_back(
//!     strategy: &RedisStrategy,
//!     manager: &UserManager,
//!     user: &User,
//! ) -> Result<(), StrategyError> {
//!     let token = strategy.write_token(user).await?;
//!     let again = strategy.read_token(&token, manager).await?;
//!     assert_eq!(again.map(|u| u.id), Some(user.id));
//!     strategy.destroy_token(&token, user).await?; // logout
//!     assert!(strategy.read_token(&token, manager).await?.is_none());
//!     Ok(())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Tokens valid for an hour, under FastAPI Users' default key prefix.
//! let strategy = RedisStrategy::connect("redis://127.0.0.1:6379", Some(3600))
//!     .await?
//!     .key_prefix("fastapi_users_token:")
//!     .timeout(Duration::from_secs(2));
//! # let _ = strategy;
//! # Ok(())
//! # }
//! ```
//!
//! The crate also holds [`RedisRefreshStore`], a `RefreshTokenStore` (refresh-token families,
//! rotation and reuse detection) in the same Redis, under its own prefix
//! ([`DEFAULT_REFRESH_KEY_PREFIX`]).
#![deny(missing_docs)]

mod refresh;

pub use refresh::{DEFAULT_REFRESH_KEY_PREFIX, RedisRefreshStore};

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use axum_users_core::{Strategy, StrategyError, User, UserExtra, UserManager};
use base64::Engine as _;
use rand::RngCore as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, RedisResult};
use uuid::Uuid;

/// FastAPI Users' default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "fastapi_users_token:";

/// How long one Redis request may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest token lifetime accepted (about 136 years); Redis refuses larger expiries.
pub const MAX_LIFETIME_SECONDS: u64 = u32::MAX as u64;

/// How long after its expiry a token stays in its user's index before a login prunes it.
pub const PRUNE_GRACE_SECONDS: u64 = 300;

/// Seconds since the Unix epoch (0 for a clock set before it).
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Why the strategy could not be built, or why a Redis request failed.
///
/// Inside the [`Strategy`] methods it arrives boxed in [`StrategyError::Backend`]. No variant
/// carries the URL's credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStrategyError {
    /// The URL does not parse, or needs a feature this build lacks (TLS, `rediss://`).
    #[error("invalid Redis URL")]
    InvalidUrl(#[source] RedisError),
    /// A lifetime of zero, or above [`MAX_LIFETIME_SECONDS`].
    #[error("token lifetime must be 1 to {MAX_LIFETIME_SECONDS} seconds (or None), not {0}")]
    InvalidLifetime(u64),
    /// The first connection failed (refused, bad credentials, …).
    #[error("could not connect to Redis at {addr}")]
    Connect {
        /// Host and port (or socket path) and database, without credentials.
        addr: String,
        /// What Redis or the network said.
        #[source]
        source: RedisError,
    },
    /// Redis did not answer in time.
    #[error("Redis at {addr} did not answer within {after:?}")]
    Timeout {
        /// Host and port (or socket path) and database, without credentials.
        addr: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// A request failed: the connection is down, or Redis answered with an error.
    #[error("Redis request to {addr} failed")]
    Request {
        /// Host and port (or socket path) and database, without credentials.
        addr: String,
        /// What Redis or the network said.
        #[source]
        source: RedisError,
    },
}

/// FastAPI Users' `RedisStrategy`: opaque random tokens stored in Redis as
/// `SET <prefix><token> <user id> EX <lifetime>`, plus a per-user index of tokens so that
/// [`revoke_all`](Strategy::revoke_all) (after a password change or reset) can delete every token
/// of a user.
///
/// The index, `<prefix>user:<user id>`, is a sorted set whose scores are the tokens' expiry times
/// (Unix seconds, `+inf` without a lifetime). Each login adds its token, drops the entries that
/// expired more than [`PRUNE_GRACE_SECONDS`] ago (so the index of a user who logs in forever does
/// not grow forever; the grace absorbs clock differences between servers) and renews the
/// index's own expiry to the lifetime, so it outlives every token in it. The writes of a login,
/// a logout and a revocation each run in one `MULTI`/`EXEC`.
///
/// Cheap to clone: clones share the connection. `Debug` shows the address and database, never
/// the credentials of the URL.
///
/// Tokens written by FastAPI Users itself are read, and deleted at logout, but are not in the
/// per-user index (FastAPI Users keeps none), so `revoke_all` does not reach them. Needs a
/// standalone Redis (or a proxy to one): the keys of one login are in different cluster slots.
#[derive(Clone)]
pub struct RedisStrategy {
    shared: Arc<Shared>,
    key_prefix: String,
    lifetime_seconds: Option<u64>,
    timeout: Duration,
}

/// What clones share: the client (to reconnect) and the current connection.
struct Shared {
    client: Client,
    /// `host:port/db`, for `Debug` and errors.
    addr: String,
    slot: Mutex<Slot>,
}

/// The connection in use; `None` until the first request (or after one timed out).
#[derive(Default)]
struct Slot {
    /// Bumped whenever the connection is replaced, so that concurrent timeouts on one
    /// connection replace it once.
    generation: u64,
    manager: Option<ConnectionManager>,
}

impl fmt::Debug for RedisStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStrategy")
            .field("addr", &self.shared.addr)
            .field("key_prefix", &self.key_prefix)
            .field("lifetime_seconds", &self.lifetime_seconds)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The connection settings: our own timeout bounds every request, so the library's response
/// timeout (500 ms by default) is off; one quick retry per connection attempt, so that a Redis
/// that refuses connections is reported at once rather than after the library's six retries
/// (the next request tries again).
fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200))
}

/// A token as Python's `secrets.token_urlsafe()` makes one: 32 random bytes, base64url, no
/// padding.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Parses an id as Python's `uuid.UUID(str)` does (what FastAPI Users' `parse_id` calls):
/// `urn:` and `uuid:` removed, then surrounding braces, then every hyphen; 32 hex digits must
/// remain.
fn parse_user_id(value: &[u8]) -> Option<Uuid> {
    let text = std::str::from_utf8(value).ok()?;
    let text = text.replace("urn:", "").replace("uuid:", "");
    let hex: String = text.trim_matches(|c| c == '{' || c == '}').replace('-', "");
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::try_parse(&hex).ok()
}

/// Whether a client-supplied token can name a token key. Tokens (ours and FastAPI Users') are
/// base64url and never contain `:`; refusing it keeps a forged token such as `user:<id>` from
/// addressing a user's token index.
fn plausible_token(token: &str) -> bool {
    !token.is_empty() && !token.contains(':')
}

impl RedisStrategy {
    /// Connects to Redis at `url` (`redis://[user][:password@]host[:port][/db]`, or
    /// `redis+unix:///path`), waiting at most [`DEFAULT_TIMEOUT`] for the first connection.
    /// Tokens expire after `lifetime_seconds`; `None` means never, as in FastAPI Users.
    ///
    /// # Errors
    /// [`RedisStrategyError::InvalidUrl`], [`RedisStrategyError::InvalidLifetime`],
    /// [`RedisStrategyError::Connect`] or [`RedisStrategyError::Timeout`].
    pub async fn connect(
        url: &str,
        lifetime_seconds: Option<u64>,
    ) -> Result<Self, RedisStrategyError> {
        let strategy = Self::lazy(url, lifetime_seconds)?;
        let config = manager_config(strategy.timeout);
        let client = strategy.shared.client.clone();
        let addr = || strategy.shared.addr.clone();
        let manager = tokio::time::timeout(
            strategy.timeout,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| RedisStrategyError::Timeout {
            addr: addr(),
            after: strategy.timeout,
        })?
        .map_err(|source| RedisStrategyError::Connect {
            addr: addr(),
            source,
        })?;
        strategy.shared.lock_slot().manager = Some(manager);
        Ok(strategy)
    }

    /// As [`connect`](Self::connect), but without connecting: the connection is opened by the
    /// first request. For a service that must start while Redis is away (its token requests
    /// answer 503 until Redis is back).
    ///
    /// # Errors
    /// [`RedisStrategyError::InvalidUrl`] or [`RedisStrategyError::InvalidLifetime`].
    pub fn lazy(url: &str, lifetime_seconds: Option<u64>) -> Result<Self, RedisStrategyError> {
        if let Some(lifetime) = lifetime_seconds
            && !(1..=MAX_LIFETIME_SECONDS).contains(&lifetime)
        {
            return Err(RedisStrategyError::InvalidLifetime(lifetime));
        }
        let client = Client::open(url).map_err(RedisStrategyError::InvalidUrl)?;
        let info = client.get_connection_info();
        let addr = format!("{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                addr,
                slot: Mutex::new(Slot::default()),
            }),
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            lifetime_seconds,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the key prefix (default [`DEFAULT_KEY_PREFIX`], FastAPI Users' default). Use the
    /// same prefix as a FastAPI Users deployment whose tokens should be accepted.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Sets how long one Redis request may take (default [`DEFAULT_TIMEOUT`]) before it fails
    /// with [`RedisStrategyError::Timeout`]. A new value also applies to connection attempts,
    /// from a fresh connection opened by the next request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        if timeout != self.timeout {
            self.timeout = timeout;
            let mut slot = self.shared.lock_slot();
            slot.generation += 1;
            slot.manager = None;
        }
        self
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.key_prefix
    }

    /// The token lifetime in seconds; `None` means tokens never expire.
    #[must_use]
    pub fn lifetime_seconds(&self) -> Option<u64> {
        self.lifetime_seconds
    }

    /// Sends `PING`: a readiness check for health endpoints.
    ///
    /// # Errors
    /// [`RedisStrategyError::Timeout`] or [`RedisStrategyError::Request`].
    pub async fn ping(&self) -> Result<(), RedisStrategyError> {
        let cmd = redis::cmd("PING");
        self.bounded(|mut con| async move { cmd.query_async::<()>(&mut con).await })
            .await
    }

    fn token_key(&self, token: &str) -> String {
        format!("{}{token}", self.key_prefix)
    }

    fn user_index_key(&self, id: Uuid) -> String {
        format!("{}user:{}", self.key_prefix, id.hyphenated())
    }

    /// Runs one request on the current connection, bounded by the timeout. A request that
    /// times out retires its connection: the next request opens a fresh one.
    async fn bounded<T, F, Fut>(&self, request: F) -> Result<T, RedisStrategyError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let (generation, manager) = self.shared.manager(self.timeout)?;
        match tokio::time::timeout(self.timeout, request(manager)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => {
                // A connection that timed out, or failed in a way the library does not recover
                // from by itself (e.g. a refused AUTH), is replaced on the next request.
                if source.is_timeout() || source.is_unrecoverable_error() {
                    self.shared.retire(generation);
                }
                Err(RedisStrategyError::Request {
                    addr: self.shared.addr.clone(),
                    source,
                })
            }
            Err(_) => {
                self.shared.retire(generation);
                Err(RedisStrategyError::Timeout {
                    addr: self.shared.addr.clone(),
                    after: self.timeout,
                })
            }
        }
    }
}

impl Shared {
    fn lock_slot(&self) -> MutexGuard<'_, Slot> {
        // The slot is replaced whole; a panic elsewhere cannot leave it half-written.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current connection, created (without connecting yet) if there is none.
    fn manager(&self, timeout: Duration) -> Result<(u64, ConnectionManager), RedisStrategyError> {
        let mut slot = self.lock_slot();
        if let Some(manager) = &slot.manager {
            return Ok((slot.generation, manager.clone()));
        }
        let manager =
            ConnectionManager::new_lazy_with_config(self.client.clone(), manager_config(timeout))
                .map_err(|source| RedisStrategyError::Connect {
                addr: self.addr.clone(),
                source,
            })?;
        slot.generation += 1;
        slot.manager = Some(manager.clone());
        Ok((slot.generation, manager))
    }

    /// Drops the connection of `generation` if it is still the current one.
    fn retire(&self, generation: u64) {
        let mut slot = self.lock_slot();
        if slot.generation == generation {
            slot.manager = None;
        }
    }
}

fn backend(error: RedisStrategyError) -> StrategyError {
    StrategyError::Backend(Box::new(error))
}

#[async_trait]
impl<X: UserExtra> Strategy<X> for RedisStrategy {
    async fn read_token(
        &self,
        token: &str,
        manager: &UserManager<X>,
    ) -> Result<Option<User<X>>, StrategyError> {
        if !plausible_token(token) {
            return Ok(None);
        }
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.token_key(token));
        let value = self
            .bounded(|mut con| async move {
                match cmd.query_async::<Option<Vec<u8>>>(&mut con).await {
                    // A key of another type under the prefix is not a token.
                    Err(e) if e.code() == Some("WRONGTYPE") => Ok(None),
                    other => other,
                }
            })
            .await
            .map_err(backend)?;
        let Some(id) = value.as_deref().and_then(parse_user_id) else {
            return Ok(None);
        };
        Ok(manager.store().get(id).await?)
    }

    async fn write_token(&self, user: &User<X>) -> Result<String, StrategyError> {
        let token = new_token();
        let index_key = self.user_index_key(user.id);
        let mut pipe = redis::pipe();
        pipe.atomic();
        let set = pipe
            .cmd("SET")
            .arg(self.token_key(&token))
            .arg(user.id.hyphenated().to_string());
        if let Some(lifetime) = self.lifetime_seconds {
            set.arg("EX").arg(lifetime);
        }
        set.ignore();
        let now = unix_now();
        let expires = self.lifetime_seconds.map_or_else(
            || "+inf".to_owned(),
            |lifetime| now.saturating_add(lifetime).to_string(),
        );
        pipe.cmd("ZADD")
            .arg(&index_key)
            .arg(expires)
            .arg(&token)
            .ignore();
        let expired_before = now.saturating_sub(PRUNE_GRACE_SECONDS);
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&index_key)
            .arg("-inf")
            .arg(expired_before)
            .ignore();
        match self.lifetime_seconds {
            // The index outlives every token in it: each login renews it for a whole lifetime.
            Some(lifetime) => pipe.cmd("EXPIRE").arg(&index_key).arg(lifetime).ignore(),
            None => pipe.cmd("PERSIST").arg(&index_key).ignore(),
        };
        self.bounded(|mut con| async move { pipe.query_async::<()>(&mut con).await })
            .await
            .map_err(backend)?;
        Ok(token)
    }

    async fn destroy_token(&self, token: &str, user: &User<X>) -> Result<(), StrategyError> {
        if !plausible_token(token) {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("DEL").arg(self.token_key(token)).ignore();
        pipe.cmd("ZREM")
            .arg(self.user_index_key(user.id))
            .arg(token)
            .ignore();
        self.bounded(|mut con| async move { pipe.query_async::<()>(&mut con).await })
            .await
            .map_err(backend)
    }

    async fn revoke_all(&self, user: &User<X>) -> Result<(), StrategyError> {
        let index_key = self.user_index_key(user.id);
        let mut members = redis::cmd("ZRANGE");
        members.arg(&index_key).arg(0).arg(-1);
        let tokens = self
            .bounded(|mut con| async move { members.query_async::<Vec<Vec<u8>>>(&mut con).await })
            .await
            .map_err(backend)?;
        if tokens.is_empty() {
            return Ok(());
        }
        // Only the members read are removed: a token written meanwhile stays in the index, so a
        // later revocation still finds it.
        let mut pipe = redis::pipe();
        pipe.atomic();
        let del = pipe.cmd("DEL");
        for token in &tokens {
            let mut key = Vec::with_capacity(self.key_prefix.len() + token.len());
            key.extend_from_slice(self.key_prefix.as_bytes());
            key.extend_from_slice(token);
            del.arg(key);
        }
        del.ignore();
        pipe.cmd("ZREM").arg(&index_key).arg(&tokens).ignore();
        self.bounded(|mut con| async move { pipe.query_async::<()>(&mut con).await })
            .await
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_token_urlsafe() {
        let a = new_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{a}"
        );
        assert_ne!(a, new_token());
    }

    #[test]
    fn ids_parse_as_python_uuid_does() {
        let id = Uuid::new_v4();
        for form in [
            id.hyphenated().to_string(),
            id.simple().to_string(),
            id.braced().to_string(),
            id.urn().to_string(),
            id.hyphenated().to_string().to_uppercase(),
        ] {
            assert_eq!(parse_user_id(form.as_bytes()), Some(id), "{form}");
        }
        for bad in [
            "",
            "nope",
            "1234",
            &format!("{}0", id.simple()),
            &format!("+{}", &id.simple().to_string()[1..]),
        ] {
            assert_eq!(parse_user_id(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_user_id(&[0xff, 0xfe]), None);
    }

    #[test]
    fn tokens_with_a_colon_are_refused_before_redis() {
        assert!(plausible_token(&new_token()));
        assert!(!plausible_token(""));
        assert!(!plausible_token(
            "user:4f9c1c1e-0000-4000-8000-000000000000"
        ));
    }

    #[test]
    fn tls_urls_are_refused_clearly_in_this_build() {
        let err = RedisStrategy::lazy("rediss://127.0.0.1:6380", None).unwrap_err();
        assert!(matches!(err, RedisStrategyError::InvalidUrl(_)), "{err:?}");
    }

    #[test]
    fn debug_hides_credentials() {
        let s = RedisStrategy::lazy("redis://alice:s3cr3t@example.invalid:6380/2", None).unwrap();
        let debug = format!("{s:?}");
        assert!(debug.contains("example.invalid:6380/2"), "{debug}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("alice"),
            "{debug}"
        );
    }

    #[test]
    fn lifetimes_redis_would_refuse_are_refused_up_front() {
        for bad in [0, MAX_LIFETIME_SECONDS + 1] {
            assert!(matches!(
                RedisStrategy::lazy("redis://127.0.0.1", Some(bad)),
                Err(RedisStrategyError::InvalidLifetime(b)) if b == bad
            ));
        }
        assert!(RedisStrategy::lazy("redis://127.0.0.1", Some(1)).is_ok());
        assert!(matches!(
            RedisStrategy::lazy("http://127.0.0.1", None),
            Err(RedisStrategyError::InvalidUrl(_))
        ));
    }
}
