//! Does the response time of `POST /auth/forgot-password` (and `POST
//! /auth/request-verify-token`) tell a registered address from an unknown one?
//!
//! CONTRACT §4.2: both routes answer 202 before any lookup, hashing, token minting or mail
//! sending, so known and unknown addresses take the same time (FastAPI Users 15: about 1.4 ms
//! unknown vs 98 ms known, reference §5.1).
//!
//! This starts the real server in-process (`server::run` on 127.0.0.1:0, in a tokio runtime
//! of its own; the client runs on another) with the reference's argon2id parameters
//! (m=65536 KiB, t=3, p=4) and the outbox mailer in a temporary folder, registers one user,
//! then sends N requests for the known address and N for an unknown one, alternating (which
//! goes first alternates too), one at a time over a kept-alive connection, and prints the
//! median and p90 of each side. Twice: with the server's default rate limits (the per-account
//! email budget stops the work for the known address after 5 requests), then with limits off
//! (every known request mints a token, argon2id included, and writes an email).
//!
//! ```text
//! cargo run --release -p axum-users-server --example forgot_password_timing [N]
//! ```
//! (N defaults to 200.)

use std::time::{Duration, Instant};

use axum_users_server::config::{LimitSettings, MailSettings};
use axum_users_server::{Config, server};
use serde_json::json;
use tokio::sync::oneshot;

type Error = Box<dyn std::error::Error + Send + Sync>;

const DEFAULT_ROUNDS: usize = 200;
const KNOWN: &str = "known.user@example.com";
const UNKNOWN: &str = "nobody.here@example.com";
const PASSWORD: &str = "Tintagel-Harbour-1187";

/// Response times of one side, sorted.
struct Sample {
    times: Vec<Duration>,
    /// Answers other than `202 null`.
    unexpected: usize,
}

impl Sample {
    fn new(times: Vec<Duration>, unexpected: usize) -> Self {
        let mut times = times;
        times.sort_unstable();
        Self { times, unexpected }
    }

    /// Nearest-rank percentile, `p` in 1..=100.
    fn percentile(&self, p: usize) -> Duration {
        let n = self.times.len();
        if n == 0 {
            return Duration::ZERO;
        }
        let rank = (p * n).div_ceil(100).clamp(1, n);
        self.times[rank - 1]
    }

    fn median(&self) -> Duration {
        let n = self.times.len();
        match n {
            0 => Duration::ZERO,
            _ if n % 2 == 1 => self.times[n / 2],
            _ => (self.times[n / 2 - 1] + self.times[n / 2]) / 2,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One request; the time covers sending it and reading the whole answer.
async fn timed(http: &reqwest::Client, url: &str, email: &str) -> Result<(Duration, bool), Error> {
    let start = Instant::now();
    let response = http
        .post(url)
        .json(&json!({ "email": email }))
        .send()
        .await?;
    let status = response.status();
    let body = response.bytes().await?;
    let elapsed = start.elapsed();
    Ok((elapsed, status == 202 && &body[..] == b"null"))
}

/// `rounds` requests for each address, alternating; returns (known, unknown).
async fn measure(
    http: &reqwest::Client,
    url: &str,
    rounds: usize,
) -> Result<(Sample, Sample), Error> {
    // Warm-up: connection, lazy initialisation, caches.
    for _ in 0..10 {
        timed(http, url, KNOWN).await?;
        timed(http, url, UNKNOWN).await?;
    }
    let (mut known, mut unknown) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    let (mut known_bad, mut unknown_bad) = (0, 0);
    for round in 0..rounds {
        let order = if round % 2 == 0 {
            [KNOWN, UNKNOWN]
        } else {
            [UNKNOWN, KNOWN]
        };
        for email in order {
            let (time, ok) = timed(http, url, email).await?;
            if email == KNOWN {
                known.push(time);
                known_bad += usize::from(!ok);
            } else {
                unknown.push(time);
                unknown_bad += usize::from(!ok);
            }
        }
    }
    Ok((
        Sample::new(known, known_bad),
        Sample::new(unknown, unknown_bad),
    ))
}

fn report(route: &str, known: &Sample, unknown: &Sample) {
    println!("  {route}");
    println!(
        "    {:<9} {:>5} {:>12} {:>12} {:>12}",
        "address", "n", "median ms", "p90 ms", "not 202"
    );
    for (name, s) in [("known", known), ("unknown", unknown)] {
        println!(
            "    {:<9} {:>5} {:>12.3} {:>12.3} {:>12}",
            name,
            s.times.len(),
            ms(s.median()),
            ms(s.percentile(90)),
            s.unexpected
        );
    }
    let (k, u) = (ms(known.median()), ms(unknown.median()));
    println!(
        "    median difference known - unknown: {:+.3} ms (ratio {:.2})",
        k - u,
        if u > 0.0 { k / u } else { f64::NAN }
    );
}

fn outbox_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    })
}

