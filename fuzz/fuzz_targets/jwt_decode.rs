//! Any bytes as an access token: the decoder answers (an error is fine), never panics, and
//! never accepts a token it did not sign.
#![no_main]

use std::sync::LazyLock;

use axum_users_core::{AUDIENCE_AUTH, AccessClaims, JwtCodec};
use libfuzzer_sys::fuzz_target;

static CODEC: LazyLock<JwtCodec> = LazyLock::new(|| {
    JwtCodec::hs256(b"0123456789abcdef0123456789abcdef").expect("a 32-byte secret")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        assert!(CODEC.decode::<AccessClaims>(token, AUDIENCE_AUTH).is_err());
    }
});
