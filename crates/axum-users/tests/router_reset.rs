//! `POST /auth/forgot-password` and `POST /auth/reset-password` over HTTP, through the real
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
const NEW_PASSWORD: &str = "excalibur-2";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The app with known reset/verify secrets, so tests can sign tokens by hand.
async fn keyed_app(reset: &[u8], verify: &[u8]) -> FullApp {
    full_app(FullOpts {
        tokens: Some(TokenSettings::new(reset, verify).unwrap()),
        ..FullOpts::default()
    })
    .await
}

async fn forgot(app: &TestApp, email: &str) -> Reply {
    post_json(app, "/auth/forgot-password", &json!({ "email": email })).await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> Reply {
    post_json(
        app,
        "/auth/reset-password",
        &json!({ "token": token, "password": password }),
    )
    .await
}

/// Asks for a reset token for `user` and returns the one handed to the hook.
async fn reset_token_for(app: &FullApp, email: &str, user: Uuid) -> String {
    let before = app
        .hooks
        .events()
        .iter()
        .filter(|e| matches!(e, HookEvent::ForgotPassword { user: u, .. } if *u == user))
        .count();
    assert_null(&forgot(&app.app, email).await, StatusCode::ACCEPTED);
    app.hooks.reset_token(user, before + 1).await
}

fn assert_bad_token(r: &Reply) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.json(), detail("RESET_PASSWORD_BAD_TOKEN"));
}

fn resets(app: &FullApp) -> usize {
    app.hooks
        .events()
        .iter()
        .filter(|e| matches!(e, HookEvent::ResetPassword { .. }))
        .count()
}

/// Signs claims as the manager would, with `secret`.
fn sign(secret: &[u8], claims: &Value) -> String {
    JwtCodec::hs256(secret).unwrap().encode(claims).unwrap()
}

/// The reference's `password_fgpt` of the user's current password hash.
async fn fingerprint(app: &FullApp, id: Uuid) -> String {
    let row = stored(&app.app, id).await.unwrap();
    app.app
        .manager
        .hasher()
        .hash(row.hashed_password)
        .await
        .unwrap()
}

async fn password_is(app: &TestApp, email: &str, password: &str) -> bool {
    login_form(app, email, password).await.status == StatusCode::OK
}

// ---------------------------------------------------------------------------------------------
// POST /auth/forgot-password

#[tokio::test]
async fn forgot_password_answers_202_null_for_known_unknown_inactive_and_verified_addresses() {
    let app = full_app(FullOpts::default()).await;
    let plain = user(&app.app, "lancelot@camelot.bt").await;
    let off = inactive(&app.app, "mordred@camelot.bt").await;
    let done = verified(&app.app, "gawain@camelot.bt").await;
    app.hooks.clear();
    for email in [
        "lancelot@camelot.bt",
        "nobody@camelot.bt",
        "mordred@camelot.bt",
        "gawain@camelot.bt",
    ] {
        let r = forgot(&app.app, email).await;
        assert_null(&r, StatusCode::ACCEPTED);
        assert_eq!(r.header("content-length"), Some("4"), "{email}");
    }
    app.drain().await;
    // Reference §5: the hook runs for existing active users only (verified or not).
    let mut fired: Vec<Uuid> = app
        .hooks
        .events()
        .iter()
        .map(|e| match e {
            HookEvent::ForgotPassword { user, token } => {
                assert!(!token.is_empty());
                *user
            }
            other => panic!("unexpected hook {other:?}"),
        })
        .collect();
    fired.sort_unstable();
    let mut expected = vec![plain.id, done.id];
    expected.sort_unstable();
    assert_eq!(fired, expected, "never for {} (inactive)", off.id);
}

#[tokio::test]
async fn forgot_password_finds_the_address_in_any_case_and_around_whitespace() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    assert_null(
        &forgot(&app.app, "  LANCELOT@Camelot.BT ").await,
        StatusCode::ACCEPTED,
    );
    let token = app.hooks.reset_token(u.id, 1).await;
    assert_null(&reset(&app.app, &token, NEW_PASSWORD).await, StatusCode::OK);
    assert!(password_is(&app.app, "lancelot@camelot.bt", NEW_PASSWORD).await);
}

