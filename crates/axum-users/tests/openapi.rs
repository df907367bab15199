//! The OpenAPI document: exactly the mounted routes, each with every status of the contract,
//! valid against the official OpenAPI 3.1 JSON Schema, and agreeing with what the routers
//! actually answer.
//!
//! The OAS 3.1 JSON Schema is not kept in this repository: `.ci/run` installs it from PyPI
//! (`openapi-spec-validator`, which ships the OpenAPI Initiative's `schemas/v3.1/schema.json`)
//! and names the file in `OAS_31_SCHEMA`. Without it the validity tests say so and pass
//! locally, and fail under `CI=true`.
//!
//! The server's default document is also kept as a snapshot, `tests/snapshots/openapi-v15.json`
//! (pretty JSON, keys sorted), so that every change to it shows in review: when it differs the
//! test fails with a diff of the changed lines; `UPDATE_SNAPSHOTS=1` rewrites the file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum_users::openapi::{AuthDocOptions, OpenApiBuilder};
use axum_users::{
    AuthBackend, AuthRouterOptions, BearerTransport, CookieTransport, UsersRouterOptions,
    UsersState, auth_router, classic_router, not_found, register_router, reset_password_router,
    users_router, verify_router,
};
use axum_users_core::{
    Argon2Hasher, Argon2Params, CreateMode, HashPool, HashPoolConfig, InvalidPassword, JwtCodec,
    JwtStrategy, MemoryStore, PasswordSubject, RequestContext, UserCreate, UserHooks, UserManager,
};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

// ---------------------------------------------------------------------------------------------
// The documents.

/// The server's default mounting (`axum-users-server`'s `v15_document` with the default
/// settings): the jwt and cookie backends (the cookie checks CSRF), register, reset-password
/// and verify under `/auth`, users under `/users`, no verification required.
fn default_doc() -> Value {
    let doc = OpenApiBuilder::new("axum-users", "0.1.0")
        .description("FastAPI Users' HTTP API, served by axum-users.")
        .auth("/auth/jwt", "jwt", AuthRouterOptions::default())
        .auth(
            "/auth/cookie",
            "cookie",
            AuthDocOptions::cookie("fastapiusersauth").csrf_protection(true),
        )
        .register("/auth")
        .reset_password("/auth")
        .verify("/auth")
        .users("/users", UsersRouterOptions::default())
        .build();
    serde_json::to_value(&doc).unwrap()
}

/// Only the jwt backend, register and users: no CSRF check, no token routers.
fn bearer_doc() -> Value {
    let doc = OpenApiBuilder::new("axum-users", "0.1.0")
        .auth("/auth/jwt", "jwt", AuthRouterOptions::default())
        .register("/auth")
        .users("/users", UsersRouterOptions::default())
        .build();
    serde_json::to_value(&doc).unwrap()
}

/// Every option on: cookie and bearer backends, verification required, rate limits, custom
/// fields, and the classic routes beside.
fn everything_doc() -> Value {
    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }
    #[derive(utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Profile {
        first_name: String,
        nickname: Option<String>,
        address: Option<Address>,
    }
    let doc = OpenApiBuilder::new("everything", "2")
        .description("All options.")
        .auth(
            "/auth/cookie",
            "cookie",
            AuthDocOptions::cookie("fastapiusersauth")
                .requires_verification(true)
                .csrf_protection(true),
        )
        .auth(
            "/auth/jwt/",
            "jwt",
            AuthDocOptions::bearer().requires_verification(true),
        )
        .register("/auth")
        .reset_password("/auth")
        .verify("/auth")
        .users(
            "/users",
            UsersRouterOptions {
                requires_verification: true,
            },
        )
        .classic("/classic")
        .rate_limits(true)
        .user_fields::<Profile>()
        .build();
    serde_json::to_value(&doc).unwrap()
}

/// The classic profile at the root.
fn classic_doc() -> Value {
    let doc = OpenApiBuilder::new("classic", "1").classic("").build();
    serde_json::to_value(&doc).unwrap()
}

fn op<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "no {method} {path}");
    op
}

fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The `$ref`'d component schema's name.
fn ref_name(schema: &Value) -> &str {
    schema["$ref"]
        .as_str()
        .unwrap()
        .strip_prefix("#/components/schemas/")
        .unwrap()
}

