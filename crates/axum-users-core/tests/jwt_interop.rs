//! Tokens cross the language boundary: PyJWT's tokens verify here, and every asymmetric
//! algorithm signs and verifies with PKCS#8 PEM keys as `openssl genpkey` writes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum_users_core::{AUDIENCE_AUTH, AccessClaims, JwtAlgorithm, JwtCodec};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// Made by PyJWT 2.10.1: `jwt.encode({"sub": "5c6c2d1e-…", "aud": ["fastapi-users:auth"],
/// "exp": 4102444800}, SECRET, algorithm="HS256")`, as FastAPI Users' `JWTStrategy` writes.
const PYJWT_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1YzZjMmQxZS0yYjZhLTRmOGUtOWEzYi0wZDVmMWUyYTNiNGMiLCJhdWQiOlsiZmFzdGFwaS11c2VyczphdXRoIl0sImV4cCI6NDEwMjQ0NDgwMH0.C-KZAhyW52ByYQA-WW4eDzbg8NGpUUoM5dGyGKdCmxc";

#[test]
fn a_fastapi_users_token_verifies() {
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let claims: AccessClaims = codec.decode(PYJWT_TOKEN, AUDIENCE_AUTH).unwrap();
    assert_eq!(claims.sub, "5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c");
    assert_eq!(claims.exp, Some(4_102_444_800));
}

#[test]
fn a_tampered_fastapi_users_token_does_not() {
    let codec = JwtCodec::hs256(SECRET).unwrap();
    let mut forged = PYJWT_TOKEN.to_owned();
    forged.pop();
    forged.push('A');
    assert!(
        codec
            .decode::<AccessClaims>(&forged, AUDIENCE_AUTH)
            .is_err()
    );
}

#[test]
fn asymmetric_algorithms_sign_and_verify_with_pem_keys() {
    let keys = [
        (
            JwtAlgorithm::RS256,
            &include_bytes!("keys/rsa.pem")[..],
            &include_bytes!("keys/rsa.pub.pem")[..],
        ),
        (
            JwtAlgorithm::ES256,
            include_bytes!("keys/ec.pem"),
            include_bytes!("keys/ec.pub.pem"),
        ),
        (
            JwtAlgorithm::EdDSA,
            include_bytes!("keys/ed.pem"),
            include_bytes!("keys/ed.pub.pem"),
        ),
    ];
    for (alg, private, public) in keys {
        let codec = JwtCodec::from_pem(alg, private, public).unwrap();
        let token = codec.encode(&AccessClaims::new("me".into(), 60)).unwrap();
        let back: AccessClaims = codec.decode(&token, AUDIENCE_AUTH).unwrap();
        assert_eq!(back.sub, "me", "{alg:?}");
        // The algorithm is pinned: an HS256 codec never accepts it, nor the reverse.
        let hs = JwtCodec::hs256(SECRET).unwrap();
        assert!(
            hs.decode::<AccessClaims>(&token, AUDIENCE_AUTH).is_err(),
            "{alg:?}"
        );
        assert!(
            codec
                .decode::<AccessClaims>(PYJWT_TOKEN, AUDIENCE_AUTH)
                .is_err(),
            "{alg:?}"
        );
    }
    // A key of the wrong kind is refused up front.
    let e = JwtCodec::from_pem(
        JwtAlgorithm::RS256,
        include_bytes!("keys/ec.pem"),
        include_bytes!("keys/ec.pub.pem"),
    );
    assert!(e.is_err());
}

