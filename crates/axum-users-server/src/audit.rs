//! The audit trail: every security event as one structured `tracing` event with target
//! `audit`, the user id, the client IP and the request id — never a password or a token.

use std::sync::Arc;

use async_trait::async_trait;
use axum_users_core::{
    BoxError, InvalidPassword, PasswordSubject, RequestContext, User, UserHooks, UserUpdate,
};

/// Wraps hooks and writes an audit event for each security-relevant one before delegating.
pub struct AuditHooks {
    inner: Arc<dyn UserHooks<()>>,
}

impl std::fmt::Debug for AuditHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditHooks").finish_non_exhaustive()
    }
}

impl AuditHooks {
    /// Audits, then calls `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn UserHooks<()>>) -> Self {
        Self { inner }
    }
}

fn audit(event: &'static str, user: Option<&User>, ctx: &RequestContext) {
    tracing::info!(
        target: "audit",
        event,
        user_id = user.map(|u| u.id.to_string()),
        client_ip = ctx.client_ip.map(|ip| ip.to_string()),
        request_id = ctx.request_id.as_deref(),
    );
}

#[async_trait]
impl UserHooks<()> for AuditHooks {
    async fn validate_password(
        &self,
        password: &str,
        subject: PasswordSubject<'_, ()>,
    ) -> Result<(), InvalidPassword> {
        self.inner.validate_password(password, subject).await
    }

    async fn on_after_register(&self, user: &User, ctx: &RequestContext) -> Result<(), BoxError> {
        audit("user_registered", Some(user), ctx);
        self.inner.on_after_register(user, ctx).await
    }

    async fn on_after_login(&self, user: &User, ctx: &RequestContext) -> Result<(), BoxError> {
        audit("login_succeeded", Some(user), ctx);
        self.inner.on_after_login(user, ctx).await
    }

    async fn on_after_failed_login(
        &self,
        email: &str,
        user: Option<&User>,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        audit(
            if user.is_some() {
                "login_failed"
            } else {
                "login_failed_unknown_user"
            },
            user,
            ctx,
        );
        self.inner.on_after_failed_login(email, user, ctx).await
    }

    async fn on_after_update(
        &self,
        user: &User,
        update: &UserUpdate,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        if update.password.is_some() {
            audit("password_changed", Some(user), ctx);
        }
        if update.email.is_some() {
            audit("email_changed", Some(user), ctx);
        }
        if update.is_superuser.is_some() {
            audit("superuser_changed", Some(user), ctx);
        }
        if update.is_active.is_some() {
            audit("active_changed", Some(user), ctx);
        }
        self.inner.on_after_update(user, update, ctx).await
    }

    async fn on_after_forgot_password(
        &self,
        user: &User,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        audit("password_reset_requested", Some(user), ctx);
        self.inner.on_after_forgot_password(user, token, ctx).await
    }

    async fn on_after_reset_password(
        &self,
        user: &User,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        audit("password_reset", Some(user), ctx);
        self.inner.on_after_reset_password(user, ctx).await
    }

    async fn on_after_request_verify(
        &self,
        user: &User,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        audit("verification_requested", Some(user), ctx);
        self.inner.on_after_request_verify(user, token, ctx).await
    }

    async fn on_after_verify(&self, user: &User, ctx: &RequestContext) -> Result<(), BoxError> {
        audit("email_verified", Some(user), ctx);
        self.inner.on_after_verify(user, ctx).await
    }

    async fn on_before_delete(&self, user: &User, ctx: &RequestContext) -> Result<(), BoxError> {
        self.inner.on_before_delete(user, ctx).await
    }

    async fn on_after_delete(&self, user: &User, ctx: &RequestContext) -> Result<(), BoxError> {
        audit("user_deleted", Some(user), ctx);
        self.inner.on_after_delete(user, ctx).await
    }
}
