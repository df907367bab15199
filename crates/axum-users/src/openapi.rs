//! The OpenAPI 3.1 document of the routes an app mounted.
//!
//! The routers are nested by the caller at prefixes of its choosing, so the document is built
//! the same way: one call per router, with the prefix it was nested at and the options it was
//! built with. Every route lists each status of the contract (CONTRACT.md §1) with its body
//! schema and named examples of the exact `detail` values; operation ids, summaries and the
//! login form's schema name are FastAPI's, so clients generated from a FastAPI Users document
//! keep working.
//!
//! ```
//! use axum::{Json, Router, routing::get};
//! use axum_users::openapi::{AuthDocOptions, OpenApiBuilder};
//! use axum_users::{AuthRouterOptions, UsersRouterOptions};
//!
//! let auth_options = AuthRouterOptions::default();
//! let users_options = UsersRouterOptions::default();
//! // Mirror the app's `.nest("/auth/jwt", auth_router(jwt, auth_options))`, and so on.
//! let doc = OpenApiBuilder::new("My app", "1.0.0")
//!     .auth("/auth/jwt", "jwt", auth_options)
//!     .auth("/auth/cookie", "cookie", AuthDocOptions::cookie("fastapiusersauth"))
//!     .register("/auth")
//!     .reset_password("/auth")
//!     .verify("/auth")
//!     .users("/users", users_options)
//!     .build();
//!
//! let json = doc.to_json().unwrap();
//! assert!(json.contains(r#""openapi":"3.1.0""#));
//! assert!(json.contains(r#""tokenUrl":"auth/jwt/login""#));
//!
//! let app: Router = Router::new().route("/openapi.json", get(move || async move { Json(doc) }));
//! # let _ = app;
//! ```

mod components;
mod oauth;
mod operations;
mod refresh;
mod responses;
mod tokens;
mod users;

use std::fmt;

use utoipa::ToSchema;
use utoipa::openapi::path::Paths;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, RefOr, Schema};

use self::components::UserFields;
use self::operations::{AUTH_TAG, Ctx, Routes, USERS_TAG};
use crate::{AuthRouterOptions, UsersRouterOptions};

/// The name of the OAuth2 password-flow scheme (FastAPI's `OAuth2PasswordBearer`).
pub const OAUTH2_SCHEME: &str = "OAuth2PasswordBearer";
/// The name of the HTTP bearer scheme.
pub const BEARER_SCHEME: &str = "HTTPBearer";
/// The name of the first cookie scheme (FastAPI's `APIKeyCookie`); further cookie names get
/// `APIKeyCookie_<backend>`.
pub const COOKIE_SCHEME: &str = "APIKeyCookie";

/// How one [`auth_router`](crate::auth_router) is documented: its transport and whether it
/// requires verified users. Converts from [`AuthRouterOptions`] (bearer transport).
///
/// ```
/// use axum_users::AuthRouterOptions;
/// use axum_users::openapi::AuthDocOptions;
///
/// let bearer = AuthDocOptions::from(AuthRouterOptions { requires_verification: true });
/// let cookie = AuthDocOptions::cookie("fastapiusersauth").requires_verification(true);
/// # let _ = (bearer, cookie);
/// ```
#[derive(Debug, Clone, Default)]
pub struct AuthDocOptions {
    requires_verification: bool,
    transport: TransportDoc,
    csrf: bool,
    refresh: bool,
}

#[derive(Debug, Clone, Default)]
enum TransportDoc {
    /// Login answers 200 `BearerResponse`; the token goes in `Authorization: Bearer`.
    #[default]
    Bearer,
    /// Login answers 204 and sets the cookie `name`.
    Cookie { name: String },
}

impl AuthDocOptions {
    /// The bearer transport (the default): login answers 200 `{"access_token", "token_type"}`.
    #[must_use]
    pub fn bearer() -> Self {
        Self::default()
    }

