//! `RedisLimitStore` against a real Redis (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`),
//! and against a Redis that is down.
//!
//! When Redis cannot be reached the tests that need it print a line and pass, except with
//! `CI=true`, where they fail. Each test writes under its own random key prefix and deletes
//! its keys at the end.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum_users::ApiError;
use axum_users::limits::{
    Clock as _, FailMode, Limit, LimitError, LimitStore, LimitedRoute, ManualClock, RateLimits,
    RedisLimitStore, SlidingWindow,
};
use common::*;
use serde_json::json;
use tokio::net::TcpListener;
use uuid::Uuid;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A store on the test Redis under a fresh prefix; `None` (after a line on stderr) when Redis
/// is unreachable outside CI.
async fn store(test: &str) -> Option<(RedisLimitStore, String)> {
    let prefix = format!("axum_users_test:limits:{test}:{}:", Uuid::new_v4().simple());
    let connect = async {
        RedisLimitStore::connect(&redis_url())
            .await
            .map(|s| s.timeout(Duration::from_secs(2)).key_prefix(prefix.clone()))
    };
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(store)) => Some((store, prefix)),
        failure => {
            // The address only: the URL may carry a password.
            let addr = redis::Client::open(redis_url().as_str()).map_or_else(
                |_| "TEST_REDIS_URL".to_owned(),
                |c| c.get_connection_info().addr().to_string(),
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Redis at {addr} is unreachable (CI=true, so this fails): {failure:?}"
            );
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipping {test}: Redis at {addr} is unreachable ({failure:?})"
            );
            None
        }
    }
}

async fn raw() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url().as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn keys(prefix: &str) -> Vec<String> {
    let mut con = raw().await;
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut con)
        .await
        .unwrap()
}

async fn cleanup(prefix: &str) {
    let keys = keys(prefix).await;
    if !keys.is_empty() {
        let mut con = raw().await;
        redis::cmd("DEL")
            .arg(&keys)
            .query_async::<()>(&mut con)
            .await
            .unwrap();
    }
}

fn from(peer: &str, mut req: Request<Body>) -> Request<Body> {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 40_000)));
    req
}

/// Two limiters over one Redis (as two instances of a service would be), on one clock.
fn two_limiters(store: &RedisLimitStore, clock: &ManualClock) -> (RateLimits, RateLimits) {
    let make = || {
        RateLimits::default()
            .with_ip_limit(LimitedRoute::Verify, Some(Limit::per_minute(5)))
            .with_store(Arc::new(store.clone()))
            .with_clock(Arc::new(clock.clone()))
    };
    (make(), make())
}

