//! Shared support for the tests against database servers: where the server is, what to do
//! when it is away (skip locally, fail in CI), and scratch databases that clean up after
//! themselves.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum_users_core::{AccessToken, AccessTokenStore, StoreError, User, UserPatch, UserStore};
use uuid::Uuid;

/// Whether we run in CI (`CI=true`), where an unreachable server is a failure.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// An administrative connection to the server named by env `var` (or `default`), with the
/// URL used. When the server cannot be reached: `None` after printing a line, or a panic when
/// `CI=true`. A server that answers but refuses us is always a failure.
pub(crate) async fn admin<C: sqlx::Connection>(
    engine: &str,
    var: &str,
    default: &str,
) -> Option<(String, C)> {
    let url = std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned());
    let why = match tokio::time::timeout(Duration::from_secs(5), C::connect(&url)).await {
        Ok(Ok(conn)) => return Some((url, conn)),
        Ok(Err(sqlx::Error::Io(e))) => e.to_string(),
        Ok(Err(e)) => panic!(
            "{engine} at {} ({var}) refused the test connection: {e}",
            redacted(&url)
        ),
        Err(_) => "connection timed out".to_owned(),
    };
    assert!(
        !in_ci(),
        "{engine} unreachable at {} ({var}) with CI=true: {why}",
        redacted(&url)
    );
    eprintln!(
        "skipping: {engine} unreachable at {} (set {var}): {why}",
        redacted(&url)
    );
    None
}

/// A fresh name for a scratch schema or database.
pub(crate) fn scratch_name() -> String {
    format!("t_{}", Uuid::new_v4().simple())
}

type Cleanup = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A store on a scratch schema or database, dropped when the store is: the test's store is a
/// `Scratch`, and its `Drop` runs the cleanup on a runtime of its own (the test's may be
/// unwinding from a failed assertion).
pub(crate) struct Scratch<S> {
    /// The store under test.
    pub(crate) store: S,
    cleanup: Option<Cleanup>,
}

impl<S> Scratch<S> {
    /// A store and what to run when it is dropped.
    pub(crate) fn new<F, Fut>(store: S, cleanup: F) -> Self
    where
        F: FnOnce() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            store,
            cleanup: Some(Box::new(move || Box::pin(cleanup()))),
        }
    }
}

impl<S> Drop for Scratch<S> {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else {
            return;
        };
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(cleanup());
            Ok::<_, std::io::Error>(())
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("scratch cleanup did not run");
        }
    }
}

#[async_trait]
impl<X, S> UserStore<X> for Scratch<S>
where
    X: Send + Sync + 'static,
    S: UserStore<X>,
{
    async fn get(&self, id: Uuid) -> Result<Option<User<X>>, StoreError> {
        self.store.get(id).await
    }

    async fn get_by_email(&self, email: &str) -> Result<Option<User<X>>, StoreError> {
        self.store.get_by_email(email).await
    }

    async fn create(&self, user: User<X>) -> Result<User<X>, StoreError> {
        self.store.create(user).await
    }

    async fn update(&self, id: Uuid, patch: UserPatch<X>) -> Result<Option<User<X>>, StoreError> {
        self.store.update(id, patch).await
    }

    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        self.store.delete(id).await
    }
}

#[async_trait]
impl<S: AccessTokenStore> AccessTokenStore for Scratch<S> {
    async fn get_token(
        &self,
        token: &str,
        created_after: Option<SystemTime>,
    ) -> Result<Option<AccessToken>, StoreError> {
        self.store.get_token(token, created_after).await
    }

    async fn create_token(&self, token: AccessToken) -> Result<AccessToken, StoreError> {
        self.store.create_token(token).await
    }

    async fn delete_token(&self, token: &str) -> Result<(), StoreError> {
        self.store.delete_token(token).await
    }

    async fn delete_user_tokens(&self, user_id: Uuid) -> Result<u64, StoreError> {
        self.store.delete_user_tokens(user_id).await
    }

    async fn delete_tokens_created_before(&self, before: SystemTime) -> Result<u64, StoreError> {
        self.store.delete_tokens_created_before(before).await
    }
}
