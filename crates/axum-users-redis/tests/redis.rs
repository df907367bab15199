//! `RedisStrategy` against a real Redis (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).
//!
//! When Redis cannot be reached the tests that need it print a line and pass, except with
//! `CI=true`, where they fail. Each test writes under its own random key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum_users_core::{
    Argon2Hasher, Argon2Params, CreateMode, HashPool, HashPoolConfig, MemoryStore, NoHooks,
    RequestContext, Strategy, StrategyError, User, UserCreate, UserManager,
};
use axum_users_redis::{
    DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT, PRUNE_GRACE_SECONDS, RedisStrategy, RedisStrategyError,
};
use redis::aio::MultiplexedConnection;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

const LIFETIME: u64 = 3600;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A raw connection for looking at what the strategy stored; `None` (after a line on stderr)
/// when Redis is unreachable outside CI.
async fn raw(test: &str) -> Option<MultiplexedConnection> {
    let url = redis_url();
    let attempt = async {
        let client = redis::Client::open(url.as_str())?;
        client.get_multiplexed_async_connection().await
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(con)) => Some(con),
        failure => {
            // The address only: the URL may carry a password.
            let url = redis::Client::open(url.as_str()).map_or_else(
                |_| "TEST_REDIS_URL".to_owned(),
                |c| c.get_connection_info().addr().to_string(),
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Redis at {url} is unreachable (CI=true, so this fails): {failure:?}"
            );
            skip(&format!(
                "skipping {test}: Redis at {url} is unreachable ({failure:?})"
            ));
            None
        }
    }
}

/// Says why a test is skipped, on stderr past libtest's capture, so it shows in a normal run.
fn skip(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A prefix of its own for each test.
fn unique_prefix(test: &str) -> String {
    format!("axum_users_test:{test}:{}:", Uuid::new_v4().simple())
}

/// A strategy on the test Redis under a fresh prefix, and a raw connection beside it.
async fn setup(
    test: &str,
    lifetime: Option<u64>,
) -> Option<(RedisStrategy, MultiplexedConnection, String)> {
    let raw = raw(test).await?;
    let prefix = unique_prefix(test);
    let strategy = RedisStrategy::connect(&redis_url(), lifetime)
        .await
        .unwrap()
        .key_prefix(prefix.clone());
    Some((strategy, raw, prefix))
}

/// Deletes every key of a test's prefix.
async fn cleanup(con: &mut MultiplexedConnection, prefix: &str) {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(con)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(con).await.unwrap();
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn manager() -> UserManager {
    let hasher = Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast()));
    let pool = HashPool::new(
        hasher,
        HashPoolConfig {
            workers: 1,
            ..HashPoolConfig::default()
        },
    );
    UserManager::new(Arc::new(MemoryStore::new()), pool, Arc::new(NoHooks))
}

async fn user(manager: &UserManager, email: &str) -> User {
    let create = UserCreate::new(email.to_owned(), "guinevere".to_owned());
    manager
        .create(create, CreateMode::Public, &RequestContext::default())
        .await
        .unwrap()
}

async fn read(strategy: &RedisStrategy, token: &str, manager: &UserManager) -> Option<Uuid> {
    strategy
        .read_token(token, manager)
        .await
        .unwrap()
        .map(|u| u.id)
}

async fn get(con: &mut MultiplexedConnection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query_async(con).await.unwrap()
}

async fn ttl(con: &mut MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("TTL").arg(key).query_async(con).await.unwrap()
}

async fn members(con: &mut MultiplexedConnection, key: &str) -> Vec<String> {
    let mut m: Vec<String> = redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(con)
        .await
        .unwrap();
    m.sort();
    m
}

/// The cause inside a `StrategyError::Backend`, which the HTTP layer answers with 503.
fn backend_cause(result: Result<impl std::fmt::Debug, StrategyError>) -> RedisStrategyError {
    match result {
        Err(StrategyError::Backend(e)) => match e.downcast::<RedisStrategyError>() {
            Ok(cause) => *cause,
            Err(other) => panic!("a backend error of another type: {other}"),
        },
        other => panic!("expected StrategyError::Backend, got {other:?}"),
    }
}

