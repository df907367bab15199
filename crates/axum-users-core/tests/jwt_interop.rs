//! Tokens cross the language boundary: PyJWT's tokens verify here, and every asymmetric
//! algorithm signs and verifies with PKCS#8 PEM keys as `openssl genpkey` writes them.

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
