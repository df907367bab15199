//! JSON Web Tokens as FastAPI Users writes and reads them (PyJWT semantics): audiences, integer
//! `exp`, no leeway, the algorithm pinned at decode.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Audience of access tokens.
pub const AUDIENCE_AUTH: &str = "fastapi-users:auth";
/// Audience of reset-password tokens.
pub const AUDIENCE_RESET: &str = "fastapi-users:reset";
/// Audience of verification tokens.
pub const AUDIENCE_VERIFY: &str = "fastapi-users:verify";
/// Audience of OAuth state tokens.
pub const AUDIENCE_OAUTH_STATE: &str = "fastapi-users:oauth-state";

/// Signing algorithms supported for access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret (the default, as in FastAPI Users).
    #[default]
    HS256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl JwtAlgorithm {
    fn to_jsonwebtoken(self) -> Algorithm {
        match self {
            Self::HS256 => Algorithm::HS256,
            Self::RS256 => Algorithm::RS256,
            Self::ES256 => Algorithm::ES256,
            Self::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = JwtError;
    fn from_str(s: &str) -> Result<Self, JwtError> {
        match s {
            "HS256" => Ok(Self::HS256),
            "RS256" => Ok(Self::RS256),
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            _ => Err(JwtError::Key(
                "unsupported algorithm (HS256, RS256, ES256 or EdDSA)",
            )),
        }
    }
}

/// Why a token could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwtError {
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
    /// Bad signature, wrong audience, wrong algorithm, malformed.
    #[error("invalid token")]
    Invalid(#[source] jsonwebtoken::errors::Error),
    /// A key or secret could not be used.
    #[error("key error: {0}")]
    Key(&'static str),
    /// Encoding failed.
    #[error("encoding failed")]
    Encode(#[source] jsonwebtoken::errors::Error),
}

/// Signs and verifies tokens with one algorithm and key.
///
/// `Debug` never prints key material.
///
/// ```
/// use axum_users_core::{AccessClaims, JwtCodec, AUDIENCE_AUTH};
/// let codec = JwtCodec::hs256(b"a secret of at least thirty-two bytes!!").unwrap();
/// let claims = AccessClaims::new("42".into(), 3600);
/// let token = codec.encode(&claims).unwrap();
/// let back: AccessClaims = codec.decode(&token, AUDIENCE_AUTH).unwrap();
/// assert_eq!(back.sub, "42");
/// ```
#[derive(Clone)]
pub struct JwtCodec {
    algorithm: JwtAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The signing key's id (RFC 7638 thumbprint) for asymmetric keys.
    kid: Option<String>,
    /// Public JWKs: the signing key's first, then retired keys that still verify.
    public: Vec<Jwk>,
    /// Retired keys that still verify, by key id.
    previous: Vec<(String, DecodingKey)>,
}

impl fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwtCodec {
    /// HS256 with a shared secret.
    ///
    /// # Errors
    /// [`JwtError::Key`] for an empty secret.
    pub fn hs256(secret: &[u8]) -> Result<Self, JwtError> {
        if secret.is_empty() {
            return Err(JwtError::Key("empty secret"));
        }
        Ok(Self {
            algorithm: JwtAlgorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid: None,
            public: Vec::new(),
            previous: Vec::new(),
        })
    }

    /// An asymmetric algorithm with only its PKCS#8 private key PEM (as `openssl genpkey` writes
    /// it): the public key is derived, the key id is its RFC 7638 thumbprint, and tokens carry
    /// it in their `kid` header.
    ///
    /// ```
    /// use axum_users_core::{JwtAlgorithm, JwtCodec};
    /// # let pem = include_bytes!("../tests/keys/ec.pem");
    /// let codec = JwtCodec::from_private_pem(JwtAlgorithm::ES256, pem).unwrap();
    /// assert_eq!(codec.jwks().keys.len(), 1);
    /// ```
    ///
    /// # Errors
    /// [`JwtError::Key`] when the PEM does not parse for this algorithm.
    pub fn from_private_pem(algorithm: JwtAlgorithm, private_pem: &[u8]) -> Result<Self, JwtError> {
        let encoding = encoding_key(algorithm, private_pem)?;
        let (jwk, kid, decoding) = public_jwk(&encoding, algorithm)?;
        Ok(Self {
            algorithm,
            encoding,
            decoding,
            kid: Some(kid),
            public: vec![jwk],
            previous: Vec::new(),
        })
    }

    /// Adds a retired key (its private PEM, or only its public PEM) that keeps verifying the
    /// tokens it signed until it is removed: key rotation without logging everyone out. Its
    /// public key is published in [`JwtCodec::jwks`].
    ///
    /// # Errors
    /// [`JwtError::Key`] for a PEM that is not a key of this codec's algorithm, or for HS256.
    pub fn with_previous_key(mut self, pem: &[u8]) -> Result<Self, JwtError> {
        if self.algorithm == JwtAlgorithm::HS256 {
            return Err(JwtError::Key(
                "HS256 has no key rotation: change the secret",
            ));
        }
        let alg = self.algorithm.to_jsonwebtoken();
        let jwk = match encoding_key(self.algorithm, pem) {
            Ok(encoding) => public_jwk(&encoding, self.algorithm)?.0,
            Err(_) => {
                let decoding = decoding_key(self.algorithm, pem)?;
                let mut jwk = Jwk::from_decoding_key(&decoding, Some(alg))
                    .map_err(|_| JwtError::Key("the public key PEM does not parse"))?;
                let kid = jwk
                    .thumbprint(ThumbprintHash::SHA256)
                    .map_err(|_| JwtError::Key("bad key"))?;
                jwk.common.key_id = Some(kid);
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                jwk
            }
        };
        let kid = jwk.common.key_id.clone().unwrap_or_default();
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| JwtError::Key("bad key"))?;
        self.previous.push((kid, decoding));
        self.public.push(jwk);
        Ok(self)
    }

    /// The public keys as a JWK Set (`/.well-known/jwks.json`): empty for HS256, whose secret is
    /// never published.
    #[must_use]
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.public.clone(),
        }
    }

    /// The signing key's id (`kid`), for asymmetric keys.
    #[must_use]
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// An asymmetric algorithm with a PKCS#8 PEM private key (as `openssl genpkey` writes it)
    /// and the matching public key PEM.
    ///
    /// # Errors
    /// [`JwtError::Key`] when a PEM does not parse for this algorithm.
    pub fn from_pem(
        algorithm: JwtAlgorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> Result<Self, JwtError> {
        let bad = |_| JwtError::Key("the PEM key does not parse for this algorithm");
        let (encoding, decoding) = match algorithm {
            JwtAlgorithm::HS256 => return Err(JwtError::Key("HS256 takes a secret, not a PEM")),
            JwtAlgorithm::RS256 => (
                EncodingKey::from_rsa_pem(private_pem).map_err(bad)?,
                DecodingKey::from_rsa_pem(public_pem).map_err(bad)?,
            ),
            JwtAlgorithm::ES256 => (
                EncodingKey::from_ec_pem(private_pem).map_err(bad)?,
                DecodingKey::from_ec_pem(public_pem).map_err(bad)?,
            ),
            JwtAlgorithm::EdDSA => (
                EncodingKey::from_ed_pem(private_pem).map_err(bad)?,
                DecodingKey::from_ed_pem(public_pem).map_err(bad)?,
            ),
        };
        let (jwk, kid, _) = public_jwk(&encoding, algorithm)?;
        Ok(Self {
            algorithm,
            encoding,
            decoding,
            kid: Some(kid),
            public: vec![jwk],
            previous: Vec::new(),
        })
    }

    /// The algorithm tokens are signed and verified with.
    #[must_use]
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Signs claims.
    ///
    /// # Errors
    /// [`JwtError::Encode`] if signing fails.
    pub fn encode<C: Serialize>(&self, claims: &C) -> Result<String, JwtError> {
        let mut header = Header::new(self.algorithm.to_jsonwebtoken());
        header.kid.clone_from(&self.kid);
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(JwtError::Encode)
    }

    /// Verifies a token's signature, algorithm, audience (a string or an array containing it)
    /// and `exp` (refused from the second it is reached, as PyJWT), then reads the claims.
    ///
    /// # Errors
    /// [`JwtError::Expired`] or [`JwtError::Invalid`].
    pub fn decode<C: DeserializeOwned>(&self, token: &str, audience: &str) -> Result<C, JwtError> {
        let mut v = Validation::new(self.algorithm.to_jsonwebtoken());
        v.set_audience(&[audience]);
        v.set_required_spec_claims(&["aud"]);
        v.leeway = 0;
        // jsonwebtoken accepts `exp == now`; PyJWT refuses it. This makes both refuse.
        v.reject_tokens_expiring_in_less_than = 1;
        v.validate_exp = true;
        // A token naming a retired key is verified with it; anything else with the current key.
        // (Without retired keys the header is not parsed here: `decode` parses it anyway.)
        let key = (!self.previous.is_empty())
            .then(|| jsonwebtoken::decode_header(token).ok())
            .flatten()
            .and_then(|h| h.kid)
            .and_then(|kid| {
                self.previous
                    .iter()
                    .find(|(k, _)| *k == kid)
                    .map(|(_, key)| key)
            })
            .unwrap_or(&self.decoding);
        jsonwebtoken::decode::<C>(token, key, &v)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtError::Expired,
                _ => JwtError::Invalid(e),
            })
    }
}

