//! Property tests of the body and header readers through the real routers: whatever bytes a
//! client sends, the answer is a documented 4xx (or the route's success), never a 5xx, and a
//! rejected body writes nothing. `fuzz/fuzz_targets/http_request.rs` fuzzes the same readers;
//! these bounded runs are the deterministic share every `cargo test` runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "text/plain",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_body_to_any_write_route_is_a_4xx_or_success(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        route in 0usize..4,
        ct in 0usize..CONTENT_TYPES.len(),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let app = app().await;
            let (method, uri) = [
                (Method::POST, "/auth/register"),
                (Method::POST, "/auth/jwt/login"),
                (Method::PATCH, "/users/me"),
                (Method::POST, "/auth/jwt/logout"),
                        ][route]
                .clone();
            let mut b = Request::builder().method(method).uri(uri);
            if !CONTENT_TYPES[ct].is_empty() {
                b = b.header("content-type", CONTENT_TYPES[ct]);
            }
            let r = send(&app, b.body(Body::from(body.clone())).unwrap()).await;
            let s = r.status.as_u16();
            assert!(matches!(s, 200 | 201 | 400 | 401 | 413 | 422), "{uri}: {s} for {body:?}");
            if s != 201 {
                // Nothing was registered.
                assert!(app.store.list().await.unwrap().is_empty());
            }
        });
    }

    #[test]
    fn json_shaped_register_bodies_never_5xx(
        email in proptest::option::of(".{0,40}"),
        password in proptest::option::of(".{0,40}"),
        flag in proptest::option::of(prop_oneof![Just(serde_json::json!(true)), Just(serde_json::json!("yes")), Just(serde_json::json!(null)), Just(serde_json::json!([1])), Just(serde_json::json!(7))]),
    ) {
        let rt = runtime();
        rt.block_on(async {
            let app = app().await;
            let mut obj = serde_json::Map::new();
            if let Some(e) = email { obj.insert("email".into(), e.into()); }
            if let Some(p) = password { obj.insert("password".into(), p.into()); }
            if let Some(f) = flag { obj.insert("is_superuser".into(), f); }
            let r = send(&app, req(Method::POST, "/auth/register").json(&serde_json::Value::Object(obj))).await;
            let s = r.status.as_u16();
            assert!(matches!(s, 201 | 400 | 422), "{s}");
            if s == 201 {
                assert_eq!(r.json()["is_superuser"], false, "privileged flags stay ignored");
            }
        });
    }

    #[test]
    fn any_authorization_or_cookie_header_is_401_not_5xx(value in "[ -~]{0,200}") {
        let rt = runtime();
        rt.block_on(async {
            let app = app().await;
            for name in ["authorization", "cookie"] {
                let b = Request::builder().method(Method::GET).uri("/users/me").header(name, value.as_str());
                let r = send(&app, b.body(Body::empty()).unwrap()).await;
                assert_eq!(r.status.as_u16(), 401, "{name}: {value:?}");
            }
        });
    }
}
