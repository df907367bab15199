//! [`Authenticator`]: backends tried in order; FastAPI Users' 401/403 rules.

use axum::http::request::Parts;
use axum_users_core::{User, UserExtra, UserManager};

use crate::backend::AuthBackend;
use crate::error::ApiError;

/// A user who presented a valid token, with the token and the backend that accepted it.
#[derive(Debug, Clone)]
pub struct Authenticated<X = ()> {
    /// The user.
    pub user: User<X>,
    /// The token that authenticated the request.
    pub token: String,
    /// Index of the backend that accepted it.
    pub backend: usize,
}

/// What a route demands of its user, checked in the reference's order: no user or an
/// inactive one → 401; unverified (when required) or not a superuser (when required) → 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requirement {
    /// The user must be active.
    pub active: bool,
    /// The user must be verified.
    pub verified: bool,
    /// The user must be a superuser.
    pub superuser: bool,
}

impl Requirement {
    /// An active user.
    pub const ACTIVE: Self = Self {
        active: true,
        verified: false,
        superuser: false,
    };

    /// Adds the verified requirement when `required`.
    #[must_use]
    pub const fn verified_if(mut self, required: bool) -> Self {
        self.verified = required;
        self
    }

    /// Adds the superuser requirement.
    #[must_use]
    pub const fn superuser(mut self) -> Self {
        self.superuser = true;
        self
    }

    /// Applies the rules to the outcome of authentication.
    ///
    /// # Errors
    /// [`ApiError::Unauthorized`] or [`ApiError::Forbidden`].
    pub fn check<X>(self, auth: Option<Authenticated<X>>) -> Result<Authenticated<X>, ApiError> {
        let Some(auth) = auth else {
            return Err(ApiError::Unauthorized);
        };
        if self.active && !auth.user.is_active {
            return Err(ApiError::Unauthorized);
        }
        if (self.verified && !auth.user.is_verified) || (self.superuser && !auth.user.is_superuser)
        {
            return Err(ApiError::Forbidden);
        }
        Ok(auth)
    }
}

/// Tries each backend in order; the first whose transport carries a token that its strategy
/// resolves to a user wins.
pub struct Authenticator<X = ()> {
    backends: Vec<AuthBackend<X>>,
}

impl<X: UserExtra> std::fmt::Debug for Authenticator<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.backends.iter().map(|b| b.name()))
            .finish()
    }
}

impl<X: UserExtra> Authenticator<X> {
    /// An authenticator over these backends, in this order.
    #[must_use]
    pub fn new(backends: Vec<AuthBackend<X>>) -> Self {
        Self { backends }
    }

    /// The backends.
    #[must_use]
    pub fn backends(&self) -> &[AuthBackend<X>] {
        &self.backends
    }

    /// The user behind the request, if any backend recognises its token.
    ///
    /// # Errors
    /// When a strategy's backend fails (503), never for a bad token.
    pub async fn authenticate(
        &self,
        parts: &Parts,
        manager: &UserManager<X>,
    ) -> Result<Option<Authenticated<X>>, ApiError> {
        for (index, backend) in self.backends.iter().enumerate() {
            let Some(token) = backend.transport().token(parts) else {
                continue;
            };
            if let Some(user) = backend.strategy().read_token(&token, manager).await? {
                backend.transport().check_request(parts)?;
                return Ok(Some(Authenticated {
                    user,
                    token,
                    backend: index,
                }));
            }
        }
        Ok(None)
    }
}
