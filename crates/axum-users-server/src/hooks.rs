//! The server's hooks: reset and verification tokens leave by email.

use async_trait::async_trait;
use axum_users_core::mail::{AccountMailer, EmailKind};
use axum_users_core::{BoxError, RequestContext, User, UserHooks};
use tracing::Instrument as _;

use crate::metrics::Metrics;

/// Sends the reset and verification emails and, given [`Metrics`], counts emails and logins;
/// every other event is logged by the server's tracing, not here.
#[derive(Debug)]
pub struct MailHooks {
    mailer: AccountMailer,
    metrics: Option<Metrics>,
}

impl MailHooks {
    /// Hooks that send through `mailer`.
    #[must_use]
    pub fn new(mailer: AccountMailer) -> Self {
        Self {
            mailer,
            metrics: None,
        }
    }

    /// The same hooks, also counting emails sent or failed and logins succeeded or failed.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Sends one email. It runs after the response (background work), so its log lines get the
    /// request id here, from the hook's context.
    async fn send(
        &self,
        kind: EmailKind,
        user: &User,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        let span = tracing::info_span!(
            "email",
            request_id = ctx.request_id.as_deref(),
            kind = kind.stem(),
            user_id = %user.id,
        );
        let sent = self
            .mailer
            .send(kind, &user.email, token)
            .instrument(span)
            .await;
        if let Some(m) = &self.metrics {
            m.email(kind, sent.is_ok());
        }
        sent?;
        Ok(())
    }
}

#[async_trait]
impl UserHooks<()> for MailHooks {
    async fn on_after_forgot_password(
        &self,
        user: &User,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.send(EmailKind::ResetPassword, user, token, ctx).await
    }

    async fn on_after_request_verify(
        &self,
        user: &User,
        token: &str,
        ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.send(EmailKind::Verify, user, token, ctx).await
    }

    async fn on_after_login(&self, _user: &User, _ctx: &RequestContext) -> Result<(), BoxError> {
        if let Some(m) = &self.metrics {
            m.login_succeeded();
        }
        Ok(())
    }

    async fn on_after_failed_login(
        &self,
        email: &str,
        _user: Option<&User>,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        if let Some(m) = &self.metrics {
            m.failed_login(email).await;
        }
        Ok(())
    }
}
