//! Operations: `/health`, `/health/ready`, `/metrics` (also under a login storm), logs as JSON
//! or text lines with a request id and no secret, and settings refused at start with one line.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axum_users_server::Profile;
use serde_json::{Value, json};
use support::{config, outbox_files, start, token_in};

const RESET_LINK: &str = "http://app.test.example/reset-password?token=";

fn skip_or_fail(what: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} is required under CI=true"
    );
    eprintln!("skipping: {what} not reachable");
}

async fn register(http: &reqwest::Client, base: &str, email: &str, password: &str) {
    let r = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    http.post(format!("{base}/auth/jwt/login"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The value of the series line `series` (name with labels) in a scrape.
fn sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}

#[tokio::test]
async fn health_is_ok_and_ready_checks_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();
    let r = http.get(srv.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));

    let r = http.get(srv.url("/health/ready")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "ok", "checks": {"database": "ok"}})
    );
    let r = http.post(srv.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    srv.stop().await;
}

#[tokio::test]
async fn ready_names_redis_when_it_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    // Nothing listens on port 1: connections are refused at once.
    c.redis_url = Some("redis://127.0.0.1:1".into());
    let srv = start(c).await;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let r = http.get(srv.url("/health/ready")).send().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "readiness is bounded"
    );
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "unavailable", "checks": {"database": "ok", "redis": "unavailable"}})
    );
    // Liveness does no I/O: still fine.
    let r = http.get(srv.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    srv.stop().await;
}

