//! The server's rate limits and lockout, built from [`Config`].

use std::time::Duration;

use axum_users::limits::{
    Limit, LimitedRoute, LockoutPolicy, RateLimits, RedisLimitStore, TrustedProxies,
};

use crate::config::{Config, ConfigError};

/// `600/1m`-style text, or `off`.
fn limit(setting: &'static str, text: &str) -> Result<Option<Limit>, ConfigError> {
    match text.trim() {
        "off" | "" => Ok(None),
        text => text
            .parse::<Limit>()
            .map(Some)
            .map_err(|e| ConfigError::new(setting, format!("{text:?}: {e} (e.g. 600/1m or off)"))),
    }
}

/// The environment name of a route's own per-IP limit.
pub(crate) fn route_setting(route: LimitedRoute) -> &'static str {
    match route {
        LimitedRoute::Login => "AXUM_USERS_RATE_LIMIT_LOGIN",
        LimitedRoute::Register => "AXUM_USERS_RATE_LIMIT_REGISTER",
        LimitedRoute::ForgotPassword => "AXUM_USERS_RATE_LIMIT_FORGOT_PASSWORD",
        LimitedRoute::RequestVerifyToken => "AXUM_USERS_RATE_LIMIT_REQUEST_VERIFY_TOKEN",
        LimitedRoute::Verify => "AXUM_USERS_RATE_LIMIT_VERIFY",
        LimitedRoute::ResetPassword => "AXUM_USERS_RATE_LIMIT_RESET_PASSWORD",
        LimitedRoute::Refresh => "AXUM_USERS_RATE_LIMIT_REFRESH",
        // Non-exhaustive upstream: a route added later is named by the TOML table.
        _ => "[limits.per_route]",
    }
}

/// The limits the settings describe, or `None` when they are off.
///
/// # Errors
/// A [`ConfigError`] naming the bad setting.
pub fn rate_limits(config: &Config) -> Result<Option<RateLimits>, ConfigError> {
    let l = &config.limits;
    if !l.enabled {
        return Ok(None);
    }
    let per_ip = limit("AXUM_USERS_RATE_LIMIT_PER_IP", &l.per_ip)?;
    let sends = limit("AXUM_USERS_SEND_LIMIT_PER_ACCOUNT", &l.sends_per_account)?;
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
    for route in LimitedRoute::SENDING {
        limits = limits.with_send_limit(route, sends);
    }
    for (name, text) in &l.per_route {
        let route: LimitedRoute = name.parse().map_err(|_| {
            ConfigError::new(
                "[limits.per_route]",
                format!(
                    "{name:?} is not a limited route (login, register, forgot_password, \
                     request_verify_token, verify, reset_password, refresh)"
                ),
            )
        })?;
        limits = limits.with_ip_limit(route, limit(route_setting(route), text)?);
    }
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
        c.limits.per_route.insert("logn".into(), "1/1m".into());
        assert_eq!(rate_limits(&c).unwrap_err().setting, "[limits.per_route]");
        let mut c = Config::default();
        c.limits.sends_per_account = "often".into();
        assert_eq!(
            rate_limits(&c).unwrap_err().setting,
            "AXUM_USERS_SEND_LIMIT_PER_ACCOUNT"
        );
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

    #[test]
    fn each_route_and_the_send_budget_take_their_own_limit_from_toml_or_env() {
        let mut c: Config = toml::from_str(
            "[limits]\nsends_per_account = \"2/1h\"\n[limits.per_route]\nlogin = \"100/1m\"\nrefresh = \"off\"\n",
        )
        .unwrap();
        c.overlay_env(|k| (k == "AXUM_USERS_RATE_LIMIT_REGISTER").then(|| "20/1h".to_owned()))
            .unwrap();
        let limits = rate_limits(&c).unwrap().unwrap();
        let login = limits.ip_limit(LimitedRoute::Login).unwrap();
        assert_eq!((login.requests, login.per), (100, Duration::from_secs(60)));
        let register = limits.ip_limit(LimitedRoute::Register).unwrap();
        assert_eq!(
            (register.requests, register.per),
            (20, Duration::from_secs(3600))
        );
        assert!(limits.ip_limit(LimitedRoute::Refresh).is_none());
        // Untouched routes keep the common limit.
        let verify = limits.ip_limit(LimitedRoute::Verify).unwrap();
        assert_eq!(verify.requests, 600);
        for route in LimitedRoute::SENDING {
            let send = limits.send_limit(route).unwrap();
            assert_eq!((send.requests, send.per), (2, Duration::from_secs(3600)));
        }
    }
}