/// The `(key, value)` of each named example of a response's JSON content.
fn examples(op: &Value, status: &str) -> BTreeMap<String, Value> {
    op["responses"][status]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap_or_else(|| panic!("no examples for {status}"))
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shape.

#[test]
fn the_default_mounting_lists_exactly_its_routes_and_methods() {
    let doc = default_doc();
    let mut found = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let methods: BTreeSet<String> = item.as_object().unwrap().keys().cloned().collect();
        found.insert(path.clone(), methods);
    }
    let expected = BTreeMap::from([
        ("/auth/jwt/login".to_owned(), set(&["post"])),
        ("/auth/jwt/logout".to_owned(), set(&["post"])),
        ("/auth/cookie/login".to_owned(), set(&["post"])),
        ("/auth/cookie/logout".to_owned(), set(&["post"])),
        ("/auth/register".to_owned(), set(&["post"])),
        ("/auth/forgot-password".to_owned(), set(&["post"])),
        ("/auth/reset-password".to_owned(), set(&["post"])),
        ("/auth/request-verify-token".to_owned(), set(&["post"])),
        ("/auth/verify".to_owned(), set(&["post"])),
        ("/users/me".to_owned(), set(&["get", "patch"])),
        ("/users/{id}".to_owned(), set(&["get", "patch", "delete"])),
    ]);
    assert_eq!(found, expected);

    // Each router alone documents only its own routes, at its prefix.
    let only = |doc: OpenApiBuilder| -> BTreeSet<String> {
        let doc = serde_json::to_value(doc.build()).unwrap();
        doc["paths"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(
        only(OpenApiBuilder::new("x", "1").reset_password("/auth")),
        set(&["/auth/forgot-password", "/auth/reset-password"])
    );
    assert_eq!(
        only(OpenApiBuilder::new("x", "1").verify("/a/b/")),
        set(&["/a/b/request-verify-token", "/a/b/verify"])
    );
}

#[test]
fn it_is_openapi_3_1_0() {
    let doc = OpenApiBuilder::new("axum-users", "0.1.0")
        .register("/auth")
        .build();
    let text = doc.to_json().unwrap();
    assert!(text.starts_with(r#"{"openapi":"3.1.0""#), "{text}");
    let doc = default_doc();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["info"],
        json!({
            "title": "axum-users",
            "version": "0.1.0",
            "description": "FastAPI Users' HTTP API, served by axum-users.",
        })
    );
}

#[test]
fn every_route_lists_the_statuses_of_the_contract() {
    // The server's default: the cookie transport checks CSRF, so every unsafe protected
    // operation may answer 403; nothing requires verification.
    let doc = default_doc();
    let cases: [(&str, &str, &[&str]); 14] = [
        (
            "/auth/jwt/login",
            "post",
            &["200", "400", "413", "422", "503"],
        ),
        ("/auth/jwt/logout", "post", &["204", "401", "403", "503"]),
        (
            "/auth/cookie/login",
            "post",
            &["204", "400", "413", "422", "503"],
        ),
        ("/auth/cookie/logout", "post", &["204", "401", "403", "503"]),
        (
            "/auth/register",
            "post",
            &["201", "400", "413", "422", "503"],
        ),
        (
            "/auth/forgot-password",
            "post",
            &["202", "400", "413", "422", "503"],
        ),
        (
            "/auth/reset-password",
            "post",
            &["200", "400", "413", "422", "503"],
        ),
        (
            "/auth/request-verify-token",
            "post",
            &["202", "400", "413", "422", "503"],
        ),
        ("/auth/verify", "post", &["200", "400", "413", "422", "503"]),
        ("/users/me", "get", &["200", "401", "503"]),
        (
            "/users/me",
            "patch",
            &["200", "400", "401", "403", "413", "422", "503"],
        ),
        ("/users/{id}", "get", &["200", "401", "403", "404", "503"]),
        (
            "/users/{id}",
            "patch",
            &["200", "400", "401", "403", "404", "413", "422", "503"],
        ),
        (
            "/users/{id}",
            "delete",
            &["204", "401", "403", "404", "503"],
        ),
    ];
    for (path, method, expected) in cases {
        assert_eq!(
            statuses(op(&doc, path, method)),
            set(expected),
            "{method} {path}"
        );
    }
    // The token routes are public: no 401 or 403 whatever the transports.
    for path in [
        "/auth/forgot-password",
        "/auth/reset-password",
        "/auth/request-verify-token",
        "/auth/verify",
    ] {
        assert!(op(&doc, path, "post").get("security").is_none(), "{path}");
    }

    // Bearer only: no CSRF 403.
    let doc = bearer_doc();
    assert_eq!(
        statuses(op(&doc, "/auth/jwt/logout", "post")),
        set(&["204", "401", "503"])
    );
    assert_eq!(
        statuses(op(&doc, "/users/me", "patch")),
        set(&["200", "400", "401", "413", "422", "503"])
    );

    // Verification required: 403 on /me and logout, LOGIN_USER_NOT_VERIFIED on login;
    // rate limits: 429 on login, register and the four token routes.
    let doc = everything_doc();
    assert_eq!(
        statuses(op(&doc, "/auth/jwt/login", "post")),
        set(&["200", "400", "413", "422", "429", "503"])
    );
    assert_eq!(
        statuses(op(&doc, "/auth/cookie/login", "post")),
        set(&["204", "400", "413", "422", "429", "503"])
    );
    assert_eq!(
        statuses(op(&doc, "/auth/jwt/logout", "post")),
        set(&["204", "401", "403", "503"])
    );
    assert_eq!(
        statuses(op(&doc, "/auth/register", "post")),
        set(&["201", "400", "413", "422", "429", "503"])
    );
    for path in ["/auth/forgot-password", "/auth/request-verify-token"] {
        assert_eq!(
            statuses(op(&doc, path, "post")),
            set(&["202", "400", "413", "422", "429", "503"]),
            "{path}"
        );
    }
    for path in ["/auth/reset-password", "/auth/verify"] {
        assert_eq!(
            statuses(op(&doc, path, "post")),
            set(&["200", "400", "413", "422", "429", "503"]),
            "{path}"
        );
    }
    assert_eq!(
        statuses(op(&doc, "/users/me", "get")),
        set(&["200", "401", "403", "503"])
    );
    assert_eq!(
        statuses(op(&doc, "/users/me", "patch")),
        set(&["200", "400", "401", "403", "413", "422", "503"])
    );
}

#[test]
fn bodies_are_the_documented_schemas() {
    let doc = default_doc();
    let login = op(&doc, "/auth/jwt/login", "post");
    assert_eq!(
        ref_name(&login["responses"]["200"]["content"]["application/json"]["schema"]),
        "BearerResponse"
    );
    assert!(
        op(&doc, "/auth/jwt/logout", "post")["responses"]["204"]
            .get("content")
            .is_none()
    );
    assert!(
        op(&doc, "/users/{id}", "delete")["responses"]["204"]
            .get("content")
            .is_none()
    );
    let register = op(&doc, "/auth/register", "post");
    assert_eq!(
        ref_name(&register["requestBody"]["content"]["application/json"]["schema"]),
        "UserCreate"
    );
    assert_eq!(register["requestBody"]["required"], true);
    assert_eq!(
        ref_name(&register["responses"]["201"]["content"]["application/json"]["schema"]),
        "UserRead"
    );
    for method in ["patch"] {
        for path in ["/users/me", "/users/{id}"] {
            let o = op(&doc, path, method);
            assert_eq!(
                ref_name(&o["requestBody"]["content"]["application/json"]["schema"]),
                "UserUpdate"
            );
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, o) in item.as_object().unwrap() {
            for (status, response) in o["responses"].as_object().unwrap() {
                let Some(content) = response.get("content") else {
                    continue;
                };
                let schema = &content["application/json"]["schema"];
                let null_body = matches!(
                    (status.as_str(), path.as_str()),
                    ("202", _) | ("200", "/auth/reset-password")
                );
                if null_body {
                    // The JSON literal `null`, inline.
                    assert_eq!(schema, &json!({ "type": "null" }), "{status} of {path}");
                    continue;
                }
                let want = match status.as_str() {
                    "422" => "HTTPValidationError",
                    "200" | "201"
                        if path.starts_with("/users")
                            || path.ends_with("register")
                            || path.ends_with("/verify") =>
                    {
                        "UserRead"
                    }
                    "200" => "BearerResponse",
                    _ => "ErrorModel",
                };
                assert_eq!(ref_name(schema), want, "{status} of {method} {path}");
            }
        }
    }
    let schemas: BTreeSet<String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for name in [
        "UserRead",
        "UserCreate",
        "UserUpdate",
        "BearerResponse",
        "ErrorModel",
        "HTTPValidationError",
        "ValidationError",
    ] {
        assert!(schemas.contains(name), "{name} missing from {schemas:?}");
    }
}

#[test]
fn the_token_routes_take_fastapis_embedded_bodies() {
    let doc = default_doc();
    let schemas = &doc["components"]["schemas"];
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "/auth/forgot-password",
            "Body_reset_forgot_password_auth_forgot_password_post",
            &["email"],
        ),
        (
            "/auth/reset-password",
            "Body_reset_reset_password_auth_reset_password_post",
            &["token", "password"],
        ),
        (
            "/auth/request-verify-token",
            "Body_verify_request_token_auth_request_verify_token_post",
            &["email"],
        ),
        (
            "/auth/verify",
            "Body_verify_verify_auth_verify_post",
            &["token"],
        ),
    ];
    for (path, name, fields) in cases {
        let body = &op(&doc, path, "post")["requestBody"];
        assert_eq!(body["required"], true, "{path}");
        let content = body["content"].as_object().unwrap();
        assert_eq!(content.keys().collect::<Vec<_>>(), ["application/json"]);
        assert_eq!(ref_name(&content["application/json"]["schema"]), name);
        let schema = &schemas[name];
        assert_eq!(schema["title"], name);
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(fields), "{name}");
        let properties: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(properties.len(), fields.len(), "{name}");
        for field in fields {
            assert_eq!(
                schema["properties"][field]["type"], "string",
                "{name}.{field}"
            );
        }
    }
    let email =
        &schemas["Body_reset_forgot_password_auth_forgot_password_post"]["properties"]["email"];
    assert_eq!(email["format"], "email");
    assert_eq!(email["title"], "Email");
    let reset = &schemas["Body_reset_reset_password_auth_reset_password_post"]["properties"];
    assert_eq!(reset["token"]["title"], "Token");
    assert_eq!(
        reset["password"]["maxLength"],
        json!(axum_users::MAX_PASSWORD_CHARS)
    );

    // The verified user, in the example too.
    let verified = examples(op(&doc, "/auth/verify", "post"), "200");
    assert!(verified.values().all(|user| user["is_verified"] == true));
}

#[test]
fn login_takes_the_oauth2_password_form() {
    let doc = default_doc();
    let login = op(&doc, "/auth/jwt/login", "post");
    let content = login["requestBody"]["content"].as_object().unwrap();
    assert_eq!(
        content.keys().collect::<Vec<_>>(),
        ["application/x-www-form-urlencoded"]
    );
    let name = ref_name(&content["application/x-www-form-urlencoded"]["schema"]);
    assert_eq!(name, "Body_auth_jwt_login_auth_jwt_login_post");
    let form = &doc["components"]["schemas"][name];
    let properties: BTreeSet<String> = form["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        properties,
        set(&[
            "client_id",
            "client_secret",
            "grant_type",
            "password",
            "scope",
            "username"
        ])
    );
    assert_eq!(form["required"], json!(["username", "password"]));
    assert_eq!(form["properties"]["grant_type"]["pattern"], "^password$");
    assert!(login.get("security").is_none());
}

