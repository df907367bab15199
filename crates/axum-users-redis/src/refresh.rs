//! [`RedisRefreshStore`]: refresh-token families in Redis.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use axum_users_core::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome, StoreError};
use uuid::Uuid;

use crate::{RedisStrategy, RedisStrategyError, parse_user_id};

/// The default key prefix of refresh-token keys.
pub const DEFAULT_REFRESH_KEY_PREFIX: &str = "axum_users_refresh:";

/// Opens a family. KEYS: token, family, user index. ARGV: family id, user id, created (ms),
/// expiry (ms). Answers 0 when the token or family exists.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'family', ARGV[1], 'user', ARGV[2], 'created', ARGV[3],
  'exp', ARGV[4], 'rotated', '')
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], 'user', ARGV[2], 'created', ARGV[3], 'exp', ARGV[4])
redis.call('PEXPIREAT', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
local top = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[3], top[2])
return 1
";

/// Rotates a token. KEYS: token, successor. ARGV: prefix, now (ms), successor's expiry (ms).
/// Answers `{'rotated'|'reused', family, user}`, `{'invalid'}` or `{'conflict'}`.
const ROTATE: &str = r"
local t = redis.call('HMGET', KEYS[1], 'family', 'user', 'exp', 'rotated')
if not t[1] then return {'invalid'} end
local fkey = ARGV[1] .. 'family:' .. t[1]
local fexp = redis.call('HGET', fkey, 'exp')
if not fexp then return {'invalid'} end
if tonumber(t[3]) <= tonumber(ARGV[2]) then return {'invalid'} end
if t[4] ~= '' then return {'reused', t[1], t[2]} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'conflict'} end
redis.call('HSET', KEYS[1], 'rotated', ARGV[2])
redis.call('HSET', KEYS[2], 'family', t[1], 'user', t[2], 'created', ARGV[2],
  'exp', ARGV[3], 'rotated', '')
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
if tonumber(ARGV[3]) > tonumber(fexp) then
  redis.call('HSET', fkey, 'exp', ARGV[3])
  redis.call('PEXPIREAT', fkey, ARGV[3])
end
local ukey = ARGV[1] .. 'user:' .. t[2]
local score = redis.call('ZSCORE', ukey, t[1])
if not score or tonumber(score) < tonumber(ARGV[3]) then
  redis.call('ZADD', ukey, ARGV[3], t[1])
end
local top = redis.call('ZRANGE', ukey, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', ukey, top[2])
return {'rotated', t[1], t[2]}
";

/// A token while its family exists. KEYS: token. ARGV: prefix.
const GET: &str = r"
local t = redis.call('HMGET', KEYS[1], 'family', 'user', 'created', 'exp', 'rotated')
if not t[1] then return false end
if redis.call('EXISTS', ARGV[1] .. 'family:' .. t[1]) == 0 then return false end
return t
";

/// Revokes a family. KEYS: family. ARGV: prefix, family id.
const REVOKE_FAMILY: &str = r"
local user = redis.call('HGET', KEYS[1], 'user')
local n = redis.call('DEL', KEYS[1])
if user then redis.call('ZREM', ARGV[1] .. 'user:' .. user, ARGV[2]) end
return n
";

/// Revokes every family of a user. KEYS: user index. ARGV: prefix.
const REVOKE_USER: &str = r"
local n = 0
for _, family in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('DEL', ARGV[1] .. 'family:' .. family)
end
redis.call('DEL', KEYS[1])
return n
";

/// Refresh-token families in Redis, each operation one Lua script (atomic, so a rotation is a
/// compare-and-set and a revocation cannot interleave with it):
///
/// | key | value | expiry |
/// |---|---|---|
/// | `<prefix>token:<sha256 hex>` | hash: `family`, `user`, `created`, `exp` (Unix ms), `rotated` (Unix ms, empty while newest) | the token's expiry |
/// | `<prefix>family:<family id>` | hash: `user`, `created`, `exp` (the latest expiry of its tokens) | that expiry, extended by each rotation |
/// | `<prefix>user:<user id>` | sorted set of the user's family ids, scored by their expiry | the latest score |
///
/// A token is live while its family key exists, it has not expired and is not rotated.
/// Revoking deletes family keys (and index entries); the token keys of a revoked family are
/// dead and expire on their own. Redis expires everything by itself, so
/// [`purge_expired_refresh_tokens`](RefreshTokenStore::purge_expired_refresh_tokens) does
/// nothing. Needs a standalone Redis (or a proxy to one): the scripts touch keys they compute,
/// which a cluster refuses.
///
/// Built on a [`RedisStrategy`]'s connection handling (its timeout, reconnection and
/// credential-free `Debug`): [`from_strategy`](Self::from_strategy) shares a strategy's
/// connection, [`connect`](Self::connect) and [`lazy`](Self::lazy) open one of their own.
#[derive(Clone)]
pub struct RedisRefreshStore {
    redis: RedisStrategy,
    prefix: String,
}

impl fmt::Debug for RedisRefreshStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRefreshStore")
            .field("addr", &self.redis.shared.addr)
            .field("prefix", &self.prefix)
            .field("timeout", &self.redis.timeout)
            .finish()
    }
}

