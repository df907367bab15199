//! Email delivery against real parts: a real SMTP listener on loopback (plain, STARTTLS, TLS,
//! with AUTH), a real folder for the outbox, and an independent MIME parser (mail-parser)
//! reading what arrived.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    io::Write,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum_users_core::mail::{
    AccountMailer, Email, EmailKind, EmailTemplates, LinkTemplate, MailError, Mailer, OutboxMailer,
    RetryingMailer, SmtpMailer,
};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use support::smtp::{Received, SmtpServer, TestCertificate};

const FROM: &str = "Camelot <noreply@camelot.example>";
const TO: &str = "arthur@camelot.example";
const RESET_LINK: &str = "https://camelot.example/reset-password?token={token}";
/// Shaped like the JWTs the manager makes, and long enough that lettre must wrap the lines
/// of the parts (quoted-printable soft breaks), so the test proves the decoding too.
const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1YzZjMmQxZS0yYjZhLTRmOGUtOWEzYi0wZDVmMWUyYTNiNGMiLCJwYXNzd29yZF9maW5nZXJwcmludCI6IiRhcmdvbjJpZCR2PTE5JG09NjU1MzYsdD0zLHA9NCQiLCJhdWQiOlsiZmFzdGFwaS11c2VyczpyZXNldCJdLCJleHAiOjQxMDI0NDQ4MDB9.C-KZAhyW52ByYQA-WW4eDzbg8NGpUUoM5dGyGKdCmxc";

/// Every test is bounded: a hang is a failure, not a stuck CI run.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the test took over 20 s")
}

fn reset_email(token: &str) -> Email {
    let link = LinkTemplate::new(RESET_LINK).unwrap().render(token);
    EmailTemplates::builtin()
        .render(EmailKind::ResetPassword, TO, &link)
        .unwrap()
}

fn smtp_url(server: &SmtpServer) -> String {
    format!("smtp://127.0.0.1:{}", server.port())
}

/// What a mail client sees in a message: both parts decoded, and the token of each link.
struct Parsed {
    subject: String,
    to: String,
    text: String,
    html: String,
    text_token: String,
    html_token: String,
}

/// Parses a raw RFC 5322 message as a mail client would, checks that it is a 7-bit clean
/// `multipart/alternative` of `text/plain` then `text/html`, and pulls the token out of the
/// link in each part.
fn parse(raw: &[u8]) -> Parsed {
    assert!(raw.is_ascii(), "the message is not 7-bit clean");
    let longest = raw.split(|b| *b == b'\n').map(<[u8]>::len).max().unwrap();
    assert!(
        longest <= 1000,
        "a line of {longest} octets breaks RFC 5322"
    );

    let message = MessageParser::default().parse(raw).expect("not a message");
    let root = message.content_type().expect("no Content-Type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let text_part = message.text_part(0).expect("no text part");
    let html_part = message.html_part(0).expect("no HTML part");
    let content_type = |part: &mail_parser::MessagePart<'_>| {
        let ct = part.content_type().unwrap();
        format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
    };
    assert_eq!(content_type(text_part), "text/plain");
    assert_eq!(content_type(html_part), "text/html");
    let PartType::Text(text) = &text_part.body else {
        panic!("the text part is not text")
    };
    let PartType::Html(html) = &html_part.body else {
        panic!("the HTML part is not HTML")
    };

    let text_link = text
        .split_whitespace()
        .find(|word| word.starts_with("https://"))
        .expect("no link in the text part");
    let href = html
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("no link in the HTML part");
    Parsed {
        subject: message.subject().unwrap_or_default().to_owned(),
        to: message
            .to()
            .and_then(|to| to.first())
            .and_then(|addr| addr.address())
            .unwrap_or_default()
            .to_owned(),
        text_token: token_of(text_link),
        html_token: token_of(&unescape_html(href)),
        text: text.to_string(),
        html: html.to_string(),
    }
}

