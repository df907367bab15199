//! The operations of the token routers: reset-password (`POST {prefix}/forgot-password`,
//! `POST {prefix}/reset-password`) and verify (`POST {prefix}/request-verify-token`,
//! `POST {prefix}/verify`). The classic profile mounts the first two as well.

use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, OperationBuilder};

use super::components::{self, USER_READ};
use super::operations::{
    AUTH_TAG, Ctx, Route, Routes, bad_email, join, json_body, json_invalid, operation,
    operation_id, rate_limited, user_example,
};
use super::responses::{self as r, BadRequest};
use crate::error::ErrorCode;

/// The 429 of forgot-password and request-verify-token.
const EMAIL_LIMITED: &str = "The client is over its rate limit; retry after `Retry-After` \
                             seconds. (Past the per-account limit the route keeps answering 202 \
                             and sends nothing.)";

/// The 429 of reset-password and verify (per client IP only).
const TOKEN_LIMITED: &str = "The client is over its rate limit; retry after `Retry-After` seconds.";

/// The 503 of the routes that answer before any work.
const ANSWERS_FIRST: &str = "The service is unavailable; retry after `Retry-After` seconds. \
                             (The route answers 202 before any lookup, so a user-store outage \
                             does not surface here.)";

/// FastAPI's name for the body of the operation `name` at `path`: `Body_<operationId>`.
fn body_name(name: &str, path: &str) -> String {
    format!("Body_{}", operation_id(name, path, &HttpMethod::Post))
}

/// A `missing` item at `body.<field>`.
fn missing(field: &str, input: Value) -> Value {
    r::item("missing", json!(["body", field]), "Field required", input)
}

/// Adds the operation built by `builder` at `path`.
fn push(routes: &mut Routes, path: &str, builder: OperationBuilder) {
    routes.routes.push(Route {
        path: path.to_owned(),
        method: HttpMethod::Post,
        operation: builder.build(),
    });
}

/// A route whose body is the embedded `{"email"}` and that answers 202 `null` before any work
/// (forgot-password, request-verify-token).
fn email_route(
    name: &str,
    path: &str,
    description: &str,
    ctx: &Ctx<'_>,
    routes: &mut Routes,
) -> OperationBuilder {
    let body = body_name(name, path);
    let builder = operation(name, path, &HttpMethod::Post, AUTH_TAG, description)
        .request_body(Some(json_body(&body)))
        .response(
            "202",
            r::null("Accepted: the same answer whether or not the address is known."),
        )
        .response("400", r::bad_request(&[BadRequest::UnreadableBody]))
        .response("413", r::payload_too_large())
        .response(
            "422",
            r::validation_error(vec![
                (
                    "value_error",
                    "An invalid email.",
                    r::items(vec![bad_email()]),
                ),
                (
                    "missing",
                    "No body, or a body that is not a JSON object.",
                    r::items(vec![missing("email", Value::Null)]),
                ),
                json_invalid(),
            ]),
        )
        .response("503", r::unavailable_because(ANSWERS_FIRST));
    routes
        .schemas
        .push((body.clone(), components::email_body(&body)));
    rate_limited(builder, ctx, EMAIL_LIMITED)
}

/// `POST {path}` of forgot-password, named `name` (`reset:forgot_password`, or the classic
/// `forgot_password`).
pub(super) fn forgot_password(name: &str, path: &str, ctx: &Ctx<'_>, routes: &mut Routes) {
    let builder = email_route(
        name,
        path,
        "Starts a password reset. When the email belongs to an active user, a reset token is \
         minted and handed to the `on_after_forgot_password` hook (the server emails a link). \
         The answer, 202 `null`, comes before any lookup, so neither it nor its timing tells \
         whether the address is known. A body that is not a JSON object reports `email` as \
         missing.",
        ctx,
        routes,
    );
    push(routes, path, builder);
}

