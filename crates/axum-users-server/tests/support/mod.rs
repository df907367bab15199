//! Shared helpers of the server's tests: the real server on port 0 and reading its emails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum_users_server::{Config, Profile, ServerError, server};
use tokio::sync::oneshot;

/// The test SMTP listener of the core crate's tests.
#[path = "../../../axum-users-core/tests/support/smtp.rs"]
pub(crate) mod smtp;

/// A server running on a loopback port.
pub(crate) struct Running {
    pub(crate) base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl Running {
    /// Stops it gracefully and waits.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.task.await.unwrap().unwrap();
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Settings for a test server in `dir`: SQLite file, secret file and outbox there, cheap argon2.
pub(crate) fn config(dir: &Path, profile: Profile) -> Config {
    let mut c = Config::default();
    c.database_url = format!("sqlite://{}", dir.join("users.db").display());
    c.secret_file = dir.join("secret");
    c.profile = profile;
    c.argon2.memory_kib = 1024;
    c.argon2.iterations = 1;
    c.argon2.parallelism = 1;
    c.hash_workers = 2;
    c.mail.outbox = dir.join("outbox");
    c.mail.public_url = Some("http://app.test.example".into());
    c
}

/// Starts `run` on 127.0.0.1:0.
pub(crate) async fn start(config: Config) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server::run(listener, config, async move {
        let _ = rx.await;
    }));
    Running {
        base: format!("http://{addr}"),
        stop: Some(tx),
        task,
    }
}

/// Waits (at most 10 s) until the folder holds `n` `.eml` files, and returns them oldest first.
pub(crate) async fn outbox_files(dir: &Path, n: usize) -> Vec<PathBuf> {
    for _ in 0..200 {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        if files.len() >= n {
            files.sort();
            return files;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} emails in {} after 10 s", dir.display());
}

/// The token of the link in a raw email (text part), decoded from its MIME encoding.
pub(crate) fn token_in(raw: &[u8], link_prefix: &str) -> String {
    let message = mail_parser::MessageParser::default().parse(raw).unwrap();
    let text = message.body_text(0).unwrap();
    let start = text
        .find(link_prefix)
        .unwrap_or_else(|| panic!("no {link_prefix} in {text}"));
    let rest = &text[start + link_prefix.len()..];
    let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    percent_encoding::percent_decode_str(&token)
        .decode_utf8()
        .unwrap()
        .into_owned()
}