#[tokio::test]
async fn forgot_password_answers_before_the_token_is_handed_over() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    app.hooks.clear();
    app.hooks.close();
    // The hook is held, so the answer cannot have waited for it (CONTRACT §4.2).
    assert_null(
        &forgot(&app.app, "lancelot@camelot.bt").await,
        StatusCode::ACCEPTED,
    );
    assert!(app.hooks.events().is_empty());
    app.hooks.open();
    let token = app.hooks.reset_token(u.id, 1).await;
    assert_null(&reset(&app.app, &token, NEW_PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn each_forgot_password_request_hands_over_one_fresh_token() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    app.hooks.clear();
    let first = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let second = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    app.drain().await;
    assert_ne!(first, second);
    assert_eq!(app.hooks.events().len(), 2, "{:?}", app.hooks.events());
}

#[tokio::test]
async fn the_reset_token_has_the_reference_claims() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let before = now();
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let claims = jwt_payload(&token);
    let mut keys: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["aud", "exp", "password_fgpt", "sub"], "{claims}");
    assert_eq!(claims["sub"], json!(u.id.to_string()));
    assert_eq!(claims["aud"], json!("fastapi-users:reset"), "a string");
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp >= before + 3600 && exp <= now() + 3600, "exp {exp}");
    let fgpt = claims["password_fgpt"].as_str().unwrap();
    assert!(fgpt.starts_with("$argon2id$"), "{fgpt}");
    let row = stored(&app.app, u.id).await.unwrap();
    assert!(!fgpt.contains(&row.hashed_password));
}

#[tokio::test]
async fn forgot_password_refuses_an_invalid_email_with_422_at_the_field() {
    let app = full_app(FullOpts::default()).await;
    for bad in [
        "not-an-email",
        "@camelot.bt",
        "lancelot@",
        "lance lot@camelot.bt",
        "lancelot@localhost",
        "lancelot@camelot.test",
        "",
    ] {
        let r = forgot(&app.app, bad).await;
        assert_eq!(
            errors(&r),
            [("value_error".to_owned(), json!(["body", "email"]))],
            "{bad:?}"
        );
    }
    let r = post_json(&app.app, "/auth/forgot-password", &json!({ "email": 42 })).await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "email"]))]
    );
}

#[tokio::test]
async fn forgot_password_reads_a_body_that_is_not_an_object_as_the_email_missing() {
    let app = full_app(FullOpts::default()).await;
    let missing = [("missing".to_owned(), json!(["body", "email"]))];
    for body in [
        json!({}),
        json!(["lancelot@camelot.bt"]),
        json!("lancelot@camelot.bt"),
        json!(7),
        json!(null),
        json!({ "mail": "lancelot@camelot.bt" }),
    ] {
        let r = post_json(&app.app, "/auth/forgot-password", &body).await;
        assert_eq!(errors(&r), missing, "{body}");
    }
    let r = send(
        &app.app,
        req(Method::POST, "/auth/forgot-password").form(&[("email", "lancelot@camelot.bt")]),
    )
    .await;
    assert_eq!(errors(&r), missing, "a form");
    let r = send(&app.app, req(Method::POST, "/auth/forgot-password").empty()).await;
    assert_eq!(errors(&r), missing, "no body");
}

#[tokio::test]
async fn forgot_password_answers_malformed_json_with_json_invalid_at_the_offset() {
    let app = full_app(FullOpts::default()).await;
    // Python's `JSONDecodeError.pos` for this text is 10.
    let r = send(
        &app.app,
        req(Method::POST, "/auth/forgot-password").raw("application/json", "{\"email\": }"),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("json_invalid".to_owned(), json!(["body", 10]))]
    );
    assert_eq!(r.json()["detail"][0]["msg"], "JSON decode error");
}

#[tokio::test]
async fn truncated_json_is_json_invalid_at_pythons_offset() {
    let app = full_app(FullOpts::default()).await;
    // `json.loads('{"email": ')` raises at pos 10 ("Expecting value"), so FastAPI answers
    // loc ["body", 10].
    let r = send(
        &app.app,
        req(Method::POST, "/auth/forgot-password").raw("application/json", "{\"email\": "),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("json_invalid".to_owned(), json!(["body", 10]))]
    );
}

