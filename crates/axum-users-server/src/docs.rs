//! The OpenAPI documents of the two profiles.

use utoipa::openapi::OpenApi;

use crate::config::Config;

/// The document for the v15 profile's mounting.
#[must_use]
pub fn v15_document(_config: &Config) -> OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}

/// The document for the classic profile's mounting.
#[must_use]
pub fn classic_document(_config: &Config) -> OpenApi {
    utoipa::openapi::OpenApiBuilder::new().build()
}