/// `POST {path}` of reset-password, named `name` (`reset:reset_password`, or the classic
/// `reset_password`).
pub(super) fn reset_password(name: &str, path: &str, ctx: &Ctx<'_>, routes: &mut Routes) {
    let body = body_name(name, path);
    let builder = operation(
        name,
        path,
        &HttpMethod::Post,
        AUTH_TAG,
        "Sets a new password with a token from forgot-password. The token is single use: it is \
         bound to the current password, so any password change invalidates it; a password the \
         policy refuses leaves it usable. The user's stored sessions are revoked.",
    )
    .request_body(Some(json_body(&body)))
    .response(
        "200",
        r::null("Successful Response: the password is changed."),
    )
    .response(
        "400",
        r::bad_request(&[
            BadRequest::Code(
                ErrorCode::ResetPasswordBadToken,
                "The token is invalid, expired or already used, or its user is gone or \
                 inactive.",
            ),
            BadRequest::Password(ErrorCode::ResetPasswordInvalidPassword),
            BadRequest::UnreadableBody,
        ]),
    )
    .response("413", r::payload_too_large())
    .response(
        "422",
        r::validation_error(vec![
            (
                "missing",
                "An empty object.",
                r::items(vec![
                    missing("token", json!({})),
                    missing("password", json!({})),
                ]),
            ),
            json_invalid(),
        ]),
    )
    .response("503", r::unavailable(true));
    routes
        .schemas
        .push((body.clone(), components::reset_body(&body)));
    push(routes, path, rate_limited(builder, ctx, TOKEN_LIMITED));
}

/// `POST {prefix}/forgot-password` → 202, `POST {prefix}/reset-password` → 200.
pub(super) fn reset(prefix: &str, ctx: &Ctx<'_>) -> Routes {
    let mut routes = Routes::default();
    forgot_password(
        "reset:forgot_password",
        &join(prefix, "/forgot-password"),
        ctx,
        &mut routes,
    );
    reset_password(
        "reset:reset_password",
        &join(prefix, "/reset-password"),
        ctx,
        &mut routes,
    );
    routes
}

/// `POST {prefix}/request-verify-token` → 202, `POST {prefix}/verify` → 200 with the user.
pub(super) fn verify(prefix: &str, ctx: &Ctx<'_>) -> Routes {
    let mut routes = Routes::default();
    let path = join(prefix, "/request-verify-token");
    let builder = email_route(
        "verify:request-token",
        &path,
        "Requests a verification token. When the email belongs to an active, unverified user, \
         a token is minted and handed to the `on_after_request_verify` hook (the server emails \
         a link). The answer, 202 `null`, comes before any lookup, known address or not. A body \
         that is not a JSON object reports `email` as missing.",
        ctx,
        &mut routes,
    );
    push(&mut routes, &path, builder);

    let path = join(prefix, "/verify");
    let name = "verify:verify";
    let body = body_name(name, &path);
    let examples = if ctx.custom_fields {
        vec![]
    } else {
        let mut user = user_example();
        user["is_verified"] = json!(true);
        vec![("user", "The verified user.", user)]
    };
    let builder = operation(
        name,
        &path,
        &HttpMethod::Post,
        AUTH_TAG,
        "Verifies a user with a token from request-verify-token and answers the user, now with \
         `is_verified: true`. A body that is not a JSON object reports `token` as missing; an \
         empty token is a bad token.",
    )
    .request_body(Some(json_body(&body)))
    .response(
        "200",
        r::json(
            "Successful Response: the verified user.",
            USER_READ,
            examples,
        ),
    )
    .response(
        "400",
        r::bad_request(&[
            BadRequest::Code(
                ErrorCode::VerifyUserBadToken,
                "The token is invalid or expired, or no longer matches the user's email.",
            ),
            BadRequest::Code(
                ErrorCode::VerifyUserAlreadyVerified,
                "The user is already verified.",
            ),
            BadRequest::UnreadableBody,
        ]),
    )
    .response("413", r::payload_too_large())
    .response(
        "422",
        r::validation_error(vec![
            (
                "missing",
                "No body, or a body that is not a JSON object.",
                r::items(vec![missing("token", Value::Null)]),
            ),
            json_invalid(),
        ]),
    )
    .response("503", r::unavailable(false));
    routes
        .schemas
        .push((body.clone(), components::token_body(&body)));
    push(
        &mut routes,
        &path,
        rate_limited(builder, ctx, TOKEN_LIMITED),
    );
    routes
}
