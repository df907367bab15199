//! Email delivery for the password-reset and verification emails.
//!
//! | piece | item |
//! |---|---|
//! | one message, ready to send | [`Email`] |
//! | how it leaves | [`Mailer`]: [`SmtpMailer`] (lettre, pooled, rustls), [`OutboxMailer`] (`.eml` files) |
//! | retries with backoff, and the log line of a failure | [`RetryingMailer`] |
//! | the link in the email | [`LinkTemplate`] (`https://app.example/reset-password?token={token}`) |
//! | the words of the email | [`EmailTemplates`], [`EmailKind`] |
//! | all of it for one token | [`AccountMailer`] |
//! | what can go wrong | [`MailError`] |
//!
//! Messages are `multipart/alternative` (text, then HTML) and 7-bit clean: lettre picks
//! quoted-printable or base64 for each part, so any SMTP server takes them.
//!
//! Tokens are secrets: [`Email`]'s `Debug` leaves out the bodies, and nothing here logs a
//! body or a link; failures are logged with the recipient and the error only.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum_users_core::mail::{
//!     AccountMailer, EmailKind, EmailTemplates, LinkTemplate, OutboxMailer, RetryingMailer,
//! };
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("axum-users-doc-{}", std::process::id()));
//! let outbox = OutboxMailer::new(&dir, "Camelot <noreply@camelot.example>")?;
//! let mailer = AccountMailer::new(
//!     Arc::new(RetryingMailer::new(outbox)),
//!     EmailTemplates::builtin(),
//!     LinkTemplate::new("https://camelot.example/reset-password?token={token}")?,
//!     LinkTemplate::new("https://camelot.example/verify?token={token}")?,
//! );
//! mailer.send(EmailKind::ResetPassword, "arthur@camelot.example", "s3cr3t.t0ken").await?;
//! assert_eq!(std::fs::read_dir(&dir)?.count(), 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use std::{fmt, io, path::PathBuf, sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::BoxError;

mod account;
mod link;
mod message;
mod outbox;
mod retry;
mod smtp;
mod templates;

pub use account::AccountMailer;
pub use link::LinkTemplate;
pub use outbox::OutboxMailer;
pub use retry::RetryingMailer;
pub use smtp::{SmtpMailer, SmtpMailerBuilder};
pub use templates::{EmailKind, EmailTemplates};

/// One email to one recipient: a subject, a plain-text body and an HTML body.
///
/// The bodies carry tokens, so `Debug` shows only the recipient and the subject.
///
/// ```
/// use axum_users_core::mail::Email;
/// let email = Email {
///     to: "arthur@camelot.example".into(),
///     subject: "Reset your password".into(),
///     text: "https://camelot.example/reset-password?token=s3cr3t".into(),
///     html: "<a href=\"https://camelot.example/reset-password?token=s3cr3t\">reset</a>".into(),
/// };
/// assert!(!format!("{email:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's address (`user@example.com` or `Name <user@example.com>`).
    pub to: String,
    /// The subject line, one line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("html", &format_args!("<{} bytes>", self.html.len()))
            .finish()
    }
}

/// Something that delivers an [`Email`]: an SMTP server, a folder, a test double.
///
/// Plug-ins are shared as `Arc<dyn Mailer>`; `Arc<M>` and `Box<M>` are mailers too.
///
/// ```
/// use axum_users_core::mail::{Email, MailError, Mailer};
///
/// /// Drops every email: for a deployment that sends none.
/// struct Nowhere;
///
/// #[async_trait::async_trait]
/// impl Mailer for Nowhere {
///     async fn send(&self, _email: &Email) -> Result<(), MailError> {
///         Ok(())
///     }
/// }
/// let mailer: std::sync::Arc<dyn Mailer> = std::sync::Arc::new(Nowhere);
/// # let _ = mailer;
/// ```
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Delivers one email, once: retries are [`RetryingMailer`]'s job.
    ///
    /// # Errors
    /// A [`MailError`] saying what failed; [`MailError::is_retryable`] tells whether trying
    /// again may help.
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

#[async_trait]
impl<M: Mailer + ?Sized> Mailer for Arc<M> {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        (**self).send(email).await
    }
}