/// The `token` query parameter of a link, percent-decoded, as a front end reads it.
fn token_of(link: &str) -> String {
    let url = url::Url::parse(link).expect("the link is not a URL");
    url.query_pairs()
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .expect("no token= in the link")
}

/// Undoes the HTML escaping of an attribute value (what a browser does with `href`).
fn unescape_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find(';').expect("an unfinished entity") + start;
        let entity = &rest[start + 1..end];
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            numeric => {
                let code = numeric
                    .strip_prefix("#x")
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| numeric.strip_prefix('#').map(str::parse))
                    .expect("an unknown entity")
                    .unwrap();
                char::from_u32(code).unwrap()
            }
        };
        out.push(decoded);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn assert_delivered_reset(received: &Received) {
    assert_eq!(received.mail_from, "noreply@camelot.example");
    assert_eq!(received.rcpt_to, [TO]);
    let parsed = parse(&received.data);
    assert_eq!(parsed.subject, "Reset your password");
    assert_eq!(parsed.to, TO);
    assert_eq!(parsed.text_token, TOKEN);
    assert_eq!(parsed.html_token, TOKEN);
}

// --- SMTP -------------------------------------------------------------------------------

#[tokio::test]
async fn smtp_delivers_a_reset_email_whose_link_carries_the_token() {
    bounded(async {
        let server = SmtpServer::start().await;
        let mailer = SmtpMailer::from_url(&smtp_url(&server), FROM).unwrap();
        mailer.send(&reset_email(TOKEN)).await.unwrap();

        let received = server.next_message().await;
        assert!(!received.tls);
        assert_delivered_reset(&received);
        let parsed = parse(&received.data);
        assert!(parsed.text.contains(TO), "the text names the account");
        assert!(parsed.html.contains(TO), "the HTML names the account");
    })
    .await;
}

#[tokio::test]
async fn the_account_mailer_sends_each_kind_with_its_own_link() {
    bounded(async {
        let server = SmtpServer::start().await;
        let smtp = SmtpMailer::from_url(&smtp_url(&server), FROM).unwrap();
        let mailer = AccountMailer::new(
            Arc::new(smtp),
            EmailTemplates::builtin(),
            LinkTemplate::new(RESET_LINK).unwrap(),
            LinkTemplate::new("https://camelot.example/verify?token={token}").unwrap(),
        );
        mailer
            .send(EmailKind::ResetPassword, TO, TOKEN)
            .await
            .unwrap();
        mailer.send(EmailKind::Verify, TO, "v3r1fy").await.unwrap();

        assert_delivered_reset(&server.next_message().await);
        let verify = parse(&server.next_message().await.data);
        assert_eq!(verify.subject, "Verify your email address");
        assert_eq!(verify.text_token, "v3r1fy");
        assert_eq!(verify.html_token, "v3r1fy");
        assert!(
            verify
                .text
                .contains("https://camelot.example/verify?token=v3r1fy")
        );
    })
    .await;
}

#[tokio::test]
async fn smtp_connections_are_pooled_between_emails() {
    bounded(async {
        let server = SmtpServer::start().await;
        let mailer = SmtpMailer::from_url(&smtp_url(&server), FROM).unwrap();
        for _ in 0..3 {
            mailer.send(&reset_email(TOKEN)).await.unwrap();
            server.next_message().await;
            // lettre hands a connection back to the pool in a task of its own; emails are
            // never sent back to back in a real server either.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(
            server.connections(),
            1,
            "each email opened a new connection"
        );
    })
    .await;
}

