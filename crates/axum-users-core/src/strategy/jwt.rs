//! Stateless JWT access tokens.

use async_trait::async_trait;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use crate::{
    AUDIENCE_AUTH, AccessClaims, JwtCodec, Strategy, StrategyError, User, UserManager,
    password_fingerprint,
};

/// How access tokens relate to the password they were issued under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordBinding {
    /// Strict FastAPI Users behaviour: tokens carry no binding and survive password changes.
    Off,
    /// Tokens carry a `pfp` claim; one that no longer matches the user's password hash is
    /// refused (401). Tokens without the claim (minted by FastAPI Users with the same secret)
    /// are still accepted. The default.
    #[default]
    Bind,
    /// As `Bind`, and tokens without the claim are refused too.
    Require,
}

/// FastAPI Users' `JWTStrategy`: `{"sub", "aud": ["fastapi-users:auth"], "exp"}`, signed with a
/// [`JwtCodec`], plus (by default) a `pfp` claim binding the token to the password, so that a
/// password change or reset revokes every token issued before it. Logout does nothing
/// server-side: the token lives until `exp` or the next password change.
///
/// ```
/// use axum_users_core::{JwtCodec, JwtStrategy, PasswordBinding};
/// let codec = JwtCodec::hs256(b"a secret of at least thirty-two bytes!!").unwrap();
/// let strategy = JwtStrategy::new(codec, 3600).password_binding(PasswordBinding::Off);
/// ```
#[derive(Debug, Clone)]
pub struct JwtStrategy {
    codec: JwtCodec,
    lifetime_seconds: u64,
    binding: PasswordBinding,
}

impl JwtStrategy {
    /// Tokens signed by `codec`, valid for `lifetime_seconds`, bound to the password.
    #[must_use]
    pub fn new(codec: JwtCodec, lifetime_seconds: u64) -> Self {
        Self {
            codec,
            lifetime_seconds,
            binding: PasswordBinding::default(),
        }
    }

    /// Sets the password binding.
    #[must_use]
    pub fn password_binding(mut self, binding: PasswordBinding) -> Self {
        self.binding = binding;
        self
    }

    /// The codec tokens are signed with.
    #[must_use]
    pub fn codec(&self) -> &JwtCodec {
        &self.codec
    }

    /// Signs an access token for `user`, with the password binding and, for a refresh-token
    /// session, its family as `sid`.
    fn encode_for<X>(
        &self,
        user: &User<X>,
        session: Option<Uuid>,
    ) -> Result<String, StrategyError> {
        let mut claims = AccessClaims::new(user.id.to_string(), self.lifetime_seconds);
        if self.binding != PasswordBinding::Off {
            claims.pfp = Some(password_fingerprint(&user.hashed_password));
        }
        claims.sid = session.map(|s| s.hyphenated().to_string());
        self.codec.encode(&claims).map_err(StrategyError::Jwt)
    }

    /// Decodes a token's claims (signature, audience, expiry checked).
    #[must_use]
    pub fn claims(&self, token: &str) -> Option<AccessClaims> {
        self.codec.decode::<AccessClaims>(token, AUDIENCE_AUTH).ok()
    }
}

#[async_trait]
impl<X: crate::UserExtra> Strategy<X> for JwtStrategy {
    async fn read_token(
        &self,
        token: &str,
        manager: &UserManager<X>,
    ) -> Result<Option<User<X>>, StrategyError> {
        let Some(claims) = self.claims(token) else {
            return Ok(None);
        };
        let Ok(id) = Uuid::parse_str(&claims.sub) else {
            return Ok(None);
        };
        let Some(user) = manager.store().get(id).await? else {
            return Ok(None);
        };
        let bound_ok = match (&claims.pfp, self.binding) {
            (_, PasswordBinding::Off) | (None, PasswordBinding::Bind) => true,
            (None, PasswordBinding::Require) => false,
            (Some(pfp), _) => pfp
                .as_bytes()
                .ct_eq(password_fingerprint(&user.hashed_password).as_bytes())
                .into(),
        };
        Ok(bound_ok.then_some(user))
    }

    async fn write_token(&self, user: &User<X>) -> Result<String, StrategyError> {
        self.encode_for(user, None)
    }

    async fn write_session_token(
        &self,
        user: &User<X>,
        session: Uuid,
    ) -> Result<String, StrategyError> {
        self.encode_for(user, Some(session))
    }

    fn token_session(&self, token: &str) -> Option<Uuid> {
        Uuid::parse_str(self.claims(token)?.sid.as_deref()?).ok()
    }
}
