//! Any body under any content type to the write routes, and any `Authorization` and `Cookie`
//! header to a guarded route, through the real routers (bearer and cookie backends over the
//! memory store): the answer is a documented 4xx or the route's success, never a 5xx or a
//! panic. Covers the JSON, form and multipart readers and the cookie and bearer parsers.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use axum_users::core::{
    Argon2Hasher, Argon2Params, HashPool, HashPoolConfig, JwtCodec, JwtStrategy, MemoryStore,
    NoHooks, UserManager,
};
use axum_users::{
    AuthBackend, AuthRouterOptions, CookieTransport, UsersRouterOptions, UsersState, auth_router,
    register_router, users_router,
};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
});

static APP: LazyLock<Router> = LazyLock::new(|| {
    let hasher = HashPool::new(
        Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
        HashPoolConfig {
            workers: 1,
            ..HashPoolConfig::default()
        },
    );
    let manager = UserManager::new(
        Arc::new(MemoryStore::<()>::new()),
        hasher,
        Arc::new(NoHooks),
    );
    let codec = JwtCodec::hs256(b"0123456789abcdef0123456789abcdef").expect("a 32-byte secret");
    let strategy = Arc::new(JwtStrategy::new(codec, 3600));
    let jwt = AuthBackend::new(
        "jwt",
        Arc::new(axum_users::BearerTransport),
        strategy.clone(),
    );
    let cookie = AuthBackend::new("cookie", Arc::new(CookieTransport::new()), strategy);
    let state = UsersState::new(manager, vec![jwt.clone(), cookie.clone()]);
    Router::new()
        .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
        .nest(
            "/auth/cookie",
            auth_router(cookie, AuthRouterOptions::default()),
        )
        .nest("/auth", register_router::<(), _>())
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .with_state(state)
});

const CONTENT_TYPES: [&str; 5] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "text/plain",
    "",
];

const ROUTES: [(&str, &str); 5] = [
    ("POST", "/auth/register"),
    ("POST", "/auth/jwt/login"),
    ("POST", "/auth/cookie/login"),
    ("PATCH", "/users/me"),
    ("POST", "/auth/cookie/logout"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (method, uri) = ROUTES[usize::from(selector) % ROUTES.len()];
    let content_type = CONTENT_TYPES[usize::from(selector / 8) % CONTENT_TYPES.len()];
    // The first up to 200 bytes (up to a NUL) are header text: Cookie and Authorization.
    let split = rest.iter().take(200).position(|&b| b == 0).unwrap_or(0);
    let (header, body) = rest.split_at(split);
    let mut request = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("a method"))
        .uri(uri);
    if !content_type.is_empty() {
        request = request.header("content-type", content_type);
    }
    if let Ok(value) = axum::http::HeaderValue::from_bytes(header) {
        request = request
            .header("cookie", value.clone())
            .header("authorization", value);
    }
    let request = request.body(Body::from(body.to_vec())).expect("a request");
    let status = RUNTIME
        .block_on(APP.clone().oneshot(request))
        .expect("infallible")
        .status()
        .as_u16();
    assert!(
        matches!(status, 200 | 201 | 204 | 400 | 401 | 403 | 413 | 422),
        "{method} {uri} answered {status}"
    );
});
