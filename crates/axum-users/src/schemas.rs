//! The JSON shapes of the API: what comes in (parsed with [`crate::validation`]) and what goes
//! out.

use axum_users_core::{User, UserCreate, UserExtra, UserUpdate};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::error::{ApiError, ValidationItem};
use crate::validation::Fields;

/// The user as clients see it: `{"id", "email", "is_active", "is_superuser", "is_verified",
/// ...custom fields}`. Never the password hash.
#[derive(Debug, Serialize)]
pub struct UserRead<'a, X: Serialize> {
    /// Lower-case hyphenated UUID.
    pub id: Uuid,
    /// The stored email.
    pub email: &'a str,
    /// Active flag.
    pub is_active: bool,
    /// Superuser flag.
    pub is_superuser: bool,
    /// Verified flag.
    pub is_verified: bool,
    /// Custom fields, flattened into the object.
    #[serde(flatten)]
    pub extra: &'a X,
}

impl<'a, X: Serialize> UserRead<'a, X> {
    /// The public view of a user.
    #[must_use]
    pub fn from_user(user: &'a User<X>) -> Self {
        Self {
            id: user.id,
            email: &user.email,
            is_active: user.is_active,
            is_superuser: user.is_superuser,
            is_verified: user.is_verified,
            extra: &user.extra,
        }
    }
}

