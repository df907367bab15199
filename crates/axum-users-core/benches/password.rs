//! argon2id hash and verify at the reference's parameters (m=65536 KiB, t=3, p=4): on the
//! calling thread with a fresh 64 MiB block each time, and through a one-worker `HashPool`,
//! whose worker keeps its block between hashes (what the server does).
//! Run: `cargo bench -p axum-users-core --bench password` (about a minute).
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;

use axum_users_core::{Argon2Hasher, HashPool, HashPoolConfig, PasswordHasher as _};
use criterion::{Criterion, criterion_group, criterion_main};

const PASSWORD: &str = "correct-horse-battery-staple-42";

fn password(c: &mut Criterion) {
    let hasher = Argon2Hasher::default();
    let hash = hasher.hash(PASSWORD).expect("hash");
    let mut g = c.benchmark_group("argon2id_m65536_t3_p4");
    g.sample_size(10);
    g.bench_function("hash/fresh_memory", |b| {
        b.iter(|| hasher.hash(black_box(PASSWORD)).expect("hash"));
    });
    g.bench_function("verify/fresh_memory", |b| {
        b.iter(|| {
            let v = hasher
                .verify_and_update(black_box(PASSWORD), black_box(&hash))
                .expect("verify");
            assert!(v.valid);
        });
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let pool = HashPool::new(
        Arc::new(Argon2Hasher::default()),
        HashPoolConfig {
            workers: 1,
            queue_per_worker: 4,
            low_priority: false,
        },
    );
    g.bench_function("hash/pool_reused_memory", |b| {
        b.iter(|| rt.block_on(pool.hash(PASSWORD.to_owned())).expect("hash"));
    });
    g.bench_function("verify/pool_reused_memory", |b| {
        b.iter(|| {
            let v = rt
                .block_on(pool.verify_and_update(PASSWORD.to_owned(), hash.clone()))
                .expect("verify");
            assert!(v.valid);
        });
    });
    g.finish();
}

criterion_group!(benches, password);
criterion_main!(benches);
