//! [`UsersState`]: what the routers and extractors need, reached through `FromRef`.

use std::sync::Arc;

use axum::http::request::Parts;
use axum_users_core::{UserExtra, UserManager};

use tokio_util::task::TaskTracker;

use crate::authenticator::{Authenticated, Authenticator, Requirement};
use crate::backend::AuthBackend;
use crate::error::ApiError;
use crate::limits::RateLimits;

/// The manager and the authenticator. Put it in your state and implement
/// `FromRef<YourState> for UsersState<X>` (or use it as the state itself).
///
/// ```
/// use std::sync::Arc;
/// use axum::extract::FromRef;
/// use axum_users::{AuthBackend, UsersState};
/// use axum_users_core::*;
///
/// #[derive(Clone)]
/// struct AppState {
///     users: UsersState,
///     greeting: &'static str,
/// }
///
/// impl FromRef<AppState> for UsersState {
///     fn from_ref(s: &AppState) -> Self {
///         s.users.clone()
///     }
/// }
/// # let _ = |users: UsersState| AppState { users, greeting: "hi" };
/// ```
pub struct UsersState<X = ()> {
    inner: Arc<Inner<X>>,
}

struct Inner<X> {
    manager: UserManager<X>,
    authenticator: Authenticator<X>,
    background: TaskTracker,
    limits: Option<Arc<RateLimits>>,
}

impl<X> Clone for UsersState<X> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<X: UserExtra> std::fmt::Debug for UsersState<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsersState")
            .field("manager", &self.inner.manager)
            .field("backends", &self.inner.authenticator)
            .field("limits", &self.inner.limits)
            .finish()
    }
}

impl<X: UserExtra> UsersState<X> {
    /// State over a manager and the backends requests may authenticate with, tried in order.
    #[must_use]
    pub fn new(manager: UserManager<X>, backends: Vec<AuthBackend<X>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                manager,
                authenticator: Authenticator::new(backends),
                background: TaskTracker::new(),
                limits: None,
            }),
        }
    }

    /// The same state with rate limits and lockout ([`crate::limits`]); without (the
    /// default) nothing is limited. Clones made before share the old state.
    #[must_use]
    pub fn with_limits(self, limits: RateLimits) -> Self {
        let i = &self.inner;
        Self {
            inner: Arc::new(Inner {
                manager: i.manager.clone(),
                authenticator: Authenticator::new(i.authenticator.backends().to_vec()),
                background: i.background.clone(),
                limits: Some(Arc::new(limits)),
            }),
        }
    }

    /// The rate limits, when configured.
    #[must_use]
    pub fn limits(&self) -> Option<&Arc<RateLimits>> {
        self.inner.limits.as_ref()
    }

    /// Runs work after the response was sent (forgot-password, request-verify-token), tracked
    /// so that a graceful shutdown can wait for it: see [`UsersState::background`].
    pub fn spawn_background<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inner.background.spawn(work);
    }

    /// Revokes every token of `user` in every backend whose strategy keeps state (database,
    /// Redis), and every refresh-token family of the user in backends with refresh tokens;
    /// JWTs are refused by their password binding. Called after a password change or reset.
    /// Failures are logged: the password change itself is committed.
    pub async fn revoke_all(&self, user: &axum_users_core::User<X>) {
        tracing::info!(target: "audit", event = "tokens_revoked", user_id = %user.id);
        for backend in self.inner.authenticator.backends() {
            if let Err(error) = backend.strategy().revoke_all(user).await {
                tracing::error!(user_id = %user.id, backend = backend.name(), %error, "could not revoke tokens");
            }
            // Refresh-token families die too (a JWT's password binding does not reach them).
            if let Some(refresh) = backend.refresh()
                && let Err(error) = refresh.revoke_user(user.id).await
            {
                tracing::error!(user_id = %user.id, backend = backend.name(), %error, "could not revoke refresh tokens");
            }
        }
    }

    /// The tracker of background work: `close()` then `wait().await` to drain it at shutdown.
    #[must_use]
    pub fn background(&self) -> &TaskTracker {
        &self.inner.background
    }

    /// The user manager.
    #[must_use]
    pub fn manager(&self) -> &UserManager<X> {
        &self.inner.manager
    }

    /// The authenticator.
    #[must_use]
    pub fn authenticator(&self) -> &Authenticator<X> {
        &self.inner.authenticator
    }

    /// Authenticates a request and applies a requirement.
    ///
    /// # Errors
    /// 401/403 as [`Requirement::check`] says; 503 when a backend fails.
    pub async fn authorize(
        &self,
        parts: &Parts,
        requirement: Requirement,
    ) -> Result<Authenticated<X>, ApiError> {
        let auth = self
            .inner
            .authenticator
            .authenticate(parts, &self.inner.manager)
            .await?;
        requirement.check(auth)
    }
}
