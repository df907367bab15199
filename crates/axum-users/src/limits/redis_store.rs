//! [`RedisLimitStore`]: counters in a Redis shared by every instance (cargo feature `redis`).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, RedisResult};

use super::store::{LimitError, LimitStore, Lock};
use super::window::{Hit, SlidingWindow, WindowCounts, unix_ms};

/// The default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "axum_users_limit:";

/// How long one Redis request may take by default. Short: a limit check sits in front of
/// every limited request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// How long, after a failure, calls fail at once without asking Redis (so that a Redis that
/// hangs costs one timeout per pause, not one per request).
pub const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

/// One sliding-window hit, atomically: roll the key's two counts to the caller's window,
/// decide admission exactly as [`SlidingWindow::admits`] does, count when admitted, and keep
/// the key two window lengths. Arguments: window index, window length (ms), elapsed (ms),
/// limit (−1: none). Answers `{admitted, current, previous}`.
const HIT_SCRIPT: &str = r"
local idx = tonumber(ARGV[1])
local len = tonumber(ARGV[2])
local elapsed = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local h = redis.call('HMGET', KEYS[1], 'i', 'c', 'p')
local i = tonumber(h[1])
local c = tonumber(h[2]) or 0
local p = tonumber(h[3]) or 0
if i == nil then
  i = idx; c = 0; p = 0
elseif i < idx then
  if i == idx - 1 then p = c else p = 0 end
  c = 0; i = idx
end
if limit >= 0 and c * len + p * (len - elapsed) + len > limit * len then
  return {0, c, p}
end
c = c + 1
redis.call('HSET', KEYS[1], 'i', i, 'c', c, 'p', p)
redis.call('PEXPIRE', KEYS[1], 2 * len)
return {1, c, p}
";

/// Counters and lockouts in Redis: limits hold across every instance that shares it.
///
/// | key | type | content | expiry |
/// |---|---|---|---|
/// | `<prefix>ip:<route>:<address>`, `<prefix>fail:<account>`, `<prefix>send:<route>:<account>` | hash | `i` window index, `c` current count, `p` previous count | two window lengths after the last count |
/// | `<prefix>lock:<account>` | string | `<level>:<end, Unix ms>` | the lockout's end plus the level memory |
///
/// A hit is one `EVAL` of a short Lua script (atomic: two instances cannot both admit the
/// last allowed request). Windows are computed from the limiter's [`Clock`](super::Clock), so
/// instances should keep their clocks in step (NTP); Redis's own clock only expires keys.
///
/// Every request is bounded by a timeout ([`DEFAULT_TIMEOUT`]). A request that fails or times
/// out is a [`LimitError`] (the limiter then lets the request through, and logs, by default),
/// and for the next [`DEFAULT_PAUSE`] calls fail at once with [`LimitError::Paused`] without
/// waiting on Redis. The connection is a [`ConnectionManager`] that reconnects by itself; a
/// connection that timed out is abandoned and the next request opens a fresh one.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum_users::limits::{RateLimits, RedisLimitStore};
///
/// let store = RedisLimitStore::lazy("redis://127.0.0.1:6379").unwrap();
/// let limits = RateLimits::default().with_store(Arc::new(store));
/// # let _ = limits;
/// ```
#[derive(Clone)]
pub struct RedisLimitStore {
    shared: Arc<Shared>,
    prefix: String,
    timeout: Duration,
    pause: Duration,
}

struct Shared {
    client: Client,
    /// `host:port/db`, without credentials.
    addr: String,
    slot: Mutex<Slot>,
    paused_until: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Slot {
    generation: u64,
    manager: Option<ConnectionManager>,
}

impl fmt::Debug for RedisLimitStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimitStore")
            .field("addr", &self.shared.addr)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("pause", &self.pause)
            .finish_non_exhaustive()
    }
}

/// A Redis failure, with the address (never the URL's credentials).
#[derive(Debug, thiserror::Error)]
#[error("Redis at {addr}: {what}")]
struct RedisFailure {
    addr: String,
    what: &'static str,
    #[source]
    source: RedisError,
}

fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(None)
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each value is replaced whole; a panic elsewhere cannot leave one half-written.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RedisLimitStore {
    /// A store on Redis at `url` (`redis://[user][:password@]host[:port][/db]`), connecting on
    /// first use: a service can start while Redis is away.
    ///
    /// # Errors
    /// [`LimitError::Backend`] when the URL does not parse.
    pub fn lazy(url: &str) -> Result<Self, LimitError> {
        let client = Client::open(url).map_err(|source| {
            LimitError::Backend(Box::new(RedisFailure {
                addr: "(unparsed URL)".to_owned(),
                what: "invalid URL",
                source,
            }))
        })?;
        let info = client.get_connection_info();
        let addr = format!("{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self {
            shared: Arc::new(Shared {
                client,
                addr,
                slot: Mutex::new(Slot::default()),
                paused_until: Mutex::new(None),
            }),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            pause: DEFAULT_PAUSE,
        })
    }

    /// As [`lazy`](Self::lazy), then `PING`s, so that a misconfigured Redis is reported at
    /// startup.
    ///
    /// # Errors
    /// As [`lazy`](Self::lazy), or the failed `PING`.
    pub async fn connect(url: &str) -> Result<Self, LimitError> {
        let store = Self::lazy(url)?;
        store.ping().await?;
        Ok(store)
    }

    /// Sets the key prefix (default [`DEFAULT_KEY_PREFIX`]).
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets how long one request may take (default [`DEFAULT_TIMEOUT`]); it also bounds
    /// connection attempts, from the next fresh connection on.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        if timeout != self.timeout {
            self.timeout = timeout;
            let mut slot = lock(&self.shared.slot);
            slot.generation += 1;
            slot.manager = None;
        }
        self
    }

    /// Sets how long calls fail at once after a failure (default [`DEFAULT_PAUSE`]; zero
    /// asks Redis every time).
    #[must_use]
    pub fn pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Sends `PING`: a readiness check.
    ///
    /// # Errors
    /// A [`LimitError`] when Redis does not answer.
    pub async fn ping(&self) -> Result<(), LimitError> {
        let cmd = redis::cmd("PING");
        self.bounded(|mut con| async move { cmd.query_async::<()>(&mut con).await })
            .await
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn manager(&self) -> Result<(u64, ConnectionManager), LimitError> {
        let mut slot = lock(&self.shared.slot);
        if let Some(manager) = &slot.manager {
            return Ok((slot.generation, manager.clone()));
        }
        let manager = ConnectionManager::new_lazy_with_config(
            self.shared.client.clone(),
            manager_config(self.timeout),
        )
        .map_err(|source| self.failure("could not open a connection", source))?;
        slot.generation += 1;
        slot.manager = Some(manager.clone());
        Ok((slot.generation, manager))
    }

    fn retire(&self, generation: u64) {
        let mut slot = lock(&self.shared.slot);
        if slot.generation == generation {
            slot.manager = None;
        }
    }

    fn failure(&self, what: &'static str, source: RedisError) -> LimitError {
        LimitError::Backend(Box::new(RedisFailure {
            addr: self.shared.addr.clone(),
            what,
            source,
        }))
    }

    fn start_pause(&self) {
        if !self.pause.is_zero() {
            *lock(&self.shared.paused_until) = Instant::now().checked_add(self.pause);
        }
    }

    /// Runs one request, bounded by the timeout; fails at once while paused.
    async fn bounded<T, F, Fut>(&self, request: F) -> Result<T, LimitError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        {
            let mut paused = lock(&self.shared.paused_until);
            match *paused {
                Some(until) if Instant::now() < until => {
                    return Err(LimitError::Paused { pause: self.pause });
                }
                Some(_) => *paused = None,
                None => {}
            }
        }
        let (generation, manager) = self.manager()?;
        match tokio::time::timeout(self.timeout, request(manager)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => {
                // An error reply (a server-side error code) says nothing about the connection.
                if source.code().is_none() {
                    self.start_pause();
                }
                if source.is_timeout() || source.is_unrecoverable_error() {
                    self.retire(generation);
                }
                Err(self.failure("request failed", source))
            }
            Err(_) => {
                self.retire(generation);
                self.start_pause();
                Err(LimitError::Timeout {
                    after: self.timeout,
                })
            }
        }
    }
}

fn parse_lock(value: &str) -> Option<Lock> {
    let (level, until) = value.split_once(':')?;
    Some(Lock {
        level: level.parse().ok()?,
        until: UNIX_EPOCH + Duration::from_millis(until.parse().ok()?),
    })
}

#[async_trait]
impl LimitStore for RedisLimitStore {
    async fn hit(
        &self,
        key: &str,
        window: SlidingWindow,
        limit: Option<u64>,
    ) -> Result<Hit, LimitError> {
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(HIT_SCRIPT)
            .arg(1)
            .arg(self.key(key))
            .arg(window.index())
            .arg(window.length_ms())
            .arg(window.elapsed_ms())
            .arg(limit);
        let reply = self
            .bounded(|mut con| async move { cmd.query_async::<Vec<i64>>(&mut con).await })
            .await?;
        let count = |i: usize| {
            reply
                .get(i)
                .copied()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0)
        };
        Ok(Hit {
            admitted: count(0) == 1,
            counts: WindowCounts {
                current: count(1),
                previous: count(2),
            },
        })
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(key));
        self.bounded(|mut con| async move { cmd.query_async::<()>(&mut con).await })
            .await
    }

    async fn get_lock(&self, key: &str, _now: SystemTime) -> Result<Option<Lock>, LimitError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(key));
        let value = self
            .bounded(|mut con| async move {
                match cmd.query_async::<Option<String>>(&mut con).await {
                    // Not a lock (another writer's key under the prefix): no lock.
                    Err(e) if e.code() == Some("WRONGTYPE") => Ok(None),
                    other => other,
                }
            })
            .await?;
        Ok(value.as_deref().and_then(parse_lock))
    }

    async fn set_lock(
        &self,
        key: &str,
        lock: Lock,
        forget_at: SystemTime,
        now: SystemTime,
    ) -> Result<(), LimitError> {
        let keep_ms = unix_ms(forget_at).saturating_sub(unix_ms(now)).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(format!("{}:{}", lock.level, unix_ms(lock.until)))
            .arg("PX")
            .arg(keep_ms);
        self.bounded(|mut con| async move { cmd.query_async::<()>(&mut con).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn locks_read_back_and_garbage_is_no_lock() {
        let lock = Lock {
            level: 3,
            until: UNIX_EPOCH + Duration::from_millis(1_800_000_000_123),
        };
        let text = format!("{}:{}", lock.level, unix_ms(lock.until));
        assert_eq!(parse_lock(&text), Some(lock));
        for bad in ["", "3", "x:1", "3:y", "3:1:2"] {
            assert_eq!(parse_lock(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let s = RedisLimitStore::lazy("redis://alice:s3cr3t@example.invalid:6380/2").unwrap();
        let debug = format!("{s:?}");
        assert!(debug.contains("example.invalid:6380/2"), "{debug}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("alice"),
            "{debug}"
        );
    }
}
