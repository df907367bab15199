//! A small ESMTP server on loopback, real enough for lettre: greeting, `EHLO`/`HELO`,
//! optional `STARTTLS` (or TLS from the first byte) with a certificate made here,
//! optional `AUTH PLAIN`, `MAIL FROM`, `RCPT TO`, `DATA` (dot-unstuffed), `RSET`, `NOOP`,
//! `QUIT`. It records each message (envelope and raw bytes) and counts connections and
//! `MAIL FROM` attempts, and can refuse every sender (550) or accept connections and never
//! greet (a hung server).
//!
//! Rust's fake-SMTP crates are unmaintained (DESIGN.md); this is the few lines that tests
//! need, and it speaks SMTP as RFC 5321 has it.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use base64::Engine as _;
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::{Mutex, mpsc},
    task::JoinSet,
};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    },
};

/// Longest command line or data line read (RFC 5321 allows 1000 octets for data lines).
const MAX_LINE: u64 = 4096;
const HOSTNAME: &str = "smtp.test.invalid";

/// One message as the server received it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// The `MAIL FROM` address, without the angle brackets.
    pub(crate) mail_from: String,
    /// The `RCPT TO` addresses.
    pub(crate) rcpt_to: Vec<String>,
    /// The message as sent after `DATA`, dot-unstuffed, without the final `.` line.
    pub(crate) data: Vec<u8>,
    /// Whether the session was under TLS when the message came.
    pub(crate) tls: bool,
    /// The user that authenticated, if any.
    pub(crate) user: Option<String>,
}

/// What the server does with a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Accept,
    RefuseSender,
    Hang,
}

#[derive(Clone)]
enum TlsMode {
    None,
    StartTls(TlsAcceptor),
    Implicit(TlsAcceptor),
}

/// A self-signed certificate for `127.0.0.1` and `localhost`, and its PEM.
pub(crate) struct TestCertificate {
    /// The certificate as PEM, to trust on the client side.
    pub(crate) pem: String,
    acceptor: TlsAcceptor,
}

impl TestCertificate {
    pub(crate) fn new() -> Self {
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .unwrap();
        let cert = CertificateDer::from(certified.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        // An explicit provider: the process-wide default is ambiguous when a workspace build
        // turns on both of rustls' providers.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        Self {
            pem: certified.cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    }
}

/// How to start a [`SmtpServer`].
pub(crate) struct SmtpServerBuilder {
    behaviour: Behaviour,
    tls: TlsMode,
    credentials: Option<(String, String)>,
}

impl SmtpServerBuilder {
    /// Answer every `MAIL FROM` with `550 5.7.1`.
    pub(crate) fn refuse_sender(mut self) -> Self {
        self.behaviour = Behaviour::RefuseSender;
        self
    }

    /// Accept connections and never send the greeting.
    pub(crate) fn hang(mut self) -> Self {
        self.behaviour = Behaviour::Hang;
        self
    }

    /// Offer `STARTTLS` with `certificate`.
    pub(crate) fn starttls(mut self, certificate: &TestCertificate) -> Self {
        self.tls = TlsMode::StartTls(certificate.acceptor.clone());
        self
    }

    /// Speak TLS from the first byte (`smtps://`).
    pub(crate) fn implicit_tls(mut self, certificate: &TestCertificate) -> Self {
        self.tls = TlsMode::Implicit(certificate.acceptor.clone());
        self
    }

    /// Offer `AUTH PLAIN` and require it before `MAIL FROM`.
    pub(crate) fn require_auth(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    pub(crate) async fn start(self) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, receiver) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            behaviour: self.behaviour,
            tls: self.tls,
            credentials: self.credentials,
            connections: AtomicUsize::new(0),
            mail_from_attempts: AtomicUsize::new(0),
            sender,
        });
        let accept_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            // Dropping the set (when the server is dropped) ends every session.
            let mut sessions = JoinSet::new();
            loop {
                let Ok((stream, _peer)) = listener.accept().await else {
                    continue;
                };
                accept_state.connections.fetch_add(1, Ordering::SeqCst);
                sessions.spawn(connection(stream, Arc::clone(&accept_state)));
                while sessions.try_join_next().is_some() {}
            }
        });
        SmtpServer {
            addr,
            state,
            received: Mutex::new(receiver),
            task,
        }
    }
}

struct State {
    behaviour: Behaviour,
    tls: TlsMode,
    credentials: Option<(String, String)>,
    connections: AtomicUsize,
    mail_from_attempts: AtomicUsize,
    sender: mpsc::UnboundedSender<Received>,
}

