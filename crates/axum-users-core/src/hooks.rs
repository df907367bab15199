//! [`UserHooks`]: FastAPI Users' `on_after_*` methods and `validate_password`, as a plug-in.

use std::net::IpAddr;

use async_trait::async_trait;

use crate::{BoxError, User, UserCreate, UserUpdate};

/// What is known of the request that caused an event.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RequestContext {
    /// The client's address, when known.
    pub client_ip: Option<IpAddr>,
    /// The `User-Agent` header, when sent.
    pub user_agent: Option<String>,
    /// The request id (`x-request-id`), when one was assigned.
    pub request_id: Option<String>,
}

impl RequestContext {
    /// A context with these fields.
    #[must_use]
    pub fn new(
        client_ip: Option<IpAddr>,
        user_agent: Option<String>,
        request_id: Option<String>,
    ) -> Self {
        Self {
            client_ip,
            user_agent,
            request_id,
        }
    }
}

/// Who a password is being set for.
#[derive(Debug)]
#[non_exhaustive]
pub enum PasswordSubject<'a, X> {
    /// A user being registered.
    New(&'a UserCreate<X>),
    /// An existing user changing or resetting the password.
    Existing(&'a User<X>),
}

impl<X> PasswordSubject<'_, X> {
    /// The subject's email.
    #[must_use]
    pub fn email(&self) -> &str {
        match self {
            Self::New(c) => &c.email,
            Self::Existing(u) => &u.email,
        }
    }
}

/// A password refused by [`UserHooks::validate_password`], with a reason shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidPassword {
    /// Why, in words the user can act on.
    pub reason: String,
}

impl InvalidPassword {
    /// A refusal with this reason.
    #[must_use]
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// Hooks on every user event. Every method has a no-op default: implement only what you need.
///
/// Hooks named `on_after_*` run after the change is committed; when one fails, the failure is
/// logged and the client still gets its success (the change happened). `validate_password` and
/// `on_before_delete` run before and can refuse.
///
/// ```
/// use async_trait::async_trait;
/// use axum_users_core::{BoxError, InvalidPassword, PasswordSubject, RequestContext, User, UserHooks};
///
/// struct MyHooks;
///
/// #[async_trait]
/// impl UserHooks<()> for MyHooks {
///     async fn validate_password(
///         &self,
///         password: &str,
///         _subject: PasswordSubject<'_, ()>,
///     ) -> Result<(), InvalidPassword> {
///         if password.chars().count() < 8 {
///             return Err(InvalidPassword::new("Password should be at least 8 characters"));
///         }
///         Ok(())
///     }
///
///     async fn on_after_register(&self, user: &User, _ctx: &RequestContext) -> Result<(), BoxError> {
///         println!("User {} has registered.", user.id);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
#[allow(unused_variables)]
pub trait UserHooks<X: Send + Sync + 'static = ()>: Send + Sync + 'static {
    /// Checks a password before it is set (register, update, reset).
    ///
    /// # Errors
    /// [`InvalidPassword`] with a reason for the client.
    async fn validate_password(
        &self,
        password: &str,
        subject: PasswordSubject<'_, X>,
    ) -> Result<(), InvalidPassword> {
        Ok(())
    }

    /// After a user was created.
    async fn on_after_register(
        &self,
        user: &User<X>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a successful login.
    async fn on_after_login(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a login failed its credential check (400 `LOGIN_BAD_CREDENTIALS`): an unknown
    /// `email` (then `user` is `None`), a wrong password, or an inactive user. `email` is the
    /// login form's `username` as sent. Not called for a login refused before its credentials
    /// were checked (429 from a rate limit or a lockout, 422), nor for a right password of an
    /// unverified user where verification is required. The password is never passed. A
    /// failure is logged; the client still gets its 400.
    async fn on_after_failed_login(
        &self,
        email: &str,
        user: Option<&User<X>>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a user was updated through the users API; `update` is what was asked for.
    async fn on_after_update(
        &self,
        user: &User<X>,
        update: &UserUpdate<X>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a forgot-password request for an existing, active user; `token` is the reset
    /// token to deliver (by email, typically). Never called for unknown or inactive users.
    async fn on_after_forgot_password(
        &self,
        user: &User<X>,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a password was reset with a valid token.
    async fn on_after_reset_password(
        &self,
        user: &User<X>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a verification request for an existing, active, unverified user; `token` is the
    /// verification token to deliver.
    async fn on_after_request_verify(
        &self,
        user: &User<X>,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a user's email was verified.
    async fn on_after_verify(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        Ok(())
    }

    /// Before a user is deleted; an error aborts the deletion.
    async fn on_before_delete(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        Ok(())
    }

    /// After a user was deleted.
    async fn on_after_delete(&self, user: &User<X>, ctx: &RequestContext) -> Result<(), BoxError> {
        Ok(())
    }
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl<X: Send + Sync + 'static> UserHooks<X> for NoHooks {}