type Server = std::thread::JoinHandle<Result<(), Error>>;

/// Starts `server::run` on 127.0.0.1:0 in a runtime of its own (its own worker threads), so
/// that the client's timing does not depend on the server's tasks sharing its threads, as it
/// would not across a network.
fn start_server(config: Config) -> Result<(String, oneshot::Sender<()>, Server), Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = std::thread::Builder::new()
        .name("server".to_owned())
        .spawn(move || -> Result<(), Error> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                server::run(listener, config, async move {
                    let _ = stopped.await;
                })
                .await?;
                Ok(())
            })
        })?;
    Ok((base, stop, server))
}

/// Waits for the server's thread to end.
async fn join(server: Server) -> Result<(), Error> {
    tokio::task::spawn_blocking(move || {
        server
            .join()
            .unwrap_or_else(|_| Err("the server thread panicked".into()))
    })
    .await?
}

/// What a scenario measured.
struct Outcome {
    emails: usize,
}

/// Starts a server, registers the known user, measures both routes, stops the server.
async fn scenario(rounds: usize, limits: bool) -> Result<Outcome, Error> {
    let dir = tempfile::tempdir()?;
    let outbox = dir.path().join("outbox");
    let config = Config {
        database_url: format!("sqlite://{}", dir.path().join("users.db").display()),
        secret_file: dir.path().join("secret"),
        mail: MailSettings {
            outbox: outbox.clone(),
            public_url: Some("http://app.example.com".to_owned()),
            ..MailSettings::default()
        },
        limits: LimitSettings {
            enabled: limits,
            ..LimitSettings::default()
        },
        ..Config::default()
    };
    let argon2 = config.argon2;
    if (argon2.memory_kib, argon2.iterations, argon2.parallelism) != (65536, 3, 4) {
        return Err(format!("not the reference argon2 parameters: {argon2:?}").into());
    }

    let (base, stop, server) = start_server(config)?;
    let http = reqwest::Client::new();

    // The listener is bound already: the first request waits in its backlog until the server
    // serves. If the server fails to start, the listener is closed and the request fails.
    let registered = http
        .post(format!("{base}/auth/register"))
        .json(&json!({ "email": KNOWN, "password": PASSWORD }))
        .send()
        .await;
    let status = match registered {
        Ok(r) => r.status(),
        Err(e) => {
            let _ = stop.send(());
            let ended = join(server).await;
            return Err(format!("register failed ({e}); the server: {ended:?}").into());
        }
    };
    if status != 201 {
        return Err(format!("register answered {status}").into());
    }

    // For scale: what one argon2id operation costs here (a login verifies one hash).
    let mut logins = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let r = http
            .post(format!("{base}/auth/jwt/login"))
            .form(&[("username", KNOWN), ("password", PASSWORD)])
            .send()
            .await?;
        let ok = r.status() == 200;
        r.bytes().await?;
        if !ok {
            return Err("login failed".into());
        }
        logins.push(start.elapsed());
    }
    let logins = Sample::new(logins, 0);
    println!(
        "  one login (one argon2id verify) for scale: median {:.3} ms",
        ms(logins.median())
    );

    let (known, unknown) = measure(&http, &format!("{base}/auth/forgot-password"), rounds).await?;
    report("POST /auth/forgot-password", &known, &unknown);
    let (known, unknown) =
        measure(&http, &format!("{base}/auth/request-verify-token"), rounds).await?;
    report("POST /auth/request-verify-token", &known, &unknown);

    // Shut down: the server drains the background work (up to its own 10 s bound).
    let _ = stop.send(());
    join(server).await?;
    Ok(Outcome {
        emails: outbox_count(&outbox),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let rounds = match std::env::args().nth(1) {
        Some(n) => n.parse::<usize>()?,
        None => DEFAULT_ROUNDS,
    };
    println!(
        "axum-users forgot-password timing: {rounds} requests per address (after 10 warm-up \
         each), alternating; argon2id m=65536 KiB t=3 p=4; outbox mailer; {} CPUs",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!();
    println!("[1] server defaults (per-account email budget: 5 per route per 15 min)");
    let outcome = scenario(rounds, true).await?;
    println!(
        "  emails written for the known address (after the 202s): {}",
        outcome.emails
    );
    println!();
    println!(
        "[2] rate limits off: every known request mints a token (argon2id) and writes an email"
    );
    let outcome = scenario(rounds, false).await?;
    println!(
        "  emails written for the known address (after the 202s): {} (the rest refused by a \
         full hashing queue, or cut by the 10 s drain at shutdown)",
        outcome.emails
    );
    Ok(())
}
