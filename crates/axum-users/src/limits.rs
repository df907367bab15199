//! Rate limits and account lockout (CONTRACT §5), consulted by the routers when
//! [`UsersState::with_limits`] was given a [`RateLimits`]. Without it (the library's default)
//! nothing is limited.
//!
//! | limit | key | default ([`RateLimits::default`], the server's) | over it |
//! |---|---|---|---|
//! | per client IP, each [`LimitedRoute`] | route × address (IPv6: its /64) | 600 a minute | 429 + `Retry-After`, checked before the body is read |
//! | failed logins per account | the login's email, any case | 10 within 15 minutes → lockout | every login for it: 429 + `Retry-After`, whatever the password |
//! | lockout duration | | 15 minutes, doubling with each lockout (the level is remembered 24 h past the end), at most 24 h | |
//! | emails per account: forgot-password, request-verify-token (each its own budget; requests for unknown emails send nothing and are not counted) | route × email | 5 within 15 minutes | still 202, nothing sent |
//!
//! Only failures count toward a per-account limit: a successful login clears the account's
//! failure count, and a successful password reset clears its lockout (level included).
//! Register is limited per IP only. Unknown emails are counted and locked like known ones, so a
//! lockout tells nothing about which accounts exist (and costs no lookup). Per-account keys are
//! a SHA-256 of the lower-cased email, so no store holds addresses.
//!
//! **Windows.** Counters are sliding-window counters: two fixed windows aligned on the Unix
//! epoch (the current one and the one before), the previous one weighted by how much of it is
//! still inside the sliding window ([`SlidingWindow`]). O(1) state per key, one atomic step in
//! Redis, and exact integer decisions; the price is an estimate that assumes the previous
//! window's events were spread evenly (a small limit may wait a little longer than a true
//! sliding log would; a burst at the very end of a window can admit somewhat more than the
//! limit within one window length, never twice the limit). Refused requests are not counted.
//!
//! **Client address.** [`client_ip`]: the socket peer (serve the app with
//! `into_make_service_with_connect_info::<SocketAddr>()`; without it per-IP limits are skipped,
//! with one warning), or `X-Forwarded-For` read from the right when the peer is one of the
//! [`TrustedProxies`].
//!
//! **Stores.** [`MemoryLimitStore`] (default): this process only, memory bounded. With the
//! cargo feature `redis`, `RedisLimitStore` shares counters between instances; every call is
//! bounded by a timeout. **When the store fails** (Redis down or slow, or the memory store
//! full), the failure is logged (at most one line per 10 s, with a count of those suppressed)
//! and, with [`FailMode::Open`] (the default), the request is let through: per-IP limits and
//! lockouts stop holding while the store is away, but logins and registrations keep working.
//! [`FailMode::Closed`] answers 503 with `Retry-After` instead (and sends no email).
//!
//! **Time** comes from a [`Clock`]; tests use a [`ManualClock`] and never sleep.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use axum_users::limits::{Limit, LimitedRoute, LockoutPolicy, RateLimits, TrustedProxies};
//!
//! let limits = RateLimits::default()
//!     .with_ip_limit(LimitedRoute::Register, Some("20/1h".parse().unwrap()))
//!     .with_ip_limit(LimitedRoute::Verify, None)
//!     .with_lockout(Some(LockoutPolicy { max_failures: 5, ..LockoutPolicy::default() }))
//!     .with_trusted_proxies(TrustedProxies::parse(["10.0.0.0/8"]).unwrap());
//! assert_eq!(limits.ip_limit(LimitedRoute::Login), Some(Limit::per_minute(600)));
//! assert_eq!(limits.ip_limit(LimitedRoute::Register), Some(Limit::new(20, Duration::from_secs(3600))));
//! # let _ = |users: axum_users::UsersState| users.with_limits(limits);
//! ```

