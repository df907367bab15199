//! The OpenAPI documents of the two profiles, built from the same settings as the routes.

use axum_users::UsersRouterOptions;
use axum_users::openapi::{AuthDocOptions, OpenApiBuilder};
use utoipa::openapi::OpenApi;

use crate::config::{BackendKind, Config};

const TITLE: &str = "axum-users";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The document for the v15 profile's mounting.
#[must_use]
pub fn v15_document(config: &Config) -> OpenApi {
    let verification = config.requires_verification;
    let mut doc = OpenApiBuilder::new(TITLE, VERSION)
        .description("FastAPI Users' HTTP API, served by axum-users.");
    for kind in &config.backends {
        let options = match kind {
            BackendKind::Cookie => AuthDocOptions::cookie(config.cookie.name.clone())
                .csrf_protection(config.cookie.csrf),
            _ => AuthDocOptions::bearer(),
        }
        .requires_verification(verification);
        doc = doc.auth(&format!("/auth/{}", kind.name()), kind.name(), options);
    }
    doc.register("/auth")
        .reset_password("/auth")
        .verify("/auth")
        .users(
            "/users",
            UsersRouterOptions {
                requires_verification: verification,
            },
        )
        .build()
}

/// The document for the classic profile's mounting.
#[must_use]
pub fn classic_document(config: &Config) -> OpenApi {
    OpenApiBuilder::new(TITLE, VERSION)
        .classic(&config.classic_prefix)
        .build()
}
