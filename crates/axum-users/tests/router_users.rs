//! `GET/PATCH /users/me`, `GET/PATCH/DELETE /users/{id}`, and the app-wide 404/405 over HTTP
//! (CONTRACT §1, §2, §4; reference §1.3, §1.5, §1.6, §8).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use axum_users_core::{PasswordBinding, User, UserExtra, UserPatch, UserStore as _};
use common::*;
use serde_json::{Value, json};
use uuid::Uuid;

async fn patch<X>(app: &TestApp<X>, uri: &str, token: &str, body: &Value) -> Reply {
    send(app, req(Method::PATCH, uri).bearer(token).json(body)).await
}

async fn patch_me<X>(app: &TestApp<X>, token: &str, body: &Value) -> Reply {
    patch(app, "/users/me", token, body).await
}

async fn get<X>(app: &TestApp<X>, uri: &str, token: &str) -> Reply {
    send(app, req(Method::GET, uri).bearer(token).empty()).await
}

async fn delete<X>(app: &TestApp<X>, uri: &str, token: &str) -> Reply {
    send(app, req(Method::DELETE, uri).bearer(token).empty()).await
}

fn path<X>(user: &User<X>) -> String {
    format!("/users/{}", user.id)
}

fn assert_status(r: &Reply, status: StatusCode, body: &Value) {
    assert_eq!(r.status, status, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(&r.json(), body);
}

fn assert_unauthorized(r: &Reply) {
    assert_status(r, StatusCode::UNAUTHORIZED, &detail("Unauthorized"));
    assert!(r.header("www-authenticate").is_none());
}

fn assert_forbidden(r: &Reply) {
    assert_status(r, StatusCode::FORBIDDEN, &detail("Forbidden"));
}

fn assert_not_found(r: &Reply) {
    assert_status(r, StatusCode::NOT_FOUND, &detail("Not Found"));
}

/// The UserRead a client should see for a stored user without custom fields.
fn read(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "email": user.email,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "is_verified": user.is_verified,
    })
}

