//! `RedisRefreshStore` against a real Redis (`TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`): the `RefreshTokenStore` conformance suite and the key layout.
//! When Redis cannot be reached the tests print a line and pass, except with `CI=true`, where
//! they fail. Each test writes under its own random key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum_users_core::conformance::Profile;
use axum_users_core::{
    MemoryStore, RefreshError, RefreshTokenStore, RefreshTokens, refresh_token_hash,
};
use axum_users_redis::{DEFAULT_REFRESH_KEY_PREFIX, RedisRefreshStore, RedisStrategy};
use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;
use uuid::Uuid;

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A raw connection for looking at what the store wrote; `None` (after a line on stderr) when
/// Redis is unreachable outside CI.
async fn raw() -> Option<MultiplexedConnection> {
    let url = redis_url();
    let attempt = async {
        let client = redis::Client::open(url.as_str())?;
        client.get_multiplexed_async_connection().await
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(con)) => Some(con),
        failure => {
            let addr = redis::Client::open(url.as_str()).map_or_else(
                |_| "TEST_REDIS_URL".to_owned(),
                |c| c.get_connection_info().addr().to_string(),
            );
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Redis at {addr} is unreachable (CI=true, so this fails): {failure:?}"
            );
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "skipping: Redis at {addr} is unreachable ({failure:?})"
            );
            None
        }
    }
}

/// A store under a fresh prefix, and a raw connection beside it.
async fn setup() -> Option<(RedisRefreshStore, MultiplexedConnection, String)> {
    let raw = raw().await?;
    let prefix = format!("axum_users_test:refresh:{}:", Uuid::new_v4().simple());
    let store = RedisRefreshStore::connect(&redis_url())
        .await
        .unwrap()
        .key_prefix(prefix.clone());
    Some((store, raw, prefix))
}

/// Users in memory (Redis keeps no users), refresh tokens in Redis.
async fn pair() -> Option<(Arc<MemoryStore<Profile>>, Arc<RedisRefreshStore>)> {
    let (store, _, _) = setup().await?;
    Some((Arc::new(MemoryStore::new()), Arc::new(store)))
}

axum_users_core::refresh_store_tests!(split std::future::ready(match pair().await {
    Some(pair) => pair,
    None => return,
}));

#[tokio::test]
async fn keys_hold_hashes_and_expire_with_the_tokens() {
    let Some((store, mut raw, prefix)) = setup().await else {
        return;
    };
    let tokens = RefreshTokens::new(Arc::new(store)).with_lifetime(Duration::from_secs(600));
    let user = Uuid::new_v4();
    let first = tokens.issue(user).await.unwrap();
    let second = tokens.rotate(&first.token).await.unwrap();

    let mut keys: Vec<String> = raw.keys(format!("{prefix}*")).await.unwrap();
    keys.sort();
    let mut expected = vec![
        format!("{prefix}family:{}", first.family_id),
        format!("{prefix}token:{}", refresh_token_hash(&first.token)),
        format!("{prefix}token:{}", refresh_token_hash(&second.token)),
        format!("{prefix}user:{user}"),
    ];
    expected.sort();
    assert_eq!(keys, expected);
    for key in &keys {
        assert!(!key.contains(&first.token) && !key.contains(&second.token));
        let ttl: i64 = raw.pttl(key).await.unwrap();
        assert!((1..=600_000).contains(&ttl), "{key}: {ttl}");
    }
    let fields: Vec<(String, String)> = raw
        .hgetall(format!(
            "{prefix}token:{}",
            refresh_token_hash(&first.token)
        ))
        .await
        .unwrap();
    assert!(fields.iter().any(|(k, v)| k == "rotated" && !v.is_empty()));
    assert!(fields.iter().all(|(_, v)| *v != first.token));

    // Reuse: the family key goes, and with it every token of the family.
    assert!(matches!(
        tokens.rotate(&first.token).await,
        Err(RefreshError::Reused { .. })
    ));
    let family: bool = raw
        .exists(format!("{prefix}family:{}", first.family_id))
        .await
        .unwrap();
    assert!(!family);
    assert!(matches!(
        tokens.rotate(&second.token).await,
        Err(RefreshError::Invalid)
    ));
    let index: Vec<String> = raw
        .zrange(format!("{prefix}user:{user}"), 0, -1)
        .await
        .unwrap();
    assert!(index.is_empty(), "{index:?}");
    let _: () = raw.del(keys).await.unwrap();
}

#[tokio::test]
async fn shares_a_strategys_connection_under_its_own_prefix() {
    let Some(_raw) = raw().await else {
        return;
    };
    let strategy = RedisStrategy::connect(&redis_url(), Some(60))
        .await
        .unwrap();
    let store = RedisRefreshStore::from_strategy(&strategy);
    assert_eq!(store.prefix(), DEFAULT_REFRESH_KEY_PREFIX);
    let store = store.key_prefix(format!(
        "axum_users_test:refresh:{}:",
        Uuid::new_v4().simple()
    ));
    let user = Uuid::new_v4();
    let tokens = RefreshTokens::new(Arc::new(store.clone())).with_lifetime(Duration::from_secs(60));
    let issued = tokens.issue(user).await.unwrap();
    assert!(
        store
            .get_refresh_token(&refresh_token_hash(&issued.token))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(tokens.revoke_user(user).await.unwrap(), 1);
}

#[tokio::test]
async fn an_unreachable_redis_is_a_store_error_not_a_hang() {
    // Nothing listens on port 1.
    let store = RedisRefreshStore::lazy("redis://127.0.0.1:1")
        .unwrap()
        .timeout(Duration::from_millis(500));
    let tokens = RefreshTokens::new(Arc::new(store));
    let started = std::time::Instant::now();
    assert!(tokens.issue(Uuid::new_v4()).await.is_err());
    assert!(matches!(
        tokens.rotate("whatever").await,
        Err(RefreshError::Store(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}
