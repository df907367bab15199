//! CONTRACT §4.1: password hashing never runs on the async executor, so while logins hash at
//! the reference's argon2 cost, other requests are still answered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum_users_core::{Argon2Params, HashPoolConfig, User, UserStore as _};
use common::*;
use uuid::Uuid;

/// Concurrent logins; more than the runtime has worker threads, so that hashing on the
/// executor would occupy every one of them.
const LOGINS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_me_answers_while_logins_are_hashing() {
    let app = Arc::new(
        app_with::<()>(Opts {
            argon2: Argon2Params::default(),
            pool: HashPoolConfig {
                workers: 1,
                ..HashPoolConfig::default()
            },
            ..Opts::default()
        })
        .await,
    );
    assert_eq!(app.manager.hasher().workers(), 1);
    // Users stored directly with the reference's hash of PASSWORD (no hashing to set up).
    let mut users = Vec::new();
    for i in 0..=LOGINS {
        let user = User {
            id: Uuid::new_v4(),
            email: format!("knight{i}@camelot.bt"),
            hashed_password: REFERENCE_ARGON2.to_owned(),
            is_active: true,
            is_superuser: false,
            is_verified: false,
            extra: (),
        };
        users.push(app.store.create(user).await.unwrap());
    }
    let reader = users.pop().unwrap();
    let token = token_for(&app, &reader);

    let logins: Vec<_> = users
        .iter()
        .map(|u| {
            let app = Arc::clone(&app);
            let email = u.email.clone();
            tokio::spawn(async move { login_form(&app, &email, PASSWORD).await })
        })
        .collect();
    // Wait until every login is in the hashing pool: one hashing, the rest queued.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.manager.hasher().queued() < LOGINS - 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the logins never all reached the hashing pool: is hashing blocking the executor?"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    // Another request, scheduled on the runtime's workers like any request.
    let me_app = Arc::clone(&app);
    let reply = tokio::spawn(async move { me(&me_app, &token).await })
        .await
        .unwrap();
    let unfinished = logins.iter().filter(|h| !h.is_finished()).count();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["email"], "knight4@camelot.bt");
    assert!(
        unfinished > 0,
        "GET /users/me waited for every login to finish hashing"
    );

    // And the logins themselves all succeed.
    for handle in logins {
        let r = handle.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
}