async fn row<X: UserExtra>(app: &TestApp<X>, user: &User<X>) -> User<X> {
    stored(app, user.id).await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// GET /users/me

#[tokio::test]
async fn me_answers_the_current_user() {
    let app = app().await;
    let u = verified(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = me(&app, &token).await;
    assert_status(&r, StatusCode::OK, &read(&u));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn me_without_a_usable_token_is_401() {
    let app = app().await;
    let gone = user(&app, "mordred@camelot.bt").await;
    let idle = superuser(&app, "kay@camelot.bt").await;
    let gone_token = login(&app, "mordred@camelot.bt", PASSWORD).await;
    let idle_token = login(&app, "kay@camelot.bt", PASSWORD).await;
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

    assert_unauthorized(&send(&app, req(Method::GET, "/users/me").empty()).await);
    assert_unauthorized(&me(&app, "garbage").await);
    assert_unauthorized(&me(&app, "").await);
    assert_unauthorized(&me(&app, &gone_token).await);
    // Inactive is 401, not 403, superuser or not.
    assert_unauthorized(&me(&app, &idle_token).await);
}

#[tokio::test]
async fn me_is_403_for_the_unverified_only_when_the_router_requires_verification() {
    let app = app_with::<()>(Opts {
        users_require_verification: true,
        ..Opts::default()
    })
    .await;
    let plain = user(&app, "percival@camelot.bt").await;
    let good = verified(&app, "galahad@camelot.bt").await;
    assert_forbidden(&me(&app, &token_for(&app, &plain)).await);
    let r = patch_me(
        &app,
        &token_for(&app, &plain),
        &json!({"email": "p@camelot.bt"}),
    )
    .await;
    assert_forbidden(&r);
    assert_eq!(row(&app, &plain).await.email, "percival@camelot.bt");
    assert_status(
        &me(&app, &token_for(&app, &good)).await,
        StatusCode::OK,
        &read(&good),
    );
    // Inactive still outranks unverified.
    let idle = create(&app, "kay@camelot.bt", INACTIVE).await;
    assert_unauthorized(&me(&app, &token_for(&app, &idle)).await);
}

// ---------------------------------------------------------------------------------------------
// PATCH /users/me

#[tokio::test]
async fn patch_me_applies_only_the_keys_present() {
    let app = app().await;
    let u = verified(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &token, &json!({})).await;
    assert_status(&r, StatusCode::OK, &read(&u));
    assert_eq!(row(&app, &u).await, u);

    let r = patch_me(&app, &token, &json!({"email": "Sir.Lancelot@Camelot.BT"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["email"], "Sir.Lancelot@camelot.bt");
    let after = row(&app, &u).await;
    assert_eq!(after.email, "Sir.Lancelot@camelot.bt");
    // The password was not part of the body: it is unchanged.
    assert_eq!(after.hashed_password, u.hashed_password);
    login(&app, "sir.lancelot@camelot.bt", PASSWORD).await;
    // Unknown keys and `id` are dropped.
    let r = patch_me(
        &app,
        &token,
        &json!({"id": Uuid::new_v4().to_string(), "role": "king"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["id"], json!(u.id.to_string()));
}

#[tokio::test]
async fn patch_me_ignores_privileged_flags_null_included() {
    let app = app().await;
    let u = user(&app, "mordred@camelot.bt").await;
    let token = login(&app, "mordred@camelot.bt", PASSWORD).await;
    for body in [
        json!({"is_active": false, "is_superuser": true, "is_verified": true}),
        json!({"is_active": null, "is_superuser": null, "is_verified": null}),
        json!({"is_superuser": "yes", "is_verified": 1}),
    ] {
        let r = patch_me(&app, &token, &body).await;
        assert_status(&r, StatusCode::OK, &read(&u));
        let after = row(&app, &u).await;
        assert!(
            after.is_active && !after.is_superuser && !after.is_verified,
            "{body}"
        );
    }
    // Still not a superuser on the API.
    assert_forbidden(&get(&app, &path(&u), &token).await);
}

#[tokio::test]
async fn patch_me_type_checks_the_ignored_flags() {
    let app = app().await;
    let u = user(&app, "mordred@camelot.bt").await;
    let token = login(&app, "mordred@camelot.bt", PASSWORD).await;
    let r = patch_me(
        &app,
        &token,
        &json!({"is_superuser": [1], "email": "m@camelot.bt"}),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("bool_type".to_owned(), json!(["body", "is_superuser"]))]
    );
    let r = patch_me(&app, &token, &json!({"is_active": "maybe"})).await;
    assert_eq!(
        errors(&r),
        [("bool_parsing".to_owned(), json!(["body", "is_active"]))]
    );
    // Nothing of a refused body is applied.
    assert_eq!(row(&app, &u).await.email, "mordred@camelot.bt");
}

#[tokio::test]
async fn changing_the_email_resets_verification() {
    let app = app().await;
    let u = verified(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    // The same email, as stored, is no change.
    let r = patch_me(&app, &token, &json!({"email": "lancelot@camelot.bt"})).await;
    assert_eq!(r.json()["is_verified"], true);
    assert!(row(&app, &u).await.is_verified);

    let r = patch_me(&app, &token, &json!({"email": "galahad@camelot.bt"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["email"], "galahad@camelot.bt");
    assert_eq!(r.json()["is_verified"], false);
    let after = row(&app, &u).await;
    assert_eq!(after.email, "galahad@camelot.bt");
    assert!(!after.is_verified);
    // The old address is free again, the new one logs in.
    assert!(
        app.store
            .get_by_email("lancelot@camelot.bt")
            .await
            .unwrap()
            .is_none()
    );
    login(&app, "galahad@camelot.bt", PASSWORD).await;
}

#[tokio::test]
async fn ones_own_email_in_another_case_is_allowed() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &token, &json!({"email": "Lancelot@CAMELOT.bt"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.json()["email"], "Lancelot@camelot.bt");
    assert_eq!(row(&app, &u).await.email, "Lancelot@camelot.bt");
}

#[tokio::test]
async fn a_taken_email_is_update_user_email_already_exists() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    user(&app, "Guinevere@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    for email in ["Guinevere@camelot.bt", "guinevere@CAMELOT.BT"] {
        let r = patch_me(
            &app,
            &token,
            &json!({"email": email, "password": "new password"}),
        )
        .await;
        assert_status(
            &r,
            StatusCode::BAD_REQUEST,
            &detail("UPDATE_USER_EMAIL_ALREADY_EXISTS"),
        );
    }
    // Refused as a whole: neither the email nor the password changed.
    let after = row(&app, &u).await;
    assert_eq!(after.email, "lancelot@camelot.bt");
    assert_eq!(after.hashed_password, u.hashed_password);
}

#[tokio::test]
async fn a_null_password_is_a_no_op() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &token, &json!({"password": null})).await;
    assert_status(&r, StatusCode::OK, &read(&u));
    assert_eq!(row(&app, &u).await.hashed_password, u.hashed_password);
    login(&app, "lancelot@camelot.bt", PASSWORD).await;
}

#[tokio::test]
async fn changing_the_password_swaps_which_one_logs_in() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &token, &json!({"password": "excalibur"})).await;
    assert_status(&r, StatusCode::OK, &read(&u));
    assert!(!r.body.windows(9).any(|w| w == b"excalibur"));
    let old = login_form(&app, "lancelot@camelot.bt", PASSWORD).await;
    assert_status(
        &old,
        StatusCode::BAD_REQUEST,
        &detail("LOGIN_BAD_CREDENTIALS"),
    );
    login(&app, "lancelot@camelot.bt", "excalibur").await;
}

#[tokio::test]
async fn a_password_change_revokes_earlier_tokens_unless_binding_is_off() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let first = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let second = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &first, &json!({"password": "excalibur"})).await;
    assert_eq!(r.status, StatusCode::OK);
    // Both sessions issued under the old password are over.
    assert_unauthorized(&me(&app, &first).await);
    assert_unauthorized(&me(&app, &second).await);
    let fresh = login(&app, "lancelot@camelot.bt", "excalibur").await;
    assert_eq!(me(&app, &fresh).await.status, StatusCode::OK);
    // Changing anything else keeps the session.
    let r = patch_me(&app, &fresh, &json!({"email": "sir.lancelot@camelot.bt"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(me(&app, &fresh).await.status, StatusCode::OK);

    // Strict FastAPI Users mode: the old token survives the change.
    let strict = app_with::<()>(Opts {
        binding: PasswordBinding::Off,
        ..Opts::default()
    })
    .await;
    user(&strict, "lancelot@camelot.bt").await;
    let token = login(&strict, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&strict, &token, &json!({"password": "excalibur"})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(me(&strict, &token).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_null_email_is_422_at_the_email() {
    let app = app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &token, &json!({"email": null})).await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "email"]))]
    );
    let r = patch_me(&app, &token, &json!({"email": "not an email"})).await;
    assert_eq!(
        errors(&r),
        [("value_error".to_owned(), json!(["body", "email"]))]
    );
    let r = patch_me(&app, &token, &json!({"password": 5})).await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "password"]))]
    );
    assert_eq!(row(&app, &u).await, u);
}

