//! [`LimitStore`]: where counters and lockouts live (this process, or a Redis shared by every
//! instance).

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use axum_users_core::BoxError;

use super::window::{Hit, SlidingWindow};

/// Why a store could not answer. The limiter logs it and, by default, lets the request
/// through ([`FailMode::Open`](super::FailMode::Open)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The store did not answer in time.
    #[error("the limit store did not answer within {after:?}")]
    Timeout {
        /// The timeout that ran out.
        after: Duration,
    },
    /// The store failed recently and is not being asked again yet.
    #[error("the limit store is unavailable (it failed less than {pause:?} ago)")]
    Paused {
        /// How long the store rests after a failure.
        pause: Duration,
    },
    /// An in-process store holds as many keys as it may; the key is not tracked.
    #[error("the limit store is full ({keys} keys)")]
    Full {
        /// Its capacity.
        keys: usize,
    },
    /// The backend failed (connection refused or dropped, an error reply, …).
    #[error("the limit store failed")]
    Backend(#[source] BoxError),
}

/// An account lockout as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lock {
    /// How many lockouts in a row this is (1 for the first); the duration doubles with each.
    pub level: u32,
    /// When the lockout ends.
    pub until: SystemTime,
}

/// Counters over sliding windows, and lockouts, under string keys.
///
/// Implementations decide admission with [`SlidingWindow::admits`] atomically with counting
/// (two instances must not both admit the last allowed request), and may forget a counter
/// after [`SlidingWindow::forget_at_ms`] and a lock after the `forget_at` it was stored with.
#[async_trait]
pub trait LimitStore: Send + Sync + fmt::Debug + 'static {
    /// Counts one event under `key` in `window`. With `Some(limit)`, the event is counted only
    /// when [`SlidingWindow::admits`] allows it; with `None` it is always counted (and
    /// admitted).
    ///
    /// # Errors
    /// A [`LimitError`] when the store cannot answer.
    async fn hit(
        &self,
        key: &str,
        window: SlidingWindow,
        limit: Option<u64>,
    ) -> Result<Hit, LimitError>;

    /// Forgets `key` (a counter or a lock); unknown keys are no error.
    ///
    /// # Errors
    /// A [`LimitError`] when the store cannot answer.
    async fn reset(&self, key: &str) -> Result<(), LimitError>;

    /// The lock stored under `key`, if not yet forgotten (it may have ended: compare
    /// [`Lock::until`] with the time).
    ///
    /// # Errors
    /// A [`LimitError`] when the store cannot answer.
    async fn get_lock(&self, key: &str, now: SystemTime) -> Result<Option<Lock>, LimitError>;

    /// Stores a lock under `key`, to be kept until `forget_at` (past its end, so that the next
    /// lockout knows its level).
    ///
    /// # Errors
    /// A [`LimitError`] when the store cannot answer.
    async fn set_lock(
        &self,
        key: &str,
        lock: Lock,
        forget_at: SystemTime,
        now: SystemTime,
    ) -> Result<(), LimitError>;
}
