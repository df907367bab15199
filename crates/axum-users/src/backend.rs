//! [`AuthBackend`]: a [`Transport`] paired with a [`Strategy`].

use std::sync::Arc;

use axum_users_core::{JwtStrategy, Strategy, UserExtra};

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
}

impl<X> Clone for AuthBackend<X> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            transport: Arc::clone(&self.transport),
            strategy: Arc::clone(&self.strategy),
        }
    }
}

impl<X> std::fmt::Debug for AuthBackend<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBackend")
            .field("name", &self.name)
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
        }
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
