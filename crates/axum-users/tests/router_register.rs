//! `POST /auth/register` over HTTP (CONTRACT §1, §2; reference §1.2, §1.6).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use axum_users_core::UserStore as _;
use common::*;
use serde_json::{Value, json};
use uuid::Uuid;

async fn register<X>(app: &TestApp<X>, body: &Value) -> Reply {
    send(app, req(Method::POST, "/auth/register").json(body)).await
}

async fn register_raw<X>(app: &TestApp<X>, content_type: &str, body: &'static str) -> Reply {
    send(
        app,
        req(Method::POST, "/auth/register").raw(content_type, body),
    )
    .await
}

fn sorted_keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort_unstable();
    keys
}

async fn by_email<X: axum_users_core::UserExtra>(
    app: &TestApp<X>,
    email: &str,
) -> Option<axum_users_core::User<X>> {
    app.store.get_by_email(email).await.unwrap()
}

#[tokio::test]
async fn register_answers_201_with_the_user_and_no_hash() {
    let app = app().await;
    let r = register(
        &app,
        &json!({"email": "lancelot@camelot.bt", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(
        sorted_keys(&body),
        ["email", "id", "is_active", "is_superuser", "is_verified"]
    );
    assert_eq!(body["email"], "lancelot@camelot.bt");
    assert_eq!(body["is_active"], true);
    assert_eq!(body["is_superuser"], false);
    assert_eq!(body["is_verified"], false);
    let id: Uuid = body["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(body["id"], json!(id.hyphenated().to_string()));
    // Stored, with a hash (not the password), and the user can log in.
    let row = stored(&app, id).await.unwrap();
    assert!(
        row.hashed_password.starts_with("$argon2id$"),
        "{}",
        row.hashed_password
    );
    assert!(!r.body.windows(9).any(|w| w == b"argon2id$"));
    login(&app, "lancelot@camelot.bt", PASSWORD).await;
}

#[tokio::test]
async fn json_is_read_with_a_charset_or_without_a_content_type() {
    let app = app().await;
    let body = r#"{"email": "lancelot@camelot.bt", "password": "guinevere"}"#;
    let r = register_raw(&app, "application/json; charset=utf-8", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // No content type at all: FastAPI parses the body as JSON.
    let r = send(
        &app,
        req(Method::POST, "/auth/register")
            .body(axum::body::Body::from(
                r#"{"email": "kay@camelot.bt", "password": "guinevere"}"#,
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // A text body is not JSON, whatever it holds.
    let r = register_raw(
        &app,
        "text/plain",
        r#"{"email": "bors@camelot.bt", "password": "x"}"#,
    )
    .await;
    assert_eq!(
        errors(&r),
        [("model_attributes_type".to_owned(), json!(["body"]))]
    );
    assert!(by_email(&app, "bors@camelot.bt").await.is_none());
}

#[tokio::test]
async fn privileged_flags_id_and_unknown_keys_are_ignored() {
    let app = app().await;
    let chosen = Uuid::new_v4();
    let r = register(
        &app,
        &json!({
            "email": "mordred@camelot.bt",
            "password": PASSWORD,
            "id": chosen.to_string(),
            "is_active": false,
            "is_superuser": true,
            "is_verified": true,
            "hashed_password": "plaintext",
            "role": "king",
        }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let body = r.json();
    assert_eq!(
        sorted_keys(&body),
        ["email", "id", "is_active", "is_superuser", "is_verified"]
    );
    assert_eq!(
        (
            &body["is_active"],
            &body["is_superuser"],
            &body["is_verified"]
        ),
        (&json!(true), &json!(false), &json!(false))
    );
    assert_ne!(body["id"], json!(chosen.to_string()));
    assert!(stored(&app, chosen).await.is_none());
    let row = by_email(&app, "mordred@camelot.bt").await.unwrap();
    assert_eq!(json!(row.id.to_string()), body["id"]);
    assert!(row.is_active && !row.is_superuser && !row.is_verified);
    assert_ne!(row.hashed_password, "plaintext");
    // The ignored flags gave no power: not a superuser on the API either.
    let token = login(&app, "mordred@camelot.bt", PASSWORD).await;
    let r = send(
        &app,
        req(Method::GET, &format!("/users/{}", row.id))
            .bearer(&token)
            .empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn ignored_flags_are_still_type_checked() {
    let app = app().await;
    for (field, value, kind) in [
        ("is_superuser", json!([1]), "bool_type"),
        ("is_active", json!({}), "bool_type"),
        ("is_verified", json!("maybe"), "bool_parsing"),
        ("is_superuser", json!(2), "bool_parsing"),
    ] {
        let mut body = json!({"email": "mordred@camelot.bt", "password": PASSWORD});
        body[field] = value;
        let r = register(&app, &body).await;
        assert_eq!(
            errors(&r),
            [(kind.to_owned(), json!(["body", field]))],
            "{field}"
        );
    }
    assert!(by_email(&app, "mordred@camelot.bt").await.is_none());
    // null and lax booleans pass (and are ignored).
    let r = register(
        &app,
        &json!({"email": "mordred@camelot.bt", "password": PASSWORD, "is_superuser": null, "is_verified": "yes"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["is_verified"], false);
    // id and unknown keys are dropped unchecked.
    let r = register(
        &app,
        &json!({"email": "kay@camelot.bt", "password": PASSWORD, "id": [1, 2], "x": {"y": null}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn the_email_is_stripped_and_its_domain_lower_cased() {
    let app = app().await;
    let r = register(
        &app,
        &json!({"email": "  King.Arthur@Camelot.BT\n", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["email"], "King.Arthur@camelot.bt");
    let row = by_email(&app, "king.arthur@camelot.bt").await.unwrap();
    assert_eq!(row.email, "King.Arthur@camelot.bt");
}

#[tokio::test]
async fn a_duplicate_in_any_case_is_register_user_already_exists() {
    let app = app().await;
    let r = register(
        &app,
        &json!({"email": "King.Arthur@camelot.bt", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for email in [
        "King.Arthur@camelot.bt",
        "king.arthur@CAMELOT.BT",
        " KING.ARTHUR@camelot.bt ",
    ] {
        let r = register(&app, &json!({"email": email, "password": "other password"})).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{email}");
        assert_eq!(r.json(), detail("REGISTER_USER_ALREADY_EXISTS"));
    }
    // The original password is untouched.
    login(&app, "King.Arthur@camelot.bt", PASSWORD).await;
}

#[tokio::test]
async fn two_concurrent_registrations_of_one_address_give_one_201_and_one_400() {
    for _ in 0..3 {
        let app = app().await;
        let first = json!({"email": "twin@camelot.bt", "password": "first password"});
        let second = json!({"email": "TWIN@camelot.bt", "password": "second password"});
        let a = register(&app, &first);
        let b = register(&app, &second);
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::BAD_REQUEST],
            "{a:?} {b:?}"
        );
        let loser = if a.status == StatusCode::BAD_REQUEST {
            &a
        } else {
            &b
        };
        assert_eq!(loser.json(), detail("REGISTER_USER_ALREADY_EXISTS"));
        let winner = if a.status == StatusCode::CREATED {
            &a
        } else {
            &b
        };
        let row = by_email(&app, "twin@camelot.bt").await.unwrap();
        assert_eq!(json!(row.id.to_string()), winner.json()["id"]);
    }
}

#[tokio::test]
async fn a_refused_password_is_an_object_detail_checked_before_the_duplicate() {
    let app = strict_app().await;
    let r = register(
        &app,
        &json!({"email": "kay@camelot.bt", "password": "short"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({"detail": {"code": "REGISTER_INVALID_PASSWORD", "reason": TOO_SHORT}})
    );
    assert!(by_email(&app, "kay@camelot.bt").await.is_none());

    let r = register(
        &app,
        &json!({"email": "kay@camelot.bt", "password": "long enough"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Existing email with a bad password: the password is judged first.
    let r = register(
        &app,
        &json!({"email": "kay@camelot.bt", "password": "short"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["detail"]["code"], "REGISTER_INVALID_PASSWORD");
    let r = register(
        &app,
        &json!({"email": "kay@camelot.bt", "password": "long enough"}),
    )
    .await;
    assert_eq!(r.json(), detail("REGISTER_USER_ALREADY_EXISTS"));
}

#[tokio::test]
async fn an_empty_object_is_two_missing_fields() {
    let app = app().await;
    let r = register(&app, &json!({})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"detail": [
            {"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": {}},
            {"type": "missing", "loc": ["body", "password"], "msg": "Field required", "input": {}},
        ]})
    );
}

#[tokio::test]
async fn malformed_json_is_one_json_invalid_item_at_the_offset() {
    let app = app().await;
    let r = register_raw(&app, "application/json", r#"{"email": }"#).await;
    assert_eq!(
        errors(&r),
        [("json_invalid".to_owned(), json!(["body", 10]))]
    );
    assert_eq!(r.json()["detail"][0]["msg"], "JSON decode error");
    let r = register_raw(
        &app,
        "application/json",
        "{\"email\": \"a@b.co\",\n \"password\" \"x\"}",
    )
    .await;
    let items = errors(&r);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].0, "json_invalid");
    assert!(items[0].1[1].is_u64(), "{:?}", items[0].1);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_model_attributes_type() {
    let app = app().await;
    for body in [
        r#"["lancelot@camelot.bt", "pw"]"#,
        r#""lancelot@camelot.bt""#,
        "42",
        "true",
    ] {
        let r = register_raw(&app, "application/json", body).await;
        assert_eq!(
            errors(&r),
            [("model_attributes_type".to_owned(), json!(["body"]))],
            "{body}"
        );
    }
    // A form is not JSON.
    let r = send(
        &app,
        req(Method::POST, "/auth/register")
            .form(&[("email", "lancelot@camelot.bt"), ("password", PASSWORD)]),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("model_attributes_type".to_owned(), json!(["body"]))]
    );
    assert!(by_email(&app, "lancelot@camelot.bt").await.is_none());
}

#[tokio::test]
async fn no_body_is_missing_body() {
    let app = app().await;
    let r = send(&app, req(Method::POST, "/auth/register").empty()).await;
    assert_eq!(errors(&r), [("missing".to_owned(), json!(["body"]))]);
    let r = register_raw(&app, "application/json", "").await;
    assert_eq!(errors(&r), [("missing".to_owned(), json!(["body"]))]);
    // FastAPI reads a JSON `null` as no body at all.
    let r = register_raw(&app, "application/json", "null").await;
    assert_eq!(errors(&r), [("missing".to_owned(), json!(["body"]))]);
}

#[tokio::test]
async fn invalid_emails_are_422_at_the_email() {
    let app = app().await;
    let long = format!(
        "{}@{}.com",
        "a".repeat(64),
        vec!["b".repeat(60); 5].join(".")
    );
    assert!(long.len() > 320);
    let long_local = format!("{}@camelot.bt", "a".repeat(65));
    for email in [
        "lancelot",
        "lancelot@",
        "@camelot.bt",
        "user@localhost",
        "x@y.test",
        "x@y.local",
        "x@y.invalid",
        "x@y.onion",
        "x@1.in-addr.arpa",
        "lance lot@camelot.bt",
        "lancelot@came lot.bt",
        "a@b@camelot.bt",
        long.as_str(),
        long_local.as_str(),
        "",
    ] {
        let r = register(&app, &json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(
            errors(&r),
            [("value_error".to_owned(), json!(["body", "email"]))],
            "{email:?}"
        );
        assert_eq!(r.json()["detail"][0]["input"], json!(email));
    }
    assert!(app.store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn wrong_types_are_reported_per_field() {
    let app = app().await;
    let r = register(&app, &json!({"email": 1, "password": ["x"]})).await;
    assert_eq!(
        errors(&r),
        [
            ("string_type".to_owned(), json!(["body", "email"])),
            ("string_type".to_owned(), json!(["body", "password"])),
        ]
    );
    let r = register(
        &app,
        &json!({"email": "lancelot@camelot.bt", "password": null}),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "password"]))]
    );
    let r = register(&app, &json!({"email": "lancelot@camelot.bt"})).await;
    assert_eq!(
        errors(&r),
        [("missing".to_owned(), json!(["body", "password"]))]
    );
    let r = register(
        &app,
        &json!({"email": "lancelot@camelot.bt", "password": "p".repeat(4097)}),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("string_too_long".to_owned(), json!(["body", "password"]))]
    );
    assert!(app.store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_and_nothing_is_written() {
    let app = profile_app().await;
    let big = "x".repeat(64 * 1024);
    let r = register(
        &app,
        &json!({"email": "lancelot@camelot.bt", "password": PASSWORD, "first_name": big}),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.json()["detail"].is_string());
    assert!(by_email(&app, "lancelot@camelot.bt").await.is_none());
    // Just under the limit is fine.
    let fits = "x".repeat(60 * 1024);
    let r = register(
        &app,
        &json!({"email": "lancelot@camelot.bt", "password": PASSWORD, "first_name": fits}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn custom_fields_are_persisted_and_returned() {
    let app = profile_app().await;
    let r = register(
        &app,
        &json!({"email": "lancelot@camelot.bt", "password": PASSWORD, "first_name": "Lancelot", "newsletter": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let body = r.json();
    assert_eq!(
        sorted_keys(&body),
        [
            "email",
            "first_name",
            "id",
            "is_active",
            "is_superuser",
            "is_verified",
            "newsletter"
        ]
    );
    assert_eq!(body["first_name"], "Lancelot");
    assert_eq!(body["newsletter"], true);
    let row = by_email(&app, "lancelot@camelot.bt").await.unwrap();
    assert_eq!(
        row.extra,
        Profile {
            first_name: Some("Lancelot".into()),
            newsletter: true
        }
    );
    // GET /users/me shows them too.
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(me(&app, &token).await.json()["first_name"], "Lancelot");

    // Omitted custom fields take their defaults.
    let r = register(
        &app,
        &json!({"email": "kay@camelot.bt", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.json()["first_name"], Value::Null);
    assert_eq!(r.json()["newsletter"], false);

    // A custom field of the wrong type is a 422 at that field, and nothing is written.
    let r = register(
        &app,
        &json!({"email": "bors@camelot.bt", "password": PASSWORD, "first_name": 5}),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "first_name"]))]
    );
    assert!(by_email(&app, "bors@camelot.bt").await.is_none());
}

#[tokio::test]
async fn wrong_method_on_register_is_405() {
    let app = app().await;
    let r = send(&app, req(Method::GET, "/auth/register").empty()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.json(), detail("Method Not Allowed"));
    assert!(
        r.header("allow").is_some_and(|a| a.contains("POST")),
        "{:?}",
        r.headers
    );
}