#[test]
fn operations_are_named_and_tagged_as_fastapi_users_names_them() {
    let doc = default_doc();
    let cases = [
        (
            "/auth/jwt/login",
            "post",
            "auth_jwt_login_auth_jwt_login_post",
            "Auth:Jwt.Login",
            "auth",
        ),
        (
            "/auth/jwt/logout",
            "post",
            "auth_jwt_logout_auth_jwt_logout_post",
            "Auth:Jwt.Logout",
            "auth",
        ),
        (
            "/auth/cookie/login",
            "post",
            "auth_cookie_login_auth_cookie_login_post",
            "Auth:Cookie.Login",
            "auth",
        ),
        (
            "/auth/cookie/logout",
            "post",
            "auth_cookie_logout_auth_cookie_logout_post",
            "Auth:Cookie.Logout",
            "auth",
        ),
        (
            "/auth/register",
            "post",
            "register_register_auth_register_post",
            "Register:Register",
            "auth",
        ),
        (
            "/auth/forgot-password",
            "post",
            "reset_forgot_password_auth_forgot_password_post",
            "Reset:Forgot Password",
            "auth",
        ),
        (
            "/auth/reset-password",
            "post",
            "reset_reset_password_auth_reset_password_post",
            "Reset:Reset Password",
            "auth",
        ),
        (
            "/auth/request-verify-token",
            "post",
            "verify_request_token_auth_request_verify_token_post",
            "Verify:Request-Token",
            "auth",
        ),
        (
            "/auth/verify",
            "post",
            "verify_verify_auth_verify_post",
            "Verify:Verify",
            "auth",
        ),
        (
            "/users/me",
            "get",
            "users_current_user_users_me_get",
            "Users:Current User",
            "users",
        ),
        (
            "/users/me",
            "patch",
            "users_patch_current_user_users_me_patch",
            "Users:Patch Current User",
            "users",
        ),
        (
            "/users/{id}",
            "get",
            "users_user_users__id__get",
            "Users:User",
            "users",
        ),
        (
            "/users/{id}",
            "patch",
            "users_patch_user_users__id__patch",
            "Users:Patch User",
            "users",
        ),
        (
            "/users/{id}",
            "delete",
            "users_delete_user_users__id__delete",
            "Users:Delete User",
            "users",
        ),
    ];
    let mut ids = BTreeSet::new();
    for (path, method, id, summary, tag) in cases {
        let o = op(&doc, path, method);
        assert_eq!(o["operationId"], id);
        assert_eq!(o["summary"], summary);
        assert_eq!(o["tags"], json!([tag]));
        ids.insert(id);
    }
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(ids.len(), operations, "every operation is named, uniquely");
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["auth", "users"]);
}

#[test]
fn error_examples_give_the_exact_details_of_each_route() {
    let doc = default_doc();
    let login = examples(op(&doc, "/auth/jwt/login", "post"), "400");
    assert_eq!(
        login["LOGIN_BAD_CREDENTIALS"],
        json!({ "detail": "LOGIN_BAD_CREDENTIALS" })
    );
    assert!(
        !login.contains_key("LOGIN_USER_NOT_VERIFIED"),
        "verification is not required here"
    );
    let strict = everything_doc();
    let strict_login = examples(op(&strict, "/auth/jwt/login", "post"), "400");
    assert_eq!(
        strict_login["LOGIN_USER_NOT_VERIFIED"],
        json!({ "detail": "LOGIN_USER_NOT_VERIFIED" })
    );

    let register = examples(op(&doc, "/auth/register", "post"), "400");
    assert_eq!(
        register["REGISTER_USER_ALREADY_EXISTS"],
        json!({ "detail": "REGISTER_USER_ALREADY_EXISTS" })
    );
    let invalid = &register["REGISTER_INVALID_PASSWORD"]["detail"];
    assert_eq!(invalid["code"], "REGISTER_INVALID_PASSWORD");
    assert!(invalid["reason"].is_string());

    let reset = examples(op(&doc, "/auth/reset-password", "post"), "400");
    assert_eq!(
        reset["RESET_PASSWORD_BAD_TOKEN"],
        json!({ "detail": "RESET_PASSWORD_BAD_TOKEN" })
    );
    let invalid = &reset["RESET_PASSWORD_INVALID_PASSWORD"]["detail"];
    assert_eq!(invalid["code"], "RESET_PASSWORD_INVALID_PASSWORD");
    assert!(invalid["reason"].is_string());
    let verify = examples(op(&doc, "/auth/verify", "post"), "400");
    for code in ["VERIFY_USER_BAD_TOKEN", "VERIFY_USER_ALREADY_VERIFIED"] {
        assert_eq!(verify[code], json!({ "detail": code }));
    }
    // The 400 of the 202 routes is only FastAPI's unreadable body: no business error.
    for path in ["/auth/forgot-password", "/auth/request-verify-token"] {
        assert_eq!(
            examples(op(&doc, path, "post"), "400")
                .into_values()
                .collect::<Vec<_>>(),
            [json!({ "detail": "There was an error parsing the body" })],
            "{path}"
        );
        let invalid = examples(op(&doc, path, "post"), "422");
        assert_eq!(
            invalid["value_error"]["detail"][0]["loc"],
            json!(["body", "email"])
        );
        assert_eq!(
            invalid["missing"]["detail"][0]["loc"],
            json!(["body", "email"])
        );
    }

    for path in ["/users/me", "/users/{id}"] {
        let update = examples(op(&doc, path, "patch"), "400");
        assert_eq!(
            update["UPDATE_USER_EMAIL_ALREADY_EXISTS"],
            json!({ "detail": "UPDATE_USER_EMAIL_ALREADY_EXISTS" })
        );
        assert_eq!(
            update["UPDATE_USER_INVALID_PASSWORD"]["detail"]["code"],
            "UPDATE_USER_INVALID_PASSWORD"
        );
    }

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, o) in item.as_object().unwrap() {
            let responses = o["responses"].as_object().unwrap();
            let one = |status: &str| examples(o, status).into_values().collect::<Vec<_>>();
            if responses.contains_key("401") {
                assert_eq!(
                    one("401"),
                    [json!({ "detail": "Unauthorized" })],
                    "{method} {path}"
                );
            }
            if responses.contains_key("403") {
                assert_eq!(
                    one("403"),
                    [json!({ "detail": "Forbidden" })],
                    "{method} {path}"
                );
            }
            if responses.contains_key("404") {
                assert_eq!(
                    one("404"),
                    [json!({ "detail": "Not Found" })],
                    "{method} {path}"
                );
            }
            if responses.contains_key("413") {
                assert_eq!(
                    one("413"),
                    [json!({ "detail": "Request body too large" })],
                    "{method} {path}"
                );
            }
            let unavailable = &responses["503"];
            assert_eq!(
                unavailable["headers"]["Retry-After"]["schema"]["type"], "integer",
                "{method} {path}"
            );
            if responses.contains_key("422") {
                for value in one("422") {
                    assert!(
                        value["detail"]
                            .as_array()
                            .is_some_and(|items| !items.is_empty())
                    );
                }
            }
        }
    }
    for path in [
        "/auth/register",
        "/auth/forgot-password",
        "/auth/request-verify-token",
    ] {
        let limited = op(&strict, path, "post");
        assert_eq!(
            limited["responses"]["429"]["headers"]["Retry-After"]["schema"]["type"], "integer",
            "{path}"
        );
    }
}

