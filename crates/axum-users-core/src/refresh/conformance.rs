//! The conformance suite of [`RefreshTokenStore`]s: every store (memory, SQL, Redis) keeps the
//! same promises: rotation is a compare-and-set, revocation reaches every token of a family
//! (also one being rotated at that moment), expiry is exact.
//!
//! Run it with [`refresh_store_tests!`](crate::refresh_store_tests), giving an `async`
//! expression that builds a fresh store that is also a `UserStore<Profile>` (SQL stores, whose
//! foreign keys need real users), or, with `split`, a pair `(users, refresh store)`:
//!
//! ```ignore
//! axum_users_core::refresh_store_tests!(async { my_sql_store().await });
//! axum_users_core::refresh_store_tests!(split async { (Arc::new(MemoryStore::new()), Arc::new(my_redis_store())) });
//! ```
//!
//! Test code shipped for other crates' tests: a failed expectation is a panic.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use super::{RefreshTokenRecord, RefreshTokenStore, RotateOutcome, refresh_token_hash};
use crate::conformance::Profile;
use crate::{User, UserStore, generate_token};

/// The users of the suite (the refresh store's foreign keys point at them).
pub type Users = Arc<dyn UserStore<Profile>>;
/// The refresh store under test.
pub type Refresh = Arc<dyn RefreshTokenStore>;

/// Now, to the whole second (every store keeps that exactly).
fn now() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

async fn user(users: &Users, name: &str) -> Uuid {
    let user = User {
        id: Uuid::new_v4(),
        email: format!("{name}.{}@camelot.bt", Uuid::new_v4().simple()),
        hashed_password: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        is_active: true,
        is_superuser: false,
        is_verified: false,
        extra: Profile::default(),
    };
    users.create(user).await.unwrap().id
}

/// A fresh token hash.
fn hash() -> String {
    refresh_token_hash(&generate_token())
}

/// Opens a family for `user` whose first token is issued at `created` and lives `lifetime`;
/// returns the token's hash and the family id.
async fn family(
    refresh: &Refresh,
    user: Uuid,
    created: SystemTime,
    lifetime: Duration,
) -> (String, Uuid) {
    let record = RefreshTokenRecord {
        token_hash: hash(),
        family_id: Uuid::new_v4(),
        user_id: user,
        created_at: created,
        expires_at: created + lifetime,
        rotated_at: None,
    };
    let out = (record.token_hash.clone(), record.family_id);
    refresh.create_refresh_family(record).await.unwrap();
    out
}

async fn rotate(refresh: &Refresh, from: &str, at: SystemTime) -> (RotateOutcome, String) {
    let next = hash();
    let outcome = refresh
        .rotate_refresh_token(from, &next, at, at + hours(1))
        .await
        .unwrap();
    (outcome, next)
}

/// A family round-trips; rotation marks the token, adds its successor to the family, and a
/// second rotation of the same token is reuse that changes nothing.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_create_get_rotate(users: Users, refresh: Refresh) {
    let u = user(&users, "percival").await;
    let t0 = now();
    let (first, fam) = family(&refresh, u, t0, hours(1)).await;
    let got = refresh.get_refresh_token(&first).await.unwrap().unwrap();
    assert_eq!(
        got,
        RefreshTokenRecord {
            token_hash: first.clone(),
            family_id: fam,
            user_id: u,
            created_at: t0,
            expires_at: t0 + hours(1),
            rotated_at: None,
        }
    );
    assert!(refresh.get_refresh_token(&hash()).await.unwrap().is_none());

    let t1 = t0 + Duration::from_secs(60);
    let (outcome, second) = rotate(&refresh, &first, t1).await;
    assert_eq!(
        outcome,
        RotateOutcome::Rotated {
            user_id: u,
            family_id: fam
        }
    );
    let old = refresh.get_refresh_token(&first).await.unwrap().unwrap();
    assert_eq!(old.rotated_at, Some(t1));
    let new = refresh.get_refresh_token(&second).await.unwrap().unwrap();
    assert_eq!(
        new,
        RefreshTokenRecord {
            token_hash: second.clone(),
            family_id: fam,
            user_id: u,
            created_at: t1,
            expires_at: t1 + hours(1),
            rotated_at: None,
        }
    );

    // Reuse: reported, nothing changed (revoking is the service's move).
    let (outcome, ghost) = rotate(&refresh, &first, t1).await;
    assert_eq!(
        outcome,
        RotateOutcome::Reused {
            user_id: u,
            family_id: fam
        }
    );
    assert!(refresh.get_refresh_token(&ghost).await.unwrap().is_none());
    let (outcome, _) = rotate(&refresh, &second, t1).await;
    assert!(matches!(outcome, RotateOutcome::Rotated { .. }));

    // Unknown tokens.
    let (outcome, _) = rotate(&refresh, &hash(), t1).await;
    assert_eq!(outcome, RotateOutcome::Invalid);
    // A duplicate family or first token is a conflict.
    let dup = RefreshTokenRecord {
        token_hash: hash(),
        family_id: fam,
        user_id: u,
        created_at: t0,
        expires_at: t0 + hours(1),
        rotated_at: None,
    };
    assert!(refresh.create_refresh_family(dup).await.is_err());
}