#[tokio::test]
async fn refused_forgot_password_requests_hand_over_nothing() {
    let app = full_app(FullOpts::default()).await;
    user(&app.app, "lancelot@camelot.bt").await;
    app.hooks.clear();
    let r = post_json(
        &app.app,
        "/auth/forgot-password",
        &json!(["lancelot@camelot.bt"]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.drain().await;
    assert!(app.hooks.events().is_empty(), "{:?}", app.hooks.events());
}

#[tokio::test]
async fn other_methods_are_405_with_allow() {
    let app = full_app(FullOpts::default()).await;
    for path in ["/auth/forgot-password", "/auth/reset-password"] {
        let r = send(&app.app, req(Method::GET, path).empty()).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(r.json(), detail("Method Not Allowed"));
        assert_eq!(r.header("allow"), Some("POST"), "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// POST /auth/reset-password

#[tokio::test]
async fn a_reset_sets_the_new_password_once() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    app.hooks.clear();

    let r = reset(&app.app, &token, NEW_PASSWORD).await;
    assert_null(&r, StatusCode::OK);
    assert_eq!(r.header("content-length"), Some("4"));
    // The hook fired once, after the save; no on_after_update (reference §5).
    assert_eq!(
        app.hooks.events(),
        [HookEvent::ResetPassword { user: u.id }]
    );
    assert_eq!(
        login_form(&app.app, "lancelot@camelot.bt", PASSWORD)
            .await
            .json(),
        detail("LOGIN_BAD_CREDENTIALS"),
        "the old password is dead"
    );
    login(&app.app, "lancelot@camelot.bt", NEW_PASSWORD).await;
    // Reference §8.8: a reset does not verify the email, and touches nothing else.
    let row = stored(&app.app, u.id).await.unwrap();
    assert!(!row.is_verified && row.is_active && !row.is_superuser);
    assert_eq!(row.email, "lancelot@camelot.bt");

    // Single use.
    assert_bad_token(&reset(&app.app, &token, "another-password").await);
    assert!(password_is(&app.app, "lancelot@camelot.bt", NEW_PASSWORD).await);
    assert_eq!(resets(&app), 1);
}

#[tokio::test]
async fn using_one_reset_token_kills_every_other_outstanding_one() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let first = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let second = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    assert_null(
        &reset(&app.app, &second, NEW_PASSWORD).await,
        StatusCode::OK,
    );
    assert_bad_token(&reset(&app.app, &first, "another-password").await);
    assert!(password_is(&app.app, "lancelot@camelot.bt", NEW_PASSWORD).await);
}

#[tokio::test]
async fn bad_tokens_are_reset_password_bad_token_and_change_nothing() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let good = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let access = login(&app.app, "lancelot@camelot.bt", PASSWORD).await;
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let (head, _) = good.rsplit_once('.').unwrap();
    let unsigned = format!("{head}.");
    let other_secret = sign(
        b"some other secret of thirty-two bytes!!!",
        &jwt_payload(&good),
    );
    for bad in [
        "",
        "garbage",
        "a.b.c",
        &tampered,
        &unsigned,
        &other_secret,
        &access,
    ] {
        assert_bad_token(&reset(&app.app, bad, NEW_PASSWORD).await);
    }
    assert!(password_is(&app.app, "lancelot@camelot.bt", PASSWORD).await);
    assert_eq!(resets(&app), 0);
    // The genuine token was not consumed by any of that.
    assert_null(&reset(&app.app, &good, NEW_PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_reset_token_is_refused() {
    // Lifetime 0: the token's `exp` is the second it was minted, refused from then on
    // (CONTRACT §3: no leeway).
    let mut tokens = TokenSettings::new(RESET_SECRET, VERIFY_SECRET).unwrap();
    tokens.reset_lifetime_seconds = 0;
    let app = full_app(FullOpts {
        tokens: Some(tokens),
        ..FullOpts::default()
    })
    .await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    assert_bad_token(&reset(&app.app, &token, NEW_PASSWORD).await);
    assert!(password_is(&app.app, "lancelot@camelot.bt", PASSWORD).await);
    assert_eq!(resets(&app), 0);
}

#[tokio::test]
async fn a_hand_made_reset_token_works_until_its_exp_and_not_a_second_after() {
    let app = keyed_app(RESET_SECRET, VERIFY_SECRET).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let fgpt = fingerprint(&app, u.id).await;
    let claims = |exp: u64| {
        json!({
            "sub": u.id.to_string(),
            "password_fgpt": fgpt,
            "aud": "fastapi-users:reset",
            "exp": exp,
        })
    };
    for exp in [now() - 1, now() - 3600] {
        assert_bad_token(&reset(&app.app, &sign(RESET_SECRET, &claims(exp)), NEW_PASSWORD).await);
    }
    // The same claims, not expired: FastAPI Users' tokens are accepted as they are.
    let live = sign(RESET_SECRET, &claims(now() + 60));
    assert_null(&reset(&app.app, &live, NEW_PASSWORD).await, StatusCode::OK);
    assert!(password_is(&app.app, "lancelot@camelot.bt", NEW_PASSWORD).await);
}

#[tokio::test]
async fn a_reset_token_needs_its_audience_its_subject_and_the_current_fingerprint() {
    let app = keyed_app(SHARED_SECRET, SHARED_SECRET).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let other = user(&app.app, "gawain@camelot.bt").await;
    let fgpt = fingerprint(&app, u.id).await;
    let exp = now() + 600;
    let id = u.id.to_string();
    for claims in [
        // Wrong audiences.
        json!({ "sub": id, "password_fgpt": fgpt, "aud": "fastapi-users:verify", "exp": exp }),
        json!({ "sub": id, "password_fgpt": fgpt, "aud": ["fastapi-users:auth"], "exp": exp }),
        json!({ "sub": id, "password_fgpt": fgpt, "exp": exp }),
        // Missing or unparseable subject, missing fingerprint.
        json!({ "password_fgpt": fgpt, "aud": "fastapi-users:reset", "exp": exp }),
        json!({ "sub": "not-a-uuid", "password_fgpt": fgpt, "aud": "fastapi-users:reset", "exp": exp }),
        json!({ "sub": id, "aud": "fastapi-users:reset", "exp": exp }),
        // Another user's id with this user's fingerprint; a fingerprint of something else.
        json!({ "sub": other.id.to_string(), "password_fgpt": fgpt, "aud": "fastapi-users:reset", "exp": exp }),
        json!({ "sub": id, "password_fgpt": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "aud": "fastapi-users:reset", "exp": exp }),
        json!({ "sub": id, "password_fgpt": "x", "aud": "fastapi-users:reset", "exp": exp }),
    ] {
        assert_bad_token(&reset(&app.app, &sign(SHARED_SECRET, &claims), NEW_PASSWORD).await);
    }
    // A real verification token, signed with the same secret, is not a reset token.
    assert_null(
        &post_json(
            &app.app,
            "/auth/request-verify-token",
            &json!({ "email": "lancelot@camelot.bt" }),
        )
        .await,
        StatusCode::ACCEPTED,
    );
    let verify = app.hooks.verify_token(u.id, 1).await;
    assert_bad_token(&reset(&app.app, &verify, NEW_PASSWORD).await);
    assert!(password_is(&app.app, "lancelot@camelot.bt", PASSWORD).await);
    assert!(password_is(&app.app, "gawain@camelot.bt", PASSWORD).await);
    assert_eq!(resets(&app), 0);
    // Control: the well-formed claims are accepted.
    let good =
        json!({ "sub": id, "password_fgpt": fgpt, "aud": "fastapi-users:reset", "exp": exp });
    assert_null(
        &reset(&app.app, &sign(SHARED_SECRET, &good), NEW_PASSWORD).await,
        StatusCode::OK,
    );
}

#[tokio::test]
async fn a_token_for_a_deleted_user_is_a_bad_token() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let admin = superuser(&app.app, "arthur@camelot.bt").await;
    let admin_token = token_for(&app.app, &admin);
    let r = send(
        &app.app,
        req(Method::DELETE, &format!("/users/{}", u.id))
            .bearer(&admin_token)
            .empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_bad_token(&reset(&app.app, &token, NEW_PASSWORD).await);
    assert_eq!(resets(&app), 0);
}

#[tokio::test]
async fn a_token_for_a_deactivated_user_is_a_bad_token_until_reactivation() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let flag = |active| UserPatch {
        is_active: Some(active),
        ..UserPatch::default()
    };
    patch_row(&app.app, u.id, flag(false)).await;
    assert_bad_token(&reset(&app.app, &token, NEW_PASSWORD).await);
    // Even with a password the policy refuses: inactivity is checked first.
    assert_bad_token(&reset(&app.app, &token, "short").await);
    assert_eq!(resets(&app), 0);
    patch_row(&app.app, u.id, flag(true)).await;
    assert!(password_is(&app.app, "lancelot@camelot.bt", PASSWORD).await);
    // The refusals did not consume it: it was refused for the inactivity alone.
    assert_null(&reset(&app.app, &token, NEW_PASSWORD).await, StatusCode::OK);
}

#[tokio::test]
async fn a_refused_password_is_400_with_the_reason_and_does_not_consume_the_token() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let r = reset(&app.app, &token, "short").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json(),
        json!({ "detail": { "code": "RESET_PASSWORD_INVALID_PASSWORD", "reason": TOO_SHORT } })
    );
    assert_eq!(resets(&app), 0);
    assert!(password_is(&app.app, "lancelot@camelot.bt", PASSWORD).await);
    // Over the length bound: a 422 before anything, also not consuming the token.
    let r = reset(
        &app.app,
        &token,
        &"p".repeat(axum_users::MAX_PASSWORD_CHARS + 1),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("string_too_long".to_owned(), json!(["body", "password"]))]
    );
    assert_null(&reset(&app.app, &token, NEW_PASSWORD).await, StatusCode::OK);
    assert!(password_is(&app.app, "lancelot@camelot.bt", NEW_PASSWORD).await);
    assert_eq!(resets(&app), 1);
}

#[tokio::test]
async fn reset_password_reports_each_missing_or_mistyped_field() {
    let app = full_app(FullOpts::default()).await;
    let at = |kind: &str, field: &str| (kind.to_owned(), json!(["body", field]));
    let cases = [
        (
            json!({}),
            vec![at("missing", "token"), at("missing", "password")],
        ),
        (json!({ "token": "t" }), vec![at("missing", "password")]),
        (
            json!({ "password": NEW_PASSWORD }),
            vec![at("missing", "token")],
        ),
        (
            json!({ "token": 1, "password": NEW_PASSWORD }),
            vec![at("string_type", "token")],
        ),
        (
            json!({ "token": "t", "password": null }),
            vec![at("string_type", "password")],
        ),
        (
            json!({ "token": null, "password": false }),
            vec![at("string_type", "token"), at("string_type", "password")],
        ),
    ];
    for (body, expected) in cases {
        let r = post_json(&app.app, "/auth/reset-password", &body).await;
        assert_eq!(errors(&r), expected, "{body}");
    }
    // A body that is not an object: both embedded fields missing.
    let both = vec![at("missing", "token"), at("missing", "password")];
    for body in [json!(["t", NEW_PASSWORD]), json!("t"), json!(null)] {
        let r = post_json(&app.app, "/auth/reset-password", &body).await;
        assert_eq!(errors(&r), both, "{body}");
    }
    let r = send(&app.app, req(Method::POST, "/auth/reset-password").empty()).await;
    assert_eq!(errors(&r), both, "no body");
    let r = send(
        &app.app,
        req(Method::POST, "/auth/reset-password").form(&[("token", "t"), ("password", "p")]),
    )
    .await;
    assert_eq!(errors(&r), both, "a form");
}

#[tokio::test]
async fn a_password_change_through_patch_me_kills_an_outstanding_reset_token() {
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let access = login(&app.app, "lancelot@camelot.bt", PASSWORD).await;
    let r = send(
        &app.app,
        req(Method::PATCH, "/users/me")
            .bearer(&access)
            .json(&json!({ "password": "changed-by-me" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_bad_token(&reset(&app.app, &token, NEW_PASSWORD).await);
    assert!(password_is(&app.app, "lancelot@camelot.bt", "changed-by-me").await);
    assert_eq!(resets(&app), 0);
}

#[tokio::test]
async fn an_email_change_leaves_an_outstanding_reset_token_valid() {
    // The token is bound to the password, not the address.
    let app = full_app(FullOpts::default()).await;
    let u = user(&app.app, "lancelot@camelot.bt").await;
    let token = reset_token_for(&app, "lancelot@camelot.bt", u.id).await;
    let access = login(&app.app, "lancelot@camelot.bt", PASSWORD).await;
    let r = send(
        &app.app,
        req(Method::PATCH, "/users/me")
            .bearer(&access)
            .json(&json!({ "email": "sir.lancelot@camelot.bt" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_null(&reset(&app.app, &token, NEW_PASSWORD).await, StatusCode::OK);
    assert!(password_is(&app.app, "sir.lancelot@camelot.bt", NEW_PASSWORD).await);
}