mod clock;
mod ip;
mod memory;
#[cfg(feature = "redis")]
mod redis_store;
mod store;
mod window;

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::http::request::Parts;
use axum_users_core::UserExtra;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub use self::clock::{Clock, ManualClock, SystemClock};
pub use self::ip::{CidrError, IpCidr, TrustedProxies, client_ip};
pub use self::memory::{DEFAULT_MAX_KEYS, DEFAULT_SWEEP_INTERVAL, MemoryLimitStore};
#[cfg(feature = "redis")]
pub use self::redis_store::{
    DEFAULT_KEY_PREFIX as REDIS_DEFAULT_KEY_PREFIX, DEFAULT_PAUSE as REDIS_DEFAULT_PAUSE,
    DEFAULT_TIMEOUT as REDIS_DEFAULT_TIMEOUT, RedisLimitStore,
};
pub use self::store::{LimitError, LimitStore, Lock};
use self::window::retry_after_secs;
pub use self::window::{Hit, SlidingWindow, WindowCounts};
use crate::error::ApiError;
use crate::state::UsersState;

/// A route that can be rate limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LimitedRoute {
    /// `POST /login` (every auth router's, and the classic profile's).
    Login,
    /// `POST /register`.
    Register,
    /// `POST /forgot-password`.
    ForgotPassword,
    /// `POST /request-verify-token`.
    RequestVerifyToken,
    /// `POST /verify`.
    Verify,
    /// `POST /reset-password`.
    ResetPassword,
    /// `POST /refresh` (refresh tokens).
    Refresh,
}

impl LimitedRoute {
    /// Every route.
    pub const ALL: [Self; 7] = [
        Self::Login,
        Self::Register,
        Self::ForgotPassword,
        Self::RequestVerifyToken,
        Self::Verify,
        Self::ResetPassword,
        Self::Refresh,
    ];

    /// The routes that send email, with a per-account budget.
    pub const SENDING: [Self; 2] = [Self::ForgotPassword, Self::RequestVerifyToken];

    /// Its name in keys, logs and configuration: `login`, `register`, `forgot_password`,
    /// `request_verify_token`, `verify`, `reset_password`, `refresh`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::ForgotPassword => "forgot_password",
            Self::RequestVerifyToken => "request_verify_token",
            Self::Verify => "verify",
            Self::ResetPassword => "reset_password",
            Self::Refresh => "refresh",
        }
    }
}

impl fmt::Display for LimitedRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A route name or limit that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseLimitError(String);

impl FromStr for LimitedRoute {
    type Err = ParseLimitError;

    /// The [`as_str`](Self::as_str) names; `-` may stand for `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| ParseLimitError(format!("unknown route {s:?}")))
    }
}

/// `requests` within any `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// How many requests are admitted (0 refuses all).
    pub requests: u64,
    /// Within how long.
    pub per: Duration,
}

impl Limit {
    /// `requests` within any `per`.
    #[must_use]
    pub const fn new(requests: u64, per: Duration) -> Self {
        Self { requests, per }
    }

    /// `requests` a minute.
    #[must_use]
    pub const fn per_minute(requests: u64) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }
}

fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = if number.is_empty() {
        1
    } else {
        number.parse().ok()?
    };
    let unit_ms: u64 = match unit.trim() {
        "ms" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1000,
        "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    let ms = n.checked_mul(unit_ms).filter(|ms| *ms > 0)?;
    Some(Duration::from_millis(ms))
}

impl FromStr for Limit {
    type Err = ParseLimitError;

    /// `<requests>/<duration>`, the duration a number (default 1) and a unit (`ms`, `s`, `m`
    /// or `min`, `h`, `d`, or the words): `600/min`, `10/15m`, `5/15 minutes`, `1000/1h`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_users::limits::Limit;
    ///
    /// assert_eq!("600/min".parse(), Ok(Limit::per_minute(600)));
    /// assert_eq!("10/15m".parse(), Ok(Limit::new(10, Duration::from_secs(900))));
    /// assert!("10".parse::<Limit>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseLimitError(format!("invalid limit {s:?}: expected e.g. \"600/1m\""));
        let (requests, per) = s.split_once('/').ok_or_else(bad)?;
        let requests = requests.trim().parse().map_err(|_| bad())?;
        let per = parse_duration(per).ok_or_else(bad)?;
        Ok(Self { requests, per })
    }
}