/// The bearer transport's login body.
#[derive(Debug, Serialize)]
pub struct BearerResponse {
    /// The token.
    pub access_token: String,
    /// Always `"bearer"`.
    pub token_type: &'static str,
    /// The refresh token, when refresh tokens are on (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Keys of the base user schema; everything else is a custom field (or ignored).
const BASE_KEYS: [&str; 6] = [
    "id",
    "email",
    "password",
    "is_active",
    "is_superuser",
    "is_verified",
];

fn finish<T>(fields: Fields<'_>, value: Option<T>) -> Result<T, ApiError> {
    match value {
        Some(v) if fields.errors.is_empty() => Ok(v),
        _ => Err(ApiError::Validation(fields.errors)),
    }
}

/// `UserCreate` from a register body. The privileged flags are type-checked, then left for
/// the manager to ignore (public registration) or apply (privileged creation).
pub(crate) fn parse_create<X: UserExtra>(
    obj: &Map<String, Value>,
) -> Result<UserCreate<X>, ApiError> {
    let mut f = Fields::new(obj);
    let email = f.required_email("email");
    let password = f.required_str("password");
    if let Some(p) = password {
        f.check_password("password", p);
    }
    let is_active = f.optional_bool("is_active", true);
    let is_superuser = f.optional_bool("is_superuser", true);
    let is_verified = f.optional_bool("is_verified", true);
    let extra = f.extra::<X>(None, &BASE_KEYS);
    let value = match (email, password, extra) {
        (Some(email), Some(password), Some(extra)) => Some(UserCreate {
            email,
            password: password.to_owned(),
            is_active,
            is_superuser,
            is_verified,
            extra,
        }),
        _ => None,
    };
    finish(f, value)
}

/// `UserUpdate` from a PATCH body: only present keys apply; `{"password": null}` is a no-op;
/// `null` for the email or (when `privileged`) a flag is a 422. On `/me` (`!privileged`) the
/// flags are type-checked and dropped.
pub(crate) fn parse_update<X: UserExtra>(
    obj: &Map<String, Value>,
    current: &X,
    privileged: bool,
) -> Result<UserUpdate<X>, ApiError> {
    let mut f = Fields::new(obj);
    let password = f.optional_str("password", true);
    if let Some(p) = password {
        f.check_password("password", p);
    }
    let email = f.optional_email("email");
    let nullable = !privileged;
    let is_active = f.optional_bool("is_active", nullable);
    let is_superuser = f.optional_bool("is_superuser", nullable);
    let is_verified = f.optional_bool("is_verified", nullable);
    let has_extra = obj.keys().any(|k| !BASE_KEYS.contains(&k.as_str()));
    let extra = if has_extra {
        let base = serde_json::to_value(current).ok();
        f.extra::<X>(base, &BASE_KEYS).map(Some)
    } else {
        Some(None)
    };
    let value = extra.map(|extra| UserUpdate {
        email,
        password: password.map(str::to_owned),
        is_active: if privileged { is_active } else { None },
        is_superuser: if privileged { is_superuser } else { None },
        is_verified: if privileged { is_verified } else { None },
        extra,
    });
    finish(f, value)
}

/// FastAPI's `OAuth2PasswordRequestForm`.
#[derive(Debug)]
pub(crate) struct LoginForm {
    pub(crate) username: String,
    pub(crate) password: String,
}

/// Reads the login form: `username` and `password` required and non-empty (FastAPI treats an
/// empty form value as missing); `grant_type`, when given, must be `password`.
pub(crate) fn parse_login(pairs: Vec<(String, String)>) -> Result<LoginForm, ApiError> {
    let mut form: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        form.insert(k, Value::String(v));
    }
    // Empty values count as absent.
    form.retain(|_, v| v.as_str().is_some_and(|s| !s.is_empty()));
    let mut errors = Vec::new();
    let mut take = |name: &str| match form.get(name).and_then(Value::as_str) {
        Some(s) => Some(s.to_owned()),
        None => {
            errors.push(ValidationItem::missing(name, Value::Null));
            None
        }
    };
    let username = take("username");
    let password = take("password");
    if let Some(p) = &password
        && p.chars().count() > crate::validation::MAX_PASSWORD_CHARS
    {
        {
            errors.push(
                ValidationItem::at_field(
                    "string_too_long",
                    "password",
                    format!(
                        "String should have at most {} characters",
                        crate::validation::MAX_PASSWORD_CHARS
                    ),
                    json!("[redacted]"),
                )
                .with_ctx(json!({ "max_length": crate::validation::MAX_PASSWORD_CHARS })),
            );
        }
    }
    if let Some(g) = form.get("grant_type").and_then(Value::as_str)
        && g != "password"
    {
        {
            errors.push(
                ValidationItem::at_field(
                    "string_pattern_mismatch",
                    "grant_type",
                    "String should match pattern '^password$'",
                    json!(g),
                )
                .with_ctx(json!({ "pattern": "^password$" })),
            );
        }
    }
    match (username, password) {
        (Some(username), Some(password)) if errors.is_empty() => {
            Ok(LoginForm { username, password })
        }
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Parses an id as Python's `uuid.UUID(str)` does: braces, `urn:uuid:` and hyphens anywhere
/// are tolerated, 32 hex digits in either case are required.
///
/// ```
/// # use axum_users::parse_user_id;
/// let id = parse_user_id("{5C6C2D1E-2B6A-4F8E-9A3B-0D5F1E2A3B4C}").unwrap();
/// assert_eq!(id.to_string(), "5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c");
/// assert_eq!(parse_user_id("5c6c2d1e2b6a4f8e9a3b0d5f1e2a3b4c"), Some(id));
/// assert_eq!(parse_user_id("42"), None);
/// ```
#[must_use]
pub fn parse_user_id(s: &str) -> Option<Uuid> {
    let s = s.replace("urn:", "").replace("uuid:", "");
    let hex: String = s
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|&c| c != '-')
        .collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::parse_str(&hex).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_read_flattens_custom_fields_and_omits_the_hash() {
        #[derive(Clone, Debug, Serialize, serde::Deserialize)]
        struct P {
            first_name: String,
        }
        let u = User {
            id: Uuid::nil(),
            email: "a@b.co".into(),
            hashed_password: "secret".into(),
            is_active: true,
            is_superuser: false,
            is_verified: false,
            extra: P {
                first_name: "Arthur".into(),
            },
        };
        let v = serde_json::to_value(UserRead::from_user(&u)).unwrap();
        assert_eq!(v["first_name"], "Arthur");
        assert!(v.get("hashed_password").is_none());
        let unit = User {
            id: u.id,
            email: u.email.clone(),
            hashed_password: u.hashed_password.clone(),
            is_active: u.is_active,
            is_superuser: u.is_superuser,
            is_verified: u.is_verified,
            extra: (),
        };
        let v = serde_json::to_value(UserRead::from_user(&unit)).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 5);
    }
}
