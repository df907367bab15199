//! A mailer that writes each message as an `.eml` file: for development, tests and
//! deployments where another program picks the files up.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;
use lettre::message::Mailbox;
use rand::Rng;

use super::{Email, MailError, Mailer, message};

/// Writes every email into a folder as `<unix-millis>-<random>.eml`, a complete RFC 5322
/// message (the same bytes an SMTP server would receive) that mail clients open as it is.
///
/// Names sort by time. A file appears whole: it is written under a hidden temporary name
/// and renamed. On Unix only the owner can read it (mode `0600`): it holds a token.
///
/// ```
/// use axum_users_core::mail::{Email, OutboxMailer};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("axum-users-outbox-doc-{}", std::process::id()));
/// let outbox = OutboxMailer::new(&dir, "noreply@camelot.example")?;
/// let email = Email {
///     to: "arthur@camelot.example".into(),
///     subject: "Hello".into(),
///     text: "Hello".into(),
///     html: "<p>Hello</p>".into(),
/// };
/// let path = outbox.write(&email).await?;
/// assert_eq!(path.extension().and_then(|e| e.to_str()), Some("eml"));
/// assert!(std::fs::read_to_string(&path)?.contains("multipart/alternative"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMailer")
            .field("dir", &self.dir)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl OutboxMailer {
    /// An outbox writing into `dir` (created if missing) with `from` as the sender
    /// (`noreply@example.com` or `Name <noreply@example.com>`).
    ///
    /// # Errors
    /// [`MailError::InvalidAddress`] for a bad `from`; [`MailError::Outbox`] when the folder
    /// cannot be created.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailError> {
        let dir = dir.into();
        let from = message::mailbox(from)?;
        std::fs::create_dir_all(&dir).map_err(|source| MailError::Outbox {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir, from })
    }

    /// The folder written into.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one email and returns the file's path.
    ///
    /// # Errors
    /// [`MailError::InvalidAddress`] or [`MailError::Message`] for an email that cannot be a
    /// message; [`MailError::Outbox`] when the file cannot be written.
    pub async fn write(&self, email: &Email) -> Result<PathBuf, MailError> {
        let bytes = message::build(&self.from, email)?.formatted();
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        let random: u64 = rand::rng().random();
        let name = format!("{millis:013}-{random:016x}.eml");
        let path = self.dir.join(&name);
        let partial = self.dir.join(format!(".{name}.partial"));
        let outbox_error = |path: &Path| {
            let path = path.to_owned();
            move |source| MailError::Outbox { path, source }
        };
        let written = match write_private(&partial, &bytes).await {
            Ok(()) => tokio::fs::rename(&partial, &path)
                .await
                .map_err(outbox_error(&path)),
            Err(error) => Err(outbox_error(&partial)(error)),
        };
        if written.is_err() {
            // Best effort: no half-written file is left behind; the first error is the one
            // worth reporting.
            let _ = tokio::fs::remove_file(&partial).await;
        }
        written.map(|()| path)
    }
}

/// Writes a new file that only its owner can read (on Unix): the message holds a token.
async fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;

    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(bytes).await?;
    file.flush().await
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let path = self.write(email).await?;
        tracing::info!(recipient = %email.to, path = %path.display(), "email written to the outbox");
        Ok(())
    }
}
