//! Stateless JWT access tokens.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{AUDIENCE_AUTH, AccessClaims, JwtCodec, Strategy, StrategyError, User, UserManager};

/// FastAPI Users' `JWTStrategy`: `{"sub", "aud": ["fastapi-users:auth"], "exp"}`, signed with a
/// [`JwtCodec`]. Logout does nothing server-side: the token lives until `exp`.
///
/// ```
/// use axum_users_core::{JwtCodec, JwtStrategy};
/// let codec = JwtCodec::hs256(b"a secret of at least thirty-two bytes!!").unwrap();
/// let strategy = JwtStrategy::new(codec, 3600);
/// ```
#[derive(Debug, Clone)]
pub struct JwtStrategy {
    codec: JwtCodec,
    lifetime_seconds: u64,
}

impl JwtStrategy {
    /// Tokens signed by `codec`, valid for `lifetime_seconds`.
    #[must_use]
    pub fn new(codec: JwtCodec, lifetime_seconds: u64) -> Self {
        Self { codec, lifetime_seconds }
    }

    /// The codec tokens are signed with.
    #[must_use]
    pub fn codec(&self) -> &JwtCodec {
        &self.codec
    }
}

#[async_trait]
impl<X: crate::UserExtra> Strategy<X> for JwtStrategy {
    async fn read_token(
        &self,
        token: &str,
        manager: &UserManager<X>,
    ) -> Result<Option<User<X>>, StrategyError> {
        let Ok(claims) = self.codec.decode::<AccessClaims>(token, AUDIENCE_AUTH) else {
            return Ok(None);
        };
        let Ok(id) = Uuid::parse_str(&claims.sub) else { return Ok(None) };
        Ok(manager.store().get(id).await?)
    }

    async fn write_token(&self, user: &User<X>) -> Result<String, StrategyError> {
        self.codec
            .encode(&AccessClaims::new(user.id.to_string(), self.lifetime_seconds))
            .map_err(StrategyError::Jwt)
    }
}
