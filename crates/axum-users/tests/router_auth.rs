//! `POST /auth/jwt/login` and `POST /auth/jwt/logout` over HTTP (CONTRACT §1, §2, §3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode};
use axum_users_core::{AccessClaims, JwtCodec, PasswordBinding, UserPatch};
use common::*;
use serde_json::{Value, json};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn logout(app: &TestApp, token: Option<&str>) -> Reply {
    let b = req(Method::POST, "/auth/jwt/logout");
    let b = match token {
        Some(t) => b.bearer(t),
        None => b,
    };
    send(app, b.empty()).await
}

fn assert_unauthorized(r: &Reply) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json(), detail("Unauthorized"));
    assert!(
        r.header("www-authenticate").is_none(),
        "401 must not carry WWW-Authenticate"
    );
}

fn assert_bad_credentials(r: &Reply) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert_eq!(r.json(), detail("LOGIN_BAD_CREDENTIALS"));
}

#[tokio::test]
async fn login_answers_the_bearer_body_with_exactly_two_keys() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let r = login_form(&app, "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    let obj = body.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["access_token", "token_type"]);
    assert_eq!(body["token_type"], "bearer");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn the_access_token_has_the_reference_claims() {
    // Strict FastAPI Users mode: exactly the reference's three claims.
    let app = app_with::<()>(Opts {
        binding: PasswordBinding::Off,
        ..Opts::default()
    })
    .await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let before = now();
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let claims = jwt_payload(&token);
    let obj = claims.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["aud", "exp", "sub"],
        "no iat, no extra claims: {claims}"
    );
    assert_eq!(claims["sub"], json!(u.id.to_string()));
    assert_eq!(claims["aud"], json!(["fastapi-users:auth"]));
    let exp = claims["exp"].as_u64().expect("exp is an integer");
    assert!(
        exp >= before + LIFETIME && exp <= now() + LIFETIME,
        "exp {exp}"
    );
    // The header names HS256.
    let header = token.split('.').next().unwrap();
    use base64::Engine as _;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");
    // And the token works.
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn by_default_the_token_adds_exactly_one_claim_binding_it_to_the_password() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let claims = jwt_payload(&token);
    let obj = claims.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["aud", "exp", "pfp", "sub"], "{claims}");
    assert_eq!(claims["sub"], json!(u.id.to_string()));
    assert_eq!(claims["aud"], json!(["fastapi-users:auth"]));
    assert!(claims["exp"].is_u64());
    assert!(claims["pfp"].as_str().is_some_and(|p| !p.is_empty()));
    // The fingerprint is not the hash.
    let row = stored(&app, u.id).await.unwrap();
    assert!(
        !row.hashed_password
            .contains(claims["pfp"].as_str().unwrap())
    );
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    // A token without the claim (as FastAPI Users mints it) is still accepted.
    assert_eq!(me(&app, &token_for(&app, &u)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn optional_oauth2_form_fields_are_accepted() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login").form(&[
            ("grant_type", "password"),
            ("username", "lancelot@camelot.bt"),
            ("password", PASSWORD),
            ("scope", "me items"),
            ("client_id", "app"),
            ("client_secret", "s"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[tokio::test]
async fn a_form_with_a_charset_parameter_is_read() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login").raw(
            "application/x-www-form-urlencoded; charset=UTF-8",
            "username=lancelot%40camelot.bt&password=guinevere",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

#[tokio::test]
async fn unknown_email_wrong_password_and_inactive_user_are_bad_credentials() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    inactive(&app, "mordred@camelot.bt").await;
    assert_bad_credentials(&login_form(&app, "nobody@camelot.bt", PASSWORD).await);
    assert_bad_credentials(&login_form(&app, "lancelot@camelot.bt", "excalibur").await);
    // Inactive, with the right password.
    assert_bad_credentials(&login_form(&app, "mordred@camelot.bt", PASSWORD).await);
    // username is not validated as an email.
    assert_bad_credentials(&login_form(&app, "not an email", PASSWORD).await);
}

#[tokio::test]
async fn login_with_the_email_in_another_case_works() {
    let app = app().await;
    let u = user(&app, "King.Arthur@Camelot.BT").await;
    assert_eq!(u.email, "King.Arthur@camelot.bt");
    let token = login(&app, "king.arthur@CAMELOT.bt", PASSWORD).await;
    assert_eq!(me(&app, &token).await.json()["id"], json!(u.id.to_string()));
}

#[tokio::test]
async fn unverified_users_log_in_unless_the_router_requires_verification() {
    let app = app().await;
    user(&app, "percival@camelot.bt").await;
    login(&app, "percival@camelot.bt", PASSWORD).await;

    let strict = app_with::<()>(Opts {
        login_requires_verification: true,
        ..Opts::default()
    })
    .await;
    user(&strict, "percival@camelot.bt").await;
    verified(&strict, "galahad@camelot.bt").await;
    let r = login_form(&strict, "percival@camelot.bt", PASSWORD).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json(), detail("LOGIN_USER_NOT_VERIFIED"));
    // Only once the password matched: a wrong one says nothing about verification.
    assert_bad_credentials(&login_form(&strict, "percival@camelot.bt", "excalibur").await);
    login(&strict, "galahad@camelot.bt", PASSWORD).await;
}

#[tokio::test]
async fn a_json_body_reads_as_an_empty_form() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login")
            .json(&json!({"username": "lancelot@camelot.bt", "password": PASSWORD})),
    )
    .await;
    assert_eq!(
        errors(&r),
        [
            ("missing".to_owned(), json!(["body", "username"])),
            ("missing".to_owned(), json!(["body", "password"])),
        ]
    );
    assert_eq!(r.json()["detail"][0]["msg"], "Field required");
}

