//! Any stored hash string: verified, refused or unknown, never a panic, never an allocation of
//! the hostile parameters (bounds are enforced while parsing), never "valid" for garbage.
#![no_main]

use axum_users_core::{Argon2Hasher, Argon2Params, PasswordHasher};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(stored) = std::str::from_utf8(data) {
        let hasher = Argon2Hasher::new(Argon2Params::insecure_fast());
        if let Ok(v) = hasher.verify_and_update("pw", stored) {
            assert!(!v.valid || stored.starts_with('$'));
        }
    }
});