impl fmt::Display for Limit {
    /// As [`FromStr`] reads it: `600/60s`, `10/900s`, `5/250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.per.subsec_millis() == 0 {
            write!(f, "{}/{}s", self.requests, self.per.as_secs())
        } else {
            write!(f, "{}/{}ms", self.requests, self.per.as_millis())
        }
    }
}

/// When failed logins lock an account, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failed logins within [`window`](Self::window) that lock the account (default 10).
    pub max_failures: u64,
    /// The window failures are counted in (default 15 minutes).
    pub window: Duration,
    /// The first lockout's duration (default 15 minutes); each further lockout doubles it.
    pub base: Duration,
    /// The longest lockout (default 24 hours).
    pub max: Duration,
    /// How long after a lockout ends its level is remembered, so that the next one doubles
    /// (default 24 hours); after that, the next lockout is a first one again.
    pub memory: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(15 * 60),
            base: Duration::from_secs(15 * 60),
            max: Duration::from_secs(24 * 3600),
            memory: Duration::from_secs(24 * 3600),
        }
    }
}

impl LockoutPolicy {
    /// The duration of the `level`-th lockout in a row: `base × 2^(level−1)`, at most `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_users::limits::LockoutPolicy;
    ///
    /// let p = LockoutPolicy::default();
    /// assert_eq!(p.duration(1), Duration::from_secs(900));
    /// assert_eq!(p.duration(2), Duration::from_secs(1800));
    /// assert_eq!(p.duration(40), Duration::from_secs(86_400));
    /// ```
    #[must_use]
    pub fn duration(&self, level: u32) -> Duration {
        let factor = 1u32
            .checked_shl(level.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// What to do when the [`LimitStore`] fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Let the request through (and send the email): availability first. The default.
    #[default]
    Open,
    /// Answer 503 with `Retry-After: 1` (and send nothing).
    Closed,
}

/// At most one store-failure line per this interval.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Rate limits and lockout: the policy, the [`LimitStore`] and the [`Clock`]. Give it to
/// [`UsersState::with_limits`]; the routers then call [`check_request`](Self::check_request)
/// and the account methods.
pub struct RateLimits {
    per_ip: HashMap<LimitedRoute, Limit>,
    sends: HashMap<LimitedRoute, Limit>,
    lockout: Option<LockoutPolicy>,
    trusted_proxies: TrustedProxies,
    ipv6_prefix: u8,
    fail_mode: FailMode,
    store: Arc<dyn LimitStore>,
    clock: Arc<dyn Clock>,
    warned_no_ip: AtomicBool,
    last_error_log: Mutex<Option<Instant>>,
    suppressed_errors: AtomicU64,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("per_ip", &self.per_ip)
            .field("sends", &self.sends)
            .field("lockout", &self.lockout)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("fail_mode", &self.fail_mode)
            .field("store", &self.store)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimits {
    /// The server's defaults (CONTRACT §5): 600 requests a minute per client IP on every
    /// [`LimitedRoute`]; [`LockoutPolicy::default`]; 5 emails per account per 15 minutes on
    /// forgot-password and request-verify-token; no trusted proxy; IPv6 by /64; fail open; an
    /// in-process store; the system clock.
    fn default() -> Self {
        let sends = Limit::new(5, Duration::from_secs(15 * 60));
        Self {
            per_ip: LimitedRoute::ALL
                .into_iter()
                .map(|r| (r, Limit::per_minute(600)))
                .collect(),
            sends: LimitedRoute::SENDING
                .into_iter()
                .map(|r| (r, sends))
                .collect(),
            lockout: Some(LockoutPolicy::default()),
            trusted_proxies: TrustedProxies::none(),
            ipv6_prefix: 64,
            fail_mode: FailMode::Open,
            store: Arc::new(MemoryLimitStore::new()),
            clock: Arc::new(SystemClock),
            warned_no_ip: AtomicBool::new(false),
            last_error_log: Mutex::new(None),
            suppressed_errors: AtomicU64::new(0),
        }
    }
}

/// `t + d`, without the panic on overflow (an absurd duration lasts about a century).
fn later(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d)
        .or_else(|| t.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(t)
}

fn too_many(wait: Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after: retry_after_secs(wait),
    }
}

/// The per-account part of keys: 128 bits of SHA-256 of the lower-cased email, in hex.
fn account(email: &str) -> String {
    let digest = Sha256::digest(email.to_lowercase().as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

impl RateLimits {
    /// The server's defaults; see [`Default`](#impl-Default-for-RateLimits).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Nothing limited (add limits with the `with_*` methods).
    #[must_use]
    pub fn none() -> Self {
        Self {
            per_ip: HashMap::new(),
            sends: HashMap::new(),
            lockout: None,
            ..Self::default()
        }
    }

    /// Sets (or, with `None`, removes) the per-IP limit of one route.
    #[must_use]
    pub fn with_ip_limit(mut self, route: LimitedRoute, limit: Option<Limit>) -> Self {
        match limit {
            Some(limit) => self.per_ip.insert(route, limit),
            None => self.per_ip.remove(&route),
        };
        self
    }

    /// Sets (or removes) the per-IP limit of every route.
    #[must_use]
    pub fn with_ip_limits(mut self, limit: Option<Limit>) -> Self {
        for route in LimitedRoute::ALL {
            self = self.with_ip_limit(route, limit);
        }
        self
    }

    /// Sets (or, with `None`, removes) the per-account email budget of
    /// [`LimitedRoute::ForgotPassword`] or [`LimitedRoute::RequestVerifyToken`] (other routes
    /// send nothing; a budget for them is never consulted).
    #[must_use]
    pub fn with_send_limit(mut self, route: LimitedRoute, limit: Option<Limit>) -> Self {
        match limit {
            Some(limit) => self.sends.insert(route, limit),
            None => self.sends.remove(&route),
        };
        self
    }

    /// Sets (or, with `None`, turns off) the lockout after failed logins.
    #[must_use]
    pub fn with_lockout(mut self, lockout: Option<LockoutPolicy>) -> Self {
        self.lockout = lockout;
        self
    }

    /// Sets the proxies whose `X-Forwarded-For` is believed (none by default).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Sets how many leading bits of an IPv6 address identify a client (default 64; 128 for
    /// single addresses).
    #[must_use]
    pub fn with_ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// Sets what happens when the store fails (default [`FailMode::Open`]).
    #[must_use]
    pub fn with_fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// Sets the store (default: a [`MemoryLimitStore`]).
    #[must_use]
    pub fn with_store(mut self, store: Arc<dyn LimitStore>) -> Self {
        self.store = store;
        self
    }

    /// Sets the clock (default: [`SystemClock`]).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The per-IP limit of a route.
    #[must_use]
    pub fn ip_limit(&self, route: LimitedRoute) -> Option<Limit> {
        self.per_ip.get(&route).copied()
    }

    /// The per-account email budget of a route.
    #[must_use]
    pub fn send_limit(&self, route: LimitedRoute) -> Option<Limit> {
        self.sends.get(&route).copied()
    }

    /// The lockout policy.
    #[must_use]
    pub fn lockout(&self) -> Option<&LockoutPolicy> {
        self.lockout.as_ref()
    }

    /// The trusted proxies.
    #[must_use]
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.trusted_proxies
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn LimitStore> {
        &self.store
    }

    /// The clock.
    #[must_use]
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The client address of a request, by [`client_ip`] with these trusted proxies.
    #[must_use]
    pub fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        client_ip(parts, &self.trusted_proxies)
    }

    /// Logs a store failure (throttled) and applies the fail mode.
    fn store_failed(&self, what: &'static str, error: &LimitError) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut last = self
            .last_error_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|t| now.duration_since(t) < ERROR_LOG_INTERVAL) {
            self.suppressed_errors.fetch_add(1, Ordering::Relaxed);
        } else {
            *last = Some(now);
            drop(last);
            let suppressed = self.suppressed_errors.swap(0, Ordering::Relaxed);
            let source = std::error::Error::source(error).map(ToString::to_string);
            tracing::error!(
                what,
                %error,
                source,
                suppressed,
                fail_mode = ?self.fail_mode,
                "rate-limit store failed"
            );
        }
        match self.fail_mode {
            FailMode::Open => Ok(()),
            FailMode::Closed => Err(ApiError::Unavailable { retry_after: 1 }),
        }
    }

    /// Applies the route's per-IP limit to a request: first thing in a handler, before the
    /// body is read. Without a client address (no `ConnectInfo`), nothing is limited and a
    /// warning is logged once.
    ///
    /// # Errors
    /// 429 with `Retry-After` over the limit; 503 when the store fails and the mode is
    /// [`FailMode::Closed`].
    pub async fn check_request(&self, route: LimitedRoute, parts: &Parts) -> Result<(), ApiError> {
        if !self.per_ip.contains_key(&route) {
            return Ok(());
        }
        if let Some(ip) = self.client_ip(parts) {
            return self.check_ip(route, ip).await;
        }
        if !self.warned_no_ip.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "rate limits: requests carry no client address (serve the app with \
                 into_make_service_with_connect_info::<SocketAddr>()); per-IP limits are off"
            );
        }
        Ok(())
    }