#[tokio::test]
async fn two_instances_share_their_counts_through_routers() {
    let Some((store, prefix)) = store("routers").await else {
        return;
    };
    let clock = ManualClock::new();
    let (a, b) = two_limiters(&store, &clock);
    let a = app_with_limits(Opts::<()>::default(), a).await.app;
    let b = app_with_limits(Opts::<()>::default(), b).await.app;
    let verify = || {
        from(
            "198.51.100.1",
            req(Method::POST, "/auth/verify").json(&json!({})),
        )
    };

    for n in 0..5 {
        let app = if n % 2 == 0 { &a } else { &b };
        assert_eq!(
            send(app, verify()).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    for app in [&a, &b] {
        let r = send(app, verify()).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        // 5 at the start of a minute: 60 s, then until their weight falls to 4 (12 s).
        assert_eq!(r.header("retry-after"), Some("72"));
    }
    // Another client is not affected; time heals.
    let other = from(
        "198.51.100.2",
        req(Method::POST, "/auth/verify").json(&json!({})),
    );
    assert_eq!(
        send(&a, other).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    clock.advance(Duration::from_secs(72));
    assert_eq!(
        send(&b, verify()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Keys expire by themselves: two windows after the last count.
    let mut con = raw().await;
    for key in keys(&prefix).await {
        let pttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut con)
            .await
            .unwrap();
        assert!((1..=120_000).contains(&pttl), "{key}: {pttl}");
    }
    cleanup(&prefix).await;
}

#[tokio::test]
async fn lockouts_and_email_budgets_hold_across_instances() {
    let Some((store, prefix)) = store("lockout").await else {
        return;
    };
    let clock = ManualClock::new();
    let (a, b) = two_limiters(&store, &clock);
    let email = "arthur@camelot.bt";
    for n in 0..10 {
        let limits = if n % 2 == 0 { &a } else { &b };
        assert!(limits.check_login(email).await.is_ok());
        limits.record_failed_login(email, None).await;
    }
    for limits in [&a, &b] {
        match limits.check_login("Arthur@Camelot.bt").await {
            Err(ApiError::TooManyRequests { retry_after }) => assert_eq!(retry_after, 900),
            other => panic!("{other:?}"),
        }
    }
    // The doubling is remembered in Redis too.
    clock.advance(Duration::from_secs(900));
    assert!(b.check_login(email).await.is_ok());
    for _ in 0..10 {
        a.record_failed_login(email, None).await;
    }
    assert_eq!(
        b.lockout_remaining(email).await.unwrap(),
        Some(Duration::from_secs(1800))
    );
    // A reset on one instance clears it for all.
    a.clear_lockout(email).await;
    assert!(b.check_login(email).await.is_ok());

    let sent = {
        let mut sent = 0;
        for n in 0..8 {
            let limits = if n % 2 == 0 { &a } else { &b };
            sent += u32::from(limits.allow_send(LimitedRoute::ForgotPassword, email).await);
        }
        sent
    };
    assert_eq!(sent, 5);
    cleanup(&prefix).await;
}

#[tokio::test]
async fn concurrent_hits_never_admit_more_than_the_limit() {
    let Some((store, prefix)) = store("concurrent").await else {
        return;
    };
    let window = SlidingWindow::new(Duration::from_secs(60), ManualClock::new().now());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.hit("k", window, Some(20)).await.unwrap().admitted })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += u32::from(t.await.unwrap());
    }
    assert_eq!(admitted, 20);
    cleanup(&prefix).await;
}

/// A server that accepts connections and never says a word.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

/// Sends logins through a limiter whose Redis is `url`, asserting each is let through (or,
/// closed, refused with 503) within the timeout.
async fn down_redis_is_bounded(url: &str) {
    let timeout = Duration::from_millis(300);
    let bound = timeout + Duration::from_millis(700);
    let store = RedisLimitStore::lazy(url).unwrap().timeout(timeout);
    let limits = RateLimits::default()
        .with_ip_limits(Some(Limit::per_minute(1)))
        .with_store(Arc::new(store.clone()));
    let limited = app_with_limits(Opts::<()>::default(), limits).await;
    let app = &limited.app;
    user(app, "arthur@camelot.bt").await;
    for _ in 0..3 {
        let started = Instant::now();
        let r = send(
            app,
            from(
                "198.51.100.1",
                req(Method::POST, "/auth/jwt/login")
                    .form(&[("username", "arthur@camelot.bt"), ("password", PASSWORD)]),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "fails open: {:?}", r.body);
        assert!(started.elapsed() < bound * 4, "{:?}", started.elapsed());
    }
    // One call is bounded by the timeout; right after a failure, calls fail at once.
    let store = RedisLimitStore::lazy(url).unwrap().timeout(timeout);
    let window = SlidingWindow::new(Duration::from_secs(60), std::time::SystemTime::now());
    let started = Instant::now();
    let first = store.hit("k", window, Some(1)).await;
    assert!(started.elapsed() < bound, "{:?}", started.elapsed());
    assert!(
        matches!(
            first,
            Err(LimitError::Timeout { .. } | LimitError::Backend(_))
        ),
        "{first:?}"
    );
    let started = Instant::now();
    let second = store.hit("k", window, Some(1)).await;
    assert!(
        matches!(second, Err(LimitError::Paused { .. })),
        "{second:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(50));

    // Closed: 503 with Retry-After instead.
    let limits = RateLimits::default()
        .with_store(Arc::new(
            RedisLimitStore::lazy(url).unwrap().timeout(timeout),
        ))
        .with_fail_mode(FailMode::Closed);
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    let started = Instant::now();
    let r = send(
        &app,
        from(
            "198.51.100.1",
            req(Method::POST, "/auth/verify").json(&json!({})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(started.elapsed() < bound, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_redis_that_refuses_connections_fails_open_promptly() {
    down_redis_is_bounded("redis://127.0.0.1:1").await;
}

#[tokio::test]
async fn a_redis_that_hangs_fails_open_within_the_timeout() {
    let addr = silent_server().await;
    down_redis_is_bounded(&format!("redis://{addr}")).await;
}
