//! The responses the routes share: every error status of the contract with its body schema,
//! named examples of the exact `detail` values and, for 429/503, the `Retry-After` header.

use serde_json::{Map, Value, json};
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::{
    ContentBuilder, Object, ObjectBuilder, Ref, RefOr, Response, ResponseBuilder, Type,
};

use super::components::{ERROR_MODEL, HTTP_VALIDATION_ERROR};
use crate::error::ErrorCode;

/// The media type of every body the routes send.
pub(super) const JSON: &str = "application/json";

/// A named example: `(key, summary, value)`.
pub(super) type Example = (&'static str, &'static str, Value);

/// A response whose JSON body is the component `schema`, with named examples.
pub(super) fn json(description: &str, schema: &str, examples: Vec<Example>) -> Response {
    let mut content = ContentBuilder::new().schema(Some(Ref::from_schema_name(schema)));
    if !examples.is_empty() {
        content = content.examples_from_iter(examples.into_iter().map(|(key, summary, value)| {
            (
                key,
                ExampleBuilder::new()
                    .summary(summary)
                    .value(Some(value))
                    .build(),
            )
        }));
    }
    ResponseBuilder::new()
        .description(description)
        .content(JSON, content.build())
        .build()
}

/// A response whose body is the JSON literal `null` (the 202 of forgot-password and
/// request-verify-token, the 200 of reset-password).
pub(super) fn null(description: &str) -> Response {
    let content = ContentBuilder::new()
        .schema(Some(Object::with_type(Type::Null)))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content(JSON, content)
        .build()
}

/// A response without a body (204).
pub(super) fn empty(description: &str) -> Response {
    ResponseBuilder::new().description(description).build()
}

/// A response without a body that sets a cookie (the cookie transport's 204s).
pub(super) fn empty_with_cookie(description: &str, example: &str) -> Response {
    let header = HeaderBuilder::new()
        .schema(Some(Object::with_type(Type::String)))
        .description(Some(
            "The session cookie (`HttpOnly`, `Secure`, `SameSite=lax`, `Path=/`).",
        ))
        .example(Some(json!(example)))
        .build();
    ResponseBuilder::new()
        .description(description)
        .header("Set-Cookie", header)
        .build()
}

/// `{"detail": <value>}`.
fn detail(value: Value) -> Value {
    Value::Object(Map::from_iter([("detail".to_owned(), value)]))
}

/// What a 400 can say on a route.
#[derive(Debug, Clone, Copy)]
pub(super) enum BadRequest {
    /// `{"detail": "<CODE>"}`.
    Code(ErrorCode, &'static str),
    /// `{"detail": {"code": "<CODE>", "reason": "…"}}` (the `*_INVALID_PASSWORD` codes).
    Password(ErrorCode),
    /// A body that cannot be read at all (FastAPI's own message).
    UnreadableBody,
}

/// The example of a refused password; the reason is the password policy's.
const PASSWORD_REASON: &str = "Password should be at least 8 characters";

/// 400 `ErrorModel`, one named example per possible `detail`.
pub(super) fn bad_request(cases: &[BadRequest]) -> Response {
    let examples = cases
        .iter()
        .map(|case| match *case {
            BadRequest::Code(code, summary) => {
                (code.as_str(), summary, detail(json!(code.as_str())))
            }
            BadRequest::Password(code) => (
                code.as_str(),
                "The password policy refused the password.",
                detail(json!({ "code": code.as_str(), "reason": PASSWORD_REASON })),
            ),
            BadRequest::UnreadableBody => (
                "BODY_UNREADABLE",
                "The body could not be read (for JSON, bytes that are not UTF-8).",
                detail(json!("There was an error parsing the body")),
            ),
        })
        .collect();
    json("Bad Request", ERROR_MODEL, examples)
}

/// 401 `{"detail": "Unauthorized"}`.
pub(super) fn unauthorized() -> Response {
    json(
        "Missing, invalid or expired token, or inactive user.",
        ERROR_MODEL,
        vec![(
            "Unauthorized",
            "Not authenticated.",
            detail(json!("Unauthorized")),
        )],
    )
}

/// 403 `{"detail": "Forbidden"}`.
pub(super) fn forbidden(description: &str) -> Response {
    json(
        description,
        ERROR_MODEL,
        vec![("Forbidden", "Not allowed.", detail(json!("Forbidden")))],
    )
}

/// 404 `{"detail": "Not Found"}`.
pub(super) fn not_found() -> Response {
    json(
        "The user does not exist, or the id is not a UUID.",
        ERROR_MODEL,
        vec![("Not Found", "No such user.", detail(json!("Not Found")))],
    )
}

/// 413 for a body over [`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES).
pub(super) fn payload_too_large() -> Response {
    json(
        "The request body is larger than 64 KiB.",
        ERROR_MODEL,
        vec![(
            "Request body too large",
            "Body over 64 KiB.",
            detail(json!("Request body too large")),
        )],
    )
}

/// 422 `HTTPValidationError`, with examples of the route's usual failures.
pub(super) fn validation_error(examples: Vec<Example>) -> Response {
    json("Validation Error", HTTP_VALIDATION_ERROR, examples)
}

/// One 422 item, in pydantic's shape.
pub(super) fn item(kind: &str, loc: Value, msg: &str, input: Value) -> Value {
    Value::Object(Map::from_iter([
        ("type".to_owned(), json!(kind)),
        ("loc".to_owned(), loc),
        ("msg".to_owned(), json!(msg)),
        ("input".to_owned(), input),
    ]))
}

/// A 422 body of `items`.
pub(super) fn items(items: Vec<Value>) -> Value {
    detail(Value::Array(items))
}

/// The `Retry-After` header of 429 and 503.
fn retry_after() -> RefOr<utoipa::openapi::Header> {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some("Seconds to wait before retrying."))
        .example(Some(json!(1)))
        .build()
        .into()
}

fn with_retry_after(response: Response) -> Response {
    let mut response = response;
    response
        .headers
        .insert("Retry-After".to_owned(), retry_after());
    response
}

/// 503 with `Retry-After`: the hashing queue is full (when `hashes`) or the store is away.
pub(super) fn unavailable(hashes: bool) -> Response {
    unavailable_because(if hashes {
        "The password-hashing queue is full, or the user store is unavailable; retry after \
         `Retry-After` seconds."
    } else {
        "The user store is unavailable; retry after `Retry-After` seconds."
    })
}

/// 503 with `Retry-After`, for the reason `description` gives.
pub(super) fn unavailable_because(description: &str) -> Response {
    with_retry_after(json(
        description,
        ERROR_MODEL,
        vec![(
            "Service Unavailable",
            "Retry later.",
            detail(json!("Service Unavailable")),
        )],
    ))
}

/// 429 with `Retry-After`: a rate limit or an account lockout.
pub(super) fn too_many_requests(description: &str) -> Response {
    with_retry_after(json(
        description,
        ERROR_MODEL,
        vec![(
            "Too Many Requests",
            "Rate limited.",
            detail(json!("Too Many Requests")),
        )],
    ))
}