/// A token is refused from its `expires_at` on (rotated or not, without reuse), and accepted
/// until then; a successor lives from its own issue.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_expiry(users: Users, refresh: Refresh) {
    let u = user(&users, "gareth").await;
    let t0 = now();
    let (first, fam) = family(&refresh, u, t0, hours(1)).await;
    let (outcome, _) = rotate(&refresh, &first, t0 + hours(1)).await;
    assert_eq!(
        outcome,
        RotateOutcome::Invalid,
        "expired at exactly expires_at"
    );
    let almost = t0 + hours(1) - Duration::from_secs(1);
    let (outcome, second) = rotate(&refresh, &first, almost).await;
    assert_eq!(
        outcome,
        RotateOutcome::Rotated {
            user_id: u,
            family_id: fam
        }
    );
    // The successor outlives the first token's expiry.
    let later = t0 + hours(1) + Duration::from_secs(1800);
    let (outcome, _) = rotate(&refresh, &second, later).await;
    assert!(matches!(outcome, RotateOutcome::Rotated { .. }));
    // An expired rotated token is invalid, not reuse.
    let (outcome, _) = rotate(&refresh, &first, t0 + hours(3)).await;
    assert_eq!(outcome, RotateOutcome::Invalid);
}

/// Revoking a family kills every token of it and nothing else; revoking a user's families
/// kills all of theirs and no one else's.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_revocation(users: Users, refresh: Refresh) {
    let a = user(&users, "lancelot").await;
    let b = user(&users, "elaine").await;
    let t0 = now();
    let (a1, fam_a1) = family(&refresh, a, t0, hours(1)).await;
    let (a1_next_outcome, a1_next) = rotate(&refresh, &a1, t0).await;
    assert!(matches!(a1_next_outcome, RotateOutcome::Rotated { .. }));
    let (a2, _) = family(&refresh, a, t0, hours(1)).await;
    let (a3, _) = family(&refresh, a, t0, hours(1)).await;
    let (b1, _) = family(&refresh, b, t0, hours(1)).await;

    assert!(refresh.revoke_refresh_family(fam_a1).await.unwrap());
    assert!(!refresh.revoke_refresh_family(fam_a1).await.unwrap());
    for token in [&a1, &a1_next] {
        assert!(refresh.get_refresh_token(token).await.unwrap().is_none());
        let (outcome, _) = rotate(&refresh, token, t0).await;
        assert_eq!(outcome, RotateOutcome::Invalid);
    }
    assert!(refresh.get_refresh_token(&a2).await.unwrap().is_some());

    assert_eq!(refresh.revoke_user_refresh_families(a).await.unwrap(), 2);
    assert_eq!(refresh.revoke_user_refresh_families(a).await.unwrap(), 0);
    for token in [&a2, &a3] {
        let (outcome, _) = rotate(&refresh, token, t0).await;
        assert_eq!(outcome, RotateOutcome::Invalid);
    }
    let (outcome, _) = rotate(&refresh, &b1, t0).await;
    assert!(matches!(outcome, RotateOutcome::Rotated { .. }));
}

/// Purging removes expired tokens (rotated or not) and spares live ones and their families.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_purge(users: Users, refresh: Refresh) {
    let u = user(&users, "bors").await;
    let t0 = now();
    let (old, _) = family(&refresh, u, t0 - hours(3), hours(1)).await;
    let (live, live_fam) = family(&refresh, u, t0, hours(1)).await;
    // Rotated half an hour in: the successor expires at t0 + 1.5 h.
    let half = t0 + Duration::from_secs(1800);
    let (outcome, live_next) = rotate(&refresh, &live, half).await;
    assert!(matches!(outcome, RotateOutcome::Rotated { .. }));
    refresh.purge_expired_refresh_tokens(t0).await.unwrap();
    assert!(refresh.get_refresh_token(&old).await.unwrap().is_none());
    for token in [&live, &live_next] {
        let got = refresh.get_refresh_token(token).await.unwrap().unwrap();
        assert_eq!(got.family_id, live_fam);
    }
    // At t0 + 1 h the rotated token has expired, its successor not.
    let hour = t0 + hours(1);
    refresh.purge_expired_refresh_tokens(hour).await.unwrap();
    // (Stores whose keys expire on the real clock, Redis, may still hold `live` here.)
    let (outcome, _) = rotate(&refresh, &live, hour).await;
    assert_eq!(outcome, RotateOutcome::Invalid);
    let (outcome, _) = rotate(&refresh, &live_next, hour).await;
    assert!(matches!(outcome, RotateOutcome::Rotated { .. }));
}

