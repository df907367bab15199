//! Property tests of the parsers that read untrusted input: tokens, stored hashes, emails.
//! Whatever the input, they answer (an error is fine) and never panic.
//!
//! The same parsers are fuzzed by `cargo fuzz` (`fuzz/`, `scripts/fuzz.sh`); these proptest
//! runs are the deterministic share that every `cargo test` runs (see docs/architecture.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum_users_core::{
    AUDIENCE_AUTH, AccessClaims, Argon2Hasher, Argon2Params, JwtCodec, PasswordHasher, email,
};
use proptest::prelude::*;

fn codec() -> JwtCodec {
    JwtCodec::hs256(b"0123456789abcdef0123456789abcdef").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_jwt_decoder_refuses_garbage_without_panicking(s in ".{0,300}") {
        prop_assert!(codec().decode::<AccessClaims>(&s, AUDIENCE_AUTH).is_err());
    }

    #[test]
    fn the_jwt_decoder_refuses_tampered_tokens(flip in 0usize..200, c in "[A-Za-z0-9_-]") {
        let token = codec().encode(&AccessClaims::new("x".into(), 60)).unwrap();
        let mut bytes = token.into_bytes();
        let i = flip % bytes.len();
        let replacement = c.as_bytes()[0];
        prop_assume!(bytes[i] != replacement && bytes[i] != b'.');
        bytes[i] = replacement;
        let tampered = String::from_utf8(bytes).unwrap();
        // Changing one character of the header, payload or signature breaks the token (a
        // base64 character whose low bits are padding can decode to the same bytes: skip those).
        if let Ok(c) = codec().decode::<AccessClaims>(&tampered, AUDIENCE_AUTH) {
            prop_assert_eq!(c.sub, "x");
        }
    }

    #[test]
    fn segment_shaped_garbage_is_refused(a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,200}", c in "[A-Za-z0-9_-]{0,90}") {
        let token = format!("{a}.{b}.{c}");
        prop_assert!(codec().decode::<AccessClaims>(&token, AUDIENCE_AUTH).is_err());
    }

    #[test]
    fn the_phc_parser_never_panics(s in "\\$?(argon2(id|i|d)?|2[aby]|x)?\\$?[ -~]{0,120}") {
        let hasher = Argon2Hasher::new(Argon2Params::insecure_fast());
        // Any stored string: verified, refused, or unknown — never a panic, never "valid".
        if let Ok(v) = hasher.verify_and_update("pw", &s) {
            prop_assert!(!v.valid || s.starts_with('$'));
        }
    }

    #[test]
    fn argon2_strings_with_hostile_parameters_are_unknown(m in 0u64..u64::MAX, t in 0u64..10_000, p in 0u64..1_000) {
        let hasher = Argon2Hasher::new(Argon2Params::insecure_fast());
        let s = format!("$argon2id$v=19$m={m},t={t},p={p}$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA");
        let outcome = hasher.verify_and_update("pw", &s);
        // Either refused as unknown (out of bounds) or computed and not matching.
        prop_assert!(outcome.map(|v| !v.valid).unwrap_or(true));
    }

    #[test]
    fn email_normalisation_is_idempotent_and_bounded(s in "[ -~\\u{80}-\\u{10FFFF}]{0,400}") {
        if let Ok(e) = email::normalize(&s) {
            prop_assert!(e.chars().count() <= email::MAX_EMAIL_LEN);
            prop_assert_eq!(email::normalize(&e).unwrap(), e.clone());
            prop_assert_eq!(e.matches('@').count(), 1);
        }
    }
}