fn encoding_key(algorithm: JwtAlgorithm, pem: &[u8]) -> Result<EncodingKey, JwtError> {
    let bad = |_| JwtError::Key("the private key PEM does not parse for this algorithm");
    match algorithm {
        JwtAlgorithm::HS256 => Err(JwtError::Key("HS256 takes a secret, not a PEM")),
        JwtAlgorithm::RS256 => EncodingKey::from_rsa_pem(pem).map_err(bad),
        JwtAlgorithm::ES256 => EncodingKey::from_ec_pem(pem).map_err(bad),
        JwtAlgorithm::EdDSA => EncodingKey::from_ed_pem(pem).map_err(bad),
    }
}

fn decoding_key(algorithm: JwtAlgorithm, pem: &[u8]) -> Result<DecodingKey, JwtError> {
    let bad = |_| JwtError::Key("the public key PEM does not parse for this algorithm");
    match algorithm {
        JwtAlgorithm::HS256 => Err(JwtError::Key("HS256 takes a secret, not a PEM")),
        JwtAlgorithm::RS256 => DecodingKey::from_rsa_pem(pem).map_err(bad),
        JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(pem).map_err(bad),
        JwtAlgorithm::EdDSA => DecodingKey::from_ed_pem(pem).map_err(bad),
    }
}

