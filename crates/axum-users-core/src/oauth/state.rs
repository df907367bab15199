//! The state of one login through a provider: the state JWT, the CSRF cookie's token and what
//! is derived from it.

use std::fmt;

use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::jwt::now;
use crate::{AUDIENCE_OAUTH_STATE, JwtCodec, JwtError};

/// The CSRF cookie's name (FastAPI Users' `fastapiusersoauthcsrf`).
pub const CSRF_COOKIE_NAME: &str = "fastapiusersoauthcsrf";
/// How long a state (and its cookie) is valid: an hour, as in FastAPI Users.
pub const STATE_LIFETIME_SECONDS: u64 = 3600;

/// The claims of a state JWT: FastAPI Users' `{"csrftoken", ["sub"], "aud", "exp"}` plus
/// `oauth_name` (the state is good for one provider only) and `jti` (spent by the callback,
/// so a state is good once).
///
/// `csrftoken` is [`FlowSecrets::csrf_digest`], a digest of the cookie's token rather than the
/// token itself: the state travels in URLs (browser history, the provider's logs), and the
/// token also keys the PKCE verifier, which must not.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthStateClaims {
    /// The digest of the CSRF cookie's token.
    pub csrftoken: String,
    /// The user being associated (associate routes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The provider the flow was started with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_name: Option<String>,
    /// The state's random id, spent by the callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(default, skip_deserializing)]
    aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
}

impl fmt::Debug for OAuthStateClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthStateClaims")
            .field("sub", &self.sub)
            .field("oauth_name", &self.oauth_name)
            .field("jti", &self.jti)
            .field("exp", &self.exp)
            .finish_non_exhaustive()
    }
}

/// Why a state was refused; each is one `detail` of the callback's 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthStateError {
    /// Missing, malformed, forged or of another audience (`ACCESS_TOKEN_DECODE_ERROR`).
    #[error("the state does not decode")]
    Decode,
    /// Past its `exp` (`ACCESS_TOKEN_ALREADY_EXPIRED`).
    #[error("the state has expired")]
    Expired,
    /// Not this browser's (CSRF cookie missing or not matching), not this provider's, or
    /// already used (`OAUTH_INVALID_STATE`).
    #[error("the state is not valid here")]
    Invalid,
}

/// Signs and reads state JWTs (HS256 with the routers' state secret).
///
/// ```
/// use axum_users_core::oauth::{FlowSecrets, OAuthStateCodec};
///
/// let codec = OAuthStateCodec::new(b"state secret, at least 32 bytes long!").unwrap();
/// let secrets = FlowSecrets::generate();
/// let (state, claims) = codec.issue(&secrets, "github", None).unwrap();
/// let back = codec.decode(&state).unwrap();
/// assert_eq!((&back.jti, &back.oauth_name, back.exp), (&claims.jti, &claims.oauth_name, claims.exp));
/// assert!(secrets.matches(&back));
/// ```
#[derive(Clone)]
pub struct OAuthStateCodec {
    codec: JwtCodec,
    lifetime_seconds: u64,
}

impl fmt::Debug for OAuthStateCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthStateCodec")
            .field("lifetime_seconds", &self.lifetime_seconds)
            .finish_non_exhaustive()
    }
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

impl OAuthStateCodec {
    /// A codec with this secret; states live [`STATE_LIFETIME_SECONDS`].
    ///
    /// # Errors
    /// [`JwtError::Key`] for an empty secret.
    pub fn new(secret: &[u8]) -> Result<Self, JwtError> {
        Ok(Self {
            codec: JwtCodec::hs256(secret)?,
            lifetime_seconds: STATE_LIFETIME_SECONDS,
        })
    }

    /// The same codec with another lifetime.
    #[must_use]
    pub fn lifetime_seconds(mut self, seconds: u64) -> Self {
        self.lifetime_seconds = seconds;
        self
    }

    /// How long a state lives, in seconds.
    #[must_use]
    pub fn lifetime(&self) -> u64 {
        self.lifetime_seconds
    }

    /// A new state for a flow with `secrets` at provider `oauth_name` (`sub`: the user being
    /// associated), and its claims.
    ///
    /// # Errors
    /// [`JwtError::Encode`] if signing fails.
    pub fn issue(
        &self,
        secrets: &FlowSecrets,
        oauth_name: &str,
        sub: Option<Uuid>,
    ) -> Result<(String, OAuthStateClaims), JwtError> {
        let claims = OAuthStateClaims {
            csrftoken: secrets.csrf_digest(),
            sub: sub.map(|id| id.to_string()),
            oauth_name: Some(oauth_name.to_owned()),
            jti: Some(random_token(16)),
            aud: AUDIENCE_OAUTH_STATE.to_owned(),
            exp: now() + self.lifetime_seconds,
        };
        Ok((self.codec.encode(&claims)?, claims))
    }

    /// Reads a state: signature, audience and expiry (no leeway).
    ///
    /// # Errors
    /// [`OAuthStateError::Expired`] or [`OAuthStateError::Decode`].
    pub fn decode(&self, state: &str) -> Result<OAuthStateClaims, OAuthStateError> {
        match self.codec.decode(state, AUDIENCE_OAUTH_STATE) {
            Ok(claims) => Ok(claims),
            Err(JwtError::Expired) => Err(OAuthStateError::Expired),
            Err(_) => Err(OAuthStateError::Decode),
        }
    }
}

