//! The one place where errors become HTTP: [`ErrorCode`] (FastAPI Users' 15 codes),
//! [`ApiError`] and the single table [`to_api`] from domain errors to the contract.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_users_core::oauth::{OAuthError, OAuthStateError};
use axum_users_core::{BoxError, ManagerError, StrategyError};
use serde::Serialize;
use serde_json::{Value, json};

/// FastAPI Users' `ErrorCode`, spelled identically on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ErrorCode {
    RegisterInvalidPassword,
    RegisterUserAlreadyExists,
    OauthNotAvailableEmail,
    OauthUserAlreadyExists,
    OauthInvalidState,
    LoginBadCredentials,
    LoginUserNotVerified,
    ResetPasswordBadToken,
    ResetPasswordInvalidPassword,
    VerifyUserBadToken,
    VerifyUserAlreadyVerified,
    UpdateUserEmailAlreadyExists,
    UpdateUserInvalidPassword,
    AccessTokenAlreadyExpired,
    AccessTokenDecodeError,
}

impl ErrorCode {
    /// Every code, in the reference's order.
    pub const ALL: [Self; 15] = [
        Self::RegisterInvalidPassword,
        Self::RegisterUserAlreadyExists,
        Self::OauthNotAvailableEmail,
        Self::OauthUserAlreadyExists,
        Self::OauthInvalidState,
        Self::LoginBadCredentials,
        Self::LoginUserNotVerified,
        Self::ResetPasswordBadToken,
        Self::ResetPasswordInvalidPassword,
        Self::VerifyUserBadToken,
        Self::VerifyUserAlreadyVerified,
        Self::UpdateUserEmailAlreadyExists,
        Self::UpdateUserInvalidPassword,
        Self::AccessTokenAlreadyExpired,
        Self::AccessTokenDecodeError,
    ];

    /// The wire spelling.
    ///
    /// ```
    /// assert_eq!(axum_users::ErrorCode::LoginBadCredentials.as_str(), "LOGIN_BAD_CREDENTIALS");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegisterInvalidPassword => "REGISTER_INVALID_PASSWORD",
            Self::RegisterUserAlreadyExists => "REGISTER_USER_ALREADY_EXISTS",
            Self::OauthNotAvailableEmail => "OAUTH_NOT_AVAILABLE_EMAIL",
            Self::OauthUserAlreadyExists => "OAUTH_USER_ALREADY_EXISTS",
            Self::OauthInvalidState => "OAUTH_INVALID_STATE",
            Self::LoginBadCredentials => "LOGIN_BAD_CREDENTIALS",
            Self::LoginUserNotVerified => "LOGIN_USER_NOT_VERIFIED",
            Self::ResetPasswordBadToken => "RESET_PASSWORD_BAD_TOKEN",
            Self::ResetPasswordInvalidPassword => "RESET_PASSWORD_INVALID_PASSWORD",
            Self::VerifyUserBadToken => "VERIFY_USER_BAD_TOKEN",
            Self::VerifyUserAlreadyVerified => "VERIFY_USER_ALREADY_VERIFIED",
            Self::UpdateUserEmailAlreadyExists => "UPDATE_USER_EMAIL_ALREADY_EXISTS",
            Self::UpdateUserInvalidPassword => "UPDATE_USER_INVALID_PASSWORD",
            Self::AccessTokenAlreadyExpired => "ACCESS_TOKEN_ALREADY_EXPIRED",
            Self::AccessTokenDecodeError => "ACCESS_TOKEN_DECODE_ERROR",
        }
    }
}

/// One item of a 422 body, in FastAPI/pydantic's shape.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValidationItem {
    /// pydantic's error type (`missing`, `string_type`, `json_invalid`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Where: `["body", "email"]`, `["body", 12]` for a JSON syntax error at byte 12.
    pub loc: Vec<Value>,
    /// A sentence for humans.
    pub msg: String,
    /// The offending input.
    pub input: Value,
    /// Extra facts (`{"reason": …}` for emails, `{"max_length": …}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

impl ValidationItem {
    /// An item at `body.<field>`.
    #[must_use]
    pub fn at_field(kind: &'static str, field: &str, msg: impl Into<String>, input: Value) -> Self {
        Self {
            kind,
            loc: vec![json!("body"), json!(field)],
            msg: msg.into(),
            input,
            ctx: None,
        }
    }

    /// A `missing` item at `body.<field>`.
    #[must_use]
    pub fn missing(field: &str, input: Value) -> Self {
        Self::at_field("missing", field, "Field required", input)
    }