/// Concurrent rotations of one token: exactly one wins, every other is reuse.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_concurrent_rotations_one_wins(users: Users, refresh: Refresh) {
    let u = user(&users, "galahad").await;
    let t0 = now();
    let (first, fam) = family(&refresh, u, t0, hours(1)).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let refresh = Arc::clone(&refresh);
            let first = first.clone();
            tokio::spawn(async move { rotate(&refresh, &first, t0).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (RotateOutcome::Rotated { family_id, .. }, next) => {
                assert_eq!(family_id, fam);
                winners.push(next);
            }
            (RotateOutcome::Reused { family_id, .. }, next) => {
                assert_eq!(family_id, fam);
                assert!(refresh.get_refresh_token(&next).await.unwrap().is_none());
            }
            (RotateOutcome::Invalid, _) => panic!("a live token read as invalid"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    let newest = refresh
        .get_refresh_token(&winners[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.rotated_at, None);
}

/// A family revoked while one of its tokens is being rotated ends with no live token, whichever
/// of the two goes first.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_revocation_races_rotation(users: Users, refresh: Refresh) {
    let u = user(&users, "kay").await;
    let t0 = now();
    for _ in 0..10 {
        let (first, fam) = family(&refresh, u, t0, hours(1)).await;
        let rotation = {
            let refresh = Arc::clone(&refresh);
            let first = first.clone();
            tokio::spawn(async move { rotate(&refresh, &first, t0).await })
        };
        let revocation = {
            let refresh = Arc::clone(&refresh);
            tokio::spawn(async move { refresh.revoke_refresh_family(fam).await.unwrap() })
        };
        let (_, next) = rotation.await.unwrap();
        assert!(revocation.await.unwrap());
        for token in [&first, &next] {
            assert!(refresh.get_refresh_token(token).await.unwrap().is_none());
            let (outcome, _) = rotate(&refresh, token, t0).await;
            assert_eq!(outcome, RotateOutcome::Invalid);
        }
    }
}

/// Deleting a user deletes their families and tokens (SQL stores: `ON DELETE CASCADE`). Not
/// part of [`refresh_store_tests!`](crate::refresh_store_tests): stores without a cascade
/// (memory, Redis) rely on the HTTP layer refusing a refresh for a user who is gone.
///
/// # Panics
/// When the store breaks the promise.
pub async fn refresh_cascade_on_user_delete(users: Users, refresh: Refresh) {
    let a = user(&users, "mordred").await;
    let b = user(&users, "morgause").await;
    let t0 = now();
    let (ta, _) = family(&refresh, a, t0, hours(1)).await;
    let (ta_outcome, ta_next) = rotate(&refresh, &ta, t0).await;
    assert!(matches!(ta_outcome, RotateOutcome::Rotated { .. }));
    let (tb, _) = family(&refresh, b, t0, hours(1)).await;
    assert!(users.delete(a).await.unwrap());
    for token in [&ta, &ta_next] {
        assert!(refresh.get_refresh_token(token).await.unwrap().is_none());
    }
    assert!(refresh.get_refresh_token(&tb).await.unwrap().is_some());
    // A family for a user who does not exist is refused.
    let orphan = RefreshTokenRecord {
        token_hash: hash(),
        family_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        created_at: t0,
        expires_at: t0 + hours(1),
        rotated_at: None,
    };
    assert!(refresh.create_refresh_family(orphan).await.is_err());
}

/// Generates one `#[tokio::test]` per refresh-store conformance check. The argument is an
/// `async` expression yielding a fresh store that is both a `UserStore<Profile>` and a
/// [`RefreshTokenStore`]; or, after `split`, one yielding `(Arc<users>, Arc<refresh store>)`.
#[macro_export]
macro_rules! refresh_store_tests {
    (split $make:expr) => {
        $crate::refresh_store_tests!(@each split $make;
            refresh_create_get_rotate, refresh_expiry, refresh_revocation, refresh_purge,
            refresh_concurrent_rotations_one_wins, refresh_revocation_races_rotation);
    };
    ($make:expr) => {
        $crate::refresh_store_tests!(@each joined $make;
            refresh_create_get_rotate, refresh_expiry, refresh_revocation, refresh_purge,
            refresh_concurrent_rotations_one_wins, refresh_revocation_races_rotation);
    };
    (@each split $make:expr; $($name:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (users, refresh) = $make.await;
                $crate::refresh::conformance::$name(users, refresh).await;
            }
        )*
    };
    (@each joined $make:expr; $($name:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store = ::std::sync::Arc::new($make.await);
                $crate::refresh::conformance::$name(store.clone(), store).await;
            }
        )*
    };
}
