//! Field-by-field validation of JSON objects, reporting every failing field at once with
//! pydantic's error types and messages.

use axum_users_core::email;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::body::Body;
use crate::error::{ApiError, ValidationItem};

/// Longest password accepted, in characters: bounded hashing work per request.
pub const MAX_PASSWORD_CHARS: usize = 4096;

/// The object behind a JSON body, or the 422 FastAPI gives for a body that is not one.
pub(crate) fn object(body: Body) -> Result<Map<String, Value>, ApiError> {
    match body {
        Body::Json(Value::Object(map)) => Ok(map),
        // FastAPI reads a JSON `null` body as no body at all.
        Body::Missing | Body::Json(Value::Null) => {
            Err(ApiError::Validation(vec![ValidationItem {
                kind: "missing",
                loc: vec![json!("body")],
                msg: "Field required".to_owned(),
                input: Value::Null,
                ctx: None,
            }]))
        }
        Body::Json(other) => Err(not_an_object(other)),
        Body::Other(text) => Err(not_an_object(Value::String(text))),
    }
}

/// The object behind a body of embedded fields (FastAPI's `Body(embed=True)`): a body that
/// is missing or not an object reports each field as missing.
pub(crate) fn embedded(body: Body, names: &[&str]) -> Result<Map<String, Value>, ApiError> {
    match body {
        Body::Json(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::Validation(
            names
                .iter()
                .map(|n| ValidationItem::missing(n, Value::Null))
                .collect(),
        )),
    }
}

fn not_an_object(input: Value) -> ApiError {
    ApiError::Validation(vec![ValidationItem {
        kind: "model_attributes_type",
        loc: vec![json!("body")],
        msg: "Input should be a valid dictionary or object to extract fields from".to_owned(),
        input,
        ctx: None,
    }])
}

/// Collects the failures of one object's fields.
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    /// The failures so far.
    pub(crate) errors: Vec<ValidationItem>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(obj: &'a Map<String, Value>) -> Self {
        Self {
            obj,
            errors: Vec::new(),
        }
    }

    fn whole(&self) -> Value {
        Value::Object(self.obj.clone())
    }

    /// A required string.
    pub(crate) fn required_str(&mut self, name: &str) -> Option<&'a str> {
        match self.obj.get(name) {
            None => {
                self.errors
                    .push(ValidationItem::missing(name, self.whole()));
                None
            }
            Some(v) => self.string(name, v),
        }
    }

    /// An optional string: absent → `None`; present → must be a string, or `null` when
    /// `nullable` (which then also reads as `None`).
    pub(crate) fn optional_str(&mut self, name: &str, nullable: bool) -> Option<&'a str> {
        match self.obj.get(name) {
            None => None,
            Some(Value::Null) if nullable => None,
            Some(v) => self.string(name, v),
        }
    }

    fn string(&mut self, name: &str, v: &'a Value) -> Option<&'a str> {
        if let Value::String(s) = v {
            Some(s)
        } else {
            self.errors.push(ValidationItem::at_field(
                "string_type",
                name,
                "Input should be a valid string",
                v.clone(),
            ));
            None
        }
    }

    /// A required email, validated and normalised.
    pub(crate) fn required_email(&mut self, name: &str) -> Option<String> {
        let raw = self.required_str(name)?;
        self.email(name, raw)
    }

    /// An optional email; `null` is refused (the column is NOT NULL).
    pub(crate) fn optional_email(&mut self, name: &str) -> Option<String> {
        let raw = self.optional_str(name, false)?;
        self.email(name, raw)
    }

    fn email(&mut self, name: &str, raw: &str) -> Option<String> {
        match email::normalize(raw) {
            Ok(e) => Some(e),
            Err(reason) => {
                self.errors.push(
                    ValidationItem::at_field(
                        "value_error",
                        name,
                        format!("value is not a valid email address: {reason}"),
                        json!(raw),
                    )
                    .with_ctx(json!({ "reason": reason.to_string() })),
                );
                None
            }
        }
    }

    /// A password: a string of at most [`MAX_PASSWORD_CHARS`] characters.
    pub(crate) fn check_password(&mut self, name: &str, password: &str) -> bool {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            self.errors.push(
                ValidationItem::at_field(
                    "string_too_long",
                    name,
                    format!("String should have at most {MAX_PASSWORD_CHARS} characters"),
                    json!(password),
                )
                .with_ctx(json!({ "max_length": MAX_PASSWORD_CHARS })),
            );
            return false;
        }
        true
    }

    /// An optional boolean, parsed as pydantic's lax mode does (`"yes"`, `1`, …). `null` is
    /// `None` when `nullable`, else refused.
    pub(crate) fn optional_bool(&mut self, name: &str, nullable: bool) -> Option<bool> {
        let v = self.obj.get(name)?;
        match lax_bool(v) {
            Some(b) => Some(b),
            None if v.is_null() && nullable => None,
            None => {
                let (kind, msg) = match v {
                    Value::String(_) | Value::Number(_) => (
                        "bool_parsing",
                        "Input should be a valid boolean, unable to interpret input",
                    ),
                    _ => ("bool_type", "Input should be a valid boolean"),
                };
                self.errors
                    .push(ValidationItem::at_field(kind, name, msg, v.clone()));
                None
            }
        }
    }

    /// Custom fields: the object's remaining keys, read as `X`. For a unit-like `X` (`()`)
    /// there is nothing to read.
    pub(crate) fn extra<X: DeserializeOwned>(
        &mut self,
        base: Option<Value>,
        known: &[&str],
    ) -> Option<X> {
        let mut merged = match base {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for (k, v) in self.obj {
            if !known.contains(&k.as_str()) {
                merged.insert(k.clone(), v.clone());
            }
        }
        let input = Value::Object(merged);
        match serde_path_to_error::deserialize::<_, X>(&input) {
            Ok(x) => Some(x),
            Err(err) => {
                if let Ok(unit) = serde_json::from_value::<X>(Value::Null) {
                    return Some(unit);
                }
                self.errors.push(serde_item(&err, &input));
                None
            }
        }
    }
}

