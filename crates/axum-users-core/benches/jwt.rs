//! JWT encode/decode of an access token (HS256), as `/users/me` and login do it.
//! Run: `cargo bench -p axum-users-core --bench jwt`.
#![allow(missing_docs, clippy::expect_used)]

use std::hint::black_box;

use axum_users_core::{AUDIENCE_AUTH, AccessClaims, JwtCodec, password_fingerprint};
use criterion::{Criterion, criterion_group, criterion_main};

const SECRET: &[u8] = b"benchmark-secret-benchmark-secret-0123456789";
const SUB: &str = "5f0d6c1e-8a4b-4c3e-9f51-2b7f0c6a9d10";
const HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$9cC9Y3Ejt2y0Mf2jM5f2XQh9c4Ou8Hk7hP4o7JQe0zU";

fn claims() -> AccessClaims {
    let mut claims = AccessClaims::new(SUB.to_owned(), 3600);
    claims.pfp = Some(password_fingerprint(HASH));
    claims
}

fn jwt(c: &mut Criterion) {
    let codec = JwtCodec::hs256(SECRET).expect("codec");
    let token = codec.encode(&claims()).expect("encode");
    let mut g = c.benchmark_group("jwt_hs256");
    g.bench_function("encode", |b| {
        b.iter(|| codec.encode(black_box(&claims())).expect("encode"));
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            codec
                .decode::<AccessClaims>(black_box(&token), AUDIENCE_AUTH)
                .expect("decode")
        });
    });
    g.bench_function("password_fingerprint", |b| {
        b.iter(|| password_fingerprint(black_box(HASH)));
    });
    g.finish();
}

criterion_group!(benches, jwt);
criterion_main!(benches);
