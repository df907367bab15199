//! What a token is: the [`Strategy`] trait and the stateless [`JwtStrategy`].

mod database;
mod jwt;

use async_trait::async_trait;
use uuid::Uuid;

pub use self::database::DatabaseStrategy;
pub use self::jwt::{JwtStrategy, PasswordBinding};
use crate::{BoxError, JwtError, StoreError, User, UserManager};

/// Why a strategy failed. A bad, expired or unknown token is not an error: it reads as
/// `Ok(None)`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// The user store failed while resolving the token's user.
    #[error("store error")]
    Store(#[from] StoreError),
    /// A token could not be signed.
    #[error("token signing failed")]
    Jwt(#[source] JwtError),
    /// The strategy's own backend (a token table, Redis) failed.
    #[error("token backend error")]
    Backend(#[source] BoxError),
}

/// FastAPI Users' `Strategy`: turns a user into a token and a token back into a user.
///
/// ```
/// use async_trait::async_trait;
/// use axum_users_core::{Strategy, StrategyError, User, UserManager};
///
/// /// Accepts the user's id as its token. (Never do this outside an example.)
/// struct IdAsToken;
///
/// #[async_trait]
/// impl Strategy<()> for IdAsToken {
///     async fn read_token(&self, token: &str, manager: &UserManager)
///         -> Result<Option<User>, StrategyError> {
///         let Ok(id) = token.parse() else { return Ok(None) };
///         Ok(manager.store().get(id).await?)
///     }
///     async fn write_token(&self, user: &User) -> Result<String, StrategyError> {
///         Ok(user.id.to_string())
///     }
/// }
/// ```
#[async_trait]
pub trait Strategy<X: Send + Sync + 'static = ()>: Send + Sync + 'static {
    /// The user a token stands for; `Ok(None)` for a bad, expired or revoked token, or a user
    /// that no longer exists.
    async fn read_token(
        &self,
        token: &str,
        manager: &UserManager<X>,
    ) -> Result<Option<User<X>>, StrategyError>;

    /// A new token for a user who just logged in.
    async fn write_token(&self, user: &User<X>) -> Result<String, StrategyError>;

    /// A new token for a login (or a refresh) of the refresh-token family `session`. The
    /// default ignores the session and calls [`write_token`](Self::write_token);
    /// [`JwtStrategy`] records it in the token (the `sid` claim), so that logout can revoke
    /// the family.
    async fn write_session_token(
        &self,
        user: &User<X>,
        session: Uuid,
    ) -> Result<String, StrategyError> {
        let _ = session;
        self.write_token(user).await
    }

    /// The refresh-token family a token was issued with ([`write_session_token`]), read
    /// without I/O; `None` (the default) when the token names none or does not verify.
    ///
    /// [`write_session_token`]: Self::write_session_token
    fn token_session(&self, token: &str) -> Option<Uuid> {
        let _ = token;
        None
    }

    /// Revokes a token at logout. Stateless strategies keep the default, which does nothing.
    async fn destroy_token(&self, token: &str, user: &User<X>) -> Result<(), StrategyError> {
        let _ = (token, user);
        Ok(())
    }

    /// Revokes every token of a user (after a password change or reset). The default does
    /// nothing: right for strategies that check the password binding when reading (JWT).
    async fn revoke_all(&self, user: &User<X>) -> Result<(), StrategyError> {
        let _ = user;
        Ok(())
    }
}
