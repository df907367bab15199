//! Bad input from the database side (issue 5): what the server does with a database it cannot
//! or must not serve.
//!
//! - A schema from a newer migration than the binary knows: `serve` (migrating or not) and
//!   `migrate` refuse to start, with one line naming the migration the database is at and the
//!   newest this binary knows; nothing is changed. On SQLite and on a fresh PostgreSQL database.
//! - A URL with an unknown scheme: one line naming the setting, the scheme and the schemes
//!   expected.
//! - A database that does not answer at start: a bounded number of retries (one warning each),
//!   then one line with the cause (a refused connection; a server that accepts and never
//!   answers).
//! - A database that goes away under load (PostgreSQL behind a TCP relay the test cuts: every
//!   connection dropped, new ones refused): login and `GET /users/me` (JWT and database token)
//!   answer 503 `{"detail": "Service Unavailable"}` with `Retry-After` within a bounded time
//!   (the pool's acquire timeout, set to 1 s), `/health/ready` answers 503; once the relay is
//!   back, the same requests succeed again.
//!
//! PostgreSQL (`TEST_DATABASE_URL`) is skipped with a `skipping:` line when unreachable, and is
//! a failure under `CI=true`.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::str::FromStr as _;
use std::time::{Duration, Instant};

use axum_users_server::Profile;
use axum_users_server::config::BackendKind;
use serde_json::{Value, json};
use support::{PgDatabase, config, start};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A version far beyond any migration this binary embeds.
const FUTURE: i64 = 20_991_231_000_000;
const SECRET: &str = "a secret for the database tests, 32 bytes or more";

/// Settings every run of the binary gets: cheap hashing, a port of its own, a secret (so no
/// secret file is generated and no warning about it is logged), warnings and errors only.
const BASE: [(&str, &str); 7] = [
    ("AXUM_USERS_BIND", "127.0.0.1:0"),
    ("AXUM_USERS_ARGON2_MEMORY_KIB", "1024"),
    ("AXUM_USERS_ARGON2_ITERATIONS", "1"),
    ("AXUM_USERS_ARGON2_PARALLELISM", "1"),
    ("AXUM_USERS_PUBLIC_URL", "http://app.test.example"),
    ("AXUM_USERS_SECRET", SECRET),
    ("RUST_LOG", "warn"),
];

/// The newest migration the binary embeds, per engine.
fn known(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap()
}

/// What a run of the binary left behind.
struct Exit {
    status: ExitStatus,
    stderr: String,
    took: Duration,
}

impl Exit {
    fn lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// Runs the binary with `command` in `dir`, with only [`BASE`] and `vars` in its environment,
/// and waits for it to exit; a run longer than `limit` is killed and fails the test (a server
/// that starts would run forever).
fn run(dir: &Path, command: &str, vars: &[(&str, &str)], limit: Duration) -> Exit {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_axum-users"))
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .envs(BASE.iter().copied())
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Standard error ends when the process does: the reader hands it over then.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stderr.read_to_string(&mut out);
        let _ = tx.send(out);
    });
    let Ok(stderr) = rx.recv_timeout(limit) else {
        let _ = child.kill();
        let _ = child.wait();
        let stderr = rx.recv().unwrap_or_default();
        panic!("`axum-users {command}` still running after {limit:?}:\n{stderr}");
    };
    let status = child.wait().unwrap();
    Exit {
        status,
        stderr,
        took: started.elapsed(),
    }
}

/// The run failed with exactly one line on standard error, which is returned.
fn one_line_refusal(exit: &Exit, what: &str) -> String {
    assert!(!exit.status.success(), "{what}: exited successfully");
    let lines = exit.lines();
    assert_eq!(lines.len(), 1, "{what}: one line, got:\n{}", exit.stderr);
    lines[0].to_owned()
}

// --- a schema newer than the binary ----------------------------------------------------------

/// After `migrate`, a migration from the future is recorded; `serve` (with and without
/// auto-migration) and `migrate` then refuse with one line, and change nothing.
fn refuses_a_newer_schema(dir: &Path, url: &str, known: i64) {
    let url_var = ("AXUM_USERS_DATABASE_URL", url);
    let done = run(dir, "migrate", &[url_var], Duration::from_secs(60));
    assert!(done.status.success(), "migrate: {}", done.stderr);
    record_future_migration(url);
    let expected = format!(
        "error: AXUM_USERS_DATABASE_URL: database schema is at migration {FUTURE}, newer than \
         this build of axum-users knows ({known}): upgrade axum-users"
    );
    for (command, vars) in [
        ("serve", vec![url_var]),
        ("serve", vec![url_var, ("AXUM_USERS_AUTO_MIGRATE", "false")]),
        ("migrate", vec![url_var]),
    ] {
        let what = format!("{command} {vars:?}");
        let exit = run(dir, command, &vars, Duration::from_secs(60));
        assert_eq!(one_line_refusal(&exit, &what), expected, "{what}");
    }
    assert_eq!(
        migration_versions(url),
        (1..=known).chain([FUTURE]).collect::<Vec<_>>(),
        "nothing was applied or removed"
    );
}