    /// Counts one request from `ip` to `route` against its per-IP limit.
    ///
    /// # Errors
    /// As [`check_request`](Self::check_request).
    pub async fn check_ip(&self, route: LimitedRoute, ip: IpAddr) -> Result<(), ApiError> {
        let Some(limit) = self.per_ip.get(&route) else {
            return Ok(());
        };
        let key = format!("ip:{route}:{}", ip::ip_key(ip, self.ipv6_prefix));
        let window = SlidingWindow::new(limit.per, self.clock.now());
        match self.store.hit(&key, window, Some(limit.requests)).await {
            Ok(hit) if hit.admitted => Ok(()),
            Ok(hit) => {
                tracing::debug!(%route, %ip, "per-IP rate limit reached");
                Err(too_many(window.retry_after(hit.counts, limit.requests)))
            }
            Err(error) => self.store_failed("per-IP limit", &error),
        }
    }

    /// Refuses a login for a locked account, before any password is hashed.
    ///
    /// # Errors
    /// 429 with `Retry-After` (the rest of the lockout) while locked; 503 when the store fails
    /// and the mode is [`FailMode::Closed`].
    pub async fn check_login(&self, email: &str) -> Result<(), ApiError> {
        if self.lockout.is_none() {
            return Ok(());
        }
        let now = self.clock.now();
        let key = format!("lock:{}", account(email));
        match self.store.get_lock(&key, now).await {
            Ok(Some(lock)) if lock.until > now => {
                Err(too_many(lock.until.duration_since(now).unwrap_or_default()))
            }
            Ok(_) => Ok(()),
            Err(error) => self.store_failed("lockout check", &error),
        }
    }