/// The running server; dropping it stops it and closes every connection.
pub(crate) struct SmtpServer {
    addr: SocketAddr,
    state: Arc<State>,
    received: Mutex<mpsc::UnboundedReceiver<Received>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    /// A server that accepts every message, in plain text.
    pub(crate) fn builder() -> SmtpServerBuilder {
        SmtpServerBuilder {
            behaviour: Behaviour::Accept,
            tls: TlsMode::None,
            credentials: None,
        }
    }

    pub(crate) async fn start() -> Self {
        Self::builder().start().await
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The next message received, waiting up to 5 s for it.
    pub(crate) async fn next_message(&self) -> Received {
        let mut received = self.received.lock().await;
        tokio::time::timeout(Duration::from_secs(5), received.recv())
            .await
            .expect("no message reached the SMTP server within 5 s")
            .expect("the SMTP server stopped")
    }

    /// A message already received, if any, without waiting.
    pub(crate) async fn try_next_message(&self) -> Option<Received> {
        self.received.lock().await.try_recv().ok()
    }

    /// TCP connections accepted so far.
    pub(crate) fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// `MAIL FROM` commands received so far, refused ones included.
    pub(crate) fn mail_from_attempts(&self) -> usize {
        self.state.mail_from_attempts.load(Ordering::SeqCst)
    }
}

/// Anything a session can run over: TCP, or TLS over TCP.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn connection(stream: TcpStream, state: Arc<State>) {
    if state.behaviour == Behaviour::Hang {
        // Keep the socket open and say nothing, until the server is dropped.
        let _stream = stream;
        std::future::pending::<()>().await;
        return;
    }
    let (stream, tls): (Box<dyn Io>, bool) = match &state.tls {
        TlsMode::Implicit(acceptor) => match acceptor.accept(stream).await {
            Ok(stream) => (Box::new(stream), true),
            Err(_) => return,
        },
        TlsMode::None | TlsMode::StartTls(_) => (Box::new(stream), false),
    };
    let Some(plain) = session(stream, &state, tls, true).await else {
        return;
    };
    // STARTTLS: the same client, now over TLS, starts again with EHLO (no greeting).
    let TlsMode::StartTls(acceptor) = &state.tls else {
        return;
    };
    if let Ok(stream) = acceptor.accept(plain).await {
        session(Box::new(stream), &state, true, false).await;
    }
}

