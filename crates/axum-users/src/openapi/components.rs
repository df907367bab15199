//! The component schemas: the user schemas (with the app's custom fields merged in), the
//! login form and the embedded bodies (`Body_<operationId>`), and FastAPI's error shapes.

use serde_json::json;
use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, ArrayBuilder, SchemaType};
use utoipa::openapi::{KnownFormat, Object, ObjectBuilder, Ref, RefOr, Schema, SchemaFormat, Type};

/// `UserRead`.
pub(super) const USER_READ: &str = "UserRead";
/// `UserCreate`.
pub(super) const USER_CREATE: &str = "UserCreate";
/// `UserUpdate`.
pub(super) const USER_UPDATE: &str = "UserUpdate";
/// `BearerResponse`.
pub(super) const BEARER_RESPONSE: &str = "BearerResponse";
/// `ErrorModel`.
pub(super) const ERROR_MODEL: &str = "ErrorModel";
/// `HTTPValidationError`.
pub(super) const HTTP_VALIDATION_ERROR: &str = "HTTPValidationError";
/// `ValidationError`.
pub(super) const VALIDATION_ERROR: &str = "ValidationError";
/// `TokenResponse` (the classic login's body).
pub(super) const TOKEN_RESPONSE: &str = "TokenResponse";

/// The keys of the base user; a custom field never replaces one.
const BASE_KEYS: [&str; 6] = [
    "id",
    "email",
    "password",
    "is_active",
    "is_superuser",
    "is_verified",
];

/// Python's `str.title()` of a field name with `_` as spaces, as FastAPI titles properties.
pub(super) fn title(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut after_cased = false;
    for c in name.chars() {
        let c = if c == '_' { ' ' } else { c };
        if c.is_alphabetic() {
            if after_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            after_cased = true;
        } else {
            out.push(c);
            after_cased = false;
        }
    }
    out
}

fn typed(t: Type, name: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(t).title(Some(title(name)))
}

fn nullable(t: Type, name: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type([t, Type::Null].into_iter().collect::<SchemaType>())
        .title(Some(title(name)))
}

fn email(name: &str) -> ObjectBuilder {
    typed(Type::String, name).format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
}

fn uuid(name: &str) -> ObjectBuilder {
    typed(Type::String, name).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

fn password(name: &str) -> ObjectBuilder {
    typed(Type::String, name).format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
}

/// Custom user fields: properties merged into `UserRead`, `UserCreate` and `UserUpdate`, and the
/// component schemas they refer to.
#[derive(Default, Clone)]
pub(super) struct UserFields {
    properties: Vec<(String, RefOr<Schema>)>,
    required: Vec<String>,
    /// Component schemas the properties refer to.
    pub(super) schemas: Vec<(String, RefOr<Schema>)>,
}

impl UserFields {
    /// The number of custom properties.
    pub(super) fn len(&self) -> usize {
        self.properties.len()
    }

    /// Merges the properties of an object schema (or of the objects of an `allOf`, or of the
    /// component a `$ref` names among `self.schemas`); other schemas add nothing.
    pub(super) fn merge(&mut self, schema: RefOr<Schema>) {
        match schema {
            RefOr::T(Schema::Object(object)) => self.merge_object(object),
            RefOr::T(Schema::AllOf(all)) => {
                for item in all.items {
                    self.merge(item);
                }
            }
            RefOr::Ref(r) => {
                let name = r
                    .ref_location
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let target = self
                    .schemas
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, s)| s.clone());
                if let Some(target) = target {
                    self.merge(target);
                }
            }
            RefOr::T(_) => {}
        }
    }

    fn merge_object(&mut self, object: Object) {
        for (name, schema) in object.properties {
            if BASE_KEYS.contains(&name.as_str()) {
                continue;
            }
            self.properties.retain(|(n, _)| *n != name);
            self.required.retain(|n| *n != name);
            if object.required.contains(&name) {
                self.required.push(name.clone());
            }
            self.properties.push((name, schema));
        }
    }

    /// Adds the custom properties to a user schema; `required` when the schema requires what
    /// the custom type requires.
    fn apply(&self, mut builder: ObjectBuilder, required: bool) -> ObjectBuilder {
        for (name, schema) in &self.properties {
            builder = builder.property(name, schema.clone());
            if required && self.required.contains(name) {
                builder = builder.required(name);
            }
        }
        builder
    }
}