    /// Counts a failed login for `email` (`user_id` when the account exists, for the log) and
    /// locks the account when the failures reach the policy's maximum. A lockout is logged
    /// with `tracing::warn!` (user id, level, duration; never the email or password).
    pub async fn record_failed_login(&self, email: &str, user_id: Option<Uuid>) {
        let Some(policy) = self.lockout else {
            return;
        };
        let now = self.clock.now();
        let account = account(email);
        let failures_key = format!("fail:{account}");
        let window = SlidingWindow::new(policy.window, now);
        let hit = match self.store.hit(&failures_key, window, None).await {
            Ok(hit) => hit,
            Err(error) => {
                let _ = self.store_failed("failed-login count", &error);
                return;
            }
        };
        if !window.reaches(hit.counts, policy.max_failures) {
            return;
        }
        let lock_key = format!("lock:{account}");
        let previous = match self.store.get_lock(&lock_key, now).await {
            Ok(previous) => previous,
            Err(error) => {
                let _ = self.store_failed("lockout", &error);
                None
            }
        };
        // Failures that raced past the check of a lockout just set do not escalate it.
        let active = previous.filter(|l| l.until > now);
        if active.is_none() {
            let level = previous.map_or(1, |l| l.level.saturating_add(1));
            let duration = policy.duration(level);
            let until = later(now, duration);
            let lock = Lock { level, until };
            let forget_at = later(until, policy.memory);
            if let Err(error) = self.store.set_lock(&lock_key, lock, forget_at, now).await {
                let _ = self.store_failed("lockout", &error);
                return;
            }
            tracing::warn!(
                user_id = user_id.map(tracing::field::display),
                account = %account,
                level,
                lockout_seconds = duration.as_secs(),
                failures = policy.max_failures,
                "account locked after repeated failed logins"
            );
        }
        // The next lockout needs as many failures again.
        if let Err(error) = self.store.reset(&failures_key).await {
            let _ = self.store_failed("failed-login count", &error);
        }
    }