#[tokio::test]
async fn a_refused_password_is_update_user_invalid_password() {
    let app = strict_app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(
        &app,
        &token,
        &json!({"password": "short", "email": "l@camelot.bt"}),
    )
    .await;
    assert_status(
        &r,
        StatusCode::BAD_REQUEST,
        &json!({"detail": {"code": "UPDATE_USER_INVALID_PASSWORD", "reason": TOO_SHORT}}),
    );
    assert_eq!(row(&app, &u).await, u);
    let r = patch_me(&app, &token, &json!({"password": "long enough"})).await;
    assert_eq!(r.status, StatusCode::OK);
    login(&app, "lancelot@camelot.bt", "long enough").await;
}

#[tokio::test]
async fn patch_me_rejects_bodies_that_are_not_objects() {
    let app = app().await;
    user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = send(
        &app,
        req(Method::PATCH, "/users/me")
            .bearer(&token)
            .raw("application/json", "[]"),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("model_attributes_type".to_owned(), json!(["body"]))]
    );
    let r = send(
        &app,
        req(Method::PATCH, "/users/me")
            .bearer(&token)
            .form(&[("email", "a@b.co")]),
    )
    .await;
    assert_eq!(
        errors(&r),
        [("model_attributes_type".to_owned(), json!(["body"]))]
    );
    let r = send(&app, req(Method::PATCH, "/users/me").bearer(&token).empty()).await;
    assert_eq!(errors(&r), [("missing".to_owned(), json!(["body"]))]);
    let r = send(
        &app,
        req(Method::PATCH, "/users/me")
            .bearer(&token)
            .raw("application/json", "{"),
    )
    .await;
    assert_eq!(errors(&r)[0].0, "json_invalid");
}