#[tokio::test]
async fn ready_with_a_live_redis() {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    // redis://[user:pass@]host[:port][/db]
    let host_port = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|rest| rest.rsplit('@').next())
        .unwrap_or("127.0.0.1:6379");
    let addr = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    let reachable =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
            .await
            .is_ok_and(|r| r.is_ok());
    if !reachable {
        skip_or_fail("Redis at TEST_REDIS_URL");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.redis_url = Some(url);
    let srv = start(c).await;
    let r = reqwest::get(srv.url("/health/ready")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"status": "ok", "checks": {"database": "ok", "redis": "ok"}})
    );
    srv.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_logins_emails_and_the_hash_queue() {
    let dir = tempfile::tempdir().unwrap();
    let srv = start(config(dir.path(), Profile::V15)).await;
    let http = reqwest::Client::new();
    let base = srv.base.clone();
    register(&http, &base, "bors@camelot.bt", "corbenic-castle").await;
    let ok = login(&http, &base, "bors@camelot.bt", "corbenic-castle").await;
    assert_eq!(ok.status(), 200);
    let token = ok.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        login(&http, &base, "bors@camelot.bt", "corbenic-castle")
            .await
            .status(),
        200
    );
    assert_eq!(
        login(&http, &base, "bors@camelot.bt", "wrong-password")
            .await
            .status(),
        400
    );
    assert_eq!(
        login(&http, &base, "nobody@camelot.bt", "wrong-password")
            .await
            .status(),
        400
    );
    let me = http
        .get(srv.url("/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap();
    // Another user's id: 403 for a non-superuser, counted under the route's pattern.
    let r = http
        .get(srv.url(&format!("/users/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http.get(srv.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = http
        .post(srv.url("/auth/forgot-password"))
        .json(&json!({"email": "bors@camelot.bt"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    outbox_files(&dir.path().join("outbox"), 1).await;
    // Let the hashing probe take a sample (once a second).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let r = http.get(srv.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
    );
    let text = r.text().await.unwrap();
    let expect = [
        ("axum_users_logins_total{result=\"success\"}", 2.0),
        ("axum_users_logins_total{result=\"failure\"}", 2.0),
        ("axum_users_lockouts_total", 0.0),
        (
            "axum_users_emails_total{kind=\"reset_password\",result=\"sent\"}",
            1.0,
        ),
        (
            "axum_users_emails_total{kind=\"reset_password\",result=\"failed\"}",
            0.0,
        ),
        (
            "axum_users_http_requests_total{method=\"POST\",route=\"/auth/jwt/login\",status=\"200\"}",
            2.0,
        ),
        (
            "axum_users_http_requests_total{method=\"POST\",route=\"/auth/jwt/login\",status=\"400\"}",
            2.0,
        ),
        (
            "axum_users_http_requests_total{method=\"POST\",route=\"/auth/register\",status=\"201\"}",
            1.0,
        ),
        (
            "axum_users_http_requests_total{method=\"GET\",route=\"/users/{id}\",status=\"403\"}",
            1.0,
        ),
        (
            "axum_users_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}",
            1.0,
        ),
        (
            "axum_users_http_request_duration_seconds_count{method=\"POST\",route=\"/auth/jwt/login\",status=\"200\"}",
            2.0,
        ),
        ("axum_users_hash_workers", 2.0),
        ("axum_users_hash_queue_depth", 0.0),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
    }
    assert!(
        text.contains("# TYPE axum_users_http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(
            "axum_users_http_request_duration_seconds_bucket{method=\"POST\",route=\"/auth/jwt/login\",status=\"200\",le=\"+Inf\"} 2"
        ),
        "{text}"
    );
    let probes = sample(&text, "axum_users_hash_queue_wait_seconds_count").unwrap_or(0.0);
    assert!(probes >= 1.0, "the hashing wait is sampled:\n{text}");
    assert!(!text.contains(id), "no user id in labels");
    srv.stop().await;
}

#[tokio::test]
async fn a_lockout_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    c.limits.lockout_max_failures = 3;
    let srv = start(c).await;
    let http = reqwest::Client::new();
    let base = srv.base.clone();
    register(&http, &base, "mordred@camelot.bt", "camlann-field").await;
    for _ in 0..3 {
        let r = login(&http, &base, "mordred@camelot.bt", "not-the-password").await;
        assert_eq!(r.status(), 400);
    }
    // Locked: refused before the password is looked at, even the right one.
    let r = login(&http, &base, "mordred@camelot.bt", "camlann-field").await;
    assert_eq!(r.status(), 429);
    let text = reqwest::get(srv.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&text, "axum_users_lockouts_total"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "axum_users_logins_total{result=\"failure\"}"),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            "axum_users_http_requests_total{method=\"POST\",route=\"/auth/jwt/login\",status=\"429\"}"
        ),
        Some(1.0)
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_during_a_login_storm_answers_promptly_and_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), Profile::V15);
    // One slow-ish hashing thread, so that logins queue up behind it.
    c.hash_workers = 1;
    c.argon2.memory_kib = 4 * 1024;
    c.argon2.iterations = 2;
    let srv = start(c).await;
    let http = reqwest::Client::new();
    let base = srv.base.clone();
    register(&http, &base, "galahad@camelot.bt", "siege-perilous").await;

    const STORM: usize = 40;
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..STORM {
        let http = http.clone();
        let base = base.clone();
        // Five failures: under the lockout's ten.
        let password = if i % 8 == 0 {
            "wrong-password"
        } else {
            "siege-perilous"
        };
        logins.spawn(async move {
            login(&http, &base, "galahad@camelot.bt", password)
                .await
                .status()
                .as_u16()
        });
    }
    let mut deepest = 0.0_f64;
    for _ in 0..5 {
        let started = Instant::now();
        let r = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "a scrape took {took:?} during the storm"
        );
        deepest = deepest.max(sample(&text, "axum_users_hash_queue_depth").unwrap_or(0.0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut statuses = Vec::new();
    while let Some(status) = logins.join_next().await {
        statuses.push(status.unwrap());
    }
    let succeeded = statuses.iter().filter(|&&s| s == 200).count();
    let failed = statuses.iter().filter(|&&s| s == 400).count();
    assert_eq!(
        succeeded + failed + statuses.iter().filter(|&&s| s == 503).count(),
        STORM,
        "{statuses:?}"
    );
    eprintln!("storm: {succeeded} ok, {failed} refused, deepest queue seen {deepest}");
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    #[allow(clippy::cast_precision_loss)]
    let (succeeded, failed) = (succeeded as f64, failed as f64);
    assert_eq!(
        sample(&text, "axum_users_logins_total{result=\"success\"}"),
        Some(succeeded)
    );
    assert_eq!(
        sample(&text, "axum_users_logins_total{result=\"failure\"}"),
        Some(failed)
    );
    assert_eq!(
        sample(
            &text,
            "axum_users_http_requests_total{method=\"POST\",route=\"/auth/jwt/login\",status=\"200\"}"
        ),
        Some(succeeded)
    );
    srv.stop().await;
}

// --- the binary: logs and start-up refusals -----------------------------------------------

/// The binary, run in `dir` with only `vars` in its environment.
fn binary(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_axum-users"));
    cmd.current_dir(dir)
        .env_clear()
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A running binary whose standard error is collected line by line.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn spawn(dir: &Path, vars: &[(&str, &str)]) -> Self {
        let mut child = binary(dir, vars).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (10 s at most) for a line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?} in:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Stops the process (it is ours) and returns every line it wrote.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        self.seen
    }
}

const CHEAP: [(&str, &str); 5] = [
    ("AXUM_USERS_BIND", "127.0.0.1:0"),
    ("AXUM_USERS_ARGON2_MEMORY_KIB", "1024"),
    ("AXUM_USERS_ARGON2_ITERATIONS", "1"),
    ("AXUM_USERS_ARGON2_PARALLELISM", "1"),
    ("AXUM_USERS_PUBLIC_URL", "http://app.test.example"),
];

fn listening_address(line: &str) -> String {
    let at = line.find("127.0.0.1:").unwrap();
    line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_on_every_request_line_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = CHEAP.to_vec();
    vars.extend([("AXUM_USERS_LOG_FORMAT", "json"), ("RUST_LOG", "debug")]);
    let mut server = Server::spawn(dir.path(), &vars);
    let line = server.wait_for("axum-users listening");
    let base = format!("http://{}", listening_address(&line));
    let http = reqwest::Client::new();

    const PASSWORD: &str = "Sup3r-Secret-Passw0rd";
    const WRONG: &str = "Wr0ng-Secret-Passw0rd";
    const NEW: &str = "N3w-Secret-Passw0rd";
    const COOKIE: &str = "cookie-secret-value-31337";
    let mut ids = Vec::new();
    let mut note = |r: &reqwest::Response| {
        ids.push(r.headers()["x-request-id"].to_str().unwrap().to_owned());
    };
    let r = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": "dagonet@camelot.bt", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    note(&r);
    assert_eq!(r.status(), 201);
    let r = login(&http, &base, "dagonet@camelot.bt", PASSWORD).await;
    note(&r);
    let access = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .get(format!("{base}/users/me"))
        .bearer_auth(&access)
        .header("cookie", format!("fastapiusersauth={COOKIE}"))
        .send()
        .await
        .unwrap();
    note(&r);
    assert_eq!(r.status(), 200);
    let r = login(&http, &base, "dagonet@camelot.bt", WRONG).await;
    note(&r);
    let r = http
        .post(format!("{base}/auth/forgot-password"))
        .json(&json!({"email": "dagonet@camelot.bt"}))
        .send()
        .await
        .unwrap();
    let forgot_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    note(&r);
    let files = outbox_files(&dir.path().join("mail-outbox"), 1).await;
    let reset = token_in(&std::fs::read(&files[0]).unwrap(), RESET_LINK);
    let r = http
        .get(format!("{base}/reset-password?token={reset}"))
        .send()
        .await
        .unwrap();
    note(&r);
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!("{base}/reset-password"))
        .form(&[
            ("token", reset.as_str()),
            ("password", NEW),
            ("password_confirm", NEW),
        ])
        .send()
        .await
        .unwrap();
    note(&r);
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{base}/health"))
        .header("x-request-id", "client-chosen-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "client-chosen-id-42");
    note(&r);
    // The last line of the last request.
    server.wait_for("client-chosen-id-42");
    let lines = server.stop();
    let all = lines.join("\n");

    let mut per_request = 0;
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let Some(spans) = v["spans"].as_array() else {
            continue;
        };
        per_request += 1;
        assert!(
            spans.iter().any(|s| s["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty() && id != "-")),
            "a line inside a request without its id: {line}"
        );
    }
    assert!(per_request >= ids.len(), "{all}");
    for id in &ids {
        let finished = lines.iter().any(|l| {
            l.contains("finished processing request")
                && l.contains(&format!("\"request_id\":\"{id}\""))
        });
        assert!(finished, "no response line for request {id}:\n{all}");
    }
    // The email went out after the answer; its lines still name the request.
    assert!(
        lines.iter().any(|l| l.contains("outbox")
            && l.contains(&format!("\"request_id\":\"{forgot_id}\""))),
        "{all}"
    );
    for secret in [PASSWORD, WRONG, NEW, COOKIE, &access, &reset] {
        assert!(!all.contains(secret), "a secret reached the log:\n{all}");
    }
    let lower = all.to_ascii_lowercase();
    assert!(
        !lower.contains("bearer") && !lower.contains("authorization"),
        "{all}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_name_the_request_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut vars = CHEAP.to_vec();
    vars.push(("AXUM_USERS_LOG_FORMAT", "text"));
    let mut server = Server::spawn(dir.path(), &vars);
    let line = server.wait_for("axum-users listening");
    let base = format!("http://{}", listening_address(&line));
    let r = reqwest::get(format!("{base}/reset-password?token=not-a-token"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let line = server.wait_for(&id);
    server.stop();
    assert!(line.contains("finished processing request"), "{line}");
    assert!(line.contains(&format!("request_id={id}")), "{line}");
    assert!(line.contains("path=/reset-password"), "{line}");
    assert!(
        !line.contains("not-a-token"),
        "the query is never logged: {line}"
    );
    assert!(
        !line.contains('\u{1b}'),
        "no colours when not on a terminal: {line}"
    );
}

/// Runs the binary with `vars` and returns its exit status and standard error.
fn refused(vars: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut all = CHEAP.to_vec();
    all.extend_from_slice(vars);
    let out = binary(dir.path(), &all).output().unwrap();
    assert!(!out.status.success(), "started with {vars:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn misconfigured_settings_are_refused_at_start_with_one_line() {
    for (vars, start) in [
        (
            vec![(
                "AXUM_USERS_RESET_URL_TEMPLATE",
                "https://app.example/reset-password",
            )],
            "error: AXUM_USERS_RESET_URL_TEMPLATE: ",
        ),
        (
            vec![("AXUM_USERS_VERIFY_URL_TEMPLATE", "/verify?token={token}")],
            "error: AXUM_USERS_VERIFY_URL_TEMPLATE: ",
        ),
        (
            vec![(
                "AXUM_USERS_RESET_URL_TEMPLATE",
                "{public_url}/reset?token={token}&next={next}",
            )],
            "error: AXUM_USERS_RESET_URL_TEMPLATE: ",
        ),
        (
            vec![("AXUM_USERS_LOG_FORMAT", "xml")],
            "error: AXUM_USERS_LOG_FORMAT: \"xml\" is not a log format (text or json)",
        ),
        (
            vec![("AXUM_USERS_METRICS", "maybe")],
            "error: AXUM_USERS_METRICS: ",
        ),
    ] {
        let stderr = refused(&vars);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{vars:?}: {stderr}");
        assert!(lines[0].starts_with(start), "{vars:?}: {stderr}");
    }
    let stderr = refused(&[(
        "AXUM_USERS_RESET_URL_TEMPLATE",
        "https://app.example/reset-password",
    )]);
    assert!(stderr.contains("{token}"), "says what is missing: {stderr}");
}