/// `UserRead`: what every route that answers a user sends. Every key is always present.
pub(super) fn user_read(fields: &UserFields) -> Schema {
    let builder = ObjectBuilder::new()
        .title(Some(USER_READ))
        .description(Some("A user as clients see it; never the password hash."))
        .property(
            "id",
            uuid("id").description(Some("Lower-case, hyphenated.")),
        )
        .property("email", email("email"))
        .property(
            "is_active",
            typed(Type::Boolean, "is_active").default(Some(json!(true))),
        )
        .property(
            "is_superuser",
            typed(Type::Boolean, "is_superuser").default(Some(json!(false))),
        )
        .property(
            "is_verified",
            typed(Type::Boolean, "is_verified").default(Some(json!(false))),
        )
        .required("id")
        .required("email")
        .required("is_active")
        .required("is_superuser")
        .required("is_verified");
    fields.apply(builder, true).into()
}

const IGNORED_FLAG: &str = "Type-checked (a boolean or `null`), then ignored: public registration \
                            cannot set it.";

/// `UserCreate`: the register body. `id` and unknown keys are dropped unchecked.
pub(super) fn user_create(fields: &UserFields) -> Schema {
    let builder = ObjectBuilder::new()
        .title(Some(USER_CREATE))
        .description(Some(
            "The register body. `id`, the privileged flags and unknown keys are ignored.",
        ))
        .property(
            "email",
            email("email").description(Some(
                "Stored with the domain lower-cased; unique regardless of case.",
            )),
        )
        .property(
            "password",
            typed(Type::String, "password").max_length(Some(crate::MAX_PASSWORD_CHARS)),
        )
        .property(
            "is_active",
            nullable(Type::Boolean, "is_active")
                .default(Some(json!(true)))
                .description(Some(IGNORED_FLAG)),
        )
        .property(
            "is_superuser",
            nullable(Type::Boolean, "is_superuser")
                .default(Some(json!(false)))
                .description(Some(IGNORED_FLAG)),
        )
        .property(
            "is_verified",
            nullable(Type::Boolean, "is_verified")
                .default(Some(json!(false)))
                .description(Some(IGNORED_FLAG)),
        )
        .required("email")
        .required("password");
    fields.apply(builder, true).into()
}

const PRIVILEGED_FLAG: &str = "Applied on `PATCH /users/{id}` (superuser); type-checked and ignored \
                               on `PATCH /users/me`. `null` is refused on `/users/{id}`.";

/// `UserUpdate`: the PATCH body; only present keys apply.
pub(super) fn user_update(fields: &UserFields) -> Schema {
    let builder = ObjectBuilder::new()
        .title(Some(USER_UPDATE))
        .description(Some(
            "The PATCH body: only the keys present are applied; unknown keys are ignored.",
        ))
        .property(
            "password",
            nullable(Type::String, "password")
                .max_length(Some(crate::MAX_PASSWORD_CHARS))
                .description(Some("`null` leaves the password unchanged.")),
        )
        .property(
            "email",
            email("email").description(Some("A change resets `is_verified` (unless set too).")),
        )
        .property(
            "is_active",
            typed(Type::Boolean, "is_active").description(Some(PRIVILEGED_FLAG)),
        )
        .property(
            "is_superuser",
            typed(Type::Boolean, "is_superuser").description(Some(PRIVILEGED_FLAG)),
        )
        .property(
            "is_verified",
            typed(Type::Boolean, "is_verified").description(Some(PRIVILEGED_FLAG)),
        );
    fields.apply(builder, false).into()
}

/// `BearerResponse`: the bearer transport's login body.
pub(super) fn bearer_response() -> Schema {
    ObjectBuilder::new()
        .title(Some(BEARER_RESPONSE))
        .property("access_token", typed(Type::String, "access_token"))
        .property(
            "token_type",
            typed(Type::String, "token_type").examples(["bearer"]),
        )
        .required("access_token")
        .required("token_type")
        .into()
}

/// `TokenResponse`: the classic login's body, `{"token": "<jwt>"}`.
pub(super) fn token_response() -> Schema {
    ObjectBuilder::new()
        .title(Some(TOKEN_RESPONSE))
        .property("token", typed(Type::String, "token"))
        .required("token")
        .into()
}

