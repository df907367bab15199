//! The SMTP mailer: lettre's async transport, pooled, over rustls.

use std::{fmt, io, sync::OnceLock, time::Duration};

use async_trait::async_trait;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
    message::Mailbox,
    transport::smtp::{
        self, AsyncSmtpTransportBuilder, PoolConfig,
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
        extension::ClientId,
    },
};
use url::{Host, Url};

use super::{Email, MailError, Mailer, message};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtp://`: plain text throughout.
    Plain,
    /// `smtp://…?tls=required`: STARTTLS, and no sending without it.
    StartTls,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// Sends through an SMTP server with [lettre](https://docs.rs/lettre): async, with a pool of
/// connections reused between emails, TLS by rustls.
///
/// | URL | connection | default port |
/// |---|---|---|
/// | `smtp://host` | plain text (a local relay) | 25 |
/// | `smtp://host?tls=required` | STARTTLS, required | 587 |
/// | `smtp://host?tls=opportunistic` | STARTTLS if offered (open to a downgrade) | 587 |
/// | `smtps://host` | TLS from the start | 465 |
///
/// `user:password@` before the host turns on authentication (percent-encode `@`, `:` and
/// `/` in them); a path (`smtp://host/mail.example.com`) sets the name sent with `EHLO`.
/// Server certificates are checked against the Mozilla roots (`webpki-roots`) plus any
/// added with [`SmtpMailerBuilder::root_certificate_pem`].
///
/// Every send is bounded by [`timeout`](SmtpMailerBuilder::timeout) (10 s by default),
/// connecting and the whole exchange included: lettre's async transport bounds only the
/// TCP connect, so a server that accepts and never answers would hang a send forever.
///
/// The pool is made on the first send, inside the Tokio runtime; `from_url` itself needs no
/// runtime. `Debug` shows the server, never the password.
///
/// ```
/// use std::time::Duration;
/// use axum_users_core::mail::SmtpMailer;
/// let mailer = SmtpMailer::builder("smtps://apikey:p%40ss@smtp.example.com", "Camelot <noreply@camelot.example>")?
///     .timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(mailer.server(), "smtp.example.com:465");
/// assert!(!format!("{mailer:?}").contains("p@ss"));
/// assert!(SmtpMailer::from_url("http://smtp.example.com", "noreply@camelot.example").is_err());
/// # Ok::<(), axum_users_core::mail::MailError>(())
/// ```
pub struct SmtpMailer {
    server: String,
    security: Security,
    authenticated: bool,
    from: Mailbox,
    timeout: Duration,
    builder: AsyncSmtpTransportBuilder,
    transport: OnceLock<Built>,
}

/// The transport with the runtime it was made in (its pool spawns tasks there, dropping it
/// included).
struct Built {
    runtime: tokio::runtime::Handle,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("security", &self.security)
            .field("authenticated", &self.authenticated)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for SmtpMailer {
    fn drop(&mut self) {
        // lettre's pool spawns a clean-up task when dropped; make that work (or be a no-op)
        // even when the mailer outlives its runtime or is dropped outside one.
        if let Some(Built { runtime, transport }) = self.transport.take() {
            let _entered = runtime.enter();
            drop(transport);
        }
    }
}

impl SmtpMailer {
    /// A mailer for `url` (see the table above) sending as `from`, with the defaults.
    ///
    /// # Errors
    /// [`MailError::InvalidSmtpUrl`], [`MailError::InvalidAddress`] for `from`, or
    /// [`MailError::Tls`] when the TLS settings cannot be built for the host.
    pub fn from_url(url: &str, from: &str) -> Result<Self, MailError> {
        Self::builder(url, from)?.build()
    }

    /// A builder for `url` sending as `from`, to change the defaults.
    ///
    /// # Errors
    /// [`MailError::InvalidSmtpUrl`], or [`MailError::InvalidAddress`] for `from`.
    pub fn builder(url: &str, from: &str) -> Result<SmtpMailerBuilder, MailError> {
        SmtpMailerBuilder::new(url, from)
    }

    /// The server as `host:port`, as errors and logs name it.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.server
    }

    fn transport(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        &self
            .transport
            .get_or_init(|| Built {
                runtime: tokio::runtime::Handle::current(),
                transport: self.builder.clone().build(),
            })
            .transport
    }

    /// Turns lettre's error into ours.
    fn error(&self, error: smtp::Error) -> MailError {
        let server = self.server.clone();
        if let Some(code) = error.status() {
            let code = u16::from(code.severity as u8) * 100
                + u16::from(code.category as u8) * 10
                + u16::from(code.detail as u8);
            return MailError::Rejected {
                server,
                code,
                source: Box::new(error),
            };
        }
        if error.is_timeout() {
            return MailError::Timeout {
                server,
                timeout: self.timeout,
            };
        }
        if error.is_tls() || is_connect_error(&error) {
            return MailError::Connect {
                server,
                source: Box::new(error),
            };
        }
        MailError::Smtp {
            server,
            source: Box::new(error),
        }
    }
}

/// Whether the server could not be reached at all: name resolution, the TCP connect or the
/// TLS handshake failed. lettre has no predicate for its connection errors: an io error's
/// kind tells most, and its `Connection error` wording tells the rest (a refused
/// certificate). `tests/mail.rs` pins both.
fn is_connect_error(error: &smtp::Error) -> bool {
    if error.to_string().starts_with("Connection error") {
        return true;
    }
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::HostUnreachable
                    | io::ErrorKind::NetworkUnreachable
                    | io::ErrorKind::AddrNotAvailable
            );
        }
        source = inner.source();
    }
    false
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = message::build(&self.from, email)?;
        let sending = self.transport().send(message);
        match tokio::time::timeout(self.timeout, sending).await {
            Ok(Ok(_response)) => {
                tracing::debug!(recipient = %email.to, server = %self.server, "email sent");
                Ok(())
            }
            Ok(Err(error)) => Err(self.error(error)),
            Err(_elapsed) => Err(MailError::Timeout {
                server: self.server.clone(),
                timeout: self.timeout,
            }),
        }
    }
}