#[derive(Default)]
struct Envelope {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

/// Runs one SMTP session. Returns the bare stream when the client asked for STARTTLS.
async fn session(
    stream: Box<dyn Io>,
    state: &State,
    tls: bool,
    greet: bool,
) -> Option<Box<dyn Io>> {
    let mut stream = BufReader::new(stream);
    if greet {
        reply(
            &mut stream,
            &format!("220 {HOSTNAME} ESMTP test server\r\n"),
        )
        .await?;
    }
    let offer_starttls = matches!(state.tls, TlsMode::StartTls(_)) && !tls;
    let mut envelope = Envelope::default();
    let mut user = None;
    loop {
        let line = read_line(&mut stream).await?;
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let mut lines = vec![HOSTNAME.to_owned()];
                if offer_starttls {
                    lines.push("STARTTLS".to_owned());
                }
                if state.credentials.is_some() {
                    lines.push("AUTH PLAIN".to_owned());
                }
                lines.push("SIZE 10485760".to_owned());
                let last = lines.len() - 1;
                let text: String = lines
                    .iter()
                    .enumerate()
                    .map(|(i, line)| format!("250{}{line}\r\n", if i == last { ' ' } else { '-' }))
                    .collect();
                reply(&mut stream, &text).await?;
                envelope = Envelope::default();
            }
            "HELO" => {
                reply(&mut stream, &format!("250 {HOSTNAME}\r\n")).await?;
                envelope = Envelope::default();
            }
            "STARTTLS" if offer_starttls => {
                reply(&mut stream, "220 2.0.0 Ready to start TLS\r\n").await?;
                return Some(stream.into_inner());
            }
            "AUTH" if state.credentials.is_some() => {
                let (mechanism, initial) = rest.split_once(' ').unwrap_or((rest, ""));
                if !mechanism.eq_ignore_ascii_case("PLAIN") {
                    reply(
                        &mut stream,
                        "504 5.5.4 Unrecognized authentication type\r\n",
                    )
                    .await?;
                    continue;
                }
                let response = if initial.is_empty() {
                    reply(&mut stream, "334 \r\n").await?;
                    let line = read_line(&mut stream).await?;
                    String::from_utf8_lossy(&line).trim_end().to_owned()
                } else {
                    initial.to_owned()
                };
                match check_plain(&response, state.credentials.as_ref()) {
                    Some(name) => {
                        user = Some(name);
                        reply(&mut stream, "235 2.7.0 Authentication successful\r\n").await?;
                    }
                    None => {
                        reply(
                            &mut stream,
                            "535 5.7.8 Authentication credentials invalid\r\n",
                        )
                        .await?;
                    }
                }
            }
            "MAIL" => {
                state.mail_from_attempts.fetch_add(1, Ordering::SeqCst);
                let address = path(rest, "FROM:");
                if state.behaviour == Behaviour::RefuseSender {
                    let text = format!(
                        "550 5.7.1 Sender <{}> refused\r\n",
                        address.unwrap_or_default()
                    );
                    reply(&mut stream, &text).await?;
                } else if state.credentials.is_some() && user.is_none() {
                    reply(&mut stream, "530 5.7.0 Authentication required\r\n").await?;
                } else if let Some(address) = address {
                    envelope = Envelope {
                        mail_from: Some(address),
                        rcpt_to: Vec::new(),
                    };
                    reply(&mut stream, "250 2.1.0 Ok\r\n").await?;
                } else {
                    reply(&mut stream, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n").await?;
                }
            }
            "RCPT" => match (path(rest, "TO:"), &envelope.mail_from) {
                (Some(address), Some(_)) => {
                    envelope.rcpt_to.push(address);
                    reply(&mut stream, "250 2.1.5 Ok\r\n").await?;
                }
                (None, _) => reply(&mut stream, "501 5.5.4 Syntax: RCPT TO:<address>\r\n").await?,
                (_, None) => reply(&mut stream, "503 5.5.1 Need MAIL first\r\n").await?,
            },
            "DATA" => {
                if envelope.rcpt_to.is_empty() {
                    reply(&mut stream, "503 5.5.1 Need RCPT first\r\n").await?;
                    continue;
                }
                reply(&mut stream, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let line = read_line(&mut stream).await?;
                    if line == b".\r\n" {
                        break;
                    }
                    // Dot-stuffing (RFC 5321 §4.5.2): a leading dot was doubled.
                    let line = line.strip_prefix(b".").unwrap_or(&line);
                    data.extend_from_slice(line);
                }
                let envelope = std::mem::take(&mut envelope);
                let _ = state.sender.send(Received {
                    mail_from: envelope.mail_from.unwrap_or_default(),
                    rcpt_to: envelope.rcpt_to,
                    data,
                    tls,
                    user: user.clone(),
                });
                reply(&mut stream, "250 2.0.0 Ok: queued\r\n").await?;
            }
            "RSET" => {
                envelope = Envelope::default();
                reply(&mut stream, "250 2.0.0 Ok\r\n").await?;
            }
            "NOOP" => reply(&mut stream, "250 2.0.0 Ok\r\n").await?,
            "QUIT" => {
                let _ = reply(&mut stream, "221 2.0.0 Bye\r\n").await;
                return None;
            }
            _ => reply(&mut stream, "502 5.5.2 Command not recognized\r\n").await?,
        }
    }
}

/// `FROM:<a@b> SIZE=…` → `a@b`.
fn path(rest: &str, keyword: &str) -> Option<String> {
    let (head, tail) = rest.split_at_checked(keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let tail = tail.trim_start().strip_prefix('<')?;
    let end = tail.find('>')?;
    Some(tail[..end].to_owned())
}

/// Checks an `AUTH PLAIN` response (`base64("\0user\0password")`); the user when it matches.
fn check_plain(response: &str, expected: Option<&(String, String)>) -> Option<String> {
    let (user, password) = expected?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .ok()?;
    let mut parts = decoded.split(|byte| *byte == 0);
    let _authzid = parts.next()?;
    let given_user = parts.next()?;
    let given_password = parts.next()?;
    (given_user == user.as_bytes() && given_password == password.as_bytes()).then(|| user.clone())
}

async fn read_line(stream: &mut BufReader<Box<dyn Io>>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let read = (&mut *stream)
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)
        .await
        .ok()?;
    (read > 0).then_some(line)
}

async fn reply(stream: &mut BufReader<Box<dyn Io>>, text: &str) -> Option<()> {
    let inner = stream.get_mut();
    inner.write_all(text.as_bytes()).await.ok()?;
    inner.flush().await.ok()
}