    /// Adds a `ctx`.
    #[must_use]
    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }
}

/// An error as the client sees it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 `{"detail": "<CODE>"}`.
    Code(ErrorCode),
    /// 400 `{"detail": {"code": "<CODE>", "reason": "…"}}`.
    InvalidPassword {
        /// One of the three `*_INVALID_PASSWORD` codes.
        code: ErrorCode,
        /// The policy's reason.
        reason: String,
    },
    /// 400 with a plain detail (FastAPI's own messages, e.g. an unparseable body).
    BadRequest(&'static str),
    /// 400 `{"detail": "<error>"}`: the `error` an OAuth provider sent back to the callback
    /// (`access_denied`, …), passed on as FastAPI Users does.
    OAuthCallbackError(String),
    /// 401 `{"detail": "Unauthorized"}`, without `WWW-Authenticate`.
    Unauthorized,
    /// 403 `{"detail": "Forbidden"}`.
    Forbidden,
    /// 404 `{"detail": "Not Found"}`.
    NotFound,
    /// 413 `{"detail": "Request body too large"}`.
    PayloadTooLarge,
    /// 422 `{"detail": [items]}`.
    Validation(Vec<ValidationItem>),
    /// 429 `{"detail": "Too Many Requests"}` with `Retry-After`: a rate limit or an account
    /// lockout ([`crate::limits`]).
    TooManyRequests {
        /// Seconds to wait.
        retry_after: u32,
    },
    /// 503 with `Retry-After`: the hashing pool or a backend is saturated or away.
    Unavailable {
        /// Seconds to wait.
        retry_after: u32,
    },
    /// 500; the cause is logged, never sent.
    Internal(BoxError),
}

fn detail(status: StatusCode, detail: Value) -> Response {
    let mut body = serde_json::Map::with_capacity(1);
    body.insert("detail".to_owned(), detail);
    (status, axum::Json(Value::Object(body))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Code(code) => detail(StatusCode::BAD_REQUEST, json!(code.as_str())),
            Self::InvalidPassword { code, reason } => detail(
                StatusCode::BAD_REQUEST,
                json!({ "code": code.as_str(), "reason": reason }),
            ),
            Self::BadRequest(msg) => detail(StatusCode::BAD_REQUEST, json!(msg)),
            Self::OAuthCallbackError(error) => detail(StatusCode::BAD_REQUEST, json!(error)),
            Self::Unauthorized => detail(StatusCode::UNAUTHORIZED, json!("Unauthorized")),
            Self::Forbidden => detail(StatusCode::FORBIDDEN, json!("Forbidden")),
            Self::NotFound => detail(StatusCode::NOT_FOUND, json!("Not Found")),
            Self::PayloadTooLarge => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!("Request body too large"),
            ),
            Self::Validation(items) => detail(StatusCode::UNPROCESSABLE_ENTITY, json!(items)),
            Self::TooManyRequests { retry_after } => {
                let mut r = detail(StatusCode::TOO_MANY_REQUESTS, json!("Too Many Requests"));
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                r
            }
            Self::Unavailable { retry_after } => {
                let mut r = detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!("Service Unavailable"),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                r
            }
            Self::Internal(error) => {
                tracing::error!(error = %error, source = ?error.source(), "internal error");
                detail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!("Internal Server Error"),
                )
            }
        }
    }
}

/// The operation an error arose in: the same domain error means different codes on
/// different routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `POST /register`.
    Register,
    /// `POST /login`.
    Login,
    /// `PATCH /users/me`, `PATCH /users/{id}`.
    Update,
    /// `GET`/`DELETE /users/{id}` and other lookups.
    Lookup,
    /// Anything authenticated by a token.
    Authenticate,
    /// `POST /reset-password`.
    ResetPassword,
    /// `POST /verify`.
    Verify,
    /// `GET /auth/{provider}/callback`.
    OAuthCallback,
    /// `GET /auth/associate/{provider}/callback`.
    OAuthAssociate,
}

