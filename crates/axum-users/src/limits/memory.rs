//! [`MemoryLimitStore`]: counters in this process, bounded in memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::store::{LimitError, LimitStore, Lock};
use super::window::{Hit, SlidingWindow, WindowCounts, unix_ms};

/// How many keys a [`MemoryLimitStore`] holds at most by default (a few tens of MB).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// How often a [`MemoryLimitStore`] drops expired keys by default.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// When full, how long a [`MemoryLimitStore`] waits between two sweeps at most.
const FULL_SWEEP_INTERVAL_MS: u64 = 1000;

/// Counters and locks in a `Mutex<HashMap>` of this process: limits hold per instance.
///
/// Memory is bounded: keys whose windows (or locks) are over are dropped by a sweep that runs
/// at most every [`sweep interval`](Self::with_sweep_interval) (by the limiter's clock), and at
/// most [`max keys`](Self::with_max_keys) are held. When the store is full of live keys, a new
/// key is not tracked: the call fails with [`LimitError::Full`], which the limiter logs and
/// treats as its [`FailMode`](super::FailMode) says (by default, the request goes through).
/// The map's hasher is std's (randomly keyed), so clients cannot choose colliding keys.
#[derive(Debug)]
pub struct MemoryLimitStore {
    state: Mutex<State>,
    max_keys: usize,
    sweep_interval_ms: u64,
}

#[derive(Debug, Default)]
struct State {
    counters: HashMap<String, Counter>,
    locks: HashMap<String, StoredLock>,
    last_sweep_ms: u64,
}

#[derive(Debug)]
struct Counter {
    index: u64,
    counts: WindowCounts,
    forget_at_ms: u64,
}

#[derive(Debug)]
struct StoredLock {
    lock: Lock,
    forget_at_ms: u64,
}

impl Default for MemoryLimitStore {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    fn len(&self) -> usize {
        self.counters.len() + self.locks.len()
    }

    fn sweep(&mut self, now_ms: u64) {
        self.counters.retain(|_, c| c.forget_at_ms > now_ms);
        self.locks.retain(|_, l| l.forget_at_ms > now_ms);
        self.last_sweep_ms = now_ms;
    }
}

impl MemoryLimitStore {
    /// An empty store with the default capacity and sweep interval.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_keys: DEFAULT_MAX_KEYS,
            sweep_interval_ms: u64::try_from(DEFAULT_SWEEP_INTERVAL.as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    /// Sets how many keys (counters and locks) the store holds at most.
    #[must_use]
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Sets how often expired keys are dropped.
    #[must_use]
    pub fn with_sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_interval_ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// How many keys are held now (expired ones included until the next sweep).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock_state().len()
    }

    /// Whether no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // Every update leaves the maps consistent; a panic elsewhere cannot half-write them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, swept first when a sweep is due (or when full and `need_room`).
    fn swept(&self, now_ms: u64, need_room: bool) -> MutexGuard<'_, State> {
        let mut state = self.lock_state();
        let since = now_ms.saturating_sub(state.last_sweep_ms);
        if since >= self.sweep_interval_ms
            || (need_room && state.len() >= self.max_keys && since >= FULL_SWEEP_INTERVAL_MS)
        {
            state.sweep(now_ms);
        }
        state
    }
}

#[async_trait]
impl LimitStore for MemoryLimitStore {
    async fn hit(
        &self,
        key: &str,
        window: SlidingWindow,
        limit: Option<u64>,
    ) -> Result<Hit, LimitError> {
        let now_ms = window.now_ms();
        let mut state = self.swept(now_ms, true);
        if state.len() >= self.max_keys && !state.counters.contains_key(key) {
            return Err(LimitError::Full {
                keys: self.max_keys,
            });
        }
        let counter = state
            .counters
            .entry(key.to_owned())
            .or_insert_with(|| Counter {
                index: window.index(),
                counts: WindowCounts::default(),
                forget_at_ms: 0,
            });
        let mut counts = window.roll(counter.index, counter.counts);
        let admitted = limit.is_none_or(|limit| window.admits(counts, limit));
        if admitted {
            counts.current = counts.current.saturating_add(1);
            counter.index = counter.index.max(window.index());
            counter.counts = counts;
            counter.forget_at_ms = window.forget_at_ms();
        }
        Ok(Hit { admitted, counts })
    }

