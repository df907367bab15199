//! The account emails end to end: token → link → templates → mailer.

use std::{fmt, sync::Arc};

use super::{EmailKind, EmailTemplates, LinkTemplate, MailError, Mailer};

/// Sends the reset-password and verification emails: builds the link from the token, renders
/// the templates, and hands the email to a [`Mailer`] (usually a
/// [`RetryingMailer`](super::RetryingMailer) around an [`SmtpMailer`](super::SmtpMailer)).
///
/// This is what the user hooks call with the token the manager made; see the
/// [module example](super).
#[derive(Clone)]
pub struct AccountMailer {
    mailer: Arc<dyn Mailer>,
    templates: Arc<EmailTemplates>,
    reset_link: LinkTemplate,
    verify_link: LinkTemplate,
}

impl fmt::Debug for AccountMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountMailer")
            .field("templates", &self.templates)
            .field("reset_link", &self.reset_link)
            .field("verify_link", &self.verify_link)
            .finish_non_exhaustive()
    }
}

impl AccountMailer {
    /// Puts the pieces together.
    pub fn new(
        mailer: Arc<dyn Mailer>,
        templates: EmailTemplates,
        reset_link: LinkTemplate,
        verify_link: LinkTemplate,
    ) -> Self {
        Self {
            mailer,
            templates: Arc::new(templates),
            reset_link,
            verify_link,
        }
    }

    /// Sends the `kind` email carrying `token` to `to`.
    ///
    /// # Errors
    /// [`MailError::Template`] when rendering fails; otherwise the mailer's error.
    pub async fn send(&self, kind: EmailKind, to: &str, token: &str) -> Result<(), MailError> {
        let link = match kind {
            EmailKind::ResetPassword => self.reset_link.render(token),
            EmailKind::Verify => self.verify_link.render(token),
        };
        let email = self.templates.render(kind, to, &link)?;
        self.mailer.send(&email).await
    }
}
