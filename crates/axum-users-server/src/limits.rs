//! The server's rate limits and lockout, built from [`Config`].

use std::time::Duration;

use axum_users::limits::{
    Limit, LimitedRoute, LockoutPolicy, RateLimits, RedisLimitStore, TrustedProxies,
};

use crate::config::{Config, ConfigError};

/// The limits the settings describe, or `None` when they are off.
///
/// # Errors
/// A [`ConfigError`] naming the bad setting.
pub fn rate_limits(config: &Config) -> Result<Option<RateLimits>, ConfigError> {
    let l = &config.limits;
    if !l.enabled {
        return Ok(None);
    }
    let per_ip = match l.per_ip.as_str() {
        "off" | "" => None,
        text => Some(text.parse::<Limit>().map_err(|e| {
            ConfigError::new(
                "AXUM_USERS_RATE_LIMIT_PER_IP",
                format!("{text:?}: {e} (e.g. 600/1m or off)"),
            )
        })?),
    };
    let lockout = l.lockout.then(|| LockoutPolicy {
        max_failures: l.lockout_max_failures,
        window: Duration::from_secs(l.lockout_window_seconds),
        base: Duration::from_secs(l.lockout_seconds),
        ..LockoutPolicy::default()
    });
    if lockout.is_some()
        && (l.lockout_max_failures == 0 || l.lockout_window_seconds == 0 || l.lockout_seconds == 0)
    {
        return Err(ConfigError::new(
            "AXUM_USERS_LOCKOUT_MAX_FAILURES",
            "lockout settings must be at least 1",
        ));
    }
    let proxies = TrustedProxies::parse(&l.trusted_proxies)
        .map_err(|e| ConfigError::new("AXUM_USERS_TRUSTED_PROXIES", e.to_string()))?;
    let mut limits = RateLimits::new()
        .with_ip_limits(per_ip)
        .with_lockout(lockout)
        .with_trusted_proxies(proxies);
    // The contract has no per-IP limit on refresh beyond the common one; keep it explicit.
    limits = limits.with_ip_limit(LimitedRoute::Refresh, per_ip);
    match l.store.as_str() {
        "memory" => {}
        "redis" => {
            let url = config.redis_url.as_deref().ok_or_else(|| {
                ConfigError::new(
                    "AXUM_USERS_REDIS_URL",
                    "AXUM_USERS_RATE_LIMIT_STORE=redis needs a Redis URL",
                )
            })?;
            let store = RedisLimitStore::lazy(url)
                .map_err(|e| ConfigError::new("AXUM_USERS_REDIS_URL", e.to_string()))?;
            limits = limits.with_store(std::sync::Arc::new(store));
        }
        other => {
            return Err(ConfigError::new(
                "AXUM_USERS_RATE_LIMIT_STORE",
                format!("{other:?} is not a store (memory or redis)"),
            ));
        }
    }
    Ok(Some(limits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract_and_bad_values_name_their_setting() {
        let c = Config::default();
        let limits = rate_limits(&c).unwrap().unwrap();
        let ip = limits.ip_limit(LimitedRoute::Login).unwrap();
        assert_eq!((ip.requests, ip.per), (600, Duration::from_secs(60)));
        let lockout = limits.lockout().unwrap();
        assert_eq!(lockout.max_failures, 10);
        assert_eq!(lockout.window, Duration::from_secs(900));

        let mut c = Config::default();
        c.limits.per_ip = "lots".into();
        assert_eq!(
            rate_limits(&c).unwrap_err().setting,
            "AXUM_USERS_RATE_LIMIT_PER_IP"
        );
        let mut c = Config::default();
        c.limits.trusted_proxies = vec!["10.0.0.0/99".into()];
        assert_eq!(
            rate_limits(&c).unwrap_err().setting,
            "AXUM_USERS_TRUSTED_PROXIES"
        );
        let mut c = Config::default();
        c.limits.store = "redis".into();
        assert_eq!(rate_limits(&c).unwrap_err().setting, "AXUM_USERS_REDIS_URL");
        let mut c = Config::default();
        c.limits.enabled = false;
        assert!(rate_limits(&c).unwrap().is_none());
        let mut c = Config::default();
        c.limits.per_ip = "off".into();
        assert!(
            rate_limits(&c)
                .unwrap()
                .unwrap()
                .ip_limit(LimitedRoute::Login)
                .is_none()
        );
    }
}
