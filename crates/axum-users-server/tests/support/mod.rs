//! Shared helpers of the server's tests: the real server on port 0 and reading its emails.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

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

/// A service a test needs is missing: under `CI=true` this panics (CI must not skip);
/// otherwise it prints a `skipping:` line and returns `true`.
pub(crate) fn service_missing(what: &str, error: &dyn std::fmt::Display) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is not available under CI=true: {error}");
    }
    eprintln!("skipping: {what} not available: {error}");
    true
}

/// The PostgreSQL server of the tests (`TEST_DATABASE_URL`).
pub(crate) fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh PostgreSQL database, dropped (with its sessions ended) when this is dropped, also
/// after a failed assertion.
pub(crate) struct PgDatabase {
    /// Its URL, in the form of `TEST_DATABASE_URL`.
    pub(crate) url: String,
    name: String,
}

impl PgDatabase {
    /// Creates one, or returns `None` (skip) when no server answers and `CI` is not `true`.
    pub(crate) async fn create() -> Option<Self> {
        let admin = postgres_admin_url();
        let connect = sqlx::PgPool::connect(&admin);
        let pool = match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(pool)) => pool,
            Ok(Err(e)) => return service_missing("PostgreSQL", &e).then_some(None).flatten(),
            Err(e) => return service_missing("PostgreSQL", &e).then_some(None).flatten(),
        };
        let name = format!("axu_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin.as_str(), String::new()),
        };
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        Some(Self {
            url: format!("{base}/{name}{query}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own
        // with its own runtime does the work.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let work = async {
                    let pool = sqlx::PgPool::connect(&postgres_admin_url()).await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await?;
                    pool.close().await;
                    Ok::<_, sqlx::Error>(())
                };
                match tokio::time::timeout(Duration::from_secs(10), work).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("could not drop test database {name}: {e}"),
                    Err(_) => eprintln!("could not drop test database {name}: timed out"),
                }
            });
        });
        let _ = done.join();
    }
}
