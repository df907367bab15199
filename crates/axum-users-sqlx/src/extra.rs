//! Custom fields as the stores persist them: JSON text in `axum_users_user_extra`.

use axum_users_core::{StoreError, UserExtra};
use uuid::Uuid;

use crate::error::json_error;

/// Reads custom fields; a user without a row (made by FastAPI Users, say) reads as `{}`, so
/// fields with `#[serde(default)]` get their defaults.
pub(crate) fn read_extra<X: UserExtra>(data: Option<&str>) -> Result<X, StoreError> {
    match data {
        Some(json) => serde_json::from_str(json).map_err(json_error),
        None => serde_json::from_str("{}")
            .or_else(|_| serde_json::from_value(serde_json::Value::Null))
            .map_err(json_error),
    }
}

/// Custom fields as stored; `None` when there is nothing to store (`()`).
pub(crate) fn write_extra<X: UserExtra>(extra: &X) -> Result<Option<String>, StoreError> {
    let value = serde_json::to_value(extra).map_err(json_error)?;
    if value.is_null() {
        return Ok(None);
    }
    serde_json::to_string(&value).map(Some).map_err(json_error)
}

/// Parses an id stored as text (`CHAR(36)` on SQLite and MySQL).
pub(crate) fn parse_id(id: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(id).map_err(|e| StoreError::Backend(Box::new(e)))
}

/// A driver error met while reading a row.
pub(crate) fn row_error(e: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}