#[test]
fn the_id_parameter_is_a_uuid_string() {
    let doc = default_doc();
    for method in ["get", "patch", "delete"] {
        let parameters = op(&doc, "/users/{id}", method)["parameters"]
            .as_array()
            .unwrap();
        assert_eq!(parameters.len(), 1);
        let id = &parameters[0];
        assert_eq!(id["name"], "id");
        assert_eq!(id["in"], "path");
        assert_eq!(id["required"], true);
        assert_eq!(id["schema"]["type"], "string");
        assert_eq!(id["schema"]["format"], "uuid");
    }
}

#[test]
fn security_points_at_the_mounted_login() {
    let doc = default_doc();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["OAuth2PasswordBearer"],
        json!({ "type": "oauth2", "flows": { "password": { "tokenUrl": "auth/jwt/login", "scopes": {} } } })
    );
    assert_eq!(
        schemes["HTTPBearer"],
        json!({ "type": "http", "scheme": "bearer" })
    );
    assert_eq!(
        schemes["APIKeyCookie"],
        json!({ "type": "apiKey", "in": "cookie", "name": "fastapiusersauth" })
    );
    let expected =
        json!([{ "OAuth2PasswordBearer": [] }, { "HTTPBearer": [] }, { "APIKeyCookie": [] }]);
    for (path, method) in [
        ("/auth/jwt/logout", "post"),
        ("/auth/cookie/logout", "post"),
        ("/users/me", "get"),
        ("/users/me", "patch"),
        ("/users/{id}", "get"),
        ("/users/{id}", "patch"),
        ("/users/{id}", "delete"),
    ] {
        assert_eq!(
            op(&doc, path, method)["security"],
            expected,
            "{method} {path}"
        );
    }
    for path in [
        "/auth/jwt/login",
        "/auth/cookie/login",
        "/auth/register",
        "/auth/forgot-password",
        "/auth/reset-password",
        "/auth/request-verify-token",
        "/auth/verify",
    ] {
        assert!(op(&doc, path, "post").get("security").is_none(), "{path}");
    }
    let doc = bearer_doc();
    assert_eq!(
        op(&doc, "/users/me", "get")["security"],
        json!([{ "OAuth2PasswordBearer": [] }, { "HTTPBearer": [] }])
    );

    // The first *bearer* login is the token URL; cookies get their own scheme.
    let doc = everything_doc();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"],
        "auth/jwt/login"
    );
    assert_eq!(
        schemes["APIKeyCookie"],
        json!({ "type": "apiKey", "in": "cookie", "name": "fastapiusersauth" })
    );
    assert_eq!(
        op(&doc, "/users/me", "get")["security"],
        json!([{ "OAuth2PasswordBearer": [] }, { "HTTPBearer": [] }, { "APIKeyCookie": [] }])
    );
    let cookie_login = &op(&doc, "/auth/cookie/login", "post")["responses"]["204"];
    assert!(
        cookie_login["headers"]["Set-Cookie"]["example"]
            .as_str()
            .unwrap()
            .starts_with("fastapiusersauth=")
    );

    // Nothing protected, nothing to authenticate with.
    assert!(classic_doc()["components"].get("securitySchemes").is_none());
}

#[test]
fn custom_fields_join_the_user_schemas() {
    let doc = everything_doc();
    let schemas = &doc["components"]["schemas"];
    for name in ["UserRead", "UserCreate", "UserUpdate"] {
        let properties = schemas[name]["properties"].as_object().unwrap();
        assert_eq!(properties["first_name"]["type"], "string", "{name}");
        assert!(properties.contains_key("nickname"), "{name}");
        assert!(properties.contains_key("address"), "{name}");
        assert_eq!(properties["email"]["format"], "email", "{name}");
    }
    let required = |name: &str| -> Vec<Value> {
        schemas[name]["required"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert!(required("UserRead").contains(&json!("first_name")));
    assert!(!required("UserRead").contains(&json!("nickname")));
    assert!(required("UserCreate").contains(&json!("first_name")));
    assert!(required("UserUpdate").is_empty());
    // The schema the fields refer to is a component.
    assert_eq!(schemas["Address"]["properties"]["city"]["type"], "string");
    assert!(
        default_doc()["components"]["schemas"]["UserRead"]["properties"]
            .get("first_name")
            .is_none()
    );
}

#[test]
fn classic_routes_sit_at_their_prefix() {
    let doc = classic_doc();
    let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        paths,
        set(&["/forgot-password", "/login", "/register", "/reset-password"])
    );
    let register = op(&doc, "/register", "post");
    assert_eq!(
        statuses(register),
        set(&["200", "400", "413", "422", "503"])
    );
    let login = op(&doc, "/login", "post");
    assert_eq!(statuses(login), set(&["200", "400", "413", "422", "503"]));
    assert_eq!(
        ref_name(&login["responses"]["200"]["content"]["application/json"]["schema"]),
        "TokenResponse"
    );
    assert_eq!(
        doc["components"]["schemas"]["TokenResponse"]["required"],
        json!(["token"])
    );
    // The 2019 handlers' names; the same bodies and answers as v15's reset router.
    let forgot = op(&doc, "/forgot-password", "post");
    assert_eq!(
        forgot["operationId"],
        "forgot_password_forgot_password_post"
    );
    assert_eq!(forgot["summary"], "Forgot Password");
    assert_eq!(statuses(forgot), set(&["202", "400", "413", "422", "503"]));
    assert_eq!(
        forgot["responses"]["202"]["content"]["application/json"]["schema"],
        json!({ "type": "null" })
    );
    assert_eq!(
        ref_name(&forgot["requestBody"]["content"]["application/json"]["schema"]),
        "Body_forgot_password_forgot_password_post"
    );
    let reset = op(&doc, "/reset-password", "post");
    assert_eq!(reset["operationId"], "reset_password_reset_password_post");
    assert_eq!(statuses(reset), set(&["200", "400", "413", "422", "503"]));
    assert_eq!(
        examples(reset, "400")["RESET_PASSWORD_BAD_TOKEN"],
        json!({ "detail": "RESET_PASSWORD_BAD_TOKEN" })
    );
    assert_eq!(
        ref_name(&reset["requestBody"]["content"]["application/json"]["schema"]),
        "Body_reset_password_reset_password_post"
    );

    let doc = everything_doc();
    for route in ["login", "register", "forgot-password", "reset-password"] {
        assert!(
            doc["paths"][format!("/classic/{route}")]["post"].is_object(),
            "{route}"
        );
    }
    assert_eq!(
        statuses(op(&doc, "/classic/forgot-password", "post")),
        set(&["202", "400", "413", "422", "429", "503"])
    );
}

#[test]
fn a_csrf_checking_cookie_transport_adds_403_to_unsafe_protected_operations() {
    let doc = OpenApiBuilder::new("csrf", "1")
        .auth(
            "/auth/cookie",
            "cookie",
            AuthDocOptions::cookie("c").csrf_protection(true),
        )
        .register("/auth")
        .users("/users", UsersRouterOptions::default())
        .build();
    let doc = serde_json::to_value(&doc).unwrap();
    let description = |path: &str, method: &str| {
        op(&doc, path, method)["responses"]["403"]["description"]
            .as_str()
            .map(str::to_owned)
    };
    assert!(
        description("/auth/cookie/logout", "post")
            .unwrap()
            .contains("CSRF")
    );
    assert!(description("/users/me", "patch").unwrap().contains("CSRF"));
    assert!(
        description("/users/{id}", "delete")
            .unwrap()
            .contains("CSRF")
    );
    assert_eq!(description("/users/me", "get"), None);
    assert!(!description("/users/{id}", "get").unwrap().contains("CSRF"));
    assert!(
        op(&doc, "/auth/register", "post")["responses"]
            .get("403")
            .is_none()
    );
    // Without the check, or on the bearer transport, no CSRF 403.
    let plain = |options: AuthDocOptions| {
        let doc = OpenApiBuilder::new("x", "1")
            .auth("/auth/x", "x", options)
            .users("/users", UsersRouterOptions::default())
            .build();
        serde_json::to_value(&doc).unwrap()["paths"]["/users/me"]["patch"]["responses"]
            .get("403")
            .is_none()
    };
    assert!(plain(AuthDocOptions::cookie("c")));
    assert!(plain(AuthDocOptions::bearer().csrf_protection(true)));
    assert_valid_openapi(&doc);
}

// ---------------------------------------------------------------------------------------------
// Validity.

/// The official OAS 3.1 schema, from the file `OAS_31_SCHEMA` names; `None` (with a note)
/// when it is not installed, which only a local run may accept.
fn oas_schema() -> Option<Value> {
    match std::env::var("OAS_31_SCHEMA") {
        Ok(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            Some(serde_json::from_str(&text).unwrap())
        }
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("OAS_31_SCHEMA is not set: .ci/run installs the OpenAPI 3.1 schema")
        }
        Err(_) => {
            eprintln!("OAS_31_SCHEMA not set: skipping validation against the OpenAPI 3.1 schema");
            None
        }
    }
}

