//! Any text as an email: normalised or refused; a normalised one is bounded, has one `@`, and
//! normalising it again changes nothing.
#![no_main]

use axum_users_core::email;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(e) = email::normalize(text)
    {
        assert!(e.chars().count() <= email::MAX_EMAIL_LEN);
        assert_eq!(e.matches('@').count(), 1);
        assert_eq!(email::normalize(&e).as_deref(), Ok(e.as_str()));
    }
});