/// Settings of an [`SmtpMailer`] beyond its URL.
pub struct SmtpMailerBuilder {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello_name: Option<String>,
    from: Mailbox,
    timeout: Duration,
    max_connections: u32,
    idle_timeout: Duration,
    root_certificates: Vec<Certificate>,
}

impl fmt::Debug for SmtpMailerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailerBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("authenticated", &self.credentials.is_some())
            .field("hello_name", &self.hello_name)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .field("max_connections", &self.max_connections)
            .field("idle_timeout", &self.idle_timeout)
            .field("root_certificates", &self.root_certificates.len())
            .finish()
    }
}

impl SmtpMailerBuilder {
    /// The bound of one send by default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Pooled connections at most, by default.
    pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
    /// How long an unused pooled connection is kept, by default.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

    fn new(url: &str, from: &str) -> Result<Self, MailError> {
        let invalid = |reason| MailError::InvalidSmtpUrl {
            reason,
            source: None,
        };
        let url = Url::parse(url).map_err(|error| MailError::InvalidSmtpUrl {
            reason: "not a URL",
            source: Some(Box::new(error)),
        })?;
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (&*key, &*value) {
                ("tls", "required") => tls = Some(Security::StartTls),
                ("tls", "opportunistic") => tls = Some(Security::Opportunistic),
                ("tls", _) => return Err(invalid("tls= takes required or opportunistic")),
                _ => return Err(invalid("unknown query parameter (only tls= is known)")),
            }
        }
        let security = match (url.scheme(), tls) {
            ("smtp", None) => Security::Plain,
            ("smtp", Some(tls)) => tls,
            ("smtps", None) => Security::Tls,
            ("smtps", Some(_)) => return Err(invalid("smtps:// is TLS already: drop tls=")),
            _ => return Err(invalid("the scheme must be smtp:// or smtps://")),
        };
        let host = match url.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(invalid("no host")),
        };
        let port = url.port().unwrap_or(match security {
            Security::Plain => smtp::SMTP_PORT,
            Security::StartTls | Security::Opportunistic => smtp::SUBMISSION_PORT,
            Security::Tls => smtp::SUBMISSIONS_PORT,
        });
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(invalid("a password without a user")),
            (_, None) => return Err(invalid("a user without a password")),
            (user, Some(password)) => {
                let decode = |text: &str| {
                    percent_encoding::percent_decode_str(text)
                        .decode_utf8()
                        .map(|text| text.into_owned())
                        .map_err(|_| invalid("the user or password is not UTF-8 once decoded"))
                };
                Some(Credentials::new(decode(user)?, decode(password)?))
            }
        };
        let hello_name = Some(url.path().trim_matches('/'))
            .filter(|name| !name.is_empty())
            .map(str::to_owned);
        Ok(Self {
            host,
            port,
            security,
            credentials,
            hello_name,
            from: message::mailbox(from)?,
            timeout: Self::DEFAULT_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            root_certificates: Vec::new(),
        })
    }

    /// The longest one send may take, from connecting (or taking a pooled connection) to
    /// the server's last reply (default 10 s). A server that is down, hangs or crawls costs
    /// a request no more than this.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connections kept open for reuse, at most (default 10; at least 1).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long an unused connection stays in the pool (default 60 s).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Trusts the certificates in `pem` as roots too (a private CA, a self-signed relay).
    ///
    /// # Errors
    /// [`MailError::Tls`] when `pem` holds no certificate or one that does not parse.
    pub fn root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, MailError> {
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|window| window == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(MailError::Tls("no certificate in the PEM text".into()));
        }
        let certificate =
            Certificate::from_pem(pem).map_err(|error| MailError::Tls(Box::new(error)))?;
        self.root_certificates.push(certificate);
        Ok(self)
    }

    /// The mailer. Nothing connects yet: the first send does.
    ///
    /// # Errors
    /// [`MailError::Tls`] when the TLS settings cannot be built for this host.
    pub fn build(self) -> Result<SmtpMailer, MailError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(self.timeout))
            .pool_config(
                PoolConfig::new()
                    .max_size(self.max_connections)
                    .idle_timeout(self.idle_timeout),
            );
        let parameters = || {
            let mut parameters = TlsParameters::builder(self.host.clone());
            for certificate in &self.root_certificates {
                parameters = parameters.add_root_certificate(certificate.clone());
            }
            parameters
                .build_rustls()
                .map_err(|error| MailError::Tls(Box::new(error)))
        };
        builder = match self.security {
            Security::Plain => builder.tls(Tls::None),
            Security::StartTls => builder.tls(Tls::Required(parameters()?)),
            Security::Opportunistic => builder.tls(Tls::Opportunistic(parameters()?)),
            Security::Tls => builder.tls(Tls::Wrapper(parameters()?)),
        };
        let authenticated = self.credentials.is_some();
        if let Some(credentials) = self.credentials {
            builder = builder.credentials(credentials);
        }
        if let Some(name) = self.hello_name {
            builder = builder.hello_name(ClientId::Domain(name));
        }
        let server = match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        };
        Ok(SmtpMailer {
            server,
            security: self.security,
            authenticated,
            from: self.from,
            timeout: self.timeout,
            builder,
            transport: OnceLock::new(),
        })
    }
}