#[tokio::test]
async fn authentication_comes_before_body_validation() {
    let app = app().await;
    for body in ["{", "[]", r#"{"email": null}"#] {
        let r = send(
            &app,
            req(Method::PATCH, "/users/me").raw("application/json", body),
        )
        .await;
        assert_unauthorized(&r);
        let r = send(
            &app,
            req(Method::PATCH, "/users/me")
                .bearer("garbage")
                .raw("application/json", body),
        )
        .await;
        assert_unauthorized(&r);
    }
    let r = send(&app, req(Method::PATCH, "/users/me").empty()).await;
    assert_unauthorized(&r);
}

#[tokio::test]
async fn custom_fields_are_updated_through_patch() {
    let app = profile_app().await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let r = patch_me(&app, &token, &json!({"first_name": "Lancelot"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.json()["first_name"], "Lancelot");
    assert_eq!(r.json()["newsletter"], false);
    // A partial body keeps the other custom fields.
    let r = patch_me(&app, &token, &json!({"newsletter": true})).await;
    assert_eq!(r.json()["first_name"], "Lancelot");
    assert_eq!(r.json()["newsletter"], true);
    assert_eq!(
        row(&app, &u).await.extra,
        Profile {
            first_name: Some("Lancelot".into()),
            newsletter: true
        }
    );
    // Base-field changes leave them alone.
    let r = patch_me(&app, &token, &json!({"email": "sir.lancelot@camelot.bt"})).await;
    assert_eq!(r.json()["first_name"], "Lancelot");
    // null clears an optional one.
    let r = patch_me(&app, &token, &json!({"first_name": null})).await;
    assert_eq!(r.json()["first_name"], Value::Null);
    assert_eq!(
        row(&app, &u).await.extra,
        Profile {
            first_name: None,
            newsletter: true
        }
    );
    // Wrong type: 422 at the field, nothing applied.
    let r = patch_me(&app, &token, &json!({"first_name": 5, "newsletter": false})).await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "first_name"]))]
    );
    assert!(row(&app, &u).await.extra.newsletter);
    // A superuser sets them on another user.
    superuser(&app, "arthur@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    let r = patch(&app, &path(&u), &admin, &json!({"first_name": "Du Lac"})).await;
    assert_eq!(r.json()["first_name"], "Du Lac");
    assert_eq!(
        row(&app, &u).await.extra.first_name.as_deref(),
        Some("Du Lac")
    );
    assert_eq!(
        get(&app, &path(&u), &admin).await.json()["first_name"],
        "Du Lac"
    );
}

