//! A fixed pool of low-priority hashing threads with a bounded queue.

use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Sender, TrySendError};
use tokio::sync::oneshot;

use super::{HashError, PasswordHasher, Verified};

type Job = Box<dyn FnOnce(&dyn PasswordHasher) + Send + 'static>;

/// How a [`HashPool`] is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPoolConfig {
    /// Worker threads; `0` means one per available core.
    pub workers: usize,
    /// Jobs that may wait per worker before [`HashError::Busy`] is answered.
    pub queue_per_worker: usize,
    /// Run workers at the lowest OS scheduling priority (nice 19 on Linux), so that under a
    /// login storm every other request still gets the CPU first.
    pub low_priority: bool,
}

impl Default for HashPoolConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            queue_per_worker: 64,
            low_priority: true,
        }
    }
}

/// Runs a [`PasswordHasher`] on dedicated threads, never on the async executor.
///
/// Cloning is cheap and shares the workers; they stop when the last clone is dropped.
///
/// ```
/// use std::sync::Arc;
/// use axum_users_core::{Argon2Hasher, Argon2Params, HashPool, HashPoolConfig};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let pool = HashPool::new(
///     Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
///     HashPoolConfig { workers: 2, ..Default::default() },
/// );
/// let hash = pool.hash("guinevere".into()).await.unwrap();
/// assert!(pool.verify_and_update("guinevere".into(), hash).await.unwrap().valid);
/// # });
/// ```
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<Inner>,
}

struct Inner {
    tx: Sender<Job>,
    workers: usize,
    capacity: usize,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("workers", &self.inner.workers)
            .field("capacity", &self.inner.capacity)
            .field("queued", &self.inner.tx.len())
            .finish()
    }
}

impl HashPool {
    /// Starts the workers.
    ///
    /// # Panics
    /// When the OS refuses to start a thread.
    #[must_use]
    // Taking the `Arc` by value says the pool keeps the hasher; each worker holds a clone.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(hasher: Arc<dyn PasswordHasher>, config: HashPoolConfig) -> Self {
        let workers = if config.workers == 0 {
            thread::available_parallelism().map_or(1, std::num::NonZero::get)
        } else {
            config.workers
        };
        let capacity = workers.saturating_mul(config.queue_per_worker.max(1));
        let (tx, rx) = crossbeam_channel::bounded::<Job>(capacity);
        for i in 0..workers {
            let rx = rx.clone();
            let hasher = Arc::clone(&hasher);
            let low = config.low_priority;
            thread::Builder::new()
                .name(format!("axum-users-hash-{i}"))
                .spawn(move || {
                    if low {
                        lower_priority();
                    }
                    super::argon2::reuse_memory_on_this_thread();
                    while let Ok(job) = rx.recv() {
                        job(hasher.as_ref());
                    }
                })
                .expect("failed to start a password hashing thread");
        }
        Self {
            inner: Arc::new(Inner {
                tx,
                workers,
                capacity,
            }),
        }
    }

    /// Number of worker threads.
    #[must_use]
    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    /// Jobs waiting right now.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.inner.tx.len()
    }

    /// Runs `f` on a worker and waits for its result without blocking the executor.
    ///
    /// A job whose caller went away before a worker picked it up is skipped.
    ///
    /// # Errors
    /// [`HashError::Busy`] when the queue is full; [`HashError::PoolClosed`] when the workers
    /// are gone.
    pub async fn run<T, F>(&self, f: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn PasswordHasher) -> T + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            if reply.is_closed() {
                return;
            }
            let _ = reply.send(f(hasher));
        });
        match self.inner.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(HashError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(HashError::PoolClosed),
        }
        rx.await.map_err(|_| HashError::PoolClosed)
    }

    /// Hashes a password on a worker.
    ///
    /// # Errors
    /// As [`HashPool::run`], or the hasher's own error.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.run(move |h| h.hash(&password)).await?
    }

    #[cfg(test)]
    async fn hash_owned(self, password: String) -> Result<String, HashError> {
        self.hash(password).await
    }

    /// Verifies a password on a worker.
    ///
    /// # Errors
    /// As [`HashPool::run`], or the hasher's own error.
    pub async fn verify_and_update(
        &self,
        password: String,
        hash: String,
    ) -> Result<Verified, HashError> {
        self.run(move |h| h.verify_and_update(&password, &hash))
            .await?
    }
}

/// Sets this thread's nice value to 19 (Linux schedules threads individually).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(tid), 19) {
            tracing::debug!(error = %e, "could not lower the hashing thread's priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Argon2Hasher, Argon2Params};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_busy_instead_of_growing() {
        let pool = HashPool::new(
            Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
            HashPoolConfig {
                workers: 1,
                queue_per_worker: 1,
                low_priority: false,
            },
        );
        // Occupy the single worker until released.
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let blocked = tokio::spawn(async move {
            p.run(move |_| {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            })
            .await
        });
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // One job fits in the queue…
        let queued = tokio::spawn(pool.clone().hash_owned("a".into()));
        while pool.queued() == 0 {
            tokio::task::yield_now().await;
        }
        // …the next one is refused at once.
        assert!(matches!(pool.hash("b".into()).await, Err(HashError::Busy)));
        release_tx.send(()).unwrap();
        blocked.await.unwrap().unwrap();
        assert!(queued.await.unwrap().is_ok());
    }

    #[test]
    fn workers_run_at_lowest_priority() {
        let pool = HashPool::new(
            Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
            HashPoolConfig {
                workers: 1,
                ..Default::default()
            },
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let nice = rt
            .block_on(
                pool.run(|_| rustix::process::getpriority_process(Some(rustix::thread::gettid()))),
            )
            .unwrap()
            .unwrap();
        assert_eq!(nice, 19);
    }
}