#[tokio::test]
async fn no_body_is_two_missing_fields() {
    let app = app().await;
    let r = send(&app, req(Method::POST, "/auth/jwt/login").empty()).await;
    assert_eq!(
        errors(&r),
        [
            ("missing".to_owned(), json!(["body", "username"])),
            ("missing".to_owned(), json!(["body", "password"])),
        ]
    );
}

#[tokio::test]
async fn an_empty_password_is_missing() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let r = login_form(&app, "lancelot@camelot.bt", "").await;
    assert_eq!(
        errors(&r),
        [("missing".to_owned(), json!(["body", "password"]))]
    );
    let r = login_form(&app, "", PASSWORD).await;
    assert_eq!(
        errors(&r),
        [("missing".to_owned(), json!(["body", "username"]))]
    );
}

#[tokio::test]
async fn a_grant_type_other_than_password_is_422() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login").form(&[
            ("grant_type", "client_credentials"),
            ("username", "lancelot@camelot.bt"),
            ("password", PASSWORD),
        ]),
    )
    .await;
    assert_eq!(
        errors(&r),
        [(
            "string_pattern_mismatch".to_owned(),
            json!(["body", "grant_type"])
        )]
    );
}

#[tokio::test]
async fn a_password_over_4096_characters_is_422_before_any_hashing() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let long = "p".repeat(4097);
    let r = login_form(&app, "lancelot@camelot.bt", &long).await;
    assert_eq!(
        errors(&r),
        [("string_too_long".to_owned(), json!(["body", "password"]))]
    );
    // The limit counts characters, and 4096 of them is still a (wrong) password.
    let r = login_form(&app, "lancelot@camelot.bt", &"é".repeat(4096)).await;
    assert_bad_credentials(&r);
}

#[tokio::test]
async fn logout_answers_204_with_an_empty_body() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = logout(&app, Some(&token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    // A JWT logout is a no-op server-side: the token still works until exp.
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_without_a_usable_token_is_401() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    assert_unauthorized(&logout(&app, None).await);
    assert_unauthorized(&logout(&app, Some("garbage")).await);
    // Another scheme is no token.
    let good = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/logout")
            .header("authorization", format!("Basic {good}"))
            .empty(),
    )
    .await;
    assert_unauthorized(&r);
    // The scheme is case-insensitive.
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/logout")
            .header("authorization", format!("bEaReR {good}"))
            .empty(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Expired: exp in the past (and exactly now: no leeway).
    for exp in [now() - 120, now()] {
        let claims = AccessClaims {
            exp: Some(exp),
            ..AccessClaims::new(u.id.to_string(), 0)
        };
        let expired = app.codec.encode(&claims).unwrap();
        assert_unauthorized(&logout(&app, Some(&expired)).await);
    }
    // Signed with another secret.
    let other = JwtCodec::hs256(b"another secret, just as long as ours").unwrap();
    let forged = other
        .encode(&AccessClaims::new(u.id.to_string(), LIFETIME))
        .unwrap();
    assert_unauthorized(&logout(&app, Some(&forged)).await);
    // Right secret, wrong audience.
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        sub: String,
        aud: &'a str,
        exp: u64,
    }
    let reset = app
        .codec
        .encode(&Claims {
            sub: u.id.to_string(),
            aud: "fastapi-users:reset",
            exp: now() + 60,
        })
        .unwrap();
    assert_unauthorized(&logout(&app, Some(&reset)).await);
    // A plain-string audience is accepted, as PyJWT does.
    let plain = app
        .codec
        .encode(&Claims {
            sub: u.id.to_string(),
            aud: "fastapi-users:auth",
            exp: now() + 60,
        })
        .unwrap();
    assert_eq!(
        logout(&app, Some(&plain)).await.status,
        StatusCode::NO_CONTENT
    );
    // A sub that is not an id.
    let bad_sub = app
        .codec
        .encode(&AccessClaims::new("42".into(), LIFETIME))
        .unwrap();
    assert_unauthorized(&logout(&app, Some(&bad_sub)).await);
}

