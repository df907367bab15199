//! Shared helpers of the core's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod smtp;
