//! The server's hooks: reset and verification tokens leave by email.

use async_trait::async_trait;
use axum_users_core::mail::{AccountMailer, EmailKind};
use axum_users_core::{BoxError, RequestContext, User, UserHooks};

/// Sends the reset and verification emails; every other event is logged by the server's
/// tracing, not here.
#[derive(Debug)]
pub struct MailHooks {
    mailer: AccountMailer,
}

impl MailHooks {
    /// Hooks that send through `mailer`.
    #[must_use]
    pub fn new(mailer: AccountMailer) -> Self {
        Self { mailer }
    }
}

#[async_trait]
impl UserHooks<()> for MailHooks {
    async fn on_after_forgot_password(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.mailer
            .send(EmailKind::ResetPassword, &user.email, token)
            .await?;
        Ok(())
    }

    async fn on_after_request_verify(
        &self,
        user: &User,
        token: &str,
        _ctx: &RequestContext,
    ) -> Result<(), BoxError> {
        self.mailer
            .send(EmailKind::Verify, &user.email, token)
            .await?;
        Ok(())
    }
}