    /// The cookie transport: login answers 204 with `Set-Cookie: <name>=…`, logout 204 with
    /// the cookie cleared.
    #[must_use]
    pub fn cookie(name: impl Into<String>) -> Self {
        Self {
            transport: TransportDoc::Cookie { name: name.into() },
            ..Self::default()
        }
    }

    /// As [`CookieTransport::csrf_protection`](crate::CookieTransport::csrf_protection): a
    /// cookie-authenticated unsafe request from another origin is refused (403), on every
    /// protected operation. Meaningless for the bearer transport.
    #[must_use]
    pub fn csrf_protection(mut self, yes: bool) -> Self {
        self.csrf = yes;
        self
    }

    /// As [`AuthBackend::with_refresh`](crate::AuthBackend::with_refresh) (bearer transport
    /// only; meaningless for a cookie): login's 200 body is `BearerRefreshResponse` (with
    /// `refresh_token`), `POST {prefix}/refresh` is listed, and logout says it revokes the
    /// session's refresh tokens.
    ///
    /// ```
    /// use axum_users::openapi::{AuthDocOptions, OpenApiBuilder};
    ///
    /// let doc = OpenApiBuilder::new("app", "1")
    ///     .auth("/auth/jwt", "jwt", AuthDocOptions::bearer().refresh_tokens(true))
    ///     .build();
    /// let json = serde_json::to_value(&doc).unwrap();
    /// let refresh = &json["paths"]["/auth/jwt/refresh"]["post"];
    /// assert_eq!(refresh["operationId"], "auth_jwt_refresh_auth_jwt_refresh_post");
    /// let body = &json["components"]["schemas"]["BearerRefreshResponse"];
    /// assert!(body["required"].as_array().unwrap().contains(&"refresh_token".into()));
    /// ```
    #[must_use]
    pub fn refresh_tokens(mut self, yes: bool) -> Self {
        self.refresh = yes;
        self
    }

    /// As [`AuthRouterOptions::requires_verification`]: login may answer 400
    /// `LOGIN_USER_NOT_VERIFIED` and logout 403.
    #[must_use]
    pub fn requires_verification(mut self, yes: bool) -> Self {
        self.requires_verification = yes;
        self
    }
}

impl From<AuthRouterOptions> for AuthDocOptions {
    fn from(options: AuthRouterOptions) -> Self {
        Self::bearer().requires_verification(options.requires_verification)
    }
}

/// How one OAuth router ([`oauth_router`](crate::oauth_router) or
/// [`oauth_associate_router`](crate::oauth_associate_router)) is documented: the login
/// backend's transport, whether a success redirects to the frontend, and (associate) whether
/// verified users are required.
///
/// ```
/// use axum_users::openapi::OAuthDocOptions;
///
/// let login = OAuthDocOptions::cookie("fastapiusersauth").frontend_redirect(true);
/// let associate = OAuthDocOptions::bearer().requires_verification(true);
/// # let _ = (login, associate);
/// ```
#[derive(Debug, Clone, Default)]
pub struct OAuthDocOptions {
    transport: TransportDoc,
    frontend_redirect: bool,
    requires_verification: bool,
}

impl OAuthDocOptions {
    /// A login through a bearer backend (the default): the callback answers 200
    /// `BearerResponse`.
    #[must_use]
    pub fn bearer() -> Self {
        Self::default()
    }

    /// A login through a cookie backend: the callback answers 204 with the cookie.
    #[must_use]
    pub fn cookie(name: impl Into<String>) -> Self {
        Self {
            transport: TransportDoc::Cookie { name: name.into() },
            ..Self::default()
        }
    }

    /// As [`OAuthRouterConfig::frontend_redirect`](crate::OAuthRouterConfig::frontend_redirect):
    /// a successful callback answers 303.
    #[must_use]
    pub fn frontend_redirect(mut self, yes: bool) -> Self {
        self.frontend_redirect = yes;
        self
    }

    /// As [`OAuthAssociateOptions::requires_verification`](crate::OAuthAssociateOptions):
    /// the associate routes may answer 403.
    #[must_use]
    pub fn requires_verification(mut self, yes: bool) -> Self {
        self.requires_verification = yes;
        self
    }
}

