//! `POST /auth/request-verify-token` and `POST /auth/verify` over HTTP, through the real
//! routers over SQLite (CONTRACT §1, §2, §3, §4.2; reference §5 for when hooks fire).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use axum_users_core::{JwtCodec, TokenSettings, UserPatch};
use common::*;
use serde_json::{Value, json};
use uuid::Uuid;

const RESET_SECRET: &[u8] = b"reset secret of at least thirty-two bytes";
const VERIFY_SECRET: &[u8] = b"verify secret of at least thirty-two bytes";
/// One secret for both kinds, so that only the audience tells a reset token from a verify one.
const SHARED_SECRET: &[u8] = b"one secret for reset and verify tokens!!";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn keyed_app(reset: &[u8], verify: &[u8]) -> FullApp {
    full_app(FullOpts {
        tokens: Some(TokenSettings::new(reset, verify).unwrap()),
        ..FullOpts::default()
    })
    .await
}

async fn request_verify(app: &TestApp, email: &str) -> Reply {
    post_json(
        app,
        "/auth/request-verify-token",
        &json!({ "email": email }),
    )
    .await
}

async fn verify(app: &TestApp, token: &str) -> Reply {
    post_json(app, "/auth/verify", &json!({ "token": token })).await
}

/// Asks for a verification token for `user` and returns the one handed to the hook.
async fn verify_token_for(app: &FullApp, email: &str, user: Uuid) -> String {
    let before = app
        .hooks
        .events()
        .iter()
        .filter(|e| matches!(e, HookEvent::RequestVerify { user: u, .. } if *u == user))
        .count();
    assert_null(&request_verify(&app.app, email).await, StatusCode::ACCEPTED);
    app.hooks.verify_token(user, before + 1).await
}

fn assert_code(r: &Reply, code: &str) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.json(), detail(code));
}

fn verifications(app: &FullApp) -> usize {
    app.hooks
        .events()
        .iter()
        .filter(|e| matches!(e, HookEvent::Verify { .. }))
        .count()
}

fn sign(secret: &[u8], claims: &Value) -> String {
    JwtCodec::hs256(secret).unwrap().encode(claims).unwrap()
}

async fn is_verified(app: &FullApp, id: Uuid) -> bool {
    stored(&app.app, id).await.unwrap().is_verified
}

/// Asserts a 200 UserRead of `id`/`email`, verified, with exactly the reference's keys.
fn assert_verified_user(r: &Reply, id: Uuid, email: &str, active: bool) {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({
            "id": id.to_string(),
            "email": email,
            "is_active": active,
            "is_superuser": false,
            "is_verified": true,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// POST /auth/request-verify-token

#[tokio::test]
async fn request_verify_token_answers_202_null_for_known_unknown_inactive_and_verified() {
    let app = full_app(FullOpts::default()).await;
    let plain = user(&app.app, "lancelot@camelot.bt").await;
    inactive(&app.app, "mordred@camelot.bt").await;
    verified(&app.app, "gawain@camelot.bt").await;
    app.hooks.clear();
    for email in [
        "lancelot@camelot.bt",
        "nobody@camelot.bt",
        "mordred@camelot.bt",
        "gawain@camelot.bt",
    ] {
        let r = request_verify(&app.app, email).await;
        assert_null(&r, StatusCode::ACCEPTED);
        assert_eq!(r.header("content-length"), Some("4"), "{email}");
    }
    app.drain().await;
    // Reference §5: only an existing, active, unverified user gets a token.
    let events = app.hooks.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], HookEvent::RequestVerify { user, token } if *user == plain.id && !token.is_empty()),
        "{events:?}"
    );
}

#[tokio::test]
async fn request_verify_token_finds_the_address_in_any_case_and_around_whitespace() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    assert_null(
        &request_verify(&app.app, " Lancelot@CAMELOT.bt  ").await,
        StatusCode::ACCEPTED,
    );
    let token = app.hooks.verify_token(u.id, 1).await;
    assert_verified_user(
        &verify(&app.app, &token).await,
        u.id,
        "lancelot@camelot.bt",
        true,
    );
}

#[tokio::test]
async fn request_verify_token_answers_before_the_token_is_handed_over() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    app.hooks.clear();
    app.hooks.close();
    assert_null(
        &request_verify(&app.app, "lancelot@camelot.bt").await,
        StatusCode::ACCEPTED,
    );
    assert!(app.hooks.events().is_empty());
    app.hooks.open();
    let token = app.hooks.verify_token(u.id, 1).await;
    assert_verified_user(
        &verify(&app.app, &token).await,
        u.id,
        "lancelot@camelot.bt",
        true,
    );
}

