//! One function per router: the operations it mounts, at the caller's prefix, with every
//! status the contract gives each route.

use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, Required, Response};

use super::components::{self, BEARER_RESPONSE, TOKEN_RESPONSE, USER_CREATE, USER_READ};
use super::responses::{self as r, BadRequest, JSON};
use super::tokens;
use super::{AuthDocOptions, TransportDoc};
use crate::error::ErrorCode;

/// The tag of the auth, register, reset-password, verify and classic routes.
pub(super) const AUTH_TAG: &str = "auth";
/// The tag of the users routes.
pub(super) const USERS_TAG: &str = "users";

/// What every operation needs to know about the whole document.
pub(super) struct Ctx<'a> {
    /// The requirements of a protected operation: any one of the documented schemes.
    pub(super) security: &'a [SecurityRequirement],
    /// Login and register answer 429 (rate limits, lockout).
    pub(super) rate_limits: bool,
    /// Custom user fields are documented (the base `UserRead` example would not match).
    pub(super) custom_fields: bool,
    /// A cookie transport refuses cross-site unsafe requests it authenticated (403).
    pub(super) csrf: bool,
}

/// One operation at one path.
pub(super) struct Route {
    pub(super) path: String,
    pub(super) method: HttpMethod,
    pub(super) operation: Operation,
}

/// The routes of one router, and the component schemas only they use.
#[derive(Default)]
pub(super) struct Routes {
    pub(super) routes: Vec<Route>,
    pub(super) schemas: Vec<(String, utoipa::openapi::Schema)>,
}

/// The 403 of a protected operation: `reason` (when the route has one), and the cookie
/// transport's CSRF check on unsafe methods; `None` when it cannot be refused.
pub(super) fn forbidden(
    reason: Option<&str>,
    unsafe_method: bool,
    ctx: &Ctx<'_>,
) -> Option<Response> {
    let csrf = (ctx.csrf && unsafe_method)
        .then_some("a cookie-authenticated request from another origin (CSRF check)");
    let reasons: Vec<&str> = reason.into_iter().chain(csrf).collect();
    let sentence = reasons.join("; or ");
    let mut chars = sentence.chars();
    let first = chars.next()?;
    Some(r::forbidden(&format!(
        "Forbidden: {}{}.",
        first.to_lowercase(),
        chars.as_str()
    )))
}

/// `prefix` + `path`, as axum's `nest` joins them.
pub(super) fn join(prefix: &str, path: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() || prefix.starts_with('/') {
        format!("{prefix}{path}")
    } else {
        format!("/{prefix}{path}")
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Put => "put",
        HttpMethod::Post => "post",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    }
}

/// FastAPI's `generate_unique_id`: the route name and path with every non-word character as
/// `_`, then the method.
pub(super) fn operation_id(name: &str, path: &str, method: &HttpMethod) -> String {
    let mut id: String = format!("{name}{path}")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    id.push('_');
    id.push_str(method_name(method));
    id
}

/// An operation named as FastAPI Users names its routes (`auth:jwt.login`, `users:user`, …).
pub(super) fn operation(
    name: &str,
    path: &str,
    method: &HttpMethod,
    tag: &str,
    description: &str,
) -> OperationBuilder {
    OperationBuilder::new()
        .tag(tag)
        .summary(Some(components::title(name)))
        .description(Some(description))
        .operation_id(Some(operation_id(name, path, method)))
}

pub(super) fn json_body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .required(Some(Required::True))
        .build()
}

pub(super) fn protected(builder: OperationBuilder, ctx: &Ctx<'_>) -> OperationBuilder {
    builder.securities(Some(ctx.security.iter().cloned()))
}

/// The user of the examples.
pub(super) fn user_example() -> Value {
    json!({
        "id": "5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c",
        "email": "king.arthur@camelot.bt",
        "is_active": true,
        "is_superuser": false,
        "is_verified": false,
    })
}

/// 200/201 with the user.
pub(super) fn user_response(description: &str, ctx: &Ctx<'_>) -> utoipa::openapi::Response {
    let examples = if ctx.custom_fields {
        vec![]
    } else {
        vec![("user", "A user.", user_example())]
    };
    r::json(description, USER_READ, examples)
}

const BAD_EMAIL: &str = "value is not a valid email address: The email address is not valid. It must have exactly one @-sign.";

pub(super) fn bad_email() -> Value {
    let mut item = r::item(
        "value_error",
        json!(["body", "email"]),
        BAD_EMAIL,
        json!("arthur"),
    );
    item["ctx"] =
        json!({ "reason": "The email address is not valid. It must have exactly one @-sign." });
    item
}

pub(super) fn json_invalid() -> r::Example {
    let mut item = r::item(
        "json_invalid",
        json!(["body", 10]),
        "JSON decode error",
        json!({}),
    );
    item["ctx"] = json!({ "error": "expected value at line 1 column 11" });
    (
        "json_invalid",
        "Malformed JSON: `loc` gives the character offset.",
        r::items(vec![item]),
    )
}

