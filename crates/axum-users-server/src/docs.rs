//! The OpenAPI documents of the two profiles, built from the same settings as the routes.

use axum_users::UsersRouterOptions;
use axum_users::openapi::{AuthDocOptions, OAuthDocOptions, OpenApiBuilder};
use utoipa::openapi::security::{Flow, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};

use crate::config::{BackendKind, Config};

const TITLE: &str = "axum-users";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The document for the v15 profile's mounting.
#[must_use]
pub fn v15_document(config: &Config) -> OpenApi {
    let verification = config.requires_verification;
    let mut doc = OpenApiBuilder::new(TITLE, VERSION)
        .description("FastAPI Users' HTTP API, served by axum-users.")
        .rate_limits(config.limits.enabled);
    for kind in &config.backends {
        let options = match kind {
            BackendKind::Cookie => AuthDocOptions::cookie(config.cookie.name.clone())
                .csrf_protection(config.cookie.csrf),
            BackendKind::Jwt => AuthDocOptions::bearer().refresh_tokens(config.refresh.enabled),
            _ => AuthDocOptions::bearer(),
        }
        .requires_verification(verification);
        doc = doc.auth(&format!("/auth/{}", kind.name()), kind.name(), options);
    }
    for (name, p) in &config.oauth {
        let kind = crate::oauth::backend_kind(config, name, p).unwrap_or(BackendKind::Jwt);
        let login = match kind {
            BackendKind::Cookie => OAuthDocOptions::cookie(config.cookie.name.clone()),
            _ => OAuthDocOptions::bearer(),
        }
        .frontend_redirect(p.frontend_redirect.is_some());
        doc = doc.oauth(&format!("/auth/{name}"), name, kind.name(), login);
        let associate = OAuthDocOptions::bearer()
            .frontend_redirect(p.associate_frontend_redirect.is_some())
            .requires_verification(verification);
        doc = doc.oauth_associate(&format!("/auth/associate/{name}"), name, associate);
    }
    let doc = doc
        .register("/auth")
        .reset_password("/auth")
        .verify("/auth")
        .users(
            "/users",
            UsersRouterOptions {
                requires_verification: verification,
            },
        )
        .build();
    absolute_token_url(doc)
}

/// Makes the OAuth2 password flow's `tokenUrl` an absolute path (`/auth/jwt/login`).
///
/// The library writes it relative, as FastAPI does (`auth/jwt/login`), which OpenAPI resolves
/// against the server root. Swagger UI resolves it against the page instead, and ours is
/// `/docs/` (FastAPI's is `/docs`), so its Authorize dialog would post to
/// `/docs/auth/jwt/login` and get 405. The absolute path names the same URL for every client.
fn absolute_token_url(mut doc: OpenApi) -> OpenApi {
    let schemes = doc
        .components
        .iter_mut()
        .flat_map(|c| c.security_schemes.values_mut());
    for scheme in schemes {
        if let RefOr::T(SecurityScheme::OAuth2(oauth2)) = scheme {
            for flow in oauth2.flows.values_mut() {
                if let Flow::Password(password) = flow
                    && !password.token_url.starts_with('/')
                    && !password.token_url.contains("://")
                {
                    password.token_url.insert(0, '/');
                }
            }
        }
    }
    doc
}

/// The document for the classic profile's mounting.
#[must_use]
pub fn classic_document(config: &Config) -> OpenApi {
    absolute_token_url(
        OpenApiBuilder::new(TITLE, VERSION)
            .classic(&config.classic_prefix)
            .rate_limits(config.limits.enabled)
            .build(),
    )
}