/// `ErrorModel`: `{"detail": "<CODE>"}` or `{"detail": {"code", "reason"}}`.
pub(super) fn error_model() -> Schema {
    let object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("code", typed(Type::String, "code"))
        .property("reason", typed(Type::String, "reason"))
        .required("code")
        .required("reason")
        .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::Object(
            Object::with_type(Type::String),
        )))));
    ObjectBuilder::new()
        .title(Some(ERROR_MODEL))
        .property(
            "detail",
            AnyOfBuilder::new()
                .item(Object::with_type(Type::String))
                .item(object)
                .description(Some(
                    "An error code (or FastAPI's message), or `{code, reason}` when the password \
                     policy refused a password.",
                )),
        )
        .required("detail")
        .into()
}

/// `HTTPValidationError`: `{"detail": [ValidationError, …]}`.
pub(super) fn http_validation_error() -> Schema {
    ObjectBuilder::new()
        .title(Some(HTTP_VALIDATION_ERROR))
        .property(
            "detail",
            ArrayBuilder::new()
                .items(Ref::from_schema_name(VALIDATION_ERROR))
                .title(Some("Detail")),
        )
        .required("detail")
        .into()
}

/// `ValidationError`: one failing field, in pydantic's shape.
pub(super) fn validation_error() -> Schema {
    let loc_item = AnyOfBuilder::new()
        .item(Object::with_type(Type::String))
        .item(Object::with_type(Type::Integer));
    ObjectBuilder::new()
        .title(Some(VALIDATION_ERROR))
        .property(
            "loc",
            ArrayBuilder::new()
                .items(loc_item)
                .title(Some("Location"))
                .description(Some(
                    "Where: `[\"body\", \"<field>\"]`, `[\"body\"]`, or `[\"body\", <offset>]` for \
                 malformed JSON.",
                )),
        )
        .property(
            "msg",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .title(Some("Message")),
        )
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .title(Some("Error Type"))
                .examples([
                    "missing",
                    "json_invalid",
                    "value_error",
                    "string_type",
                    "bool_type",
                ]),
        )
        .property(
            "input",
            ObjectBuilder::new()
                .schema_type(SchemaType::AnyValue)
                .title(Some("Input"))
                .description(Some("The offending input.")),
        )
        .property(
            "ctx",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .title(Some("Context")),
        )
        .required("loc")
        .required("msg")
        .required("type")
        .required("input")
        .into()
}

/// A JSON body of embedded fields (FastAPI's `Body(embed=True)`), named as FastAPI names it:
/// `Body_<operationId>`. Every field is required.
fn embedded(name: &str, fields: Vec<(&str, ObjectBuilder)>) -> Schema {
    let mut builder = ObjectBuilder::new()
        .schema_type(Type::Object)
        .title(Some(name));
    for (field, schema) in fields {
        builder = builder.property(field, schema).required(field);
    }
    builder.into()
}

/// `{"email"}`: the body of forgot-password and request-verify-token.
pub(super) fn email_body(name: &str) -> Schema {
    embedded(name, vec![("email", email("email"))])
}

/// `{"token"}`: the body of verify.
pub(super) fn token_body(name: &str) -> Schema {
    embedded(name, vec![("token", typed(Type::String, "token"))])
}

/// `{"token", "password"}`: the body of reset-password.
pub(super) fn reset_body(name: &str) -> Schema {
    embedded(
        name,
        vec![
            ("token", typed(Type::String, "token")),
            (
                "password",
                typed(Type::String, "password").max_length(Some(crate::MAX_PASSWORD_CHARS)),
            ),
        ],
    )
}

/// FastAPI's `OAuth2PasswordRequestForm`, as FastAPI names it: `Body_<operationId>`.
pub(super) fn login_form(name: &str) -> Schema {
    ObjectBuilder::new()
        .title(Some(name))
        .property(
            "grant_type",
            nullable(Type::String, "grant_type").pattern(Some("^password$")),
        )
        .property(
            "username",
            typed(Type::String, "username").description(Some("The email (not validated as one).")),
        )
        .property(
            "password",
            password("password").max_length(Some(crate::MAX_PASSWORD_CHARS)),
        )
        .property(
            "scope",
            typed(Type::String, "scope").default(Some(json!(""))),
        )
        .property("client_id", nullable(Type::String, "client_id"))
        .property(
            "client_secret",
            nullable(Type::String, "client_secret")
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password))),
        )
        .required("username")
        .required("password")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_follow_python() {
        assert_eq!(title("is_active"), "Is Active");
        assert_eq!(title("auth:jwt.login"), "Auth:Jwt.Login");
        assert_eq!(
            title("users:patch_current_user"),
            "Users:Patch Current User"
        );
        assert_eq!(title("OAUTH"), "Oauth");
    }
}