/// The 429 of the rate-limited routes, when rate limits are documented.
pub(super) fn rate_limited(
    builder: OperationBuilder,
    ctx: &Ctx<'_>,
    description: &str,
) -> OperationBuilder {
    if ctx.rate_limits {
        builder.response("429", r::too_many_requests(description))
    } else {
        builder
    }
}

const LOGIN_LIMITED: &str = "The account is locked after repeated failed logins, or the client is \
                             over its rate limit; retry after `Retry-After` seconds.";
const REGISTER_LIMITED: &str =
    "The client is over its rate limit; retry after `Retry-After` seconds.";

/// The login operation of the auth and classic routers (everything but the 200/204).
fn login(
    name: &str,
    path: &str,
    codes: &[BadRequest],
    ctx: &Ctx<'_>,
    routes: &mut Routes,
) -> OperationBuilder {
    let form = format!("Body_{}", operation_id(name, path, &HttpMethod::Post));
    let body = RequestBodyBuilder::new()
        .content(
            "application/x-www-form-urlencoded",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(&form)))
                .build(),
        )
        .required(Some(Required::True))
        .build();
    let missing = vec![
        r::item(
            "missing",
            json!(["body", "username"]),
            "Field required",
            Value::Null,
        ),
        r::item(
            "missing",
            json!(["body", "password"]),
            "Field required",
            Value::Null,
        ),
    ];
    let mut pattern = r::item(
        "string_pattern_mismatch",
        json!(["body", "grant_type"]),
        "String should match pattern '^password$'",
        json!("client_credentials"),
    );
    pattern["ctx"] = json!({ "pattern": "^password$" });
    let builder = operation(
        name,
        path,
        &HttpMethod::Post,
        AUTH_TAG,
        "Logs in with the email as `username` and the password, as an OAuth2 password-grant \
         form. An empty value counts as missing; a body that is not a form reads as an empty one.",
    )
    .request_body(Some(body))
    .response("400", r::bad_request(codes))
    .response("413", r::payload_too_large())
    .response(
        "422",
        r::validation_error(vec![
            (
                "missing",
                "Missing or empty username and password (or a JSON body).",
                r::items(missing),
            ),
            (
                "grant_type",
                "A grant_type other than `password`.",
                r::items(vec![pattern]),
            ),
        ]),
    )
    .response("503", r::unavailable(true));
    routes
        .schemas
        .push((form.clone(), components::login_form(&form)));
    rate_limited(builder, ctx, LOGIN_LIMITED)
}

/// `POST {prefix}/login`, `POST {prefix}/logout` of one backend.
pub(super) fn auth(prefix: &str, backend: &str, options: &AuthDocOptions, ctx: &Ctx<'_>) -> Routes {
    let mut routes = Routes::default();
    let login_path = join(prefix, "/login");
    let mut codes = vec![BadRequest::Code(
        ErrorCode::LoginBadCredentials,
        "Bad credentials or the user is inactive.",
    )];
    if options.requires_verification {
        codes.push(BadRequest::Code(
            ErrorCode::LoginUserNotVerified,
            "The user is not verified.",
        ));
    }
    codes.push(BadRequest::UnreadableBody);
    let name = format!("auth:{backend}.login");
    let builder = login(&name, &login_path, &codes, ctx, &mut routes);
    let refresh = options.refresh && matches!(options.transport, TransportDoc::Bearer);
    let builder = match &options.transport {
        TransportDoc::Bearer if refresh => {
            builder.response("200", super::refresh::tokens_response(&mut routes))
        }
        TransportDoc::Bearer => builder.response(
            "200",
            r::json(
                "Successful Response",
                BEARER_RESPONSE,
                vec![(
                    "token",
                    "A bearer token.",
                    json!({
                        "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1YzZjMmQxZS0yYjZhLTRmOGUtOWEzYi0wZDVmMWUyYTNiNGMiLCJhdWQiOlsiZmFzdGFwaS11c2VyczphdXRoIl0sImV4cCI6MTU3MTUwNDE5M30.M10bjOe45I5Ncu_uXvOmVV8QxnL-nZfcH96U90JaocI",
                        "token_type": "bearer",
                    }),
                )],
            ),
        ),
        TransportDoc::Cookie { name } => builder.response(
            "204",
            r::empty_with_cookie(
                "Logged in: the token is in the cookie.",
                &format!("{name}=<token>; HttpOnly; Path=/; SameSite=lax; Secure"),
            ),
        ),
    };
    routes.routes.push(Route {
        path: login_path,
        method: HttpMethod::Post,
        operation: builder.build(),
    });

    let logout_path = join(prefix, "/logout");
    let logged_out = match &options.transport {
        TransportDoc::Bearer => r::empty("Logged out."),
        TransportDoc::Cookie { name } => r::empty_with_cookie(
            "Logged out: the cookie is cleared.",
            &format!("{name}=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure"),
        ),
    };
    let mut builder = protected(
        operation(
            &format!("auth:{backend}.logout"),
            &logout_path,
            &HttpMethod::Post,
            AUTH_TAG,
            if refresh {
                super::refresh::LOGOUT
            } else {
                "Logs out the current user (authenticated by any backend) and destroys the token \
                 where the strategy stores it; a JWT itself stays valid until it expires."
            },
        ),
        ctx,
    )
    .response("204", logged_out)
    .response("401", r::unauthorized());
    let unverified = options
        .requires_verification
        .then_some("the user is not verified");
    if let Some(response) = forbidden(unverified, true, ctx) {
        builder = builder.response("403", response);
    }
    let builder = builder.response("503", r::unavailable(false));
    routes.routes.push(Route {
        path: logout_path,
        method: HttpMethod::Post,
        operation: builder.build(),
    });
    if refresh {
        super::refresh::route(prefix, backend, ctx, &mut routes);
    }
    routes
}