#[tokio::test]
async fn smtp_authenticates_with_the_urls_percent_encoded_credentials() {
    bounded(async {
        let server = SmtpServer::builder()
            .require_auth("mailer", "p@ss:w/rd")
            .start()
            .await;
        let url = format!("smtp://mailer:p%40ss%3Aw%2Frd@127.0.0.1:{}", server.port());
        let mailer = SmtpMailer::from_url(&url, FROM).unwrap();
        mailer.send(&reset_email(TOKEN)).await.unwrap();
        let received = server.next_message().await;
        assert_eq!(received.user.as_deref(), Some("mailer"));
        assert_delivered_reset(&received);

        let url = format!("smtp://mailer:wrong@127.0.0.1:{}", server.port());
        let mailer = SmtpMailer::from_url(&url, FROM).unwrap();
        let error = mailer.send(&reset_email(TOKEN)).await.unwrap_err();
        assert!(
            matches!(error, MailError::Rejected { code: 535, .. }),
            "{error:?}"
        );
        assert!(server.try_next_message().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn starttls_required_upgrades_before_anything_is_sent() {
    bounded(async {
        let certificate = TestCertificate::new();
        let server = SmtpServer::builder()
            .starttls(&certificate)
            .require_auth("mailer", "secret")
            .start()
            .await;
        let url = format!(
            "smtp://mailer:secret@127.0.0.1:{}?tls=required",
            server.port()
        );
        let mailer = SmtpMailer::builder(&url, FROM)
            .unwrap()
            .root_certificate_pem(certificate.pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        mailer.send(&reset_email(TOKEN)).await.unwrap();
        let received = server.next_message().await;
        assert!(received.tls, "the message came before STARTTLS");
        assert_eq!(received.user.as_deref(), Some("mailer"));
        assert_delivered_reset(&received);
    })
    .await;
}

#[tokio::test]
async fn starttls_required_sends_nothing_to_a_server_without_starttls() {
    bounded(async {
        let certificate = TestCertificate::new();
        let server = SmtpServer::start().await;
        let url = format!("smtp://127.0.0.1:{}?tls=required", server.port());
        let mailer = SmtpMailer::builder(&url, FROM)
            .unwrap()
            .root_certificate_pem(certificate.pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        let error = mailer.send(&reset_email(TOKEN)).await.unwrap_err();
        assert!(error.is_retryable(), "{error:?}");
        assert_eq!(server.mail_from_attempts(), 0, "sent in plain text");
        assert!(server.try_next_message().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn smtps_speaks_tls_from_the_first_byte() {
    bounded(async {
        let certificate = TestCertificate::new();
        let server = SmtpServer::builder()
            .implicit_tls(&certificate)
            .start()
            .await;
        let url = format!("smtps://127.0.0.1:{}", server.port());
        let mailer = SmtpMailer::builder(&url, FROM)
            .unwrap()
            .root_certificate_pem(certificate.pem.as_bytes())
            .unwrap()
            .build()
            .unwrap();
        mailer.send(&reset_email(TOKEN)).await.unwrap();
        let received = server.next_message().await;
        assert!(received.tls);
        assert_delivered_reset(&received);
    })
    .await;
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    bounded(async {
        let certificate = TestCertificate::new();
        let server = SmtpServer::builder()
            .implicit_tls(&certificate)
            .start()
            .await;
        let url = format!("smtps://127.0.0.1:{}", server.port());
        let mailer = SmtpMailer::from_url(&url, FROM).unwrap();
        let error = mailer.send(&reset_email(TOKEN)).await.unwrap_err();
        assert!(matches!(error, MailError::Connect { .. }), "{error:?}");
        assert!(server.try_next_message().await.is_none());
    })
    .await;
}

/// Captures what the code logs, as the server's fmt subscriber would print it.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

// The current-thread runtime keeps every task on this thread, where the log capture is set.
#[tokio::test(flavor = "current_thread")]
async fn a_refused_sender_is_retried_then_logged_with_the_recipient_not_the_token() {
    let (logs, _guard) = capture_logs();
    bounded(async {
        let server = SmtpServer::builder().refuse_sender().start().await;
        let smtp = SmtpMailer::from_url(&smtp_url(&server), FROM).unwrap();
        let mailer = RetryingMailer::new(smtp)
            .attempts(3)
            .backoff(Duration::from_millis(10));
        let error = mailer.send(&reset_email(TOKEN)).await.unwrap_err();
        assert!(
            matches!(error, MailError::Rejected { code: 550, .. }),
            "{error:?}"
        );
        assert_eq!(server.mail_from_attempts(), 3);
        assert!(server.try_next_message().await.is_none());
    })
    .await;

    let logs = logs.text();
    let failure = logs
        .lines()
        .find(|line| line.contains("ERROR"))
        .expect("no error line");
    assert!(failure.contains(TO), "{failure}");
    assert!(failure.contains("550"), "{failure}");
    assert!(
        failure.contains("Sender <noreply@camelot.example> refused"),
        "{failure}"
    );
    assert!(failure.contains("attempts=3"), "{failure}");
    assert_eq!(logs.lines().filter(|line| line.contains("WARN")).count(), 2);
    // Not the token, nor a piece of it, nor the link.
    assert!(!logs.contains(&TOKEN[..20]), "{logs}");
    assert!(!logs.contains("reset-password"), "{logs}");
}

#[tokio::test]
async fn a_server_that_is_down_fails_at_once() {
    bounded(async {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
        let started = Instant::now();
        let error = mailer.send(&reset_email(TOKEN)).await.unwrap_err();
        assert!(matches!(error, MailError::Connect { .. }), "{error:?}");
        assert!(error.is_retryable());
        assert!(error.to_string().contains(&format!("127.0.0.1:{port}")));
        assert!(started.elapsed() < Duration::from_secs(5));
    })
    .await;
}

#[tokio::test]
async fn a_hanging_server_fails_within_the_timeout() {
    bounded(async {
        let server = SmtpServer::builder().hang().start().await;
        let mailer = SmtpMailer::builder(&smtp_url(&server), FROM)
            .unwrap()
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let started = Instant::now();
        let error = mailer.send(&reset_email(TOKEN)).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(error, MailError::Timeout { timeout, .. } if timeout == Duration::from_secs(1)),
            "{error:?}"
        );
        assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        assert_eq!(server.connections(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_bad_recipient_is_not_retried_and_nothing_connects() {
    bounded(async {
        let server = SmtpServer::start().await;
        let smtp = SmtpMailer::from_url(&smtp_url(&server), FROM).unwrap();
        let mailer = RetryingMailer::new(smtp).backoff(Duration::from_millis(10));
        let mut email = reset_email(TOKEN);
        email.to = "not an address".to_owned();
        let error = mailer.send(&email).await.unwrap_err();
        assert!(
            matches!(error, MailError::InvalidAddress { ref address, .. } if address == "not an address"),
            "{error:?}"
        );
        assert_eq!(server.connections(), 0);
    })
    .await;
}

#[test]
fn an_smtp_mailer_can_outlive_its_runtime() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mailer = runtime.block_on(async {
        let server = SmtpServer::start().await;
        let mailer = SmtpMailer::from_url(&smtp_url(&server), FROM).unwrap();
        bounded(mailer.send(&reset_email(TOKEN))).await.unwrap();
        mailer
    });
    drop(runtime);
    // Dropping the pool spawns its clean-up task; with the runtime gone that must not panic.
    drop(mailer);
}

#[test]
fn smtp_urls_are_checked_and_never_echo_the_password() {
    let invalid = [
        "not a url",
        "http://smtp.example.com",
        "smtp://smtp.example.com?tls=require",
        "smtp://smtp.example.com?starttls=yes",
        "smtps://smtp.example.com?tls=required",
        "smtp://user@smtp.example.com",
        "smtp://:hunter2@smtp.example.com",
    ];
    for url in invalid {
        let error = SmtpMailer::from_url(url, FROM).unwrap_err();
        assert!(
            matches!(error, MailError::InvalidSmtpUrl { .. }),
            "{url}: {error:?}"
        );
        assert!(!format!("{error} {error:?}").contains("hunter2"));
    }
    let error = SmtpMailer::from_url("smtp://smtp.example.com", "nobody").unwrap_err();
    assert!(
        matches!(error, MailError::InvalidAddress { .. }),
        "{error:?}"
    );

    let cases = [
        ("smtp://smtp.example.com", "smtp.example.com:25"),
        (
            "smtp://smtp.example.com?tls=required",
            "smtp.example.com:587",
        ),
        ("smtps://smtp.example.com", "smtp.example.com:465"),
        (
            "smtps://u:hunter2@smtp.example.com:2465",
            "smtp.example.com:2465",
        ),
        ("smtp://[::1]:2525", "[::1]:2525"),
    ];
    for (url, server) in cases {
        let mailer = SmtpMailer::from_url(url, FROM).unwrap();
        assert_eq!(mailer.server(), server);
        assert!(!format!("{mailer:?}").contains("hunter2"));
    }
}

// --- outbox -----------------------------------------------------------------------------

fn eml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn the_outbox_writes_one_eml_file_per_email_that_parses_the_same_way() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let outbox_dir = dir.path().join("outbox");
        let outbox = OutboxMailer::new(&outbox_dir, FROM).unwrap();
        outbox.send(&reset_email(TOKEN)).await.unwrap();
        let path = outbox.write(&reset_email("second.token")).await.unwrap();

        let files = eml_files(&outbox_dir);
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(files[1], path);
        for file in &files {
            let name = file.file_name().unwrap().to_str().unwrap();
            let (millis, rest) = name.split_once('-').unwrap();
            assert!(millis.len() >= 13 && millis.bytes().all(|b| b.is_ascii_digit()));
            assert!(rest.ends_with(".eml") && !name.starts_with('.'));
        }
        let first = parse(&std::fs::read(&files[0]).unwrap());
        assert_eq!(first.subject, "Reset your password");
        assert_eq!(first.to, TO);
        assert_eq!(
            (first.text_token.as_str(), first.html_token.as_str()),
            (TOKEN, TOKEN)
        );
        let second = parse(&std::fs::read(&files[1]).unwrap());
        assert_eq!(second.text_token, "second.token");

        #[cfg(unix)]
        for file in &files {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(file).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{file:?} is readable by others: {mode:o}");
        }

        let raw = std::fs::read_to_string(&files[0]).unwrap();
        assert!(raw.contains("From: Camelot <noreply@camelot.example>"));
        assert!(raw.contains("Message-ID: <") && raw.contains("@camelot.example>"));
        assert!(raw.contains("Date: "));
    })
    .await;
}

#[tokio::test]
async fn the_outbox_reports_a_folder_it_cannot_write() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxMailer::new(dir.path().join("outbox"), FROM).unwrap();
        std::fs::remove_dir(outbox.dir()).unwrap();
        let error = outbox.send(&reset_email(TOKEN)).await.unwrap_err();
        assert!(matches!(error, MailError::Outbox { .. }), "{error:?}");
        assert!(error.is_retryable());

        let file = dir.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let error = OutboxMailer::new(&file, FROM).unwrap_err();
        assert!(matches!(error, MailError::Outbox { .. }), "{error:?}");
    })
    .await;
}

// --- templates and links ----------------------------------------------------------------

#[test]
fn templates_from_a_folder_replace_only_the_files_present() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("reset_password.subject.txt"),
        "Password help for\n{{ email }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("verify.html"),
        "<p>Welcome {{ email }}: <a href=\"{{ link }}\">confirm</a></p>",
    )
    .unwrap();
    let templates = EmailTemplates::from_dir(dir.path()).unwrap();
    assert_eq!(
        templates.overridden(),
        ["reset_password.subject.txt", "verify.html"]
    );
    let builtin = EmailTemplates::builtin();
    let link = "https://camelot.example/x?token=t";

    let reset = templates
        .render(EmailKind::ResetPassword, TO, link)
        .unwrap();
    let builtin_reset = builtin.render(EmailKind::ResetPassword, TO, link).unwrap();
    assert_eq!(reset.subject, format!("Password help for {TO}"));
    assert_eq!(reset.text, builtin_reset.text);
    assert_eq!(reset.html, builtin_reset.html);

    let verify = templates.render(EmailKind::Verify, TO, link).unwrap();
    let builtin_verify = builtin.render(EmailKind::Verify, TO, link).unwrap();
    assert_eq!(
        verify.html,
        format!(
            "<p>Welcome {TO}: <a href=\"https:&#x2f;&#x2f;camelot.example&#x2f;x?token=t\">confirm</a></p>"
        )
    );
    assert_eq!(verify.subject, builtin_verify.subject);
    assert_eq!(verify.text, builtin_verify.text);
}

#[test]
fn a_broken_template_fails_when_the_folder_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reset_password.txt"), "Open {{ linkk }}").unwrap();
    let error = EmailTemplates::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            MailError::Template {
                name: "reset_password.txt",
                ..
            }
        ),
        "{error:?}"
    );

    std::fs::write(dir.path().join("reset_password.txt"), "Open {{ link ").unwrap();
    let error = EmailTemplates::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            MailError::Template {
                name: "reset_password.txt",
                ..
            }
        ),
        "{error:?}"
    );

    let error = EmailTemplates::from_dir(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(error, MailError::TemplateDir { .. }), "{error:?}");
}