/// Runs `f` on a runtime of its own (the binary-driving tests are synchronous).
fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Records a migration this binary does not have, as a newer axum-users would.
fn record_future_migration(url: &str) {
    const INSERT: &str = "INSERT INTO _sqlx_migrations
        (version, description, success, checksum, execution_time)
        VALUES ($1, 'from a newer axum-users', TRUE, $2, 0)";
    const INSERT_SQLITE: &str = "INSERT INTO _sqlx_migrations
        (version, description, success, checksum, execution_time)
        VALUES (?1, 'from a newer axum-users', TRUE, ?2, 0)";
    block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            sqlx::query(INSERT_SQLITE)
                .bind(FUTURE)
                .bind(vec![0u8; 48])
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            sqlx::query(INSERT)
                .bind(FUTURE)
                .bind(vec![0u8; 48])
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    });
}

/// The versions recorded in `_sqlx_migrations`, in order.
fn migration_versions(url: &str) -> Vec<i64> {
    const SELECT: &str = "SELECT version FROM _sqlx_migrations ORDER BY version";
    block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let v = sqlx::query_scalar(SELECT).fetch_all(&pool).await.unwrap();
            pool.close().await;
            v
        } else {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let v = sqlx::query_scalar(SELECT).fetch_all(&pool).await.unwrap();
            pool.close().await;
            v
        }
    })
}

#[test]
fn a_sqlite_schema_newer_than_the_binary_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("users.db").display());
    refuses_a_newer_schema(dir.path(), &url, known(&axum_users_sqlx::sqlite_migrator()));
}

#[test]
fn a_postgres_schema_newer_than_the_binary_is_refused_at_start() {
    let Some(database) = block_on(PgDatabase::create()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    refuses_a_newer_schema(
        dir.path(),
        &database.url,
        known(&axum_users_sqlx::postgres_migrator()),
    );
    drop(database);
}

// --- bad URLs and databases away at start ----------------------------------------------------

#[test]
fn an_unknown_url_scheme_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (url, scheme) in [
        ("oracle://db.example/users", "oracle"),
        ("redis://127.0.0.1:6379", "redis"),
        ("users.db", ""),
    ] {
        let exit = run(
            dir.path(),
            "serve",
            &[("AXUM_USERS_DATABASE_URL", url)],
            Duration::from_secs(30),
        );
        assert_eq!(
            one_line_refusal(&exit, url),
            format!(
                "error: AXUM_USERS_DATABASE_URL: unsupported database URL scheme {scheme:?} \
                 (expected sqlite:, postgres:, postgresql:, mysql: or mariadb:)"
            )
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

/// A loopback port where nothing listens (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_unreachable_database_fails_the_start_after_bounded_retries() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://app@127.0.0.1:{}/users", closed_port());
        let exit = run(
            dir.path(),
            "serve",
            &[
                ("AXUM_USERS_DATABASE_URL", &url),
                ("AXUM_USERS_DATABASE_CONNECT_RETRIES", "1"),
                ("AXUM_USERS_DATABASE_ACQUIRE_TIMEOUT_SECONDS", "1"),
            ],
            Duration::from_secs(60),
        );
        assert!(!exit.status.success(), "{url}: {}", exit.stderr);
        // Two attempts of about a second each, and a wait of 1 s between them.
        assert!(
            exit.took < Duration::from_secs(15),
            "{url}: {:?}",
            exit.took
        );
        let lines = exit.lines();
        assert_eq!(
            lines.len(),
            2,
            "{url}: a warning, an error:\n{}",
            exit.stderr
        );
        for warning in &lines[..1] {
            assert!(
                warning.contains("WARN") && warning.contains("database not reachable yet"),
                "{warning}"
            );
        }
        let error = lines[1];
        assert!(
            error.starts_with("error: AXUM_USERS_DATABASE_URL: cannot open the database: "),
            "{error}"
        );
        assert!(
            error.to_ascii_lowercase().contains("connection refused"),
            "names the cause: {error}"
        );
        assert!(!error.contains("pool timed out"), "{error}");
    }

    // A server that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://app@{}/users", silent.local_addr().unwrap());
    let exit = run(
        dir.path(),
        "serve",
        &[
            ("AXUM_USERS_DATABASE_URL", &url),
            ("AXUM_USERS_DATABASE_CONNECT_RETRIES", "0"),
            ("AXUM_USERS_DATABASE_ACQUIRE_TIMEOUT_SECONDS", "1"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(
        one_line_refusal(&exit, &url),
        "error: AXUM_USERS_DATABASE_URL: cannot open the database: no answer within 1 s"
    );
    assert!(exit.took < Duration::from_secs(10), "{:?}", exit.took);
    drop(silent);
}

// --- a database that goes away under load ----------------------------------------------------

/// A TCP relay to the database that the test can cut (every relayed connection dropped, the
/// listening socket closed so new connections are refused) and restore (on the same port).
struct Relay {
    addr: SocketAddr,
    upstream: SocketAddr,
    accepting: Option<JoinHandle<()>>,
    /// Bumped at each cut; every relayed connection ends when it changes.
    generation: watch::Sender<u64>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (generation, _) = watch::channel(0);
        let mut relay = Self {
            addr,
            upstream,
            accepting: None,
            generation,
        };
        relay.accept_on(listener);
        relay
    }

    fn accept_on(&mut self, listener: TcpListener) {
        let upstream = self.upstream;
        let generation = self.generation.clone();
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = generation.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        }));
    }

    /// Drops every relayed connection and stops listening.
    async fn cut(&mut self) {
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
            let _ = accepting.await;
        }
        self.generation.send_modify(|g| *g += 1);
        // Refused now.
        assert!(TcpStream::connect(self.addr).await.is_err());
    }

    /// Listens on the same port again.
    async fn restore(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(self.addr)
            .unwrap_or_else(|e| panic!("cannot listen on {} again: {e}", self.addr));
        let listener = socket.listen(128).unwrap();
        self.accept_on(listener);
    }
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let userinfo = authority
        .rsplit_once('@')
        .map_or(String::new(), |(u, _)| format!("{u}@"));
    format!("{scheme}://{userinfo}{addr}{path}")
}