#[async_trait]
impl<M: Mailer + ?Sized> Mailer for Box<M> {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        (**self).send(email).await
    }
}

/// What sending an email, or getting ready to, can fail with.
///
/// No variant carries a message body, a link, a token or an SMTP password: every one can be
/// logged as it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// A sender or recipient address that is not a valid mailbox.
    #[error("invalid email address {address:?}")]
    InvalidAddress {
        /// The address as given.
        address: String,
        /// The parser's reason.
        #[source]
        source: BoxError,
    },
    /// An SMTP URL that cannot be used (the URL itself is left out: it may hold a password).
    #[error("invalid SMTP URL: {reason}")]
    InvalidSmtpUrl {
        /// What is wrong with it.
        reason: &'static str,
        /// The URL parser's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// The TLS settings cannot be built (a bad root certificate, for one).
    #[error("invalid TLS settings for the SMTP server")]
    Tls(#[source] BoxError),
    /// A link template that cannot be used.
    #[error("invalid link template: {reason}")]
    InvalidLinkTemplate {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An email template that does not compile or does not render.
    #[error("email template {name} cannot be used")]
    Template {
        /// The template's file name (`reset_password.html`, …).
        name: &'static str,
        /// The template engine's error, with the line.
        #[source]
        source: BoxError,
    },
    /// The template folder, or a file in it, cannot be read.
    #[error("cannot read email templates from {}", path.display())]
    TemplateDir {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The message cannot be assembled (a header lettre refuses).
    #[error("cannot build the email message")]
    Message(#[source] BoxError),
    /// The SMTP server cannot be reached: down, refusing connections, a TLS handshake that
    /// fails, or authentication refused.
    #[error("cannot connect to the SMTP server {server}")]
    Connect {
        /// `host:port`.
        server: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The SMTP server did not finish the exchange in time (it hangs, or is very slow).
    #[error("the SMTP server {server} did not answer within {timeout:?}")]
    Timeout {
        /// `host:port`.
        server: String,
        /// The bound that was reached.
        timeout: Duration,
    },
    /// The SMTP server answered with an error reply (a refused sender or recipient, a full
    /// mailbox, …); the reply's text is in the source.
    #[error("the SMTP server {server} refused the email with code {code}")]
    Rejected {
        /// `host:port`.
        server: String,
        /// The SMTP reply code: 4xx is transient, 5xx permanent.
        code: u16,
        /// lettre's error, with the server's reply text.
        #[source]
        source: BoxError,
    },
    /// Any other failure of the SMTP exchange (a connection dropped midway, a reply that
    /// does not parse).
    #[error("the SMTP exchange with {server} failed")]
    Smtp {
        /// `host:port`.
        server: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The outbox folder cannot be written.
    #[error("cannot write the email to the outbox {}", path.display())]
    Outbox {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl MailError {
    /// Whether trying again later may succeed: delivery failures (connection, timeout, error
    /// replies, the outbox) yes; configuration and input errors (addresses, templates, URLs)
    /// no.
    ///
    /// Permanent (5xx) replies count as retryable: relays answer 5xx for passing conditions
    /// too (a sender not yet allowed, a quota), and a reset email that never leaves costs the
    /// user more than two more attempts cost the server.
    ///
    /// ```
    /// use axum_users_core::mail::MailError;
    /// let timeout = MailError::Timeout { server: "smtp.example:587".into(), timeout: std::time::Duration::from_secs(10) };
    /// assert!(timeout.is_retryable());
    /// assert!(!MailError::InvalidLinkTemplate { reason: "no {token}" }.is_retryable());
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. }
                | Self::Timeout { .. }
                | Self::Rejected { .. }
                | Self::Smtp { .. }
                | Self::Outbox { .. }
        )
    }
}

/// Formats an error and its sources as one line, `a: b: c`, skipping a source whose text
/// the previous one already ends with (lettre prints its source inside its own message).
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut previous = self.0.to_string();
        f.write_str(&previous)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            let text = error.to_string();
            if !previous.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            previous = text;
            source = error.source();
        }
        Ok(())
    }
}