/// One router, as mounted.
#[derive(Debug, Clone)]
enum Mount {
    Auth {
        prefix: String,
        backend: String,
        options: AuthDocOptions,
    },
    Register {
        prefix: String,
    },
    ResetPassword {
        prefix: String,
    },
    Verify {
        prefix: String,
    },
    Users {
        prefix: String,
        options: UsersRouterOptions,
    },
    Classic {
        prefix: String,
    },
    OAuth {
        prefix: String,
        provider: String,
        backend: String,
        options: OAuthDocOptions,
    },
    OAuthAssociate {
        prefix: String,
        provider: String,
        options: OAuthDocOptions,
    },
}

/// Builds the OpenAPI 3.1 document of the routers an app mounted, at the prefixes it mounted
/// them. See the [module docs](self) for an example.
#[derive(Clone)]
pub struct OpenApiBuilder {
    title: String,
    version: String,
    description: Option<String>,
    mounts: Vec<Mount>,
    rate_limits: bool,
    fields: UserFields,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl fmt::Debug for OpenApiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenApiBuilder")
            .field("title", &self.title)
            .field("version", &self.version)
            .field("mounts", &self.mounts)
            .field("rate_limits", &self.rate_limits)
            .field("custom_fields", &self.fields.len())
            .field(
                "schemas",
                &self.schemas.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl OpenApiBuilder {
    /// A document titled `title`, at API version `version`, with no routes yet.
    #[must_use]
    pub fn new(title: &str, version: &str) -> Self {
        Self {
            title: title.to_owned(),
            version: version.to_owned(),
            description: None,
            mounts: Vec::new(),
            rate_limits: false,
            fields: UserFields::default(),
            schemas: Vec::new(),
        }
    }

    /// The document's description (Markdown).
    #[must_use]
    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }

    /// An [`auth_router`](crate::auth_router) nested at `prefix`: `POST {prefix}/login` (form
    /// body) and `POST {prefix}/logout`. `backend_name` is the backend's
    /// [`name`](crate::AuthBackend::name), used in operation ids as FastAPI Users does.
    ///
    /// The first bearer backend's login is the `tokenUrl` of the OAuth2 password flow, written
    /// relative and without a leading slash as FastAPI writes it (`auth/jwt/login`).
    #[must_use]
    pub fn auth(
        mut self,
        prefix: &str,
        backend_name: &str,
        options: impl Into<AuthDocOptions>,
    ) -> Self {
        self.mounts.push(Mount::Auth {
            prefix: prefix.to_owned(),
            backend: backend_name.to_owned(),
            options: options.into(),
        });
        self
    }

    /// A [`register_router`](crate::register_router) nested at `prefix`: `POST
    /// {prefix}/register` → 201.
    #[must_use]
    pub fn register(mut self, prefix: &str) -> Self {
        self.mounts.push(Mount::Register {
            prefix: prefix.to_owned(),
        });
        self
    }

    /// A [`reset_password_router`](crate::reset_password_router) nested at `prefix`: `POST
    /// {prefix}/forgot-password` (JSON `{"email"}`) → 202 `null`, and `POST
    /// {prefix}/reset-password` (JSON `{"token", "password"}`) → 200 `null`, or 400
    /// `RESET_PASSWORD_BAD_TOKEN` / `RESET_PASSWORD_INVALID_PASSWORD`. Operation ids and body
    /// schemas are FastAPI's (`reset_forgot_password_auth_forgot_password_post`,
    /// `Body_reset_forgot_password_auth_forgot_password_post`, … at `/auth`).
    ///
    /// ```
    /// use axum_users::openapi::OpenApiBuilder;
    ///
    /// let doc = OpenApiBuilder::new("app", "1").reset_password("/auth").build();
    /// let json = serde_json::to_value(&doc).unwrap();
    /// let forgot = &json["paths"]["/auth/forgot-password"]["post"];
    /// assert_eq!(forgot["operationId"], "reset_forgot_password_auth_forgot_password_post");
    /// assert_eq!(forgot["responses"]["202"]["content"]["application/json"]["schema"]["type"], "null");
    /// ```
    #[must_use]
    pub fn reset_password(mut self, prefix: &str) -> Self {
        self.mounts.push(Mount::ResetPassword {
            prefix: prefix.to_owned(),
        });
        self
    }

    /// A [`verify_router`](crate::verify_router) nested at `prefix`: `POST
    /// {prefix}/request-verify-token` (JSON `{"email"}`) → 202 `null`, and `POST
    /// {prefix}/verify` (JSON `{"token"}`) → 200 `UserRead`, or 400 `VERIFY_USER_BAD_TOKEN` /
    /// `VERIFY_USER_ALREADY_VERIFIED`. Operation ids and body schemas are FastAPI's
    /// (`verify_request_token_auth_request_verify_token_post`, `verify_verify_auth_verify_post`,
    /// … at `/auth`).
    #[must_use]
    pub fn verify(mut self, prefix: &str) -> Self {
        self.mounts.push(Mount::Verify {
            prefix: prefix.to_owned(),
        });
        self
    }

    /// A [`users_router`](crate::users_router) nested at `prefix`, built with `options`:
    /// `GET`/`PATCH {prefix}/me`, `GET`/`PATCH`/`DELETE {prefix}/{id}`.
    #[must_use]
    pub fn users(mut self, prefix: &str, options: UsersRouterOptions) -> Self {
        self.mounts.push(Mount::Users {
            prefix: prefix.to_owned(),
            options,
        });
        self
    }

    /// A [`classic_router`](crate::classic_router) nested at `prefix` (`""` for the root):
    /// `POST {prefix}/register` → 200, `POST {prefix}/login` → 200 `{"token"}`,
    /// `POST {prefix}/forgot-password` → 202 `null`, `POST {prefix}/reset-password` → 200
    /// `null`.
    #[must_use]
    pub fn classic(mut self, prefix: &str) -> Self {
        self.mounts.push(Mount::Classic {
            prefix: prefix.to_owned(),
        });
        self
    }

    /// An [`oauth_router`](crate::oauth_router) for `provider_name` through the backend
    /// `backend_name`, nested at `prefix` (`/auth/google`): `GET {prefix}/authorize` → 200
    /// `{"authorization_url"}` with the CSRF cookie, and `GET {prefix}/callback` → the
    /// backend's login response (or 303), 400 with each of the callback's `detail`s, 500, 503.
    /// Operation ids are FastAPI Users' (`oauth:google.jwt.authorize`, …).
    ///
    /// ```
    /// use axum_users::openapi::{OAuthDocOptions, OpenApiBuilder};
    ///
    /// let doc = OpenApiBuilder::new("app", "1")
    ///     .oauth("/auth/google", "google", "jwt", OAuthDocOptions::bearer())
    ///     .build();
    /// let json = serde_json::to_value(&doc).unwrap();
    /// let op = &json["paths"]["/auth/google/authorize"]["get"];
    /// assert_eq!(op["operationId"], "oauth_google_jwt_authorize_auth_google_authorize_get");
    /// ```
    #[must_use]
    pub fn oauth(
        mut self,
        prefix: &str,
        provider_name: &str,
        backend_name: &str,
        options: OAuthDocOptions,
    ) -> Self {
        self.mounts.push(Mount::OAuth {
            prefix: prefix.to_owned(),
            provider: provider_name.to_owned(),
            backend: backend_name.to_owned(),
            options,
        });
        self
    }

    /// An [`oauth_associate_router`](crate::oauth_associate_router) for `provider_name`,
    /// nested at `prefix` (`/auth/associate/google`): both routes authenticated (401, and 403
    /// when verification is required); the callback answers 200 `UserRead` (or 303).
    #[must_use]
    pub fn oauth_associate(
        mut self,
        prefix: &str,
        provider_name: &str,
        options: OAuthDocOptions,
    ) -> Self {
        self.mounts.push(Mount::OAuthAssociate {
            prefix: prefix.to_owned(),
            provider: provider_name.to_owned(),
            options,
        });
        self
    }

    /// Documents 429 with `Retry-After` on login, register, forgot-password,
    /// request-verify-token, reset-password and verify, for an app that rate-limits them (per
    /// client IP, and an account lockout on login).
    #[must_use]
    pub fn rate_limits(mut self, enabled: bool) -> Self {
        self.rate_limits = enabled;
        self
    }

    /// Merges the app's custom user fields (the `X` of `User<X>`) into `UserRead`,
    /// `UserCreate` and `UserUpdate`, and adds the schemas they refer to. `X`'s required
    /// fields are required in `UserRead` and `UserCreate`; every field is optional in
    /// `UserUpdate`. Fields named as a base field (`id`, `email`, …) are skipped.
    ///
    /// ```
    /// use axum_users::openapi::OpenApiBuilder;
    ///
    /// #[derive(utoipa::ToSchema)]
    /// struct Profile {
    ///     first_name: String,
    ///     nickname: Option<String>,
    /// }
    ///
    /// let doc = OpenApiBuilder::new("app", "1").user_fields::<Profile>().build();
    /// let json = serde_json::to_value(&doc).unwrap();
    /// let read = &json["components"]["schemas"]["UserRead"];
    /// assert_eq!(read["properties"]["first_name"]["type"], "string");
    /// assert!(read["required"].as_array().unwrap().contains(&"first_name".into()));
    /// ```
    #[must_use]
    pub fn user_fields<X: ToSchema>(mut self) -> Self {
        let mut nested = Vec::new();
        X::schemas(&mut nested);
        self.fields.schemas.extend(nested);
        self.fields.merge(X::schema());
        self
    }

    /// As [`user_fields`](Self::user_fields), from a schema: an object schema whose properties
    /// are merged (or an `allOf` of such). Other schemas add no field. Register the component
    /// schemas its properties refer to with [`schema`](Self::schema).
    #[must_use]
    pub fn user_fields_schema(mut self, schema: impl Into<RefOr<Schema>>) -> Self {
        self.fields.merge(schema.into());
        self
    }

    /// Adds a component schema under `name` (one that custom fields refer to).
    #[must_use]
    pub fn schema(mut self, name: &str, schema: impl Into<RefOr<Schema>>) -> Self {
        self.schemas.push((name.to_owned(), schema.into()));
        self
    }

    /// The security schemes of the mounted backends; a protected operation requires any one.
    fn security(&self) -> Vec<(String, SecurityScheme)> {
        let auths: Vec<(&str, &str, &AuthDocOptions)> = self
            .mounts
            .iter()
            .filter_map(|m| match m {
                Mount::Auth {
                    prefix,
                    backend,
                    options,
                } => Some((prefix.as_str(), backend.as_str(), options)),
                _ => None,
            })
            .collect();
        let mut schemes = Vec::new();
        let first_bearer = auths
            .iter()
            .find(|(_, _, o)| matches!(o.transport, TransportDoc::Bearer));
        if let Some((prefix, _, _)) = first_bearer {
            let token_url = operations::join(prefix, "/login")
                .trim_start_matches('/')
                .to_owned();
            let flow = Flow::Password(Password::new(token_url, Scopes::new()));
            schemes.push((
                OAUTH2_SCHEME.to_owned(),
                SecurityScheme::OAuth2(OAuth2::new([flow])),
            ));
        }
        if first_bearer.is_some() || auths.is_empty() {
            let http = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
            schemes.push((BEARER_SCHEME.to_owned(), SecurityScheme::Http(http)));
        }
        let mut cookies: Vec<&str> = Vec::new();
        for (_, backend, options) in &auths {
            if let TransportDoc::Cookie { name } = &options.transport {
                if cookies.contains(&name.as_str()) {
                    continue;
                }
                let scheme_name = if cookies.is_empty() {
                    COOKIE_SCHEME.to_owned()
                } else {
                    format!("{COOKIE_SCHEME}_{backend}")
                };
                cookies.push(name);
                let scheme = SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(name.clone())));
                schemes.push((scheme_name, scheme));
            }
        }
        schemes
    }

    /// The document.
    #[must_use]
    pub fn build(self) -> OpenApi {
        let schemes = self.security();
        let requirements: Vec<SecurityRequirement> = schemes
            .iter()
            .map(|(name, _)| SecurityRequirement::new(name, Vec::<String>::new()))
            .collect();
        let ctx = Ctx {
            security: &requirements,
            rate_limits: self.rate_limits,
            custom_fields: self.fields.len() > 0,
            csrf: self.mounts.iter().any(|m| {
                matches!(m, Mount::Auth { options, .. }
                    if options.csrf && matches!(options.transport, TransportDoc::Cookie { .. }))
            }),
        };

        let mut paths = Paths::new();
        let mut extra_schemas = Vec::new();
        let mut tags: Vec<&str> = Vec::new();
        let mut protected = false;
        for mount in &self.mounts {
            let (routes, tag): (Routes, &str) = match mount {
                Mount::Auth {
                    prefix,
                    backend,
                    options,
                } => {
                    protected = true;
                    (operations::auth(prefix, backend, options, &ctx), AUTH_TAG)
                }
                Mount::Register { prefix } => (operations::register(prefix, &ctx), AUTH_TAG),
                Mount::ResetPassword { prefix } => (tokens::reset(prefix, &ctx), AUTH_TAG),
                Mount::Verify { prefix } => (tokens::verify(prefix, &ctx), AUTH_TAG),
                Mount::Users { prefix, options } => {
                    protected = true;
                    (users::users(prefix, *options, &ctx), USERS_TAG)
                }
                Mount::Classic { prefix } => (operations::classic(prefix, &ctx), AUTH_TAG),
                Mount::OAuth {
                    prefix,
                    provider,
                    backend,
                    options,
                } => (oauth::login(prefix, provider, backend, options), AUTH_TAG),
                Mount::OAuthAssociate {
                    prefix,
                    provider,
                    options,
                } => {
                    protected = true;
                    (oauth::associate(prefix, provider, options, &ctx), AUTH_TAG)
                }
            };
            if !tags.contains(&tag) {
                tags.push(tag);
            }
            for route in routes.routes {
                paths.add_path_operation(route.path, vec![route.method], route.operation);
            }
            extra_schemas.extend(routes.schemas);
        }

        let mut components = ComponentsBuilder::new()
            .schema(components::USER_READ, components::user_read(&self.fields))
            .schema(
                components::USER_CREATE,
                components::user_create(&self.fields),
            )
            .schema(
                components::USER_UPDATE,
                components::user_update(&self.fields),
            )
            .schema(components::BEARER_RESPONSE, components::bearer_response())
            .schema(components::ERROR_MODEL, components::error_model())
            .schema(
                components::HTTP_VALIDATION_ERROR,
                components::http_validation_error(),
            )
            .schema(components::VALIDATION_ERROR, components::validation_error());
        if self
            .mounts
            .iter()
            .any(|m| matches!(m, Mount::Classic { .. }))
        {
            components =
                components.schema(components::TOKEN_RESPONSE, components::token_response());
        }
        for (name, schema) in extra_schemas {
            components = components.schema(name, schema);
        }
        // The custom fields are inlined; the schemas they refer to are components.
        for (name, schema) in self.fields.schemas.iter().chain(&self.schemas) {
            components = components.schema(name.clone(), schema.clone());
        }
        if protected {
            for (name, scheme) in schemes {
                components = components.security_scheme(name, scheme);
            }
        }

        let tags = tags.into_iter().map(|tag| {
            let description = if tag == USERS_TAG {
                "The current user's profile, and user management by superusers."
            } else {
                "Registration, login and logout, password reset and email verification."
            };
            TagBuilder::new()
                .name(tag)
                .description(Some(description))
                .build()
        });
        utoipa::openapi::OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title(self.title)
                    .version(self.version)
                    .description(self.description),
            )
            .paths(paths)
            .components(Some(components.build()))
            .tags(Some(tags))
            .build()
    }
}