#[tokio::test]
async fn a_written_token_reads_back_as_its_user_from_any_instance() {
    let Some((strategy, mut raw, prefix)) = setup("write_read", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;

    let token = strategy.write_token(&arthur).await.unwrap();
    assert_eq!(token.len(), 43, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(read(&strategy, &token, &manager).await, Some(arthur.id));

    // Another process (a fresh connection, same prefix) accepts it: the token lives in Redis.
    let other = RedisStrategy::connect(&redis_url(), Some(LIFETIME))
        .await
        .unwrap()
        .key_prefix(prefix.clone());
    assert_eq!(read(&other, &token, &manager).await, Some(arthur.id));
    // Under another prefix it is unknown.
    let elsewhere = other.clone().key_prefix(unique_prefix("write_read_other"));
    assert_eq!(read(&elsewhere, &token, &manager).await, None);

    // Each login gets a token of its own.
    let second = strategy.write_token(&arthur).await.unwrap();
    assert_ne!(second, token);
    assert_eq!(read(&strategy, &second, &manager).await, Some(arthur.id));
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn keys_values_and_expiry_are_fastapi_users_own() {
    let Some((strategy, mut raw, prefix)) = setup("layout", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let token = strategy.write_token(&arthur).await.unwrap();

    // `SET <prefix><token> str(user.id) EX lifetime`, as FastAPI Users writes it.
    assert_eq!(
        get(&mut raw, &format!("{prefix}{token}")).await,
        Some(arthur.id.to_string())
    );
    let token_ttl = ttl(&mut raw, &format!("{prefix}{token}")).await;
    assert!(
        (LIFETIME as i64 - 5..=LIFETIME as i64).contains(&token_ttl),
        "TTL {token_ttl}"
    );

    // The per-user index that revocation uses: the token scored by its expiry time, the
    // index alive at least as long as its tokens.
    let set = format!("{prefix}user:{}", arthur.id);
    assert_eq!(members(&mut raw, &set).await, vec![token.clone()]);
    let score: f64 = redis::cmd("ZSCORE")
        .arg(&set)
        .arg(&token)
        .query_async(&mut raw)
        .await
        .unwrap();
    let expected_expiry = (unix_now() + LIFETIME) as f64;
    assert!(
        (score - expected_expiry).abs() <= 5.0,
        "score {score}, expected {expected_expiry}"
    );
    let set_ttl = ttl(&mut raw, &set).await;
    assert!(
        (LIFETIME as i64 - 5..=LIFETIME as i64).contains(&set_ttl),
        "TTL {set_ttl}"
    );

    // Nothing else is written.
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut raw)
        .await
        .unwrap();
    keys.sort();
    let mut expected = vec![format!("{prefix}{token}"), set];
    expected.sort();
    assert_eq!(keys, expected);

    // The default prefix is FastAPI Users' default.
    assert_eq!(DEFAULT_KEY_PREFIX, "fastapi_users_token:");
    assert_eq!(
        RedisStrategy::lazy(&redis_url(), None).unwrap().prefix(),
        DEFAULT_KEY_PREFIX
    );
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn without_a_lifetime_tokens_never_expire() {
    let Some((strategy, mut raw, prefix)) = setup("no_expiry", None).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let token = strategy.write_token(&arthur).await.unwrap();
    assert_eq!(ttl(&mut raw, &format!("{prefix}{token}")).await, -1);
    assert_eq!(
        ttl(&mut raw, &format!("{prefix}user:{}", arthur.id)).await,
        -1
    );
    assert_eq!(read(&strategy, &token, &manager).await, Some(arthur.id));
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn tokens_written_by_fastapi_users_are_accepted_and_logged_out() {
    let Some((strategy, mut raw, prefix)) = setup("interop", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;

    // `await redis.set(f"{key_prefix}{token}", str(user.id), ex=lifetime_seconds)` with
    // `token = secrets.token_urlsafe()`.
    let python_token = "0aTq7p3mJp3s8HhLxYQzM2Q9t1v5w6x7y8z9A0B1C2D";
    let key = format!("{prefix}{python_token}");
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(arthur.id.to_string())
        .arg("EX")
        .arg(LIFETIME)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        read(&strategy, python_token, &manager).await,
        Some(arthur.id)
    );

    // Any spelling `uuid.UUID()` accepts works too (an id stored as 32 hex digits).
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(arthur.id.simple().to_string())
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(
        read(&strategy, python_token, &manager).await,
        Some(arthur.id)
    );

    // Logout deletes it even though it is in no per-user index.
    strategy.destroy_token(python_token, &arthur).await.unwrap();
    assert_eq!(get(&mut raw, &key).await, None);
    assert_eq!(read(&strategy, python_token, &manager).await, None);
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn a_destroyed_token_reads_as_none_and_other_sessions_live_on() {
    let Some((strategy, mut raw, prefix)) = setup("destroy", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let laptop = strategy.write_token(&arthur).await.unwrap();
    let phone = strategy.write_token(&arthur).await.unwrap();

    strategy.destroy_token(&laptop, &arthur).await.unwrap();
    assert_eq!(read(&strategy, &laptop, &manager).await, None);
    assert_eq!(get(&mut raw, &format!("{prefix}{laptop}")).await, None);
    assert_eq!(read(&strategy, &phone, &manager).await, Some(arthur.id));
    assert_eq!(
        members(&mut raw, &format!("{prefix}user:{}", arthur.id)).await,
        vec![phone]
    );

    // Logging out twice is harmless.
    strategy.destroy_token(&laptop, &arthur).await.unwrap();
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn revoke_all_ends_every_session_of_the_user_and_no_one_elses() {
    let Some((strategy, mut raw, prefix)) = setup("revoke_all", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let lancelot = user(&manager, "lancelot@camelot.bt").await;
    let mut arthurs = Vec::new();
    for _ in 0..3 {
        arthurs.push(strategy.write_token(&arthur).await.unwrap());
    }
    let lancelots = strategy.write_token(&lancelot).await.unwrap();

    strategy.revoke_all(&arthur).await.unwrap();
    for token in &arthurs {
        assert_eq!(read(&strategy, token, &manager).await, None);
        assert_eq!(get(&mut raw, &format!("{prefix}{token}")).await, None);
    }
    assert!(
        members(&mut raw, &format!("{prefix}user:{}", arthur.id))
            .await
            .is_empty()
    );
    assert_eq!(
        read(&strategy, &lancelots, &manager).await,
        Some(lancelot.id)
    );

    // A new login after the revocation works, and a user without sessions is no error.
    let fresh = strategy.write_token(&arthur).await.unwrap();
    assert_eq!(read(&strategy, &fresh, &manager).await, Some(arthur.id));
    let galahad = user(&manager, "galahad@camelot.bt").await;
    strategy.revoke_all(&galahad).await.unwrap();
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn the_index_of_a_user_who_keeps_logging_in_does_not_keep_expired_tokens() {
    let Some((strategy, mut raw, prefix)) = setup("prune", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let index = format!("{prefix}user:{}", arthur.id);
    // Entries of tokens that expired long ago (their keys are gone), and one within the grace.
    let now = unix_now();
    let _: () = redis::cmd("ZADD")
        .arg(&index)
        .arg(now - 100_000)
        .arg("expired-long-ago")
        .arg(now - PRUNE_GRACE_SECONDS - 10)
        .arg("expired-past-grace")
        .arg(now - 10)
        .arg("expired-just-now")
        .query_async(&mut raw)
        .await
        .unwrap();

    let token = strategy.write_token(&arthur).await.unwrap();
    let mut expected = vec!["expired-just-now".to_owned(), token.clone()];
    expected.sort();
    assert_eq!(members(&mut raw, &index).await, expected);
    assert_eq!(read(&strategy, &token, &manager).await, Some(arthur.id));
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn garbage_tokens_read_as_none_not_as_errors() {
    let Some((strategy, mut raw, prefix)) = setup("garbage", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let _ = strategy.write_token(&arthur).await.unwrap();

    // Keys under the prefix that hold no user id, or are not strings at all.
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}notanid"))
        .arg("not-a-uuid")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}binary"))
        .arg(&[0xff_u8, 0xfe, 0x00][..])
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(format!("{prefix}alist"))
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();

    let user_set = format!("user:{}", arthur.id);
    for token in [
        "",
        "garbage",
        "0aTq7p3mJp3s8HhLxYQzM2Q9t1v5w6x7y8z9A0B1C2D",
        "notanid",
        "binary",
        "alist",
        // The per-user index's key must not work as a token.
        user_set.as_str(),
        "a token with spaces and ünïcödé",
    ] {
        assert_eq!(read(&strategy, token, &manager).await, None, "{token:?}");
    }
    // Logging out with a forged token does not touch the user's index.
    strategy.destroy_token(&user_set, &arthur).await.unwrap();
    assert_eq!(
        members(&mut raw, &format!("{prefix}{user_set}"))
            .await
            .len(),
        1
    );
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn a_token_of_a_deleted_user_reads_as_none() {
    let Some((strategy, mut raw, prefix)) = setup("deleted_user", Some(LIFETIME)).await else {
        return;
    };
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let token = strategy.write_token(&arthur).await.unwrap();
    assert!(manager.store().delete(arthur.id).await.unwrap());
    assert_eq!(read(&strategy, &token, &manager).await, None);
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn a_closed_port_fails_promptly_with_a_backend_error() {
    let url = "redis://127.0.0.1:1";
    let started = Instant::now();
    let connect = tokio::time::timeout(
        DEFAULT_TIMEOUT * 2,
        RedisStrategy::connect(url, Some(LIFETIME)),
    )
    .await
    .expect("connect must give up within its timeout");
    assert!(
        matches!(
            connect,
            Err(RedisStrategyError::Connect { .. } | RedisStrategyError::Timeout { .. })
        ),
        "{connect:?}"
    );
    assert!(started.elapsed() <= DEFAULT_TIMEOUT + Duration::from_millis(500));

    // A strategy made while Redis was away answers every call with a backend error (503).
    let strategy = RedisStrategy::lazy(url, Some(LIFETIME))
        .unwrap()
        .timeout(Duration::from_millis(500));
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let bound = Duration::from_secs(2);
    for _ in 0..2 {
        let read = tokio::time::timeout(bound, strategy.read_token("sometoken", &manager)).await;
        backend_cause(read.expect("read_token must not hang"));
        let write = tokio::time::timeout(bound, strategy.write_token(&arthur)).await;
        backend_cause(write.expect("write_token must not hang"));
        let destroy =
            tokio::time::timeout(bound, strategy.destroy_token("sometoken", &arthur)).await;
        backend_cause(destroy.expect("destroy_token must not hang"));
        let revoke = tokio::time::timeout(bound, strategy.revoke_all(&arthur)).await;
        backend_cause(revoke.expect("revoke_all must not hang"));
    }
    assert!(
        tokio::time::timeout(bound, strategy.ping())
            .await
            .unwrap()
            .is_err()
    );
}

/// A server that accepts connections and never says a word.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

#[tokio::test]
async fn a_silent_redis_fails_within_the_timeout_with_a_backend_error() {
    let addr = silent_server().await;
    let url = format!("redis://{addr}");

    let started = Instant::now();
    let connect = tokio::time::timeout(DEFAULT_TIMEOUT * 2, RedisStrategy::connect(&url, None))
        .await
        .expect("connect must give up within its timeout");
    assert!(
        matches!(
            connect,
            Err(RedisStrategyError::Timeout { .. } | RedisStrategyError::Connect { .. })
        ),
        "{connect:?}"
    );
    assert!(started.elapsed() <= DEFAULT_TIMEOUT + Duration::from_millis(500));

    let timeout = Duration::from_millis(300);
    let strategy = RedisStrategy::lazy(&url, None).unwrap().timeout(timeout);
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    for _ in 0..2 {
        let started = Instant::now();
        let read = tokio::time::timeout(Duration::from_secs(3), strategy.read_token("t", &manager))
            .await
            .expect("read_token must not hang");
        let cause = backend_cause(read);
        assert!(
            matches!(&cause, RedisStrategyError::Timeout { after, .. } if *after == timeout)
                || matches!(&cause, RedisStrategyError::Request { source, .. } if source.is_timeout()),
            "{cause:?}"
        );
        assert!(
            started.elapsed() < timeout + Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        let write =
            tokio::time::timeout(Duration::from_secs(3), strategy.write_token(&arthur)).await;
        backend_cause(write.expect("write_token must not hang"));
    }
    // The error says where, not with which password.
    let cause = backend_cause(strategy.read_token("t", &manager).await);
    assert!(cause.to_string().contains(&addr.to_string()), "{cause}");
}

/// A TCP relay to the real Redis that can make its current connections go silent (as a
/// network partition does) or drop them (as a Redis restart does). New connections relay.
struct Proxy {
    addr: SocketAddr,
    epoch: Arc<AtomicU64>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let epoch = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (e, c) = (Arc::clone(&epoch), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let born = e.load(Ordering::SeqCst);
                let e = Arc::clone(&e);
                let task = tokio::spawn(async move {
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::select! {
                        () = pump(cr, sw, born, Arc::clone(&e)) => {}
                        () = pump(sr, cw, born, e) => {}
                    }
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            epoch,
            connections,
        }
    }

    /// Current connections stop relaying but stay open.
    fn hang(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Current connections are closed.
    fn cut(&self) {
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    born: u64,
    epoch: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if epoch.load(Ordering::SeqCst) != born {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// The real Redis's address, if the URL names one over TCP.
async fn upstream(test: &str) -> Option<SocketAddr> {
    raw(test).await?;
    let client = redis::Client::open(redis_url()).unwrap();
    match client.get_connection_info().addr() {
        redis::ConnectionAddr::Tcp(host, port) => tokio::net::lookup_host((host.as_str(), *port))
            .await
            .unwrap()
            .next(),
        other => {
            skip(&format!(
                "skipping {test}: Redis is not at a plain TCP address ({other})"
            ));
            None
        }
    }
}

#[tokio::test]
async fn after_the_connection_goes_silent_the_next_request_uses_a_fresh_one() {
    let Some(upstream) = upstream("silent_recovery").await else {
        return;
    };
    let proxy = Proxy::start(upstream).await;
    let prefix = unique_prefix("silent_recovery");
    let timeout = Duration::from_millis(400);
    let strategy = RedisStrategy::connect(&format!("redis://{}", proxy.addr), Some(LIFETIME))
        .await
        .unwrap()
        .key_prefix(prefix.clone())
        .timeout(timeout);
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let token = strategy.write_token(&arthur).await.unwrap();
    assert_eq!(read(&strategy, &token, &manager).await, Some(arthur.id));

    proxy.hang();
    let started = Instant::now();
    let read_while_silent = tokio::time::timeout(
        Duration::from_secs(3),
        strategy.read_token(&token, &manager),
    )
    .await
    .expect("read_token must not hang");
    assert!(matches!(
        backend_cause(read_while_silent),
        RedisStrategyError::Timeout { .. }
    ));
    assert!(started.elapsed() < timeout + Duration::from_millis(500));

    // The silent connection is abandoned: the next request reconnects and the session is there.
    assert_eq!(read(&strategy, &token, &manager).await, Some(arthur.id));
    let mut raw = raw("silent_recovery").await.unwrap();
    cleanup(&mut raw, &prefix).await;
}

#[tokio::test]
async fn after_the_connection_drops_requests_succeed_again_without_a_restart() {
    let Some(upstream) = upstream("drop_recovery").await else {
        return;
    };
    let proxy = Proxy::start(upstream).await;
    let prefix = unique_prefix("drop_recovery");
    let strategy = RedisStrategy::connect(&format!("redis://{}", proxy.addr), Some(LIFETIME))
        .await
        .unwrap()
        .key_prefix(prefix.clone());
    let manager = manager();
    let arthur = user(&manager, "arthur@camelot.bt").await;
    let token = strategy.write_token(&arthur).await.unwrap();

    proxy.cut();
    let mut recovered = false;
    for _ in 0..5 {
        let attempt =
            tokio::time::timeout(DEFAULT_TIMEOUT * 2, strategy.read_token(&token, &manager))
                .await
                .expect("read_token must not hang");
        match attempt {
            Ok(found) => {
                assert_eq!(found.map(|u| u.id), Some(arthur.id));
                recovered = true;
                break;
            }
            Err(e) => {
                backend_cause(Err::<(), _>(e));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(recovered, "the strategy did not reconnect");
    let mut raw = raw("drop_recovery").await.unwrap();
    cleanup(&mut raw, &prefix).await;
}