#[test]
fn private_key_only_codecs_publish_their_public_key_with_a_kid() {
    for (alg, pem, kty) in [
        (
            JwtAlgorithm::RS256,
            &include_bytes!("keys/rsa.pem")[..],
            "RSA",
        ),
        (JwtAlgorithm::ES256, include_bytes!("keys/ec.pem"), "EC"),
        (JwtAlgorithm::EdDSA, include_bytes!("keys/ed.pem"), "OKP"),
    ] {
        let codec = JwtCodec::from_private_pem(alg, pem).unwrap();
        let token = codec.encode(&AccessClaims::new("me".into(), 60)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        let jwks = serde_json::to_value(codec.jwks()).unwrap();
        let key = &jwks["keys"][0];
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert_eq!(key["kty"], kty, "{alg:?}");
        assert_eq!(key["use"], "sig");
        assert_eq!(header.kid.as_deref(), key["kid"].as_str(), "{alg:?}");
        assert!(key.get("d").is_none(), "no private material in the JWKS");
        assert_eq!(
            codec
                .decode::<AccessClaims>(&token, AUDIENCE_AUTH)
                .unwrap()
                .sub,
            "me"
        );
    }
    assert!(
        JwtCodec::hs256(SECRET).unwrap().jwks().keys.is_empty(),
        "a secret is never published"
    );
}

#[test]
fn rotated_keys_keep_verifying_until_removed() {
    let old =
        JwtCodec::from_private_pem(JwtAlgorithm::EdDSA, include_bytes!("keys/ed.pem")).unwrap();
    let old_token = old.encode(&AccessClaims::new("me".into(), 60)).unwrap();
    // A new key: generated here so the test needs no second fixture.
    let new_pem = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "ED25519"])
        .output()
        .map(|o| o.stdout)
        .ok()
        .filter(|o| !o.is_empty());
    let Some(new_pem) = new_pem else {
        panic!("openssl is needed to make a second key");
    };
    let rotated = JwtCodec::from_private_pem(JwtAlgorithm::EdDSA, &new_pem)
        .unwrap()
        .with_previous_key(include_bytes!("keys/ed.pub.pem"))
        .unwrap();
    assert_eq!(
        rotated
            .decode::<AccessClaims>(&old_token, AUDIENCE_AUTH)
            .unwrap()
            .sub,
        "me"
    );
    assert_eq!(rotated.jwks().keys.len(), 2);
    let fresh = rotated
        .encode(&AccessClaims::new("you".into(), 60))
        .unwrap();
    assert_eq!(
        rotated
            .decode::<AccessClaims>(&fresh, AUDIENCE_AUTH)
            .unwrap()
            .sub,
        "you"
    );
    assert!(
        old.decode::<AccessClaims>(&fresh, AUDIENCE_AUTH).is_err(),
        "the old key cannot verify the new"
    );
    let removed = JwtCodec::from_private_pem(JwtAlgorithm::EdDSA, &new_pem).unwrap();
    assert!(
        removed
            .decode::<AccessClaims>(&old_token, AUDIENCE_AUTH)
            .is_err()
    );
}

#[test]
fn an_rs256_token_verifies_with_another_library_through_the_jwks() {
    use base64::Engine as _;
    use jwt_simple::prelude::*;
    let codec =
        JwtCodec::from_private_pem(JwtAlgorithm::RS256, include_bytes!("keys/rsa.pem")).unwrap();
    let token = codec
        .encode(&AccessClaims::new(
            "5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c".into(),
            600,
        ))
        .unwrap();
    let jwks = serde_json::to_value(codec.jwks()).unwrap();
    let key = &jwks["keys"][0];
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let n = b64.decode(key["n"].as_str().unwrap()).unwrap();
    let e = b64.decode(key["e"].as_str().unwrap()).unwrap();
    let public = RS256PublicKey::from_components(&n, &e).unwrap();
    let options = VerificationOptions {
        allowed_audiences: Some(HashSet::from_strings(&["fastapi-users:auth"])),
        ..Default::default()
    };
    let claims = public
        .verify_token::<NoCustomClaims>(&token, Some(options))
        .unwrap();
    assert_eq!(
        claims.subject.as_deref(),
        Some("5c6c2d1e-2b6a-4f8e-9a3b-0d5f1e2a3b4c")
    );
    // And a forged one does not.
    let mut forged = token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert!(
        public
            .verify_token::<NoCustomClaims>(&forged, None)
            .is_err()
    );
}