/// Validates a document against the OpenAPI 3.1 schema.
fn assert_valid_openapi(doc: &Value) {
    let Some(schema) = oas_schema() else { return };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OpenAPI 3.1 document:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_documents_are_valid_openapi_3_1() {
    for doc in [default_doc(), bearer_doc(), everything_doc(), classic_doc()] {
        assert_valid_openapi(&doc);
    }
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    for doc in [default_doc(), bearer_doc(), everything_doc(), classic_doc()] {
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 10, "{found:?}");
        for r in found {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
        }
    }
}

#[test]
fn the_validator_does_refuse_an_invalid_document() {
    if oas_schema().is_none() {
        return;
    }
    let mut doc = default_doc();
    doc["paths"]["/users/me"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let result = std::panic::catch_unwind(|| assert_valid_openapi(&doc));
    assert!(result.is_err(), "a response without a description passed");
    let mut doc = default_doc();
    doc["paths"]["/users/me"]["get"]["parameters"] = json!("not a list");
    let result = std::panic::catch_unwind(|| assert_valid_openapi(&doc));
    assert!(result.is_err(), "parameters that are not a list passed");
}

/// Validates `instance` against the component or inline `schema` of `doc`.
fn schema_errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let registry = jsonschema::Registry::new()
        .add("urn:openapi-doc", doc.clone())
        .unwrap()
        .prepare()
        .unwrap();
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => json!({ "$ref": format!("urn:openapi-doc{r}") }),
        None => schema.clone(),
    };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

#[test]
fn every_example_matches_its_schema() {
    let mut checked = 0;
    for doc in [default_doc(), bearer_doc(), everything_doc(), classic_doc()] {
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, o) in item.as_object().unwrap() {
                for (status, response) in o["responses"].as_object().unwrap() {
                    let Some(content) = response.get("content") else {
                        continue;
                    };
                    let media = &content["application/json"];
                    for (key, example) in media["examples"].as_object().into_iter().flatten() {
                        let errors = schema_errors(&doc, &media["schema"], &example["value"]);
                        assert!(
                            errors.is_empty(),
                            "{method} {path} {status} example {key}: {errors:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} examples");
    let doc = default_doc();
    let error_model = json!({ "$ref": "#/components/schemas/ErrorModel" });
    assert!(!schema_errors(&doc, &error_model, &json!({ "detail": 5 })).is_empty());
    let user_read = json!({ "$ref": "#/components/schemas/UserRead" });
    assert!(!schema_errors(&doc, &user_read, &json!({ "id": "x", "email": "a@b.co" })).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Agreement with the routers.

struct App {
    router: Router,
    manager: UserManager,
}

/// A password policy, so that the `*_INVALID_PASSWORD` answers can be driven.
struct MinLength;

#[async_trait::async_trait]
impl UserHooks<()> for MinLength {
    async fn validate_password(
        &self,
        password: &str,
        _subject: PasswordSubject<'_, ()>,
    ) -> Result<(), InvalidPassword> {
        if password.chars().count() < 8 {
            return Err(InvalidPassword::new(
                "Password should be at least 8 characters",
            ));
        }
        Ok(())
    }
}

const SECRET: &[u8] = b"a test secret of at least thirty-two bytes";

/// The routers mounted exactly as [`default_doc`] describes them (and as the server mounts
/// them), over a memory store.
fn app() -> App {
    let store = Arc::new(MemoryStore::new());
    let hasher = Argon2Hasher::new(Argon2Params::insecure_fast());
    let pool = HashPool::new(
        Arc::new(hasher),
        HashPoolConfig {
            workers: 1,
            ..HashPoolConfig::default()
        },
    );
    let manager = UserManager::<()>::new(store, pool, Arc::new(MinLength));
    let strategy = Arc::new(JwtStrategy::new(JwtCodec::hs256(SECRET).unwrap(), 3600));
    let jwt = AuthBackend::new("jwt", Arc::new(BearerTransport), strategy.clone());
    let cookie = AuthBackend::new(
        "cookie",
        Arc::new(
            CookieTransport::new()
                .name("fastapiusersauth")
                .csrf_protection(true),
        ),
        strategy,
    );
    let state = UsersState::new(manager.clone(), vec![jwt.clone(), cookie.clone()]);
    let router = Router::new()
        .nest("/auth/jwt", auth_router(jwt, AuthRouterOptions::default()))
        .nest(
            "/auth/cookie",
            auth_router(cookie, AuthRouterOptions::default()),
        )
        .nest(
            "/auth",
            register_router::<(), _>()
                .merge(reset_password_router::<(), _>())
                .merge(verify_router::<(), _>()),
        )
        .nest(
            "/users",
            users_router::<(), _>(UsersRouterOptions::default()),
        )
        .fallback(not_found)
        .with_state(state);
    App { router, manager }
}

/// Sends `request`: the status, the headers and the raw body.
async fn send(app: &App, request: Request<Body>) -> (StatusCode, HeaderMap, bytes::Bytes) {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

/// `POST uri` with a JSON content type and these raw bytes.
async fn post_raw(app: &App, uri: &str, bytes: Vec<u8>) -> (StatusCode, HeaderMap, bytes::Bytes) {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(bytes))
        .unwrap();
    send(app, request).await
}

/// `POST path` with a JSON body, answered with `status` and the JSON literal `null`
/// (`content-type: application/json`), as documented.
async fn assert_null_answer(app: &App, doc: &Value, path: &str, body: Value, status: StatusCode) {
    let (got, headers, bytes) = post_raw(app, path, body.to_string().into_bytes()).await;
    assert_eq!(got, status, "POST {path} {body}");
    assert_eq!(&bytes[..], b"null", "POST {path} {body}");
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "application/json",
        "POST {path}"
    );
    assert_documented(doc, path, "POST", got, &Value::Null);
}

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<(&str, String)>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some((content_type, body)) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body)),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let (status, _, bytes) = send(app, request).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// The documented path that serves `method` at `uri`: the literal path first, then a
/// templated one whose `{…}` segments match any one segment.
fn documented_path(doc: &Value, uri: &str, method: &str) -> Option<String> {
    let method = method.to_ascii_lowercase();
    let paths = doc["paths"].as_object().unwrap();
    if paths
        .get(uri)
        .is_some_and(|item| item.get(&method).is_some())
    {
        return Some(uri.to_owned());
    }
    let segments: Vec<&str> = uri.split('/').collect();
    paths
        .iter()
        .filter(|(_, item)| item.get(&method).is_some())
        .map(|(path, _)| path)
        .find(|path| {
            let template: Vec<&str> = path.split('/').collect();
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    t == s || (t.starts_with('{') && t.ends_with('}') && !s.is_empty())
                })
        })
        .cloned()
}

