//! Rate limits and account lockout (CONTRACT §5) through the real routers over SQLite, with a
//! [`ManualClock`]: no test sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum_users::limits::{
    FailMode, Hit, Limit, LimitError, LimitStore, LimitedRoute, Lock, ManualClock, RateLimits,
    SlidingWindow, TrustedProxies,
};
use axum_users::{ApiError, UsersState};
use axum_users_core::{BoxError, RequestContext, User, UserHooks};
use common::*;
use serde_json::json;
use uuid::Uuid;

const ARTHUR: &str = "arthur@camelot.bt";
const ALICE_IP: &str = "203.0.113.7";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The request as if it came over a socket from `peer`.
fn from(peer: &str, mut req: Request<Body>) -> Request<Body> {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip(peer), 40_000)));
    req
}

fn manual_limits() -> (RateLimits, ManualClock) {
    let clock = ManualClock::new();
    let limits = RateLimits::default().with_clock(Arc::new(clock.clone()));
    (limits, clock)
}

async fn login_from(app: &TestApp, peer: &str, username: &str, password: &str) -> Reply {
    let req = req(Method::POST, "/auth/jwt/login")
        .form(&[("username", username), ("password", password)]);
    send(app, from(peer, req)).await
}

/// Asserts a 429 in the contract's shape and returns its `Retry-After`.
fn too_many(r: &Reply) -> u64 {
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    assert_eq!(r.json(), detail("Too Many Requests"));
    r.header("retry-after")
        .expect("a 429 carries Retry-After")
        .parse()
        .unwrap()
}

/// Lets the background work (forgot-password, request-verify-token) finish.
async fn drain<X: axum_users_core::UserExtra>(state: &UsersState<X>) {
    state.background().close();
    state.background().wait().await;
    state.background().reopen();
}

/// A recorded `on_after_failed_login`: the email, the user's id, the client address.
type Failed = (String, Option<Uuid>, Option<IpAddr>);

/// Makes a request.
type MakeRequest = fn() -> Request<Body>;

/// Hooks that record the events the limits touch.
#[derive(Debug, Default)]
struct Recorder {
    forgot: Mutex<Vec<(Uuid, String)>>,
    verify: Mutex<Vec<Uuid>>,
    failed: Mutex<Vec<Failed>>,
}

impl Recorder {
    fn forgot(&self) -> Vec<(Uuid, String)> {
        self.forgot.lock().unwrap().clone()
    }
    fn verify(&self) -> Vec<Uuid> {
        self.verify.lock().unwrap().clone()
    }
    fn failed(&self) -> Vec<Failed> {
        self.failed.lock().unwrap().clone()
    }
}

#[async_trait]
impl UserHooks for Recorder {
    async fn on_after_forgot_password(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.forgot
            .lock()
            .unwrap()
            .push((user.id, token.to_owned()));
        Ok(())
    }

    async fn on_after_request_verify(
        &self,
        user: &User,
        _token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.verify.lock().unwrap().push(user.id);
        Ok(())
    }

    async fn on_after_failed_login(
        &self,
        email: &str,
        user: Option<&User>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.failed
            .lock()
            .unwrap()
            .push((email.to_owned(), user.map(|u| u.id), ctx.client_ip));
        Ok(())
    }
}

fn recording() -> (Arc<Recorder>, Opts) {
    let recorder = Arc::new(Recorder::default());
    let opts = Opts {
        hooks: Some(recorder.clone()),
        ..Opts::default()
    };
    (recorder, opts)
}

