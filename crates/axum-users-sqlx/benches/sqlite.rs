//! The SQLite store's lookups over 10,000 users: `get` (by id, the `/users/me` path) and
//! `get_by_email` (the login path), on a file database with the default pool settings:
//! `readers/*` opened by URL (the server's way: lookups on read-only connections, inline),
//! `pool/*` opened with explicit options (every query through the sqlx pool).
//! Run: `cargo bench -p axum-users-sqlx --bench sqlite`.
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;
use std::str::FromStr as _;

use axum_users_core::{User, UserStore};
use axum_users_sqlx::{PoolSettings, SqliteStore};
use criterion::{Criterion, criterion_group, criterion_main};
use sqlx::sqlite::SqliteConnectOptions;
use tokio::runtime::Runtime;
use uuid::Uuid;

const USERS: usize = 10_000;

fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let ids = rt.block_on(async {
        let store = SqliteStore::<()>::connect_url(&url, PoolSettings::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let mut ids = Vec::with_capacity(USERS);
        for i in 0..USERS {
            let user = User {
                id: Uuid::new_v4(),
                email: format!("user{i}@bench.example"),
                hashed_password: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA".to_owned(),
                is_active: true,
                is_superuser: false,
                is_verified: false,
                extra: (),
            };
            ids.push(store.create(user).await.expect("create").id);
        }
        ids
    });
    let readers = rt
        .block_on(SqliteStore::<()>::connect_url(
            &url,
            PoolSettings::default(),
        ))
        .expect("connect");
    let options = SqliteConnectOptions::from_str(&url).expect("url");
    let pool = rt
        .block_on(SqliteStore::<()>::connect_with(
            options,
            PoolSettings::default(),
        ))
        .expect("connect");
    lookups(c, &rt, "readers", &readers, &ids);
    lookups(c, &rt, "pool", &pool, &ids);
}

fn lookups(c: &mut Criterion, rt: &Runtime, name: &str, store: &SqliteStore, ids: &[Uuid]) {
    let mut g = c.benchmark_group(format!("sqlite_10k_users/{name}"));
    let mut i = 0usize;
    g.bench_function("get_by_id", |b| {
        b.iter(|| {
            i = (i + 7919) % USERS;
            let user = rt.block_on(store.get(black_box(ids[i]))).expect("get");
            assert!(user.is_some());
        });
    });
    g.bench_function("get_by_email", |b| {
        b.iter(|| {
            i = (i + 7919) % USERS;
            let email = format!("User{i}@bench.example");
            let user = rt
                .block_on(store.get_by_email(black_box(&email)))
                .expect("get_by_email");
            assert!(user.is_some());
        });
    });
    g.bench_function("get_by_id_missing", |b| {
        b.iter(|| {
            let user = rt.block_on(store.get(black_box(Uuid::nil()))).expect("get");
            assert!(user.is_none());
        });
    });
    g.finish();
}

criterion_group!(benches, sqlite);
criterion_main!(benches);