/// pydantic's lax boolean.
fn lax_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// A serde failure on custom fields as one pydantic-shaped item.
fn serde_item(
    err: &serde_path_to_error::Error<serde_json::Error>,
    input: &Value,
) -> ValidationItem {
    let mut loc = vec![json!("body")];
    for seg in err.path().iter() {
        match seg {
            serde_path_to_error::Segment::Map { key } => loc.push(json!(key)),
            serde_path_to_error::Segment::Seq { index } => loc.push(json!(index)),
            serde_path_to_error::Segment::Enum { variant } => loc.push(json!(variant)),
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    let msg = err.inner().to_string();
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        loc.push(json!(field));
        return ValidationItem {
            kind: "missing",
            loc,
            msg: "Field required".to_owned(),
            input: input.clone(),
            ctx: None,
        };
    }
    let offending = loc[1..].iter().try_fold(input, |v, k| match k {
        Value::String(s) => v.get(s.as_str()),
        Value::Number(n) => n.as_u64().and_then(|i| v.get(usize::try_from(i).ok()?)),
        _ => None,
    });
    let (kind, text) = if msg.contains("expected a string") {
        ("string_type", "Input should be a valid string".to_owned())
    } else if msg.contains("expected a boolean") {
        ("bool_type", "Input should be a valid boolean".to_owned())
    } else if msg.contains("expected u") || msg.contains("expected i") {
        ("int_type", "Input should be a valid integer".to_owned())
    } else {
        (
            "value_error",
            msg.split(" at line ").next().unwrap_or_default().to_owned(),
        )
    };
    ValidationItem {
        kind,
        loc,
        msg: text,
        input: offending.cloned().unwrap_or(Value::Null),
        ctx: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lax_booleans_follow_pydantic() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("yes"), Some(true)),
            (json!("OFF"), Some(false)),
            (json!(1), Some(true)),
            (json!(0.0), Some(false)),
            (json!(2), None),
            (json!("maybe"), None),
            (json!([]), None),
            (json!(null), None),
        ] {
            assert_eq!(lax_bool(&v), want, "{v}");
        }
    }

    #[test]
    fn custom_field_errors_point_at_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct P {
            first_name: String,
            age: u32,
        }
        let obj = json!({"email": "a@b.co", "first_name": 5, "age": 3});
        let map = obj.as_object().unwrap();
        let mut f = Fields::new(map);
        assert!(f.extra::<P>(None, &["email"]).is_none());
        assert_eq!(f.errors[0].loc, vec![json!("body"), json!("first_name")]);
        assert_eq!(f.errors[0].kind, "string_type");

        let obj = json!({"age": 3});
        let mut f = Fields::new(obj.as_object().unwrap());
        assert!(f.extra::<P>(None, &[]).is_none());
        assert_eq!(f.errors[0].loc, vec![json!("body"), json!("first_name")]);
        assert_eq!(f.errors[0].kind, "missing");

        let obj = json!({"whatever": 3});
        let mut f = Fields::new(obj.as_object().unwrap());
        f.extra::<()>(None, &[]).unwrap();
        assert!(f.errors.is_empty());
    }
}