#[tokio::test]
async fn the_verify_token_has_the_reference_claims() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let before = now();
    let token = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let claims = jwt_payload(&token);
    assert_eq!(
        claims,
        json!({
            "sub": u.id.to_string(),
            "email": "lancelot@camelot.bt",
            "aud": "fastapi-users:verify",
            "exp": claims["exp"],
        })
    );
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp >= before + 3600 && exp <= now() + 3600, "exp {exp}");
}

#[tokio::test]
async fn request_verify_token_refuses_an_invalid_email_with_422_at_the_field() {
    let app = full_app(FullOpts::default()).await;
    for bad in [
        "not-an-email",
        "@camelot.bt",
        "lancelot@",
        "lancelot@localhost",
        "lancelot@camelot.onion",
        "",
    ] {
        let r = request_verify(&app.app, bad).await;
        assert_eq!(
            errors(&r),
            [("value_error".to_owned(), json!(["body", "email"]))],
            "{bad:?}"
        );
    }
    let r = post_json(
        &app.app,
        "/auth/request-verify-token",
        &json!({ "email": ["lancelot@camelot.bt"] }),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "email"]))]
    );
}

#[tokio::test]
async fn request_verify_token_reads_a_body_that_is_not_an_object_as_the_email_missing() {
    let app = full_app(FullOpts::default()).await;
    user(&app.app, "lancelot@camelot.bt").await;
    app.hooks.clear();
    let missing = [("missing".to_owned(), json!(["body", "email"]))];
    for body in [
        json!({}),
        json!(["lancelot@camelot.bt"]),
        json!("lancelot@camelot.bt"),
        json!(true),
        json!(null),
    ] {
        let r = post_json(&app.app, "/auth/request-verify-token", &body).await;
        assert_eq!(errors(&r), missing, "{body}");
    }
    let r = send(
        &app.app,
        req(Method::POST, "/auth/request-verify-token").form(&[("email", "lancelot@camelot.bt")]),
    )
    .await;
    assert_eq!(errors(&r), missing, "a form");
    let r = send(
        &app.app,
        req(Method::POST, "/auth/request-verify-token").empty(),
    )
    .await;
    assert_eq!(errors(&r), missing, "no body");
    app.drain().await;
    assert!(app.hooks.events().is_empty(), "{:?}", app.hooks.events());
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let app = full_app(FullOpts::default()).await;
    for path in ["/auth/request-verify-token", "/auth/verify"] {
        let r = send(&app.app, req(Method::GET, path).empty()).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(r.json(), detail("Method Not Allowed"));
        assert_eq!(r.header("allow"), Some("POST"), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// POST /auth/verify

#[tokio::test]
async fn verify_answers_the_verified_user_and_fires_on_after_verify_once() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    app.hooks.clear();
    assert_verified_user(
        &verify(&app.app, &token).await,
        u.id,
        "lancelot@camelot.bt",
        true,
    );
    assert!(is_verified(&app, u.id).await);
    // After the save; and no on_after_update (reference §5).
    assert_eq!(app.hooks.events(), [HookEvent::Verify { user: u.id }]);
    // The verified user now reads as such through the users API too.
    let access = login(&app.app, "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(
        me(&app.app, &access).await.json()["is_verified"],
        json!(true)
    );
}

#[tokio::test]
async fn a_second_use_is_verify_user_already_verified() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let first = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let second = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    assert_eq!(verify(&app.app, &first).await.status, StatusCode::OK);
    assert_code(
        &verify(&app.app, &first).await,
        "VERIFY_USER_ALREADY_VERIFIED",
    );
    assert_code(
        &verify(&app.app, &second).await,
        "VERIFY_USER_ALREADY_VERIFIED",
    );
    assert_eq!(verifications(&app), 1);
    // And a verified user is handed no new token.
    assert_null(
        &request_verify(&app.app, "lancelot@camelot.bt").await,
        StatusCode::ACCEPTED,
    );
    app.drain().await;
    let requested = app
        .hooks
        .events()
        .iter()
        .filter(|e| matches!(e, HookEvent::RequestVerify { .. }))
        .count();
    assert_eq!(requested, 2);
}

#[tokio::test]
async fn bad_tokens_are_verify_user_bad_token_and_change_nothing() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let good = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let access = login(&app.app, "lancelot@camelot.bt", PASSWORD).await;
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let other_secret = sign(
        b"some other secret of thirty-two bytes!!!",
        &jwt_payload(&good),
    );
    for bad in ["", "garbage", "a.b.c", &tampered, &other_secret, &access] {
        assert_code(&verify(&app.app, bad).await, "VERIFY_USER_BAD_TOKEN");
    }
    assert!(!is_verified(&app, u.id).await);
    assert_eq!(verifications(&app), 0);
    assert_eq!(verify(&app.app, &good).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_verify_token_is_refused() {
    let mut tokens = TokenSettings::new(RESET_SECRET, VERIFY_SECRET).unwrap();
    tokens.verify_lifetime_seconds = 0;
    let app = full_app(FullOpts {
        tokens: Some(tokens),
        ..FullOpts::default()
    })
    .await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    assert_code(&verify(&app.app, &token).await, "VERIFY_USER_BAD_TOKEN");
    assert!(!is_verified(&app, u.id).await);
}

#[tokio::test]
async fn a_hand_made_verify_token_works_until_its_exp_and_not_a_second_after() {
    let app = keyed_app(RESET_SECRET, VERIFY_SECRET).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let claims = |exp: u64| {
        json!({
            "sub": u.id.to_string(),
            "email": "lancelot@camelot.bt",
            "aud": "fastapi-users:verify",
            "exp": exp,
        })
    };
    for exp in [now() - 1, now() - 3600] {
        assert_code(
            &verify(&app.app, &sign(VERIFY_SECRET, &claims(exp))).await,
            "VERIFY_USER_BAD_TOKEN",
        );
    }
    assert!(!is_verified(&app, u.id).await);
    let live = sign(VERIFY_SECRET, &claims(now() + 60));
    assert_verified_user(
        &verify(&app.app, &live).await,
        u.id,
        "lancelot@camelot.bt",
        true,
    );
}

#[tokio::test]
async fn a_verify_token_needs_its_audience_and_a_matching_subject_and_email() {
    let app = keyed_app(SHARED_SECRET, SHARED_SECRET).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let other = user(&app.app, "gawain@camelot.bt").await;
    let id = u.id.to_string();
    let exp = now() + 600;
    let email = "lancelot@camelot.bt";
    for claims in [
        json!({ "sub": id, "email": email, "aud": "fastapi-users:reset", "exp": exp }),
        json!({ "sub": id, "email": email, "aud": ["fastapi-users:auth"], "exp": exp }),
        json!({ "sub": id, "email": email, "exp": exp }),
        json!({ "email": email, "aud": "fastapi-users:verify", "exp": exp }),
        json!({ "sub": id, "aud": "fastapi-users:verify", "exp": exp }),
        json!({ "sub": "not-a-uuid", "email": email, "aud": "fastapi-users:verify", "exp": exp }),
        // The id of one user with the email of another.
        json!({ "sub": other.id.to_string(), "email": email, "aud": "fastapi-users:verify", "exp": exp }),
        // No user has that email.
        json!({ "sub": id, "email": "nobody@camelot.bt", "aud": "fastapi-users:verify", "exp": exp }),
    ] {
        assert_code(
            &verify(&app.app, &sign(SHARED_SECRET, &claims)).await,
            "VERIFY_USER_BAD_TOKEN",
        );
    }
    // A real reset token, signed with the same secret, is not a verification token.
    assert_null(
        &post_json(
            &app.app,
            "/auth/forgot-password",
            &json!({ "email": email }),
        )
        .await,
        StatusCode::ACCEPTED,
    );
    let reset = app.hooks.reset_token(u.id, 1).await;
    assert_code(&verify(&app.app, &reset).await, "VERIFY_USER_BAD_TOKEN");
    assert!(!is_verified(&app, u.id).await);
    assert!(!is_verified(&app, other.id).await);
    assert_eq!(verifications(&app), 0);
    // Control: the well-formed claims are accepted, the email in any case.
    let good = json!({ "sub": id, "email": "LANCELOT@camelot.bt", "aud": "fastapi-users:verify", "exp": exp });
    assert_verified_user(
        &verify(&app.app, &sign(SHARED_SECRET, &good)).await,
        u.id,
        email,
        true,
    );
}

#[tokio::test]
async fn an_email_change_unverifies_and_kills_older_verify_tokens() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let old = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let spare = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    assert_eq!(verify(&app.app, &old).await.status, StatusCode::OK);
    let access = login(&app.app, "lancelot@camelot.bt", PASSWORD).await;
    let r = send(
        &app.app,
        req(Method::PATCH, "/users/me")
            .bearer(&access)
            .json(&json!({ "email": "sir.lancelot@camelot.bt" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.json()["is_verified"], json!(false));
    assert!(!is_verified(&app, u.id).await);
    // The update hook fired for the PATCH (the control for the verify/reset assertions).
    assert!(
        app.hooks
            .events()
            .contains(&HookEvent::Update { user: u.id })
    );
    // A token minted for the old address is bad now, not "already verified".
    assert_code(&verify(&app.app, &spare).await, "VERIFY_USER_BAD_TOKEN");
    assert!(!is_verified(&app, u.id).await);
    // The new address gets its own token, which works.
    let fresh = verify_token_for(&app, "sir.lancelot@camelot.bt", u.id).await;
    assert_verified_user(
        &verify(&app.app, &fresh).await,
        u.id,
        "sir.lancelot@camelot.bt",
        true,
    );
    assert_eq!(verifications(&app), 2);
}

#[tokio::test]
async fn an_inactive_user_still_verifies() {
    // Reference §8.4: verify has no is_active check.
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    patch_row(
        &app.app,
        u.id,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    assert_verified_user(
        &verify(&app.app, &token).await,
        u.id,
        "lancelot@camelot.bt",
        false,
    );
    assert!(is_verified(&app, u.id).await);
    assert_eq!(verifications(&app), 1);
}

#[tokio::test]
async fn a_token_for_a_deleted_user_is_a_bad_token() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let admin = superuser(&app.app, "arthur@camelot.bt").await;
    let r = send(
        &app.app,
        req(Method::DELETE, &format!("/users/{}", u.id))
            .bearer(&token_for(&app.app, &admin))
            .empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_code(&verify(&app.app, &token).await, "VERIFY_USER_BAD_TOKEN");
    // Not even once someone else registers the address.
    let again = user(&app.app, "lancelot@camelot.bt").await;
    assert_code(&verify(&app.app, &token).await, "VERIFY_USER_BAD_TOKEN");
    assert!(!is_verified(&app, again.id).await);
    assert_eq!(verifications(&app), 0);
}

#[tokio::test]
async fn reset_and_verify_never_fire_on_after_update() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    app.hooks.clear();
    let token = verify_token_for(&app, "lancelot@camelot.bt", u.id).await;
    assert_eq!(verify(&app.app, &token).await.status, StatusCode::OK);
    assert_null(
        &post_json(
            &app.app,
            "/auth/forgot-password",
            &json!({ "email": "lancelot@camelot.bt" }),
        )
        .await,
        StatusCode::ACCEPTED,
    );
    let reset = app.hooks.reset_token(u.id, 1).await;
    assert_null(
        &post_json(
            &app.app,
            "/auth/reset-password",
            &json!({ "token": reset, "password": "excalibur-2" }),
        )
        .await,
        StatusCode::OK,
    );
    app.drain().await;
    let kinds: Vec<&'static str> = app
        .hooks
        .events()
        .iter()
        .map(|e| match e {
            HookEvent::RequestVerify { .. } => "request_verify",
            HookEvent::Verify { .. } => "verify",
            HookEvent::ForgotPassword { .. } => "forgot_password",
            HookEvent::ResetPassword { .. } => "reset_password",
            HookEvent::Update { .. } => "update",
            HookEvent::Register { .. } => "register",
            HookEvent::Login { .. } => "login",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "request_verify",
            "verify",
            "forgot_password",
            "reset_password"
        ]
    );
}

#[tokio::test]
async fn verify_reports_a_missing_or_mistyped_token() {
    let app = full_app(FullOpts::default()).await;
    let missing = [("missing".to_owned(), json!(["body", "token"]))];
    for body in [
        json!({}),
        json!({ "tok": "x" }),
        json!(["x"]),
        json!("x"),
        json!(1),
        json!(null),
    ] {
        let r = post_json(&app.app, "/auth/verify", &body).await;
        assert_eq!(errors(&r), missing, "{body}");
    }
    let r = send(&app.app, req(Method::POST, "/auth/verify").empty()).await;
    assert_eq!(errors(&r), missing, "no body");
    let r = send(
        &app.app,
        req(Method::POST, "/auth/verify").form(&[("token", "x")]),
    )
    .await;
    assert_eq!(errors(&r), missing, "a form");
    for token in [json!(1), json!(null), json!({ "t": 1 })] {
        let r = post_json(&app.app, "/auth/verify", &json!({ "token": token })).await;
        assert_eq!(
            errors(&r),
            [("string_type".to_owned(), json!(["body", "token"]))],
            "{token}"
        );
    }
    let r = send(
        &app.app,
        req(Method::POST, "/auth/verify").raw("application/json", "{\"token\": \"x\""),
    )
    .await;
    let items = errors(&r);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].0, "json_invalid");
}