/// Milliseconds since the Unix epoch (0 before it; saturating far after).
fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_millis(text: &str) -> Option<SystemTime> {
    let ms: u64 = text.parse().ok()?;
    UNIX_EPOCH.checked_add(std::time::Duration::from_millis(ms))
}

/// A token hash that can name a key: 64 lower-case hex characters.
fn plausible(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn backend(error: RedisStrategyError) -> StoreError {
    StoreError::Backend(Box::new(error))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable refresh-token entry in Redis: {what}").into())
}

fn parse_id(text: &str) -> Result<Uuid, StoreError> {
    parse_user_id(text.as_bytes()).ok_or_else(|| corrupt("an id"))
}

impl RedisRefreshStore {
    /// A store on the same connection (and timeout) as `strategy`, under
    /// [`DEFAULT_REFRESH_KEY_PREFIX`].
    #[must_use]
    pub fn from_strategy(strategy: &RedisStrategy) -> Self {
        Self {
            redis: strategy.clone(),
            prefix: DEFAULT_REFRESH_KEY_PREFIX.to_owned(),
        }
    }

    /// Connects to Redis at `url`, as [`RedisStrategy::connect`].
    ///
    /// # Errors
    /// As [`RedisStrategy::connect`].
    pub async fn connect(url: &str) -> Result<Self, RedisStrategyError> {
        Ok(Self::from_strategy(
            &RedisStrategy::connect(url, None).await?,
        ))
    }

    /// A store on Redis at `url` that connects at its first request, as
    /// [`RedisStrategy::lazy`].
    ///
    /// # Errors
    /// As [`RedisStrategy::lazy`].
    pub fn lazy(url: &str) -> Result<Self, RedisStrategyError> {
        Ok(Self::from_strategy(&RedisStrategy::lazy(url, None)?))
    }

    /// Sets the key prefix (default [`DEFAULT_REFRESH_KEY_PREFIX`]).
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets how long one Redis request may take (as [`RedisStrategy::timeout`]).
    #[must_use]
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.redis = self.redis.timeout(timeout);
        self
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn token_key(&self, hash: &str) -> String {
        format!("{}token:{hash}", self.prefix)
    }

    fn family_key(&self, family: Uuid) -> String {
        format!("{}family:{}", self.prefix, family.hyphenated())
    }

    fn user_key(&self, user: Uuid) -> String {
        format!("{}user:{}", self.prefix, user.hyphenated())
    }

    /// Runs a script (`EVAL`) with its keys and arguments, under the timeout.
    async fn eval<T>(&self, script: &str, keys: &[String], args: &[String]) -> Result<T, StoreError>
    where
        T: redis::FromRedisValue + Send + 'static,
    {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(script).arg(keys.len()).arg(keys).arg(args);
        self.redis
            .bounded(|mut con| async move { cmd.query_async::<T>(&mut con).await })
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl RefreshTokenStore for RedisRefreshStore {
    async fn create_refresh_family(&self, first: RefreshTokenRecord) -> Result<(), StoreError> {
        if !plausible(&first.token_hash) {
            return Err(corrupt("a token hash that is not 64 hex characters"));
        }
        let family = first.family_id.hyphenated().to_string();
        let created: u8 = self
            .eval(
                CREATE,
                &[
                    self.token_key(&first.token_hash),
                    self.family_key(first.family_id),
                    self.user_key(first.user_id),
                ],
                &[
                    family,
                    first.user_id.hyphenated().to_string(),
                    millis(first.created_at).to_string(),
                    millis(first.expires_at).to_string(),
                ],
            )
            .await?;
        if created == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        if !plausible(token_hash) {
            return Ok(None);
        }
        let fields: Option<Vec<String>> = self
            .eval(
                GET,
                &[self.token_key(token_hash)],
                std::slice::from_ref(&self.prefix),
            )
            .await?;
        let Some(fields) = fields else {
            return Ok(None);
        };
        let [family, user, created, exp, rotated] = fields.as_slice() else {
            return Err(corrupt("a token hash"));
        };
        let time = |t: &str| from_millis(t).ok_or_else(|| corrupt("a time"));
        Ok(Some(RefreshTokenRecord {
            token_hash: token_hash.to_owned(),
            family_id: parse_id(family)?,
            user_id: parse_id(user)?,
            created_at: time(created)?,
            expires_at: time(exp)?,
            rotated_at: if rotated.is_empty() {
                None
            } else {
                Some(time(rotated)?)
            },
        }))
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        next_hash: &str,
        now: SystemTime,
        next_expires_at: SystemTime,
    ) -> Result<RotateOutcome, StoreError> {
        if !plausible(token_hash) {
            return Ok(RotateOutcome::Invalid);
        }
        if !plausible(next_hash) {
            return Err(corrupt("a token hash that is not 64 hex characters"));
        }
        let answer: Vec<String> = self
            .eval(
                ROTATE,
                &[self.token_key(token_hash), self.token_key(next_hash)],
                &[
                    self.prefix.clone(),
                    millis(now).to_string(),
                    millis(next_expires_at).to_string(),
                ],
            )
            .await?;
        match answer.as_slice() {
            [kind, family, user] if kind == "rotated" || kind == "reused" => {
                let (family_id, user_id) = (parse_id(family)?, parse_id(user)?);
                Ok(if kind == "rotated" {
                    RotateOutcome::Rotated { user_id, family_id }
                } else {
                    RotateOutcome::Reused { user_id, family_id }
                })
            }
            [kind] if kind == "invalid" => Ok(RotateOutcome::Invalid),
            [kind] if kind == "conflict" => Err(StoreError::Conflict),
            _ => Err(corrupt("the answer of a rotation")),
        }
    }

    async fn revoke_refresh_family(&self, family_id: Uuid) -> Result<bool, StoreError> {
        let deleted: u64 = self
            .eval(
                REVOKE_FAMILY,
                &[self.family_key(family_id)],
                &[self.prefix.clone(), family_id.hyphenated().to_string()],
            )
            .await?;
        Ok(deleted > 0)
    }

    async fn revoke_user_refresh_families(&self, user_id: Uuid) -> Result<u64, StoreError> {
        self.eval(
            REVOKE_USER,
            &[self.user_key(user_id)],
            std::slice::from_ref(&self.prefix),
        )
        .await
    }

    async fn purge_expired_refresh_tokens(&self, _now: SystemTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_to_the_millisecond() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_767_323_045_123);
        assert_eq!(from_millis(&millis(t).to_string()), Some(t));
        assert_eq!(millis(UNIX_EPOCH - std::time::Duration::from_secs(1)), 0);
        assert_eq!(from_millis("soon"), None);
    }

    #[test]
    fn only_hashes_name_keys() {
        assert!(plausible(&axum_users_core::refresh_token_hash("x")));
        assert!(!plausible("user:4f9c1c1e-0000-4000-8000-000000000000"));
        assert!(!plausible(""));
    }

    #[test]
    fn debug_hides_credentials() {
        let s = RedisRefreshStore::lazy("redis://alice:s3cr3t@example.invalid:6380/2")
            .unwrap()
            .key_prefix("app:refresh:");
        let debug = format!("{s:?}");
        assert!(debug.contains("example.invalid:6380/2"), "{debug}");
        assert!(debug.contains("app:refresh:"), "{debug}");
        assert!(!debug.contains("s3cr3t") && !debug.contains("alice"));
    }
}