async fn login(http: &reqwest::Client, base: &str, backend: &str) -> reqwest::Response {
    http.post(format!("{base}/auth/{backend}/login"))
        .form(&[("username", "percival@camelot.bt"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap()
}

async fn me(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    http.get(format!("{base}/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn token(r: reqwest::Response) -> String {
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

const PASSWORD: &str = "the grail castle, 1190";

/// 503 with `Retry-After` and `{"detail": "Service Unavailable"}`, within a bounded time.
async fn unavailable(what: &str, started: Instant, r: reqwest::Response) {
    let took = started.elapsed();
    assert_eq!(r.status(), 503, "{what}");
    assert!(
        took < Duration::from_secs(5),
        "{what}: answered after {took:?}"
    );
    assert_eq!(r.headers()["retry-after"], "1", "{what}");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Service Unavailable"}),
        "{what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_answers_503_and_recovers() {
    let Some(database) = PgDatabase::create().await else {
        return;
    };
    let options = sqlx::postgres::PgConnectOptions::from_str(&database.url).unwrap();
    let upstream: SocketAddr = tokio::net::lookup_host((options.get_host(), options.get_port()))
        .await
        .unwrap()
        .next()
        .unwrap();
    let mut relay = Relay::start(upstream).await;

    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.database_url = through(&database.url, relay.addr);
    c.database.acquire_timeout_seconds = 1;
    c.backends = vec![BackendKind::Jwt, BackendKind::Database];
    let srv = start(c).await;
    let base = srv.base.clone();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let r = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": "percival@camelot.bt", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let jwt = token(login(&http, &base, "jwt").await).await;
    let db_token = token(login(&http, &base, "database").await).await;
    assert_eq!(me(&http, &base, &jwt).await.status(), 200);
    assert_eq!(me(&http, &base, &db_token).await.status(), 200);

    relay.cut().await;
    // Twice each: the first requests meet the dropped connections, the next ones the refusal.
    for round in 0..2 {
        for backend in ["jwt", "database"] {
            let started = Instant::now();
            let r = login(&http, &base, backend).await;
            unavailable(&format!("{backend} login, round {round}"), started, r).await;
        }
        for (what, token) in [("JWT", &jwt), ("database token", &db_token)] {
            let started = Instant::now();
            let r = me(&http, &base, token).await;
            unavailable(
                &format!("/users/me with a {what}, round {round}"),
                started,
                r,
            )
            .await;
        }
        let started = Instant::now();
        let r = http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"status": "unavailable", "checks": {"database": "unavailable"}})
        );
    }
    // Liveness does no I/O.
    let r = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    relay.restore().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "not ready again after 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for backend in ["jwt", "database"] {
        let fresh = token(login(&http, &base, backend).await).await;
        assert_eq!(me(&http, &base, &fresh).await.status(), 200, "{backend}");
    }
    for token in [&jwt, &db_token] {
        let r = me(&http, &base, token).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<Value>().await.unwrap()["email"],
            "percival@camelot.bt"
        );
    }
    srv.stop().await;
    drop(relay);
    drop(database);
}