    async fn reset(&self, key: &str) -> Result<(), LimitError> {
        let mut state = self.lock_state();
        state.counters.remove(key);
        state.locks.remove(key);
        Ok(())
    }

    async fn get_lock(&self, key: &str, now: SystemTime) -> Result<Option<Lock>, LimitError> {
        let now_ms = unix_ms(now);
        let state = self.swept(now_ms, false);
        Ok(state
            .locks
            .get(key)
            .filter(|l| l.forget_at_ms > now_ms)
            .map(|l| l.lock))
    }

    async fn set_lock(
        &self,
        key: &str,
        lock: Lock,
        forget_at: SystemTime,
        now: SystemTime,
    ) -> Result<(), LimitError> {
        let mut state = self.swept(unix_ms(now), true);
        if !state.locks.contains_key(key) && state.len() >= self.max_keys {
            return Err(LimitError::Full {
                keys: self.max_keys,
            });
        }
        let forget_at_ms = unix_ms(forget_at.max(UNIX_EPOCH));
        state
            .locks
            .insert(key.to_owned(), StoredLock { lock, forget_at_ms });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn minute(secs: u64) -> SlidingWindow {
        SlidingWindow::new(Duration::from_secs(60), at(secs))
    }

    #[tokio::test]
    async fn counts_admit_up_to_the_limit_and_refusals_do_not_count() {
        let store = MemoryLimitStore::new();
        for n in 1..=3 {
            let hit = store.hit("k", minute(0), Some(3)).await.unwrap();
            assert!(hit.admitted);
            assert_eq!(hit.counts.current, n);
        }
        for _ in 0..5 {
            let hit = store.hit("k", minute(1), Some(3)).await.unwrap();
            assert!(!hit.admitted);
            assert_eq!(hit.counts.current, 3);
        }
        // Other keys are independent; `None` always counts.
        assert!(
            store
                .hit("other", minute(1), Some(3))
                .await
                .unwrap()
                .admitted
        );
        for _ in 0..10 {
            assert!(store.hit("free", minute(1), None).await.unwrap().admitted);
        }
        assert_eq!(
            store
                .hit("free", minute(1), None)
                .await
                .unwrap()
                .counts
                .current,
            11
        );
        store.reset("k").await.unwrap();
        assert_eq!(
            store
                .hit("k", minute(2), Some(3))
                .await
                .unwrap()
                .counts
                .current,
            1
        );
    }

    #[tokio::test]
    async fn expired_keys_are_swept_and_capacity_is_bounded() {
        let store = MemoryLimitStore::new().with_max_keys(3);
        for key in ["a", "b", "c"] {
            store.hit(key, minute(0), Some(1)).await.unwrap();
        }
        assert_eq!(store.len(), 3);
        // Full of live keys: a new key is refused, known keys still count.
        assert!(matches!(
            store.hit("d", minute(10), Some(1)).await,
            Err(LimitError::Full { keys: 3 })
        ));
        assert!(!store.hit("a", minute(10), Some(1)).await.unwrap().admitted);
        // Two windows later every key has expired: the sweep makes room.
        assert!(store.hit("d", minute(120), Some(1)).await.unwrap().admitted);
        assert_eq!(store.len(), 1);
    }

    #[tokio::test]
    async fn locks_are_kept_until_forgotten() {
        let store = MemoryLimitStore::new();
        let lock = Lock {
            level: 2,
            until: at(100),
        };
        store.set_lock("l", lock, at(200), at(0)).await.unwrap();
        assert_eq!(store.get_lock("l", at(150)).await.unwrap(), Some(lock));
        assert_eq!(store.get_lock("l", at(200)).await.unwrap(), None);
        store.set_lock("l", lock, at(300), at(0)).await.unwrap();
        store.reset("l").await.unwrap();
        assert_eq!(store.get_lock("l", at(0)).await.unwrap(), None);
        // A sweep drops the forgotten lock for good.
        store.set_lock("m", lock, at(10), at(0)).await.unwrap();
        store.hit("x", minute(100_000), None).await.unwrap();
        assert_eq!(store.len(), 1);
    }
}