/// The whole contract for domain errors, in one table.
#[must_use]
pub fn to_api(op: Op, e: ManagerError) -> ApiError {
    use ManagerError as M;
    match (op, e) {
        (Op::Register, M::UserAlreadyExists) => {
            ApiError::Code(ErrorCode::RegisterUserAlreadyExists)
        }
        (Op::Register, M::InvalidPassword { reason }) => ApiError::InvalidPassword {
            code: ErrorCode::RegisterInvalidPassword,
            reason,
        },
        (Op::Update, M::UserAlreadyExists) => {
            ApiError::Code(ErrorCode::UpdateUserEmailAlreadyExists)
        }
        (Op::Update, M::InvalidPassword { reason }) => ApiError::InvalidPassword {
            code: ErrorCode::UpdateUserInvalidPassword,
            reason,
        },
        (Op::Login, M::UserNotExists | M::UserInactive) => {
            ApiError::Code(ErrorCode::LoginBadCredentials)
        }
        (Op::Update | Op::Lookup, M::UserNotExists | M::InvalidId) => ApiError::NotFound,
        (
            Op::ResetPassword,
            M::InvalidResetPasswordToken | M::UserNotExists | M::UserInactive | M::InvalidId,
        ) => ApiError::Code(ErrorCode::ResetPasswordBadToken),
        (Op::ResetPassword, M::InvalidPassword { reason }) => ApiError::InvalidPassword {
            code: ErrorCode::ResetPasswordInvalidPassword,
            reason,
        },
        (Op::Verify, M::InvalidVerifyToken | M::UserNotExists | M::InvalidId) => {
            ApiError::Code(ErrorCode::VerifyUserBadToken)
        }
        (Op::Verify, M::UserAlreadyVerified) => {
            ApiError::Code(ErrorCode::VerifyUserAlreadyVerified)
        }
        (Op::Authenticate, M::UserNotExists | M::UserInactive) => ApiError::Unauthorized,
        (_, M::OAuthState(OAuthStateError::Decode)) => {
            ApiError::Code(ErrorCode::AccessTokenDecodeError)
        }
        (_, M::OAuthState(OAuthStateError::Expired)) => {
            ApiError::Code(ErrorCode::AccessTokenAlreadyExpired)
        }
        (_, M::OAuthState(_) | M::OAuthProvider(OAuthError::InvalidNonce)) => {
            ApiError::Code(ErrorCode::OauthInvalidState)
        }
        (_, M::OAuthNotAvailableEmail) => ApiError::Code(ErrorCode::OauthNotAvailableEmail),
        (Op::OAuthCallback | Op::OAuthAssociate, M::UserAlreadyExists)
        | (_, M::OAuthAccountAlreadyLinked) => ApiError::Code(ErrorCode::OauthUserAlreadyExists),
        (Op::OAuthCallback, M::UserInactive) => ApiError::Code(ErrorCode::LoginBadCredentials),
        (Op::OAuthAssociate, M::UserNotExists | M::UserInactive) => ApiError::Unauthorized,
        (_, M::OAuthProvider(OAuthError::Unavailable(e))) => {
            tracing::error!(error = %e, "OAuth provider unavailable");
            ApiError::Unavailable { retry_after: 1 }
        }
        (_, M::Busy) => ApiError::Unavailable { retry_after: 1 },
        (_, M::Store(e)) => store_unavailable(&e),
        (_, M::Strategy(StrategyError::Store(e))) => store_unavailable(&e),
        (_, M::Strategy(StrategyError::Backend(e))) => store_unavailable(&*e),
        (_, other) => ApiError::Internal(Box::new(other)),
    }
}

/// A store that fails is, from the client's side, a service that is away for a moment.
fn store_unavailable(error: &(dyn std::error::Error + 'static)) -> ApiError {
    tracing::error!(error = %error, source = ?error.source(), "store unavailable");
    ApiError::Unavailable { retry_after: 1 }
}

impl From<StrategyError> for ApiError {
    fn from(e: StrategyError) -> Self {
        to_api(Op::Authenticate, ManagerError::Strategy(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifteen_codes_are_spelled_as_the_reference() {
        let spelled: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            spelled,
            [
                "REGISTER_INVALID_PASSWORD",
                "REGISTER_USER_ALREADY_EXISTS",
                "OAUTH_NOT_AVAILABLE_EMAIL",
                "OAUTH_USER_ALREADY_EXISTS",
                "OAUTH_INVALID_STATE",
                "LOGIN_BAD_CREDENTIALS",
                "LOGIN_USER_NOT_VERIFIED",
                "RESET_PASSWORD_BAD_TOKEN",
                "RESET_PASSWORD_INVALID_PASSWORD",
                "VERIFY_USER_BAD_TOKEN",
                "VERIFY_USER_ALREADY_VERIFIED",
                "UPDATE_USER_EMAIL_ALREADY_EXISTS",
                "UPDATE_USER_INVALID_PASSWORD",
                "ACCESS_TOKEN_ALREADY_EXPIRED",
                "ACCESS_TOKEN_DECODE_ERROR",
            ]
        );
        for c in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
        }
    }
}