    /// A successful login: the account's failure count starts again from zero (a lockout
    /// level is kept, so that an attacker interleaved with the owner still meets doubling
    /// lockouts).
    pub async fn record_success(&self, email: &str) {
        if self.lockout.is_none() {
            return;
        }
        let key = format!("fail:{}", account(email));
        if let Err(error) = self.store.reset(&key).await {
            let _ = self.store_failed("failed-login count", &error);
        }
    }

    /// Ends the account's lockout and forgets its level and failures: a successful password
    /// reset proves the owner is back.
    pub async fn clear_lockout(&self, email: &str) {
        let account = account(email);
        for key in [format!("lock:{account}"), format!("fail:{account}")] {
            if let Err(error) = self.store.reset(&key).await {
                let _ = self.store_failed("lockout reset", &error);
            }
        }
    }

    /// Whether an email for `email` may go out on `route` (forgot-password,
    /// request-verify-token), counting it when it may. Over the budget the caller still
    /// answers 202 and sends nothing.
    pub async fn allow_send(&self, route: LimitedRoute, email: &str) -> bool {
        let Some(limit) = self.sends.get(&route) else {
            return true;
        };
        let key = format!("send:{route}:{}", account(email));
        let window = SlidingWindow::new(limit.per, self.clock.now());
        match self.store.hit(&key, window, Some(limit.requests)).await {
            Ok(hit) => hit.admitted,
            Err(error) => self.store_failed("email budget", &error).is_ok(),
        }
    }

    /// How long the account's lockout still lasts (`None` when not locked), for
    /// administration and tests.
    ///
    /// # Errors
    /// The store's failure.
    pub async fn lockout_remaining(&self, email: &str) -> Result<Option<Duration>, LimitError> {
        let now = self.clock.now();
        let lock = self
            .store
            .get_lock(&format!("lock:{}", account(email)), now)
            .await?;
        Ok(lock.and_then(|l| l.until.duration_since(now).ok().filter(|d| !d.is_zero())))
    }
}