/// The secrets of one flow, all from the CSRF cookie's random token: the state's digest of it,
/// the PKCE verifier and the OpenID nonce. Only the cookie (`HttpOnly`) carries the token, so
/// someone who sees the URLs of the flow (state, code, nonce, PKCE challenge) can neither
/// forge the cookie nor redeem the code.
///
/// `Debug` shows nothing.
#[derive(Clone)]
pub struct FlowSecrets {
    token: String,
}

impl fmt::Debug for FlowSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FlowSecrets([redacted])")
    }
}

fn derived(label: &str, token: &str) -> String {
    let mut hash = sha2::Sha256::new();
    hash.update(b"axum-users oauth ");
    hash.update(label.as_bytes());
    hash.update([0]);
    hash.update(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.finalize())
}

impl FlowSecrets {
    /// A new flow: 32 random bytes, URL-safe base64 (Python's `secrets.token_urlsafe(32)`).
    #[must_use]
    pub fn generate() -> Self {
        Self {
            token: random_token(32),
        }
    }

    /// The flow whose cookie holds `token`.
    #[must_use]
    pub fn from_cookie(token: &str) -> Self {
        Self {
            token: token.to_owned(),
        }
    }

    /// The value of the CSRF cookie.
    #[must_use]
    pub fn cookie_value(&self) -> &str {
        &self.token
    }

    /// The state's `csrftoken` claim: base64url of a SHA-256 of the token.
    #[must_use]
    pub fn csrf_digest(&self) -> String {
        derived("csrf", &self.token)
    }

    /// The PKCE code verifier (43 characters of base64url).
    #[must_use]
    pub fn pkce_verifier(&self) -> String {
        derived("pkce", &self.token)
    }

    /// The OpenID Connect nonce.
    #[must_use]
    pub fn nonce(&self) -> String {
        derived("nonce", &self.token)
    }

    /// Whether a state was issued for this flow (constant-time comparison).
    #[must_use]
    pub fn matches(&self, claims: &OAuthStateClaims) -> bool {
        let expected = self.csrf_digest();
        bool::from(expected.as_bytes().ct_eq(claims.csrftoken.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"state secret, at least 32 bytes long!";

    fn payload(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn state_has_the_reference_claims_plus_ours() {
        let codec = OAuthStateCodec::new(SECRET).unwrap();
        let secrets = FlowSecrets::generate();
        let id = Uuid::new_v4();
        let (state, _) = codec.issue(&secrets, "google", Some(id)).unwrap();
        let p = payload(&state);
        assert_eq!(p["aud"], "fastapi-users:oauth-state");
        assert_eq!(p["sub"], id.to_string());
        assert_eq!(p["oauth_name"], "google");
        assert!(p["exp"].as_u64().unwrap() > now());
        assert_eq!(p["jti"].as_str().unwrap().len(), 22);
        // A digest, not the cookie's token.
        assert_ne!(p["csrftoken"], secrets.cookie_value());
        assert_eq!(p["csrftoken"], secrets.csrf_digest().as_str());
    }

    #[test]
    fn expired_forged_and_foreign_states_are_refused() {
        let codec = OAuthStateCodec::new(SECRET).unwrap();
        let secrets = FlowSecrets::generate();
        let expired = codec.clone().lifetime_seconds(0);
        let (state, _) = expired.issue(&secrets, "x", None).unwrap();
        assert_eq!(codec.decode(&state), Err(OAuthStateError::Expired));
        let other = OAuthStateCodec::new(b"another secret, also 32 bytes long").unwrap();
        let (state, _) = other.issue(&secrets, "x", None).unwrap();
        assert_eq!(codec.decode(&state), Err(OAuthStateError::Decode));
        assert_eq!(codec.decode("garbage"), Err(OAuthStateError::Decode));
        assert_eq!(codec.decode(""), Err(OAuthStateError::Decode));
        // A reset token (another audience) with the same secret is not a state.
        let jwt = JwtCodec::hs256(SECRET).unwrap();
        let reset = jwt
            .encode(&serde_json::json!({
                "csrftoken": "x", "aud": "fastapi-users:reset", "exp": now() + 60
            }))
            .unwrap();
        assert_eq!(codec.decode(&reset), Err(OAuthStateError::Decode));
    }

    #[test]
    fn secrets_are_distinct_and_bound_to_the_cookie() {
        let a = FlowSecrets::generate();
        let b = FlowSecrets::generate();
        assert_eq!(a.cookie_value().len(), 43);
        let verifier = a.pkce_verifier();
        assert_eq!(verifier.len(), 43);
        assert_ne!(verifier, a.nonce());
        assert_ne!(verifier, a.csrf_digest());
        assert_ne!(verifier, b.pkce_verifier());
        let same = FlowSecrets::from_cookie(a.cookie_value());
        assert_eq!(same.pkce_verifier(), verifier);
        let codec = OAuthStateCodec::new(SECRET).unwrap();
        let (_, claims) = codec.issue(&a, "x", None).unwrap();
        assert!(same.matches(&claims));
        assert!(!b.matches(&claims));
    }
}
