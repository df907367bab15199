//! [`AuthBackend`]: a [`Transport`] paired with a [`Strategy`].

use std::sync::Arc;

use axum_users_core::{JwtStrategy, RefreshTokens, Strategy, UserExtra};

use crate::transport::{BearerTransport, Transport};

/// FastAPI Users' `AuthenticationBackend`: how a token travels × what a token is.
///
/// ```
/// use axum_users::AuthBackend;
/// use axum_users_core::{JwtCodec, JwtStrategy};
///
/// let codec = JwtCodec::hs256(b"a secret of at least thirty-two bytes!!").unwrap();
/// let jwt = AuthBackend::<()>::bearer_jwt("jwt", JwtStrategy::new(codec, 3600));
/// assert_eq!(jwt.name(), "jwt");
/// ```
pub struct AuthBackend<X = ()> {
    name: String,
    transport: Arc<dyn Transport>,
    strategy: Arc<dyn Strategy<X>>,
    refresh: Option<RefreshTokens>,
}

impl<X> Clone for AuthBackend<X> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            transport: Arc::clone(&self.transport),
            strategy: Arc::clone(&self.strategy),
            refresh: self.refresh.clone(),
        }
    }
}

impl<X> std::fmt::Debug for AuthBackend<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBackend")
            .field("name", &self.name)
            .field("refresh", &self.refresh)
            .finish_non_exhaustive()
    }
}

impl<X: UserExtra> AuthBackend<X> {
    /// A backend from its parts.
    pub fn new(
        name: impl Into<String>,
        transport: Arc<dyn Transport>,
        strategy: Arc<dyn Strategy<X>>,
    ) -> Self {
        Self {
            name: name.into(),
            transport,
            strategy,
            refresh: None,
        }
    }

    /// The same backend with refresh tokens (ours; FastAPI Users has none): login also answers
    /// a `refresh_token`, [`auth_router`](crate::auth_router) mounts `POST /refresh` (a refresh
    /// token for a new access token and a new refresh token, the old one rotated), logout
    /// revokes the session's refresh-token family, and [`UsersState::revoke_all`] (a password
    /// change or reset) revokes every family of the user.
    ///
    /// Only a transport that can carry a refresh token hands them out
    /// ([`Transport::carries_refresh_token`]: the bearer transport; a cookie login stays a 204
    /// without one, and its router mounts no `/refresh`). Logout finds the session through the
    /// strategy ([`Strategy::token_session`]): [`JwtStrategy`] records it in the access token
    /// (the `sid` claim).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_users::AuthBackend;
    /// use axum_users_core::{JwtCodec, JwtStrategy, MemoryRefreshStore, RefreshTokens};
    ///
    /// let codec = JwtCodec::hs256(b"a secret of at least thirty-two bytes!!").unwrap();
    /// let refresh = RefreshTokens::new(Arc::new(MemoryRefreshStore::new()));
    /// let jwt = AuthBackend::<()>::bearer_jwt("jwt", JwtStrategy::new(codec, 900)).with_refresh(refresh);
    /// assert!(jwt.refresh().is_some());
    /// ```
    ///
    /// [`UsersState::revoke_all`]: crate::UsersState::revoke_all
    /// [`Strategy::token_session`]: axum_users_core::Strategy::token_session
    #[must_use]
    pub fn with_refresh(mut self, tokens: RefreshTokens) -> Self {
        self.refresh = Some(tokens);
        self
    }

    /// The answer to a successful login of `user` through this backend: the transport's login
    /// response with a new token; with refresh tokens on, a new refresh-token family too, whose
    /// id the access token carries (so that logout can end it), and the refresh token in the
    /// answer. Every login route (the auth router, an OAuth callback) answers with it.
    ///
    /// # Errors
    /// 503 when the strategy's or the refresh tokens' store fails.
    pub async fn login_response(
        &self,
        user: &axum_users_core::User<X>,
    ) -> Result<axum::response::Response, crate::ApiError> {
        let Some(tokens) = self.refresh() else {
            let token = self.strategy.write_token(user).await?;
            return Ok(self.transport.login_response(token));
        };
        let issued = tokens
            .issue(user.id)
            .await
            .map_err(axum_users_core::StrategyError::Store)?;
        let access = self
            .strategy
            .write_session_token(user, issued.family_id)
            .await?;
        Ok(self.transport.refresh_login_response(access, issued.token))
    }

    /// The refresh tokens, when this backend hands them out (configured with
    /// [`with_refresh`](Self::with_refresh) and a transport that carries them).
    #[must_use]
    pub fn refresh(&self) -> Option<&RefreshTokens> {
        self.refresh
            .as_ref()
            .filter(|_| self.transport.carries_refresh_token())
    }

    /// The usual pair: bearer header × JWT.
    pub fn bearer_jwt(name: impl Into<String>, strategy: JwtStrategy) -> Self {
        Self::new(name, Arc::new(BearerTransport), Arc::new(strategy))
    }

    /// The backend's name (`jwt`, `cookie`, …).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The transport.
    #[must_use]
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }

    /// The strategy.
    #[must_use]
    pub fn strategy(&self) -> &Arc<dyn Strategy<X>> {
        &self.strategy
    }
}