/// The public JWK of a private key (with `kid`, `use: sig`, `alg`), its key id, and a
/// decoding key built from it.
fn public_jwk(
    encoding: &EncodingKey,
    algorithm: JwtAlgorithm,
) -> Result<(Jwk, String, DecodingKey), JwtError> {
    let alg = algorithm.to_jsonwebtoken();
    let mut jwk = Jwk::from_encoding_key(encoding, alg)
        .map_err(|_| JwtError::Key("cannot derive the public key"))?;
    let kid = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| JwtError::Key("cannot derive the key id"))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let decoding = DecodingKey::from_jwk(&jwk)
        .map_err(|_| JwtError::Key("cannot use the derived public key"))?;
    Ok((jwk, kid, decoding))
}

/// Seconds since the Unix epoch.
#[must_use]
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The claims of an access token: `{"sub", "aud": ["fastapi-users:auth"], "exp"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// Audiences; written as an array, as FastAPI Users does.
    #[serde(default, skip_deserializing)]
    pub aud: Vec<String>,
    /// Expiry, integer seconds since the epoch; `None` only for tokens minted without a
    /// lifetime elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// Ours, additive: a fingerprint of the password hash the token was issued under (see
    /// [`password_fingerprint`]); a password change makes it stale. FastAPI Users ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pfp: Option<String>,
    /// Ours, additive: the refresh-token family (session) the token was issued with, when
    /// refresh tokens are on, so that logout can revoke that family. FastAPI Users ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// A short fingerprint of a password hash: base64url of the first 12 bytes of its SHA-256.
/// It reveals nothing usable about the password (the hash is salted), and changes whenever
/// the password (or its hash) does.
///
/// ```
/// let a = axum_users_core::password_fingerprint("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA");
/// assert_eq!(a.len(), 16);
/// ```
#[must_use]
pub fn password_fingerprint(hashed_password: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(hashed_password.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12])
}

impl AccessClaims {
    /// Claims for `sub`, valid for `lifetime_seconds` from now.
    #[must_use]
    pub fn new(sub: String, lifetime_seconds: u64) -> Self {
        Self {
            sub,
            aud: vec![AUDIENCE_AUTH.to_owned()],
            exp: Some(now() + lifetime_seconds),
            pfp: None,
            sid: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn access_token_has_the_reference_shape() {
        let codec = JwtCodec::hs256(SECRET).unwrap();
        let token = codec.encode(&AccessClaims::new("abc".into(), 60)).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let json: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(json["sub"], "abc");
        assert_eq!(json["aud"], serde_json::json!(["fastapi-users:auth"]));
        assert!(json["exp"].is_u64());
        assert_eq!(json.as_object().unwrap().len(), 3);
    }

    #[test]
    fn expired_wrong_audience_and_forged_tokens_are_refused() {
        let codec = JwtCodec::hs256(SECRET).unwrap();
        let expired = AccessClaims {
            exp: Some(now()),
            ..AccessClaims::new("a".into(), 0)
        };
        let t = codec.encode(&expired).unwrap();
        assert!(matches!(
            codec.decode::<AccessClaims>(&t, AUDIENCE_AUTH),
            Err(JwtError::Expired)
        ));

        let t = codec.encode(&AccessClaims::new("a".into(), 60)).unwrap();
        assert!(codec.decode::<AccessClaims>(&t, AUDIENCE_RESET).is_err());
        let other = JwtCodec::hs256(b"another secret, also long enough!!").unwrap();
        assert!(other.decode::<AccessClaims>(&t, AUDIENCE_AUTH).is_err());
        assert!(
            codec
                .decode::<AccessClaims>("not.a.token", AUDIENCE_AUTH)
                .is_err()
        );
    }

    #[test]
    fn string_audience_is_accepted() {
        #[derive(Serialize)]
        struct Legacy<'a> {
            sub: &'a str,
            aud: &'a str,
            exp: u64,
        }
        let codec = JwtCodec::hs256(SECRET).unwrap();
        let t = codec
            .encode(&Legacy {
                sub: "x",
                aud: AUDIENCE_AUTH,
                exp: now() + 60,
            })
            .unwrap();
        let c: AccessClaims = codec.decode(&t, AUDIENCE_AUTH).unwrap();
        assert_eq!(c.sub, "x");
    }
}
