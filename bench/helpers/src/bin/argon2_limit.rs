//! Scenario (f), the limit for logins and registrations: argon2id hashes per second at the
//! configured parameters through `axum_users_core::HashPool` (the server's own pool: one
//! low-priority worker per core, each reusing its memory block), kept saturated from async
//! callers for a fixed time.
//!
//! Usage: `argon2_limit SECONDS [WORKERS] [M_KIB] [T] [P]` (defaults 20, 0 = one per core,
//! 65536, 3, 4). Prints one JSON line: rps, p50_ms, p99_ms, errors, hashes, workers, rss_kib.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_users_core::{Argon2Hasher, Argon2Params, HashPool, HashPoolConfig};

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process, from `/proc/self/status` (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let seconds: u64 = arg(1, 20);
    let workers: usize = arg(2, 0);
    let defaults = Argon2Params::default();
    let params = Argon2Params {
        m_cost: arg(3, defaults.m_cost),
        t_cost: arg(4, defaults.t_cost),
        p_cost: arg(5, defaults.p_cost),
        ..defaults
    };
    let pool = HashPool::new(
        Arc::new(Argon2Hasher::new(params)),
        HashPoolConfig {
            workers,
            ..HashPoolConfig::default()
        },
    );
    let workers = pool.workers();
    // Warm-up: one hash per worker (allocates each worker's memory block).
    let warm: Vec<_> = (0..workers)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.hash("warm-up password".to_owned()).await })
        })
        .collect();
    for w in warm {
        let _ = w.await;
    }

    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    // Two callers per worker keep every worker busy (the queue never runs dry).
    let callers: Vec<_> = (0..workers * 2)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match pool.hash(format!("password number {i}")).await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors, Instant::now())
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    let mut end = start;
    for c in callers {
        if let Ok((l, e, finished)) = c.await {
            all.extend(l);
            errors += e;
            end = end.max(finished);
        }
    }
    all.sort();
    let elapsed = end.duration_since(start).as_secs_f64();
    println!(
        "{{\"rps\":{:.2},\"p50_ms\":{:.1},\"p99_ms\":{:.1},\"errors\":{},\"requests\":{},\"workers\":{},\"rss_kib\":{}}}",
        all.len() as f64 / elapsed,
        percentile(&all, 50.0),
        percentile(&all, 99.0),
        errors,
        all.len(),
        workers,
        peak_rss_kib()
    );
}