/// The register operation (everything but the success status).
fn register_operation(name: &str, path: &str, ctx: &Ctx<'_>) -> OperationBuilder {
    let missing = vec![
        r::item(
            "missing",
            json!(["body", "email"]),
            "Field required",
            json!({}),
        ),
        r::item(
            "missing",
            json!(["body", "password"]),
            "Field required",
            json!({}),
        ),
    ];
    let builder = operation(
        name,
        path,
        &HttpMethod::Post,
        AUTH_TAG,
        "Registers a user. `id`, `is_active`, `is_superuser`, `is_verified` and unknown keys \
         are ignored; the password policy is checked before the email's uniqueness.",
    )
    .request_body(Some(json_body(USER_CREATE)))
    .response(
        "400",
        r::bad_request(&[
            BadRequest::Password(ErrorCode::RegisterInvalidPassword),
            BadRequest::Code(
                ErrorCode::RegisterUserAlreadyExists,
                "A user with this email already exists (in any case).",
            ),
            BadRequest::UnreadableBody,
        ]),
    )
    .response("413", r::payload_too_large())
    .response(
        "422",
        r::validation_error(vec![
            ("missing", "An empty object.", r::items(missing)),
            (
                "value_error",
                "An invalid email.",
                r::items(vec![bad_email()]),
            ),
            json_invalid(),
        ]),
    )
    .response("503", r::unavailable(true));
    rate_limited(builder, ctx, REGISTER_LIMITED)
}

/// `POST {prefix}/register` → 201.
pub(super) fn register(prefix: &str, ctx: &Ctx<'_>) -> Routes {
    let path = join(prefix, "/register");
    let operation = register_operation("register:register", &path, ctx)
        .response("201", user_response("Created: the new user.", ctx))
        .build();
    Routes {
        routes: vec![Route {
            path,
            method: HttpMethod::Post,
            operation,
        }],
        schemas: vec![],
    }
}

/// The classic profile: `POST {prefix}/register` → 200, `POST {prefix}/login` → 200
/// `{"token"}`, `POST {prefix}/forgot-password` → 202, `POST {prefix}/reset-password` → 200.
/// Operations are named after the 2019 handlers (`register`, `login`, `forgot_password`,
/// `reset_password`), as FastAPI named routes without a `name`.
pub(super) fn classic(prefix: &str, ctx: &Ctx<'_>) -> Routes {
    let mut routes = Routes::default();
    let path = join(prefix, "/register");
    let operation = register_operation("register", &path, ctx)
        .response(
            "200",
            user_response("Successful Response: the new user.", ctx),
        )
        .build();
    routes.routes.push(Route {
        path,
        method: HttpMethod::Post,
        operation,
    });

    let path = join(prefix, "/login");
    let codes = [
        BadRequest::Code(
            ErrorCode::LoginBadCredentials,
            "Bad credentials or the user is inactive.",
        ),
        BadRequest::UnreadableBody,
    ];
    let operation = login("login", &path, &codes, ctx, &mut routes)
        .response(
            "200",
            r::json(
                "Successful Response",
                TOKEN_RESPONSE,
                vec![(
                    "token",
                    "A JWT.",
                    json!({ "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.x" }),
                )],
            ),
        )
        .build();
    routes.routes.push(Route {
        path,
        method: HttpMethod::Post,
        operation,
    });
    tokens::forgot_password(
        "forgot_password",
        &join(prefix, "/forgot-password"),
        ctx,
        &mut routes,
    );
    tokens::reset_password(
        "reset_password",
        &join(prefix, "/reset-password"),
        ctx,
        &mut routes,
    );
    routes
}
