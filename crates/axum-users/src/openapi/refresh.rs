//! Refresh tokens in the document ([`AuthDocOptions::refresh_tokens`]): the login answer with
//! `refresh_token` (`BearerRefreshResponse`) and `POST {prefix}/refresh`.
//!
//! [`AuthDocOptions::refresh_tokens`]: super::AuthDocOptions::refresh_tokens

use serde_json::{Value, json};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::{ObjectBuilder, Response, Schema, Type};

use super::components::ERROR_MODEL;
use super::operations::{
    AUTH_TAG, Ctx, Route, Routes, join, json_body, json_invalid, operation, operation_id,
    rate_limited,
};
use super::responses::{self as r, BadRequest};

/// `BearerRefreshResponse`: the bearer login (and refresh) body with refresh tokens on.
pub(super) const BEARER_REFRESH_RESPONSE: &str = "BearerRefreshResponse";

fn string(title: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .title(Some(title))
}

/// `{"access_token", "token_type": "bearer", "refresh_token"}`.
fn bearer_refresh_response() -> Schema {
    ObjectBuilder::new()
        .title(Some(BEARER_REFRESH_RESPONSE))
        .property("access_token", string("Access Token"))
        .property("token_type", string("Token Type").examples(["bearer"]))
        .property(
            "refresh_token",
            string("Refresh Token").description(Some(
                "Opaque, single use: exchange it at `POST …/refresh` for a new access token and \
                 a new refresh token.",
            )),
        )
        .required("access_token")
        .required("token_type")
        .required("refresh_token")
        .into()
}

/// The 200 of login and refresh.
pub(super) fn tokens_response(routes: &mut Routes) -> Response {
    routes.schemas.push((
        BEARER_REFRESH_RESPONSE.to_owned(),
        bearer_refresh_response(),
    ));
    r::json(
        "Successful Response: an access token, and a refresh token for `…/refresh`.",
        BEARER_REFRESH_RESPONSE,
        vec![(
            "tokens",
            "An access token and a refresh token.",
            json!({
                "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1YzZjMmQxZS0yYjZhLTRmOGUtOWEzYi0wZDVmMWUyYTNiNGMiLCJhdWQiOlsiZmFzdGFwaS11c2VyczphdXRoIl0sImV4cCI6MTU3MTUwNDE5M30.M10bjOe45I5Ncu_uXvOmVV8QxnL-nZfcH96U90JaocI",
                "token_type": "bearer",
                "refresh_token": "Ch2Xx0v0nCLpEk3N1yJ8hS2uNq0a7Yd1lFqR6tWm9Zc",
            }),
        )],
    )
}

/// The logout description of a backend with refresh tokens.
pub(super) const LOGOUT: &str = "Logs out the current user (authenticated by any backend): \
    the refresh-token family (session) the access token was issued with is revoked, so none of \
    its refresh tokens works any more. The access token itself stays valid until it expires.";

fn item(kind: &str, msg: &str, input: Value) -> Value {
    r::item(kind, json!(["body", "refresh_token"]), msg, input)
}

/// `POST {prefix}/refresh` of the backend named `backend`.
pub(super) fn route(prefix: &str, backend: &str, ctx: &Ctx<'_>, routes: &mut Routes) {
    let path = join(prefix, "/refresh");
    let name = format!("auth:{backend}.refresh");
    let body = format!("Body_{}", operation_id(&name, &path, &HttpMethod::Post));
    let unauthorized = r::json(
        "The refresh token is rotated, revoked, expired or unknown, or its user is gone, \
         inactive, or unverified where verification is required. Presenting a rotated token \
         again revokes its whole family, its newest token included.",
        ERROR_MODEL,
        vec![(
            "Unauthorized",
            "A bad refresh token.",
            json!({ "detail": "Unauthorized" }),
        )],
    );
    let builder = operation(
        &name,
        &path,
        &HttpMethod::Post,
        AUTH_TAG,
        "Exchanges a refresh token (from login or an earlier refresh) for a new access token and \
         a new refresh token. Each refresh token is single use: the one presented is rotated, \
         and presenting it again (a sign that it was stolen) revokes the whole session. No \
         `Authorization` header is needed. A body that is not a JSON object reports \
         `refresh_token` as missing.",
    )
    .request_body(Some(json_body(&body)))
    .response("200", tokens_response(routes))
    .response("400", r::bad_request(&[BadRequest::UnreadableBody]))
    .response("401", unauthorized)
    .response("413", r::payload_too_large())
    .response(
        "422",
        r::validation_error(vec![
            (
                "missing",
                "No body, or a body that is not a JSON object.",
                r::items(vec![item("missing", "Field required", Value::Null)]),
            ),
            (
                "string_type",
                "A refresh_token that is not a string.",
                r::items(vec![item(
                    "string_type",
                    "Input should be a valid string",
                    json!(42),
                )]),
            ),
            json_invalid(),
        ]),
    )
    .response(
        "503",
        r::unavailable_because(
            "The token or user store is unavailable; retry after `Retry-After` seconds.",
        ),
    );
    let builder = rate_limited(
        builder,
        ctx,
        "The client is over its rate limit; retry after `Retry-After` seconds.",
    );
    let schema = ObjectBuilder::new()
        .schema_type(Type::Object)
        .title(Some(body.clone()))
        .property("refresh_token", string("Refresh Token"))
        .required("refresh_token")
        .into();
    routes.schemas.push((body, schema));
    routes.routes.push(Route {
        path,
        method: HttpMethod::Post,
        operation: builder.build(),
    });
}