/// Every limited route, with a request that the route answers cheaply (422 or 202).
fn route_requests() -> Vec<(LimitedRoute, MakeRequest)> {
    vec![
        (LimitedRoute::Login, || {
            req(Method::POST, "/auth/jwt/login").form(&[])
        }),
        (LimitedRoute::Register, || {
            req(Method::POST, "/auth/register").json(&json!({}))
        }),
        (LimitedRoute::ForgotPassword, || {
            req(Method::POST, "/auth/forgot-password").json(&json!({ "email": "x@y.zz" }))
        }),
        (LimitedRoute::RequestVerifyToken, || {
            req(Method::POST, "/auth/request-verify-token").json(&json!({ "email": "x@y.zz" }))
        }),
        (LimitedRoute::Verify, || {
            req(Method::POST, "/auth/verify").json(&json!({}))
        }),
        (LimitedRoute::ResetPassword, || {
            req(Method::POST, "/auth/reset-password").json(&json!({}))
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Per client IP.

#[tokio::test]
async fn each_route_trips_at_n_plus_one_with_retry_after_and_recovers() {
    let (limits, clock) = manual_limits();
    let limits = limits.with_ip_limits(Some(Limit::per_minute(3)));
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;

    for (route, make) in route_requests() {
        for n in 1..=3 {
            let r = send(&app, from(ALICE_IP, make())).await;
            assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{route} #{n}");
        }
        let r = send(&app, from(ALICE_IP, make())).await;
        // 3 requests at the start of a minute: the 4th may come once the previous minute's
        // weight has fallen to 2, a third into the next minute (sliding-window counter).
        assert_eq!(too_many(&r), 80, "{route}");
    }
    clock.advance(Duration::from_secs(79));
    for (route, make) in route_requests() {
        let r = send(&app, from(ALICE_IP, make())).await;
        assert_eq!(too_many(&r), 1, "{route}");
    }
    clock.advance(Duration::from_secs(1));
    for (route, make) in route_requests() {
        let r = send(&app, from(ALICE_IP, make())).await;
        assert_ne!(r.status, StatusCode::TOO_MANY_REQUESTS, "{route}");
    }
}

#[tokio::test]
async fn the_ip_limit_is_checked_before_the_body_is_read() {
    let (limits, _clock) = manual_limits();
    let limits = limits.with_ip_limit(LimitedRoute::Register, Some(Limit::per_minute(1)));
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    let big = "x".repeat(MAX_BODY_BYTES_PLUS);
    let first = send(
        &app,
        from(
            ALICE_IP,
            req(Method::POST, "/auth/register").raw("application/json", big.clone()),
        ),
    )
    .await;
    assert_eq!(first.status, StatusCode::PAYLOAD_TOO_LARGE);
    let second = send(
        &app,
        from(
            ALICE_IP,
            req(Method::POST, "/auth/register").raw("application/json", big),
        ),
    )
    .await;
    too_many(&second);
}

const MAX_BODY_BYTES_PLUS: usize = axum_users::MAX_BODY_BYTES + 1;

#[tokio::test]
async fn the_defaults_admit_600_a_minute_per_ip() {
    let (limits, clock) = manual_limits();
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    let verify = || req(Method::POST, "/auth/verify").json(&json!({}));
    for _ in 0..600 {
        let r = send(&app, from(ALICE_IP, verify())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = send(&app, from(ALICE_IP, verify())).await;
    assert_eq!(too_many(&r), 61);
    clock.advance(Duration::from_secs(61));
    let r = send(&app, from(ALICE_IP, verify())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn different_ips_are_independent_and_ipv6_counts_by_64() {
    let (limits, _clock) = manual_limits();
    let limits = limits.with_ip_limit(LimitedRoute::Verify, Some(Limit::per_minute(2)));
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    let verify = || req(Method::POST, "/auth/verify").json(&json!({}));
    let status = |r: Reply| r.status;

    for peer in [
        "198.51.100.1",
        "198.51.100.2",
        "2001:db8:1:1::1",
        "2001:db8:1:2::1",
    ] {
        for _ in 0..2 {
            let r = send(&app, from(peer, verify())).await;
            assert_eq!(status(r), StatusCode::UNPROCESSABLE_ENTITY, "{peer}");
        }
        too_many(&send(&app, from(peer, verify())).await);
    }
    // Another address in a /64 already over its limit is the same client.
    too_many(&send(&app, from("2001:db8:1:1::ffff", verify())).await);
    // An IPv4 client on a dual-stack socket is its IPv4 address.
    too_many(&send(&app, from("::ffff:198.51.100.1", verify())).await);
    // Without a socket address (no ConnectInfo), the per-IP limit cannot apply.
    for _ in 0..5 {
        let r = send(&app, verify()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    let verify = |xff: &str| {
        from(
            "10.0.0.1",
            req(Method::POST, "/auth/verify")
                .header("x-forwarded-for", xff)
                .json(&json!({})),
        )
    };
    let limit = Some(Limit::per_minute(2));

    // Untrusted: every request is the peer's, whatever it claims.
    let (limits, _clock) = manual_limits();
    let app = app_with_limits(
        Opts::<()>::default(),
        limits.with_ip_limit(LimitedRoute::Verify, limit),
    )
    .await
    .app;
    send(&app, verify("198.51.100.1")).await;
    send(&app, verify("198.51.100.2")).await;
    too_many(&send(&app, verify("198.51.100.3")).await);

    // Trusted: the rightmost untrusted address is the client; what the client prepends is not.
    let (limits, _clock) = manual_limits();
    let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
    let app = app_with_limits(
        Opts::<()>::default(),
        limits
            .with_ip_limit(LimitedRoute::Verify, limit)
            .with_trusted_proxies(proxies),
    )
    .await
    .app;
    send(&app, verify("1.1.1.1, 198.51.100.1, 10.0.0.2")).await;
    send(&app, verify("2.2.2.2, 198.51.100.1")).await;
    too_many(&send(&app, verify("3.3.3.3, 198.51.100.1, 10.0.0.9")).await);
    let r = send(&app, verify("198.51.100.2")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

// ---------------------------------------------------------------------------------------------
// Lockout.

#[tokio::test]
async fn ten_failures_lock_the_account_whatever_the_password_and_the_lockout_doubles() {
    let (limits, clock) = manual_limits();
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    user(&app, ARTHUR).await;

    for _ in 0..10 {
        let r = login_from(&app, ALICE_IP, ARTHUR, "wrong").await;
        assert_eq!(r.json(), detail("LOGIN_BAD_CREDENTIALS"));
    }
    // The 11th login, with the right password and from another address, is refused.
    let r = login_from(&app, "198.51.100.9", ARTHUR, PASSWORD).await;
    assert_eq!(too_many(&r), 900);
    // Any case of the email is the same account.
    let r = login_from(&app, ALICE_IP, "ARTHUR@Camelot.BT", "wrong").await;
    assert_eq!(too_many(&r), 900);

    clock.advance(Duration::from_secs(899));
    assert_eq!(
        too_many(&login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await),
        1
    );
    clock.advance(Duration::from_secs(1));
    let r = login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());

    // The second lockout lasts twice as long.
    for _ in 0..10 {
        login_from(&app, ALICE_IP, ARTHUR, "wrong").await;
    }
    assert_eq!(
        too_many(&login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await),
        1800
    );
    clock.advance(Duration::from_secs(1799));
    too_many(&login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await);
    clock.advance(Duration::from_secs(1));
    let r = login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);

    // Other accounts were never affected.
    user(&app, "lancelot@camelot.bt").await;
    let r = login_from(&app, ALICE_IP, "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_emails_lock_like_known_ones() {
    let (limits, _clock) = manual_limits();
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    for _ in 0..10 {
        let r = login_from(&app, ALICE_IP, "nobody@camelot.bt", "x").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
    }
    too_many(&login_from(&app, ALICE_IP, "nobody@camelot.bt", "x").await);
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let (limits, _clock) = manual_limits();
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    user(&app, ARTHUR).await;
    for _ in 0..3 {
        for _ in 0..9 {
            let r = login_from(&app, ALICE_IP, ARTHUR, "wrong").await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST);
        }
        let r = login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    for _ in 0..10 {
        login_from(&app, ALICE_IP, ARTHUR, "wrong").await;
    }
    too_many(&login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await);
}

#[tokio::test]
async fn a_successful_reset_clears_the_lockout_and_its_level() {
    let (limits, clock) = manual_limits();
    let limited = app_with_limits(Opts::<()>::default(), limits).await;
    let app = &limited.app;
    let arthur = user(app, ARTHUR).await;
    let lock = || async {
        for _ in 0..10 {
            login_from(app, ALICE_IP, ARTHUR, "wrong").await;
        }
        too_many(&login_from(app, ALICE_IP, ARTHUR, PASSWORD).await)
    };
    assert_eq!(lock().await, 900);
    clock.advance(Duration::from_secs(900));
    assert_eq!(lock().await, 1800);

    let token = app
        .manager
        .forgot_password(&arthur, &RequestContext::default())
        .await
        .unwrap();
    // A refused reset (bad token) clears nothing.
    let bad = send(
        app,
        from(
            ALICE_IP,
            req(Method::POST, "/auth/reset-password")
                .json(&json!({ "token": "nope", "password": "excalibur" })),
        ),
    )
    .await;
    assert_eq!(bad.json(), detail("RESET_PASSWORD_BAD_TOKEN"));
    too_many(&login_from(app, ALICE_IP, ARTHUR, PASSWORD).await);

    let r = send(
        app,
        from(
            ALICE_IP,
            req(Method::POST, "/auth/reset-password")
                .json(&json!({ "token": token, "password": "excalibur" })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    let r = login_from(app, ALICE_IP, ARTHUR, "excalibur").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
    // The level is gone too: the next lockout is a first one.
    for _ in 0..10 {
        login_from(app, ALICE_IP, ARTHUR, "wrong").await;
    }
    assert_eq!(
        too_many(&login_from(app, ALICE_IP, ARTHUR, "excalibur").await),
        900
    );
}

#[tokio::test]
async fn failed_logins_fire_on_after_failed_login_for_known_and_unknown_emails() {
    let (recorder, opts) = recording();
    let (limits, _clock) = manual_limits();
    let app = app_with_limits(opts, limits).await.app;
    let arthur = user(&app, ARTHUR).await;
    let merlin = inactive(&app, "merlin@camelot.bt").await;

    login_from(&app, ALICE_IP, "nobody@camelot.bt", "x").await;
    login_from(&app, ALICE_IP, ARTHUR, "wrong").await;
    login_from(&app, ALICE_IP, "Arthur@CAMELOT.bt", "wrong").await;
    // An inactive user's right password is a failed login too.
    login_from(&app, ALICE_IP, "merlin@camelot.bt", PASSWORD).await;
    // Not failures of the credential check: a success, and a malformed form.
    login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await;
    send(
        &app,
        from(ALICE_IP, req(Method::POST, "/auth/jwt/login").form(&[])),
    )
    .await;

    let alice = Some(ip(ALICE_IP));
    assert_eq!(
        recorder.failed(),
        [
            ("nobody@camelot.bt".to_owned(), None, alice),
            (ARTHUR.to_owned(), Some(arthur.id), alice),
            ("Arthur@CAMELOT.bt".to_owned(), Some(arthur.id), alice),
            ("merlin@camelot.bt".to_owned(), Some(merlin.id), alice),
        ]
    );

    // A login refused by a lockout never reached the credential check: no hook.
    for _ in 0..10 {
        login_from(&app, ALICE_IP, ARTHUR, "wrong").await;
    }
    let before = recorder.failed().len();
    too_many(&login_from(&app, ALICE_IP, ARTHUR, "wrong").await);
    assert_eq!(recorder.failed().len(), before);
}

#[tokio::test]
async fn the_hook_fires_without_limits_and_nothing_is_limited_then() {
    let (recorder, opts) = recording();
    let app = app_with(opts).await;
    user(&app, ARTHUR).await;
    for _ in 0..25 {
        let r = login_form(&app, ARTHUR, "wrong").await;
        assert_eq!(r.json(), detail("LOGIN_BAD_CREDENTIALS"));
    }
    login(&app, ARTHUR, PASSWORD).await;
    assert_eq!(recorder.failed().len(), 25);
    assert!(
        recorder
            .failed()
            .iter()
            .all(|(_, id, ip)| id.is_some() && ip.is_none())
    );
}

// ---------------------------------------------------------------------------------------------
// Emails per account.

#[tokio::test]
async fn forgot_password_keeps_answering_202_but_the_sixth_request_sends_nothing() {
    let (recorder, opts) = recording();
    let (limits, clock) = manual_limits();
    let limited = app_with_limits(opts, limits).await;
    let app = &limited.app;
    let arthur = user(app, ARTHUR).await;
    let forgot = |email: &str| {
        from(
            ALICE_IP,
            req(Method::POST, "/auth/forgot-password").json(&json!({ "email": email })),
        )
    };

    for n in 1..=8 {
        let r = send(app, forgot(ARTHUR)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "#{n}");
        assert_eq!(r.json(), serde_json::Value::Null);
        drain(&limited.state).await;
        assert_eq!(recorder.forgot().len(), n.min(5), "after request #{n}");
    }
    assert!(recorder.forgot().iter().all(|(id, _)| *id == arthur.id));
    // Each account has its own budget.
    let lancelot = user(app, "lancelot@camelot.bt").await;
    send(app, forgot("lancelot@camelot.bt")).await;
    drain(&limited.state).await;
    assert_eq!(recorder.forgot().last().unwrap().0, lancelot.id);

    // Once the window has slid past the five, emails go out again.
    clock.advance(Duration::from_secs(30 * 60));
    send(app, forgot(ARTHUR)).await;
    drain(&limited.state).await;
    assert_eq!(recorder.forgot().len(), 7);
}

#[tokio::test]
async fn request_verify_token_has_its_own_budget_of_five() {
    let (recorder, opts) = recording();
    let (limits, _clock) = manual_limits();
    let limited = app_with_limits(opts, limits).await;
    let app = &limited.app;
    user(app, ARTHUR).await;
    for _ in 0..5 {
        send(
            app,
            from(
                ALICE_IP,
                req(Method::POST, "/auth/forgot-password").json(&json!({ "email": ARTHUR })),
            ),
        )
        .await;
    }
    for n in 1..=7 {
        let r = send(
            app,
            from(
                ALICE_IP,
                req(Method::POST, "/auth/request-verify-token").json(&json!({ "email": ARTHUR })),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED);
        drain(&limited.state).await;
        assert_eq!(recorder.verify().len(), n.min(5), "after request #{n}");
    }
    assert_eq!(recorder.forgot().len(), 5);
}

// ---------------------------------------------------------------------------------------------
// A store that fails.

/// A store that always fails, as a Redis that is down does.
#[derive(Debug)]
struct DownStore;

#[async_trait]
impl LimitStore for DownStore {
    async fn hit(&self, _: &str, _: SlidingWindow, _: Option<u64>) -> Result<Hit, LimitError> {
        Err(LimitError::Backend("down".into()))
    }
    async fn reset(&self, _: &str) -> Result<(), LimitError> {
        Err(LimitError::Backend("down".into()))
    }
    async fn get_lock(&self, _: &str, _: SystemTime) -> Result<Option<Lock>, LimitError> {
        Err(LimitError::Backend("down".into()))
    }
    async fn set_lock(
        &self,
        _: &str,
        _: Lock,
        _: SystemTime,
        _: SystemTime,
    ) -> Result<(), LimitError> {
        Err(LimitError::Backend("down".into()))
    }
}

#[tokio::test]
async fn a_failing_store_fails_open_by_default_and_closed_when_asked() {
    let (recorder, opts) = recording();
    let limits = RateLimits::default()
        .with_ip_limits(Some(Limit::per_minute(1)))
        .with_store(Arc::new(DownStore));
    let limited = app_with_limits(opts, limits).await;
    let app = &limited.app;
    user(app, ARTHUR).await;
    for _ in 0..12 {
        let r = login_from(app, ALICE_IP, ARTHUR, "wrong").await;
        assert_eq!(r.json(), detail("LOGIN_BAD_CREDENTIALS"));
    }
    let r = login_from(app, ALICE_IP, ARTHUR, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    for _ in 0..6 {
        send(
            app,
            from(
                ALICE_IP,
                req(Method::POST, "/auth/forgot-password").json(&json!({ "email": ARTHUR })),
            ),
        )
        .await;
    }
    drain(&limited.state).await;
    assert_eq!(recorder.forgot().len(), 6);

    let limits = RateLimits::default()
        .with_store(Arc::new(DownStore))
        .with_fail_mode(FailMode::Closed);
    let app = app_with_limits(Opts::<()>::default(), limits).await.app;
    let r = login_from(&app, ALICE_IP, ARTHUR, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn the_api_answers_as_the_routes_do() {
    let (limits, _clock) = manual_limits();
    let limits = limits.with_ip_limit(LimitedRoute::Refresh, Some(Limit::per_minute(1)));
    let peer = ip(ALICE_IP);
    assert!(limits.check_ip(LimitedRoute::Refresh, peer).await.is_ok());
    match limits.check_ip(LimitedRoute::Refresh, peer).await {
        Err(ApiError::TooManyRequests { retry_after }) => assert_eq!(retry_after, 120),
        other => panic!("{other:?}"),
    }
    assert!(
        limits.allow_send(LimitedRoute::Login, ARTHUR).await,
        "no budget: always"
    );
}

#[tokio::test]
async fn hooks_see_the_client_the_limits_see_behind_a_trusted_proxy() {
    let (recorder, opts) = recording();
    let (limits, _clock) = manual_limits();
    let proxies = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
    let app = app_with_limits(opts, limits.with_trusted_proxies(proxies))
        .await
        .app;
    let login = |peer: &str, xff: &str| {
        from(
            peer,
            req(Method::POST, "/auth/jwt/login")
                .header("x-forwarded-for", xff)
                .form(&[("username", ARTHUR), ("password", "wrong")]),
        )
    };
    // Through the trusted proxy: the forwarded client. From elsewhere: the socket peer,
    // whatever the header claims.
    send(&app, login("10.0.0.2", "198.51.100.9")).await;
    send(&app, login(ALICE_IP, "198.51.100.9")).await;
    let ips: Vec<_> = recorder.failed().into_iter().map(|f| f.2).collect();
    assert_eq!(ips, [Some(ip("198.51.100.9")), Some(ip(ALICE_IP))]);
}