#[test]
fn the_html_part_escapes_the_link_and_the_text_part_keeps_it_as_is() {
    let link = "https://camelot.example/r?a=1&token=t\"><script>alert(1)</script>";
    for kind in EmailKind::ALL {
        let email = EmailTemplates::builtin().render(kind, TO, link).unwrap();
        assert!(email.text.contains(link), "{kind:?}");
        assert!(!email.html.contains("<script>"), "{kind:?}");
        // The whole link stays inside the attribute, and a browser reads it back as it was.
        let escaped = "https:&#x2f;&#x2f;camelot.example&#x2f;r?a=1&amp;token=t&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";
        assert!(
            email.html.contains(&format!("href=\"{escaped}\"")),
            "{kind:?}"
        );
        assert_eq!(unescape_html(escaped), link);
        assert!(
            email.html.contains(TO) && email.text.contains(TO),
            "{kind:?}"
        );
    }
}

#[test]
fn link_templates_need_a_token_placeholder_and_an_http_url() {
    for template in [
        "https://camelot.example/reset-password",
        "{public_url}/reset-password?token={token}",
        "/reset-password?token={token}",
        "ftp://camelot.example/?token={token}",
        "javascript:alert(1)//{token}",
        "https:///?token={token}",
    ] {
        let error = LinkTemplate::new(template).unwrap_err();
        assert!(
            matches!(error, MailError::InvalidLinkTemplate { .. }),
            "{template}: {error:?}"
        );
    }
    let link = LinkTemplate::new("http://localhost:8000/verify?token={token}&lang=en").unwrap();
    assert_eq!(
        link.render("a b&c=d/é"),
        "http://localhost:8000/verify?token=a%20b%26c%3Dd%2F%C3%A9&lang=en"
    );
    assert_eq!(token_of(&link.render("a b&c=d/é")), "a b&c=d/é");
    assert_eq!(
        link.render(TOKEN),
        format!("http://localhost:8000/verify?token={TOKEN}&lang=en")
    );
}

#[test]
fn debug_output_never_shows_a_body() {
    let email = reset_email(TOKEN);
    let debug = format!("{email:?}");
    assert!(!debug.contains(&TOKEN[..20]), "{debug}");
    assert!(
        debug.contains(TO) && debug.contains("Reset your password"),
        "{debug}"
    );
}