/// The status is documented for the operation, and the body matches its schema.
fn assert_documented(doc: &Value, path: &str, method: &str, status: StatusCode, body: &Value) {
    let response = &op(doc, path, &method.to_ascii_lowercase())["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which is not documented"
    );
    match response.get("content") {
        Some(content) => {
            let errors = schema_errors(doc, &content["application/json"]["schema"], body);
            assert!(
                errors.is_empty(),
                "{method} {path} {status}: {body} does not match: {errors:?}"
            );
        }
        None => assert_eq!(body, &Value::Null, "{method} {path} {status} has a body"),
    }
}

#[tokio::test]
async fn the_routers_answer_what_the_document_says() {
    let doc = default_doc();
    let app = app();
    let form = |u: &str, p: &str| {
        Some((
            "application/x-www-form-urlencoded",
            format!("username={u}&password={p}"),
        ))
    };
    let json_body = |v: Value| Some(("application/json", v.to_string()));

    // Every documented operation exists: no 404/405 for a documented method, 405 for others
    // (unless a templated path documents the method for this URI too: `DELETE /users/me` is
    // `DELETE /users/{id}` with the id "me", as in FastAPI).
    let id = "5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c";
    for path in doc["paths"].as_object().unwrap().keys() {
        let uri = path.replace("{id}", id);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let (status, body) = call(&app, method, &uri, None, None).await;
            match documented_path(&doc, &uri, method) {
                Some(documented) => {
                    assert!(
                        status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                        "{method} {uri}: {status}"
                    );
                    assert_documented(&doc, &documented, method, status, &body);
                }
                None => assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {uri} is not documented"
                ),
            }
        }
    }

    // Register, log in, read and update oneself, fail as a non-superuser, log out.
    let path = "/auth/register";
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        json_body(json!({"email": "lancelot@camelot.bt", "password": "guinevere"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_documented(&doc, path, "POST", status, &body);
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        json_body(json!({"email": "lancelot@camelot.bt", "password": "guinevere"})),
    )
    .await;
    assert_eq!(body, json!({ "detail": "REGISTER_USER_ALREADY_EXISTS" }));
    assert_documented(&doc, path, "POST", status, &body);
    let (status, body) = call(&app, "POST", path, None, json_body(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, path, "POST", status, &body);
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        Some(("application/json", "{\"email\": }".to_owned())),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, path, "POST", status, &body);
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        Some(("application/json", "x".repeat(70_000))),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_documented(&doc, path, "POST", status, &body);

    let path = "/auth/jwt/login";
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        form("lancelot@camelot.bt", "wrong"),
    )
    .await;
    assert_eq!(body, json!({ "detail": "LOGIN_BAD_CREDENTIALS" }));
    assert_documented(&doc, path, "POST", status, &body);
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        json_body(json!({"username": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, path, "POST", status, &body);
    let (status, body) = call(
        &app,
        "POST",
        path,
        None,
        form("lancelot@camelot.bt", "guinevere"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, path, "POST", status, &body);
    let token = body["access_token"].as_str().unwrap().to_owned();

    let (status, body) = call(&app, "GET", "/users/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, "/users/me", "GET", status, &body);
    let me = body["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &app,
        "PATCH",
        "/users/me",
        Some(&token),
        json_body(json!({"email": "arthur"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, "/users/me", "PATCH", status, &body);
    let (status, body) = call(
        &app,
        "PATCH",
        "/users/me",
        Some(&token),
        json_body(json!({"email": "Lancelot@Camelot.bt"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, "/users/me", "PATCH", status, &body);
    for method in ["GET", "PATCH", "DELETE"] {
        let (status, body) = call(
            &app,
            method,
            &format!("/users/{me}"),
            Some(&token),
            json_body(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_documented(&doc, "/users/{id}", method, status, &body);
    }

    // A superuser: 404 for an unknown or unparseable id, 200 and 204 otherwise.
    let mut admin = UserCreate::new("admin@camelot.bt".to_owned(), "excalibur".to_owned());
    admin.is_superuser = Some(true);
    app.manager
        .create(admin, CreateMode::Privileged, &RequestContext::default())
        .await
        .unwrap();
    let (_, body) = call(
        &app,
        "POST",
        "/auth/jwt/login",
        None,
        form("admin@camelot.bt", "excalibur"),
    )
    .await;
    let admin_token = body["access_token"].as_str().unwrap().to_owned();
    for uri in [format!("/users/{id}"), "/users/42".to_owned()] {
        let (status, body) = call(&app, "GET", &uri, Some(&admin_token), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_documented(&doc, "/users/{id}", "GET", status, &body);
    }
    let by_id = format!("/users/{me}");
    let (status, body) = call(
        &app,
        "PATCH",
        &by_id,
        Some(&admin_token),
        json_body(json!({"is_active": null})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, "/users/{id}", "PATCH", status, &body);
    let (status, body) = call(
        &app,
        "PATCH",
        &by_id,
        Some(&admin_token),
        json_body(json!({"is_verified": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, "/users/{id}", "PATCH", status, &body);

    let (status, body) = call(&app, "POST", "/auth/jwt/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_documented(&doc, "/auth/jwt/logout", "POST", status, &body);
    let (status, body) = call(&app, "DELETE", &by_id, Some(&admin_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_documented(&doc, "/users/{id}", "DELETE", status, &body);

    token_routes_answer_what_the_document_says(&doc, &app).await;
}

/// Forgot-password, reset-password, request-verify-token and verify, as mounted by [`app`].
async fn token_routes_answer_what_the_document_says(doc: &Value, app: &App) {
    let json_body = |v: Value| Some(("application/json", v.to_string()));
    let (status, _) = call(
        app,
        "POST",
        "/auth/register",
        None,
        json_body(json!({"email": "galahad@camelot.bt", "password": "siege perilous"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let galahad = app
        .manager
        .get_by_email("galahad@camelot.bt")
        .await
        .unwrap();

    // The two 202 routes answer before anything: known address or not, the same answer.
    for path in ["/auth/forgot-password", "/auth/request-verify-token"] {
        for email in ["galahad@camelot.bt", "Nobody@Camelot.bt"] {
            assert_null_answer(
                app,
                doc,
                path,
                json!({ "email": email }),
                StatusCode::ACCEPTED,
            )
            .await;
        }
        // 422: an invalid email, no email, a body that is not an object, malformed JSON.
        for body in [
            json!({"email": "arthur"}).to_string(),
            "{}".to_owned(),
            "\"galahad@camelot.bt\"".to_owned(),
            "{\"email\": }".to_owned(),
        ] {
            let (status, body) =
                call(app, "POST", path, None, Some(("application/json", body))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}");
            assert_documented(doc, path, "POST", status, &body);
        }
        let (status, body) = call(app, "POST", path, None, None).await;
        assert_eq!(body["detail"][0]["loc"], json!(["body", "email"]));
        assert_documented(doc, path, "POST", status, &body);
        // 400: JSON that is not UTF-8; 413: a body over 64 KiB.
        let (status, _, bytes) = post_raw(app, path, b"{\"email\": \"\xff\"}".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_documented(doc, path, "POST", status, &body);
        let (status, body) = call(
            app,
            "POST",
            path,
            None,
            Some(("application/json", "x".repeat(70_000))),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_documented(doc, path, "POST", status, &body);
    }

    // Reset: a bad token, a refused password (the token survives), then the reset, once.
    let path = "/auth/reset-password";
    let ctx = RequestContext::default();
    let token = app.manager.forgot_password(&galahad, &ctx).await.unwrap();
    for (body, want) in [
        (
            json!({"token": "not a token", "password": "a new password"}),
            json!({ "detail": "RESET_PASSWORD_BAD_TOKEN" }),
        ),
        (
            json!({"token": token, "password": "short"}),
            json!({ "detail": {
                "code": "RESET_PASSWORD_INVALID_PASSWORD",
                "reason": "Password should be at least 8 characters",
            } }),
        ),
    ] {
        let (status, got) = call(app, "POST", path, None, json_body(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(got, want);
        assert_documented(doc, path, "POST", status, &got);
    }
    for body in [json!({}), json!({"token": token}), json!([])] {
        let (status, got) = call(app, "POST", path, None, json_body(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_documented(doc, path, "POST", status, &got);
    }
    let reset = json!({"token": token, "password": "the grail is found"});
    assert_null_answer(app, doc, path, reset.clone(), StatusCode::OK).await;
    let (status, got) = call(app, "POST", path, None, json_body(reset)).await;
    assert_eq!(got, json!({ "detail": "RESET_PASSWORD_BAD_TOKEN" }));
    assert_documented(doc, path, "POST", status, &got);

    // Verify: bad tokens (an empty one too), a missing one, then the user, once.
    let path = "/auth/verify";
    for token in ["not a token", ""] {
        let (status, got) = call(
            app,
            "POST",
            path,
            None,
            json_body(json!({ "token": token })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(got, json!({ "detail": "VERIFY_USER_BAD_TOKEN" }));
        assert_documented(doc, path, "POST", status, &got);
    }
    for body in [json!({}), json!("token")] {
        let (status, got) = call(app, "POST", path, None, json_body(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(got["detail"][0]["loc"], json!(["body", "token"]));
        assert_documented(doc, path, "POST", status, &got);
    }
    let token = app.manager.request_verify(&galahad, &ctx).await.unwrap();
    let (status, got) = call(
        app,
        "POST",
        path,
        None,
        json_body(json!({ "token": token })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["is_verified"], true);
    assert_eq!(got["email"], "galahad@camelot.bt");
    assert_documented(doc, path, "POST", status, &got);
    let (status, got) = call(
        app,
        "POST",
        path,
        None,
        json_body(json!({ "token": token })),
    )
    .await;
    assert_eq!(got, json!({ "detail": "VERIFY_USER_ALREADY_VERIFIED" }));
    assert_documented(doc, path, "POST", status, &got);
}

#[tokio::test]
async fn the_classic_router_answers_what_its_document_says() {
    let doc = classic_doc();
    let App { manager, .. } = app();
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let jwt = AuthBackend::bearer_jwt("jwt", JwtStrategy::new(codec, 3600));
    let state = UsersState::new(manager.clone(), vec![jwt.clone()]);
    let router = Router::new()
        .merge(classic_router::<(), _>(jwt))
        .fallback(not_found)
        .with_state(state);
    let app = App { router, manager };
    let (status, body) = call(
        &app,
        "POST",
        "/register",
        None,
        Some((
            "application/json",
            json!({"email": "percival@camelot.bt", "password": "holy grail"}).to_string(),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, "/register", "POST", status, &body);
    let form = Some((
        "application/x-www-form-urlencoded",
        "username=percival@camelot.bt&password=holy+grail".to_owned(),
    ));
    let (status, body) = call(&app, "POST", "/login", None, form).await;
    assert_eq!(status, StatusCode::OK);
    assert_documented(&doc, "/login", "POST", status, &body);
    let (status, body) = call(&app, "POST", "/login", None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, "/login", "POST", status, &body);

    // Forgot-password: 202 `null`, known or not; reset-password: 400, then 200 `null`.
    for email in ["percival@camelot.bt", "nobody@camelot.bt"] {
        assert_null_answer(
            &app,
            &doc,
            "/forgot-password",
            json!({ "email": email }),
            StatusCode::ACCEPTED,
        )
        .await;
    }
    let (status, body) = call(&app, "POST", "/forgot-password", None, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_documented(&doc, "/forgot-password", "POST", status, &body);
    let json_body = |v: Value| Some(("application/json", v.to_string()));
    let (status, body) = call(
        &app,
        "POST",
        "/reset-password",
        None,
        json_body(json!({"token": "expired", "password": "a new password"})),
    )
    .await;
    assert_eq!(body, json!({ "detail": "RESET_PASSWORD_BAD_TOKEN" }));
    assert_documented(&doc, "/reset-password", "POST", status, &body);
    let percival = app
        .manager
        .get_by_email("percival@camelot.bt")
        .await
        .unwrap();
    let token = app
        .manager
        .forgot_password(&percival, &RequestContext::default())
        .await
        .unwrap();
    assert_null_answer(
        &app,
        &doc,
        "/reset-password",
        json!({"token": token, "password": "a new password"}),
        StatusCode::OK,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Snapshot.

/// `value` with the keys of every object in sorted order (whatever map serde_json was built
/// with).
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The committed snapshot of the server's default document.
fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi-v15.json")
}

#[test]
fn the_server_default_document_matches_its_snapshot() {
    let actual = format!(
        "{}\n",
        serde_json::to_string_pretty(&sorted(&default_doc())).unwrap()
    );
    let path = snapshot_path();
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; create it with `UPDATE_SNAPSHOTS=1 cargo test -p axum-users --test \
                 openapi` and commit it",
                path.display()
            )
        })
        .replace("\r\n", "\n");
    if expected != actual {
        let old: Vec<&str> = expected.lines().collect();
        let new: Vec<&str> = actual.lines().collect();
        let edits = line_diff(&old, &new);
        let changed = edits.iter().filter(|(e, _)| *e != Edit::Same).count();
        panic!(
            "the OpenAPI document differs from {} ({changed} lines changed). If the change is \
             intended, rerun with UPDATE_SNAPSHOTS=1 and commit the file.\n--- {}\n+++ \
             generated\n{}",
            path.display(),
            path.display(),
            unified(&edits, 3)
        );
    }
}

/// One line of a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Same,
    Removed,
    Added,
}

/// The lines of `old` and `new` as a shortest edit script (Myers' algorithm), after the common
/// head and tail; beyond `MAX_EDITS` edits, the differing middle as removed then added.
fn line_diff<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(Edit, &'a str)> {
    const MAX_EDITS: usize = 2000;
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    let middle = myers(a, b, MAX_EDITS).unwrap_or_else(|| {
        a.iter()
            .map(|l| (Edit::Removed, *l))
            .chain(b.iter().map(|l| (Edit::Added, *l)))
            .collect()
    });
    old[..head]
        .iter()
        .map(|l| (Edit::Same, *l))
        .chain(middle)
        .chain(old[old.len() - tail..].iter().map(|l| (Edit::Same, *l)))
        .collect()
}

/// A diff index as a slice index (never negative where it is used).
fn ix(i: isize) -> usize {
    usize::try_from(i).expect("a negative index")
}

/// A slice's length as a diff index.
fn len(lines: &[&str]) -> isize {
    isize::try_from(lines.len()).unwrap()
}

/// Myers' O((N+M)D) diff; `None` when more than `max_d` edits are needed.
fn myers<'a>(a: &[&'a str], b: &[&'a str], max_d: usize) -> Option<Vec<(Edit, &'a str)>> {
    let (n, m) = (len(a), len(b));
    let limit = isize::try_from((a.len() + b.len()).min(max_d)).unwrap();
    let off = limit + 1;
    let at = |k: isize| ix(off + k);
    // v[k]: the furthest x on diagonal k; trace[d]: v on diagonals -d..=d before step d.
    let mut v = vec![0isize; 2 * ix(limit) + 3];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=limit {
        trace.push(v[at(-d)..=at(d)].to_vec());
        for k in (-d..=d).step_by(2) {
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[ix(x)] == b[ix(y)] {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                return Some(backtrack(a, b, &trace, d));
            }
        }
    }
    None
}

/// The edit script of a finished Myers search of `d` steps.
fn backtrack<'a>(
    a: &[&'a str],
    b: &[&'a str],
    trace: &[Vec<isize>],
    d: isize,
) -> Vec<(Edit, &'a str)> {
    let (mut x, mut y) = (len(a), len(b));
    let mut out = Vec::new();
    for d in (0..=d).rev() {
        let v = &trace[ix(d)];
        let get = |k: isize| v[ix(k + d)];
        let k = x - y;
        let prev_k = if k == -d || (k != d && get(k - 1) < get(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = if d == 0 { 0 } else { get(prev_k) };
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            out.push((Edit::Same, a[ix(x - 1)]));
            x -= 1;
            y -= 1;
        }
        if d > 0 {
            if x == prev_x {
                out.push((Edit::Added, b[ix(y - 1)]));
            } else {
                out.push((Edit::Removed, a[ix(x - 1)]));
            }
        }
        x = prev_x;
        y = prev_y;
    }
    out.reverse();
    out
}

/// The changed lines of `edits` with `context` lines around them, in hunks headed
/// `@@ -old_start,old_len +new_start,new_len @@` as `diff -u` writes them.
fn unified(edits: &[(Edit, &str)], context: usize) -> String {
    let changes: Vec<usize> = (0..edits.len())
        .filter(|&i| edits[i].0 != Edit::Same)
        .collect();
    // Hunks: runs of changes less than two contexts apart.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &i in &changes {
        match hunks.last_mut() {
            Some((_, last)) if i - *last <= 2 * context => *last = i,
            _ => hunks.push((i, i)),
        }
    }
    let mut out = String::new();
    for (first, last) in hunks {
        let start = first.saturating_sub(context);
        let end = (last + context + 1).min(edits.len());
        let before = &edits[..start];
        let old_start = before.iter().filter(|(e, _)| *e != Edit::Added).count() + 1;
        let new_start = before.iter().filter(|(e, _)| *e != Edit::Removed).count() + 1;
        let hunk = &edits[start..end];
        let old_len = hunk.iter().filter(|(e, _)| *e != Edit::Added).count();
        let new_len = hunk.iter().filter(|(e, _)| *e != Edit::Removed).count();
        out.push_str(&format!(
            "@@ -{old_start},{old_len} +{new_start},{new_len} @@\n"
        ));
        for (edit, line) in hunk {
            let mark = match edit {
                Edit::Same => ' ',
                Edit::Removed => '-',
                Edit::Added => '+',
            };
            out.push(mark);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_snapshot_diff_shows_every_changed_line() {
    let old: Vec<String> = (1..=40).map(|i| format!("line {i}")).collect();
    let mut new = old.clone();
    new[4] = "line five".to_owned(); // changed
    new.remove(20); // removed "line 21"
    new.insert(30, "inserted".to_owned());
    new.push("appended".to_owned());
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    let edits = line_diff(&old, &new);
    // The script rebuilds both sides.
    let side = |skip: Edit| -> Vec<&str> {
        edits
            .iter()
            .filter(|(e, _)| *e != skip)
            .map(|(_, l)| *l)
            .collect()
    };
    assert_eq!(side(Edit::Added), old);
    assert_eq!(side(Edit::Removed), new);
    let text = unified(&edits, 3);
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with('-') || l.starts_with('+'))
        .collect();
    assert_eq!(
        changed,
        [
            "-line 5",
            "+line five",
            "-line 21",
            "+inserted",
            "+appended"
        ]
    );
    assert!(text.starts_with("@@ -2,7 +2,7 @@\n line 2\n"), "{text}");
    assert_eq!(text.matches("@@ -").count(), 4, "{text}");

    // Nothing in common, and over the edit budget: still every line.
    let a: Vec<String> = (0..3000).map(|i| format!("a{i}")).collect();
    let b: Vec<String> = (0..3000).map(|i| format!("b{i}")).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    let edits = line_diff(&a, &b);
    assert_eq!(edits.len(), 6000);
    assert_eq!(unified(&edits, 3).lines().count(), 6001);
}

// ---------------------------------------------------------------------------------------------
// OAuth routers (not in the default mounting, so not in the snapshot).

/// A login router for Google through the jwt backend, another for GitHub through the cookie
/// backend redirecting to the frontend, and an associate router requiring verified users.
fn oauth_doc() -> Value {
    use axum_users::openapi::OAuthDocOptions;
    let doc = OpenApiBuilder::new("axum-users", "0.1.0")
        .auth("/auth/jwt", "jwt", AuthRouterOptions::default())
        .oauth("/auth/google", "google", "jwt", OAuthDocOptions::bearer())
        .oauth(
            "/auth/github",
            "github",
            "cookie",
            OAuthDocOptions::cookie("fastapiusersauth").frontend_redirect(true),
        )
        .oauth_associate(
            "/auth/associate/google",
            "google",
            OAuthDocOptions::bearer().requires_verification(true),
        )
        .build();
    serde_json::to_value(&doc).unwrap()
}

#[test]
fn oauth_routes_are_documented_with_every_status_and_detail() {
    let doc = oauth_doc();
    let authorize = op(&doc, "/auth/google/authorize", "get");
    assert_eq!(
        authorize["operationId"],
        "oauth_google_jwt_authorize_auth_google_authorize_get"
    );
    assert_eq!(statuses(authorize), set(&["200", "503"]));
    assert_eq!(
        ref_name(&authorize["responses"]["200"]["content"]["application/json"]["schema"]),
        "OAuth2AuthorizeResponse"
    );
    assert!(authorize["responses"]["200"]["headers"]["Set-Cookie"].is_object());
    assert_eq!(authorize["parameters"][0]["name"], "scopes");
    assert!(authorize.get("security").is_none());

    let callback = op(&doc, "/auth/google/callback", "get");
    assert_eq!(
        callback["operationId"],
        "oauth_google_jwt_callback_auth_google_callback_get"
    );
    assert_eq!(statuses(callback), set(&["200", "400", "500", "503"]));
    let details: BTreeSet<String> = examples(callback, "400")
        .into_values()
        .map(|v| v["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        details,
        set(&[
            "ACCESS_TOKEN_DECODE_ERROR",
            "ACCESS_TOKEN_ALREADY_EXPIRED",
            "OAUTH_INVALID_STATE",
            "OAUTH_NOT_AVAILABLE_EMAIL",
            "OAUTH_USER_ALREADY_EXISTS",
            "LOGIN_BAD_CREDENTIALS",
            "Bad Request",
            "access_denied",
        ])
    );
    let github = op(&doc, "/auth/github/callback", "get");
    assert_eq!(statuses(github), set(&["303", "400", "500", "503"]));

    let associate = op(&doc, "/auth/associate/google/authorize", "get");
    assert_eq!(
        associate["operationId"],
        "oauth_associate_google_authorize_auth_associate_google_authorize_get"
    );
    assert_eq!(statuses(associate), set(&["200", "401", "403", "503"]));
    assert!(associate["security"].is_array());
    let associate = op(&doc, "/auth/associate/google/callback", "get");
    assert_eq!(
        statuses(associate),
        set(&["200", "400", "401", "403", "500", "503"])
    );
    assert_eq!(
        ref_name(&associate["responses"]["200"]["content"]["application/json"]["schema"]),
        "UserRead"
    );
    let details: BTreeSet<String> = examples(associate, "400")
        .into_values()
        .map(|v| v["detail"].as_str().unwrap().to_owned())
        .collect();
    assert!(details.contains("OAUTH_USER_ALREADY_EXISTS") && details.contains("Bad Request"));

    assert_valid_openapi(&doc);
    let mut found = Vec::new();
    refs(&doc, &mut found);
    for r in found {
        assert!(doc.pointer(&r[1..]).is_some(), "dangling $ref {r}");
    }
    for path in ["/auth/google/callback", "/auth/associate/google/callback"] {
        let o = op(&doc, path, "get");
        for (status, response) in o["responses"].as_object().unwrap() {
            let Some(content) = response.get("content") else {
                continue;
            };
            let media = &content["application/json"];
            for (key, example) in media["examples"].as_object().into_iter().flatten() {
                let errors = schema_errors(&doc, &media["schema"], &example["value"]);
                assert!(errors.is_empty(), "{path} {status} {key}: {errors:?}");
            }
        }
    }
}