impl<X: UserExtra> UsersState<X> {
    /// The per-IP check of `route`, when limits are configured.
    pub(crate) async fn limit_request(
        &self,
        route: LimitedRoute,
        parts: &Parts,
    ) -> Result<(), ApiError> {
        match self.limits() {
            Some(limits) => limits.check_request(route, parts).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_the_contracts() {
        let l = RateLimits::default();
        for route in LimitedRoute::ALL {
            assert_eq!(l.ip_limit(route), Some(Limit::per_minute(600)), "{route}");
        }
        let fifteen = Duration::from_secs(900);
        assert_eq!(
            l.send_limit(LimitedRoute::ForgotPassword),
            Some(Limit::new(5, fifteen))
        );
        assert_eq!(
            l.send_limit(LimitedRoute::RequestVerifyToken),
            Some(Limit::new(5, fifteen))
        );
        assert_eq!(l.send_limit(LimitedRoute::Login), None);
        let p = l.lockout().unwrap();
        assert_eq!((p.max_failures, p.window, p.base), (10, fifteen, fifteen));
        assert!(l.trusted_proxies().is_empty());
        let none = RateLimits::none();
        assert!(
            LimitedRoute::ALL
                .iter()
                .all(|r| none.ip_limit(*r).is_none())
        );
        assert!(none.lockout().is_none());
    }

    #[test]
    fn limits_and_routes_parse() {
        let minute = Duration::from_secs(60);
        for (text, limit) in [
            ("600/min", Limit::new(600, minute)),
            ("600/1m", Limit::new(600, minute)),
            ("600 / 60s", Limit::new(600, minute)),
            ("10/15m", Limit::new(10, 15 * minute)),
            ("5/15 minutes", Limit::new(5, 15 * minute)),
            ("1000/h", Limit::new(1000, 60 * minute)),
            ("3/2d", Limit::new(3, 2 * 24 * 60 * minute)),
            ("7/250ms", Limit::new(7, Duration::from_millis(250))),
            ("0/s", Limit::new(0, Duration::from_secs(1))),
        ] {
            assert_eq!(text.parse::<Limit>(), Ok(limit), "{text}");
            assert_eq!(limit.to_string().parse::<Limit>(), Ok(limit), "{limit}");
        }
        for bad in [
            "",
            "600",
            "x/min",
            "600/",
            "600/0s",
            "600/fortnight",
            "-1/s",
        ] {
            assert!(bad.parse::<Limit>().is_err(), "{bad}");
        }
        for route in LimitedRoute::ALL {
            assert_eq!(route.as_str().parse(), Ok(route));
        }
        assert_eq!("forgot-password".parse(), Ok(LimitedRoute::ForgotPassword));
        assert!("logout".parse::<LimitedRoute>().is_err());
    }

    #[test]
    fn lockouts_double_up_to_the_cap() {
        let p = LockoutPolicy {
            base: Duration::from_secs(60),
            max: Duration::from_secs(600),
            ..LockoutPolicy::default()
        };
        let secs: Vec<u64> = (0..7).map(|l| p.duration(l).as_secs()).collect();
        assert_eq!(secs, [60, 60, 120, 240, 480, 600, 600]);
        assert_eq!(p.duration(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn account_keys_ignore_case_and_hide_the_address() {
        assert_eq!(account("Arthur@Camelot.BT"), account("arthur@camelot.bt"));
        assert_ne!(account("arthur@camelot.bt"), account("lancelot@camelot.bt"));
        assert_eq!(account("a@b.c").len(), 32);
        assert!(!account("arthur@camelot.bt").contains("arthur"));
    }

    fn manual() -> (RateLimits, ManualClock) {
        let clock = ManualClock::new();
        let limits = RateLimits::default().with_clock(Arc::new(clock.clone()));
        (limits, clock)
    }

    #[tokio::test]
    async fn a_lockout_escalates_once_however_many_failures_race_into_it() {
        let (limits, clock) = manual();
        for _ in 0..10 {
            limits.record_failed_login("a@b.cd", None).await;
        }
        assert!(limits.check_login("a@b.cd").await.is_err());
        // Failures that passed the check before the lock was set do not double it.
        for _ in 0..30 {
            limits.record_failed_login("a@b.cd", None).await;
        }
        assert_eq!(
            limits.lockout_remaining("a@b.cd").await.unwrap(),
            Some(Duration::from_secs(900))
        );
        clock.advance(Duration::from_secs(900));
        assert!(limits.check_login("a@b.cd").await.is_ok());
        assert_eq!(limits.lockout_remaining("a@b.cd").await.unwrap(), None);
    }

    #[tokio::test]
    async fn the_level_is_forgotten_after_the_memory() {
        async fn lock(limits: &RateLimits) -> Option<Duration> {
            for _ in 0..10 {
                limits.record_failed_login("a@b.cd", None).await;
            }
            limits.lockout_remaining("a@b.cd").await.unwrap()
        }
        let (limits, clock) = manual();
        assert_eq!(lock(&limits).await, Some(Duration::from_secs(900)));
        clock.advance(Duration::from_secs(900));
        assert_eq!(lock(&limits).await, Some(Duration::from_secs(1800)));
        clock.advance(Duration::from_secs(1800));
        assert_eq!(lock(&limits).await, Some(Duration::from_secs(3600)));
        // A day after it ended, the next lockout is a first one again.
        clock.advance(Duration::from_secs(3600 + 86_400));
        assert_eq!(lock(&limits).await, Some(Duration::from_secs(900)));
        limits.clear_lockout("A@B.CD").await;
        assert_eq!(limits.lockout_remaining("a@b.cd").await.unwrap(), None);
    }
}
