//! The OpenAPI document (filled in below).