// ---------------------------------------------------------------------------------------------
// /users/{id}

#[tokio::test]
async fn a_superuser_gets_patches_and_deletes_by_id() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;

    assert_status(
        &get(&app, &path(&u), &admin).await,
        StatusCode::OK,
        &read(&u),
    );

    let r = patch(
        &app,
        &path(&u),
        &admin,
        &json!({"email": "galahad@camelot.bt"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["email"], "galahad@camelot.bt");
    assert_eq!(row(&app, &u).await.email, "galahad@camelot.bt");

    let r = delete(&app, &path(&u), &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    assert!(stored(&app, u.id).await.is_none());
}

#[tokio::test]
async fn a_non_superuser_is_403_whatever_the_id() {
    let app = app().await;
    let me_user = verified(&app, "lancelot@camelot.bt").await;
    let other = user(&app, "galahad@camelot.bt").await;
    let token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    let unknown = format!("/users/{}", Uuid::new_v4());
    for uri in [
        path(&me_user),
        path(&other),
        unknown,
        "/users/42".to_owned(),
        "/users/not-an-id".to_owned(),
    ] {
        assert_forbidden(&get(&app, &uri, &token).await);
        assert_forbidden(&patch(&app, &uri, &token, &json!({"is_superuser": true})).await);
        // Even with a malformed body.
        let r = send(
            &app,
            req(Method::PATCH, &uri)
                .bearer(&token)
                .raw("application/json", "{"),
        )
        .await;
        assert_forbidden(&r);
        assert_forbidden(&delete(&app, &uri, &token).await);
    }
    assert_eq!(row(&app, &other).await, other);
    assert!(!row(&app, &me_user).await.is_superuser);
}

#[tokio::test]
async fn no_token_or_an_inactive_superuser_is_401_by_id() {
    let app = app().await;
    let idle = create(&app, "arthur@camelot.bt", INACTIVE_SUPER).await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let token = token_for(&app, &idle);
    for uri in [
        path(&u),
        format!("/users/{}", Uuid::new_v4()),
        "/users/42".to_owned(),
    ] {
        assert_unauthorized(&get(&app, &uri, &token).await);
        assert_unauthorized(&patch(&app, &uri, &token, &json!({"is_active": true})).await);
        assert_unauthorized(&delete(&app, &uri, &token).await);
        assert_unauthorized(&send(&app, req(Method::GET, &uri).empty()).await);
        let r = send(&app, req(Method::PATCH, &uri).raw("application/json", "{")).await;
        assert_unauthorized(&r);
    }
    assert_eq!(row(&app, &u).await, u);
}

#[tokio::test]
async fn an_unknown_or_unparseable_id_is_404() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    let unknown = format!("/users/{}", Uuid::new_v4());
    for uri in [
        unknown.as_str(),
        "/users/42",
        "/users/not-an-id",
        "/users/5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4",
        "/users/5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4cz",
    ] {
        assert_not_found(&get(&app, uri, &admin).await);
        assert_not_found(&patch(&app, uri, &admin, &json!({"is_active": false})).await);
        assert_not_found(&delete(&app, uri, &admin).await);
    }
}

#[tokio::test]
async fn an_id_is_read_without_hyphens_and_in_upper_case() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    let simple = u.id.simple().to_string();
    let upper = u.id.hyphenated().to_string().to_uppercase();
    let upper_simple = simple.to_uppercase();
    for raw in [&simple, &upper, &upper_simple] {
        let r = get(&app, &format!("/users/{raw}"), &admin).await;
        // Always answered in the lower-case hyphenated form.
        assert_status(&r, StatusCode::OK, &read(&u));
    }
    let r = patch(
        &app,
        &format!("/users/{upper}"),
        &admin,
        &json!({"is_verified": true}),
    )
    .await;
    assert_eq!(r.json()["id"], json!(u.id.to_string()));
    assert!(row(&app, &u).await.is_verified);
    let r = delete(&app, &format!("/users/{upper_simple}"), &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(stored(&app, u.id).await.is_none());
}

#[tokio::test]
async fn a_superuser_sets_the_privileged_flags() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    let their_token = login(&app, "lancelot@camelot.bt", PASSWORD).await;

    let r = patch(
        &app,
        &path(&u),
        &admin,
        &json!({"is_superuser": true, "is_verified": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (&r.json()["is_superuser"], &r.json()["is_verified"]),
        (&json!(true), &json!(true))
    );
    let after = row(&app, &u).await;
    assert!(after.is_superuser && after.is_verified && after.is_active);
    // The promotion is effective.
    assert_eq!(
        get(&app, &path(&u), &their_token).await.status,
        StatusCode::OK
    );

    let r = patch(
        &app,
        &path(&u),
        &admin,
        &json!({"is_active": false, "is_superuser": false}),
    )
    .await;
    assert_eq!(r.json()["is_active"], false);
    assert_eq!(r.json()["is_superuser"], false);
    assert!(!row(&app, &u).await.is_active);
    // Deactivated: their token stops working and they cannot log in.
    assert_unauthorized(&me(&app, &their_token).await);
    let r = login_form(&app, "lancelot@camelot.bt", PASSWORD).await;
    assert_status(
        &r,
        StatusCode::BAD_REQUEST,
        &detail("LOGIN_BAD_CREDENTIALS"),
    );

    let r = patch(&app, &path(&u), &admin, &json!({"is_active": true})).await;
    assert_eq!(r.json()["is_active"], true);
    login(&app, "lancelot@camelot.bt", PASSWORD).await;
}

#[tokio::test]
async fn a_null_flag_or_email_by_id_is_422_not_500() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    for field in ["is_active", "is_superuser", "is_verified"] {
        let r = patch(&app, &path(&u), &admin, &json!({ field: null })).await;
        assert_eq!(
            errors(&r),
            [("bool_type".to_owned(), json!(["body", field]))],
            "{field}"
        );
    }
    let r = patch(&app, &path(&u), &admin, &json!({"email": null})).await;
    assert_eq!(
        errors(&r),
        [("string_type".to_owned(), json!(["body", "email"]))]
    );
    let r = patch(&app, &path(&u), &admin, &json!({"is_active": [true]})).await;
    assert_eq!(
        errors(&r),
        [("bool_type".to_owned(), json!(["body", "is_active"]))]
    );
    assert_eq!(row(&app, &u).await, u);
    // A null password stays a no-op here too.
    let r = patch(&app, &path(&u), &admin, &json!({"password": null})).await;
    assert_status(&r, StatusCode::OK, &read(&u));
}

#[tokio::test]
async fn a_superuser_email_change_keeps_verified_only_when_the_body_says_so() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let a = verified(&app, "lancelot@camelot.bt").await;
    let b = verified(&app, "galahad@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;

    let r = patch(
        &app,
        &path(&a),
        &admin,
        &json!({"email": "sir.lancelot@camelot.bt", "is_verified": true}),
    )
    .await;
    assert_eq!(r.json()["is_verified"], true);
    let after = row(&app, &a).await;
    assert_eq!(after.email, "sir.lancelot@camelot.bt");
    assert!(after.is_verified);

    let r = patch(
        &app,
        &path(&b),
        &admin,
        &json!({"email": "sir.galahad@camelot.bt"}),
    )
    .await;
    assert_eq!(r.json()["is_verified"], false);
    assert!(!row(&app, &b).await.is_verified);

    // A taken email is refused by id too.
    let r = patch(
        &app,
        &path(&b),
        &admin,
        &json!({"email": "SIR.LANCELOT@camelot.bt"}),
    )
    .await;
    assert_status(
        &r,
        StatusCode::BAD_REQUEST,
        &detail("UPDATE_USER_EMAIL_ALREADY_EXISTS"),
    );
}

#[tokio::test]
async fn a_superuser_changes_a_password_subject_to_the_policy() {
    let app = strict_app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    let r = patch(&app, &path(&u), &admin, &json!({"password": "short"})).await;
    assert_status(
        &r,
        StatusCode::BAD_REQUEST,
        &json!({"detail": {"code": "UPDATE_USER_INVALID_PASSWORD", "reason": TOO_SHORT}}),
    );
    let r = patch(&app, &path(&u), &admin, &json!({"password": "excalibur"})).await;
    assert_eq!(r.status, StatusCode::OK);
    login(&app, "lancelot@camelot.bt", "excalibur").await;
}

#[tokio::test]
async fn a_deleted_user_is_404_and_their_token_401() {
    let app = app().await;
    superuser(&app, "arthur@camelot.bt").await;
    let u = user(&app, "lancelot@camelot.bt").await;
    let admin = login(&app, "arthur@camelot.bt", PASSWORD).await;
    let their_token = login(&app, "lancelot@camelot.bt", PASSWORD).await;
    assert_eq!(
        delete(&app, &path(&u), &admin).await.status,
        StatusCode::NO_CONTENT
    );
    assert_not_found(&get(&app, &path(&u), &admin).await);
    assert_not_found(&delete(&app, &path(&u), &admin).await);
    assert_unauthorized(&me(&app, &their_token).await);
    let r = login_form(&app, "lancelot@camelot.bt", PASSWORD).await;
    assert_status(
        &r,
        StatusCode::BAD_REQUEST,
        &detail("LOGIN_BAD_CREDENTIALS"),
    );
    // The address can be registered again.
    let r = send(
        &app,
        req(Method::POST, "/auth/register")
            .json(&json!({"email": "lancelot@camelot.bt", "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

// ---------------------------------------------------------------------------------------------
// 404 and 405 for the whole app.

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let app = app().await;
    for uri in ["/nope", "/auth/jwt/nope", "/users/me/extra", "/auth", "/"] {
        let r = send(&app, req(Method::GET, uri).empty()).await;
        assert_not_found(&r);
        let r = send(&app, req(Method::POST, uri).empty()).await;
        assert_not_found(&r);
    }
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let app = app().await;
    for (method, uri, allowed) in [
        (Method::GET, "/auth/jwt/login", &["POST"][..]),
        (Method::GET, "/auth/jwt/logout", &["POST"][..]),
        (Method::PUT, "/users/me", &["GET", "PATCH"][..]),
        (Method::POST, "/users/me", &["GET", "PATCH"][..]),
        (
            Method::PUT,
            "/users/5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c",
            &["GET", "PATCH", "DELETE"][..],
        ),
    ] {
        let r = send(&app, req(method.clone(), uri).empty()).await;
        assert_status(
            &r,
            StatusCode::METHOD_NOT_ALLOWED,
            &detail("Method Not Allowed"),
        );
        let allow = r
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow on {method} {uri}"));
        for m in allowed {
            assert!(
                allow.split(',').any(|a| a.trim() == *m),
                "{method} {uri}: Allow {allow}"
            );
        }
        assert!(
            !allow.split(',').any(|a| a.trim() == method.as_str()),
            "{allow}"
        );
    }
}

#[tokio::test]
async fn delete_me_is_delete_by_id_with_the_id_me_as_in_fastapi() {
    let app = app().await;
    let plain = user(&app, "plain@camelot.bt").await;
    let admin = superuser(&app, "admin@camelot.bt").await;
    let r = send(&app, req(Method::DELETE, "/users/me").empty()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = delete(&app, "/users/me", &token_for(&app, &plain)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = delete(&app, "/users/me", &token_for(&app, &admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json(), detail("Not Found"));
    // Nobody was deleted.
    assert!(stored(&app, plain.id).await.is_some());
    assert!(stored(&app, admin.id).await.is_some());
}
