//! Retries with exponential backoff, and the one log line of a failure.

use std::time::Duration;

use async_trait::async_trait;

use super::{Chain, Email, MailError, Mailer};

/// Wraps a [`Mailer`]: a failed send is tried again, up to `attempts` times in all, waiting
/// `backoff`, then twice that, and so on, between attempts. Errors that a retry cannot fix
/// (see [`MailError::is_retryable`]) are not retried.
///
/// Each failed attempt is logged at `warn` and the final failure at `error`, with the
/// recipient and the error (its whole chain, so an SMTP reply's text is there); never with
/// the subject, a body or a link.
///
/// ```
/// use std::time::Duration;
/// use axum_users_core::mail::{OutboxMailer, RetryingMailer};
/// # let dir = std::env::temp_dir().join(format!("axum-users-retry-doc-{}", std::process::id()));
/// let mailer = RetryingMailer::new(OutboxMailer::new(&dir, "noreply@camelot.example")?)
///     .attempts(5)
///     .backoff(Duration::from_millis(500));
/// assert_eq!(mailer.inner().dir(), dir);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RetryingMailer<M> {
    inner: M,
    attempts: u32,
    backoff: Duration,
}

impl<M> RetryingMailer<M> {
    /// Attempts made by default.
    pub const DEFAULT_ATTEMPTS: u32 = 3;
    /// The first wait by default; it doubles after each failure.
    pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(200);

    /// Wraps `inner` with the defaults: 3 attempts, waiting 200 ms then 400 ms.
    pub fn new(inner: M) -> Self {
        Self {
            inner,
            attempts: Self::DEFAULT_ATTEMPTS,
            backoff: Self::DEFAULT_BACKOFF,
        }
    }

    /// Attempts in all, the first included (at least 1).
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The wait after the first failure; each later wait doubles.
    #[must_use]
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// The wrapped mailer.
    pub fn inner(&self) -> &M {
        &self.inner
    }
}

#[async_trait]
impl<M: Mailer> Mailer for RetryingMailer<M> {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            let error = match self.inner.send(email).await {
                Ok(()) => return Ok(()),
                Err(error) => error,
            };
            if attempt >= self.attempts || !error.is_retryable() {
                tracing::error!(
                    recipient = %email.to,
                    attempts = attempt,
                    error = %Chain(&error),
                    "email not sent"
                );
                return Err(error);
            }
            tracing::warn!(
                recipient = %email.to,
                attempt,
                retry_in = ?wait,
                error = %Chain(&error),
                "email not sent, trying again"
            );
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
            attempt += 1;
        }
    }
}