#[tokio::test]
async fn logout_for_a_deleted_or_inactive_user_is_401() {
    let app = app().await;
    let gone = user(&app, "mordred@camelot.bt").await;
    let idle = user(&app, "kay@camelot.bt").await;
    let gone_token = login(&app, "mordred@camelot.bt", PASSWORD).await;
    let idle_token = login(&app, "kay@camelot.bt", PASSWORD).await;
    use axum_users_core::UserStore as _;
    assert!(app.store.delete(gone.id).await.unwrap());
    patch_row(
        &app,
        idle.id,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
    )
    .await;
    assert_unauthorized(&logout(&app, Some(&gone_token)).await);
    assert_unauthorized(&logout(&app, Some(&idle_token)).await);
}

#[tokio::test]
async fn logout_requires_verification_only_when_the_router_does() {
    let strict = app_with::<()>(Opts {
        login_requires_verification: true,
        ..Opts::default()
    })
    .await;
    let u = user(&strict, "percival@camelot.bt").await;
    let token = token_for(&strict, &u);
    let r = logout(&strict, Some(&token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json(), detail("Forbidden"));
}

#[tokio::test]
async fn a_legacy_bcrypt_hash_logs_in_and_is_rehashed_to_argon2id() {
    let app = app().await;
    let u = user(&app, "arthur@camelot.bt").await;
    patch_row(
        &app,
        u.id,
        UserPatch {
            hashed_password: Some(REFERENCE_BCRYPT.into()),
            ..UserPatch::default()
        },
    )
    .await;
    // A wrong password neither logs in nor touches the hash.
    assert_bad_credentials(&login_form(&app, "arthur@camelot.bt", "merlin").await);
    assert_eq!(
        stored(&app, u.id).await.unwrap().hashed_password,
        REFERENCE_BCRYPT
    );

    let token = login(&app, "arthur@camelot.bt", PASSWORD).await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let row = stored(&app, u.id).await.unwrap();
    assert!(
        row.hashed_password.starts_with("$argon2id$v=19$"),
        "{}",
        row.hashed_password
    );
    // The new hash is a working one.
    login(&app, "arthur@camelot.bt", PASSWORD).await;
    assert_bad_credentials(&login_form(&app, "arthur@camelot.bt", "merlin").await);
}

#[tokio::test]
async fn an_unrecognised_stored_hash_is_bad_credentials_not_500() {
    let app = app().await;
    let u = user(&app, "arthur@camelot.bt").await;
    for hash in ["plaintext-guinevere", "$pbkdf2-sha256$29000$abc$def", ""] {
        patch_row(
            &app,
            u.id,
            UserPatch {
                hashed_password: Some(hash.into()),
                ..UserPatch::default()
            },
        )
        .await;
        assert_bad_credentials(&login_form(&app, "arthur@camelot.bt", PASSWORD).await);
        assert_eq!(stored(&app, u.id).await.unwrap().hashed_password, hash);
    }
}

#[tokio::test]
async fn a_multipart_form_logs_in_as_fastapi_reads_it() {
    let app = app().await;
    user(&app, "multipart@camelot.bt").await;
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmultipart@camelot.bt\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\nguinevere\r\n--XyZ--\r\n";
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login").raw("multipart/form-data; boundary=XyZ", body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.json()["token_type"], "bearer");

    let wrong = body.replace("guinevere", "lancelot");
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login").raw("multipart/form-data; boundary=XyZ", wrong),
    )
    .await;
    assert_bad_credentials(&r);

    // A malformed multipart body reads as an empty form.
    let r = send(
        &app,
        req(Method::POST, "/auth/jwt/login").raw("multipart/form-data; boundary=XyZ", "garbage"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let locs: Vec<Value> = r.json()["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["loc"].clone())
        .collect();
    assert_eq!(
        locs,
        [json!(["body", "username"]), json!(["body", "password"])]
    );
}
