//! The store conformance suite: every [`UserStore`] runs it, so every store keeps the same
//! promises (case-insensitive email, conflicts from the database, atomic custom fields).
//!
//! Run it from a test file with [`user_store_tests!`](crate::user_store_tests), giving an
//! `async` expression that builds a fresh, empty store of custom fields [`Profile`]:
//!
//! ```ignore
//! axum_users_core::user_store_tests!(async { my_store().await });
//! ```
//!
//! These functions are test code shipped for other crates' tests: a failed expectation is a
//! panic, so `unwrap` is the point here.
#![allow(clippy::unwrap_used)]

mod oauth;

pub use self::oauth::{
    OAuthStore, OAuthTestStore, oauth_accounts_round_trip, oauth_accounts_unique_and_cascade,
    oauth_concurrent_links_one_wins, oauth_states_spent_once,
};

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use std::time::{Duration, SystemTime};

use crate::store::token::{AccessToken, AccessTokenStore};
use crate::{StoreError, User, UserPatch, UserStore};

/// The custom fields the suite stores, so that persisting them is checked too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// A text field.
    pub first_name: Option<String>,
    /// A number.
    pub age: u32,
}

/// A store under test.
pub type Store = Arc<dyn UserStore<Profile>>;

fn user(email: &str) -> User<Profile> {
    User {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        hashed_password: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        is_active: true,
        is_superuser: false,
        is_verified: false,
        extra: Profile {
            first_name: Some("Arthur".into()),
            age: 42,
        },
    }
}

/// A user round-trips through create, get and get-by-email (any case), custom fields included.
///
/// # Panics
/// When the store breaks the promise.
pub async fn create_and_get(store: Store) {
    let u = user("King.Arthur@camelot.bt");
    let created = store.create(u.clone()).await.unwrap();
    assert_eq!(created, u);
    assert_eq!(store.get(u.id).await.unwrap().as_ref(), Some(&u));
    for probe in [
        "King.Arthur@camelot.bt",
        "king.arthur@CAMELOT.BT",
        "KING.ARTHUR@camelot.bt",
    ] {
        assert_eq!(
            store.get_by_email(probe).await.unwrap().as_ref(),
            Some(&u),
            "{probe}"
        );
    }
    assert_eq!(store.get(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.get_by_email("nobody@camelot.bt").await.unwrap(), None);
}

/// A second user with the same email in another case is a [`StoreError::Conflict`].
///
/// # Panics
/// When the store breaks the promise.
pub async fn duplicate_email_conflicts(store: Store) {
    store.create(user("lancelot@camelot.bt")).await.unwrap();
    let err = store.create(user("Lancelot@Camelot.bt")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    let err = store.create(user("LANCELOT@camelot.bt")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
}

/// Concurrent creates of one address: exactly one wins, the others conflict.
///
/// # Panics
/// When the store breaks the promise.
pub async fn concurrent_creates_one_wins(store: Store) {
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let email = if i % 2 == 0 {
                "galahad@camelot.bt"
            } else {
                "Galahad@camelot.bt"
            };
            tokio::spawn(async move { store.create(user(email)).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

/// Update applies only the given fields, returns the stored row, and conflicts on a taken email.
///
/// # Panics
/// When the store breaks the promise.
pub async fn update_applies_patch(store: Store) {
    let a = store.create(user("percival@camelot.bt")).await.unwrap();
    let b = store.create(user("bors@camelot.bt")).await.unwrap();
    let patch = UserPatch {
        email: Some("Percival@avalon.bt".into()),
        is_verified: Some(true),
        extra: Some(Profile {
            first_name: None,
            age: 7,
        }),
        ..UserPatch::default()
    };
    let updated = store.update(a.id, patch).await.unwrap().unwrap();
    assert_eq!(updated.email, "Percival@avalon.bt");
    assert!(updated.is_verified);
    assert!(updated.is_active && !updated.is_superuser);
    assert_eq!(updated.hashed_password, a.hashed_password);
    assert_eq!(
        updated.extra,
        Profile {
            first_name: None,
            age: 7
        }
    );
    assert_eq!(store.get(a.id).await.unwrap(), Some(updated.clone()));
    assert_eq!(
        store.get_by_email("percival@avalon.bt").await.unwrap(),
        Some(updated)
    );
    assert_eq!(
        store.get_by_email("percival@camelot.bt").await.unwrap(),
        None
    );

    let clash = UserPatch {
        email: Some("BORS@camelot.bt".into()),
        ..UserPatch::default()
    };
    assert!(matches!(
        store.update(a.id, clash).await,
        Err(StoreError::Conflict)
    ));
    // Changing one's own email to another case of itself is no conflict.
    let recase = UserPatch {
        email: Some("Bors@Camelot.bt".into()),
        ..UserPatch::default()
    };
    assert_eq!(
        store.update(b.id, recase).await.unwrap().unwrap().email,
        "Bors@Camelot.bt"
    );

    let ghost = store
        .update(Uuid::new_v4(), UserPatch::default())
        .await
        .unwrap();
    assert_eq!(ghost, None);
}

/// Delete removes the user once.
///
/// # Panics
/// When the store breaks the promise.
pub async fn delete_removes(store: Store) {
    let u = store.create(user("mordred@camelot.bt")).await.unwrap();
    assert!(store.delete(u.id).await.unwrap());
    assert!(!store.delete(u.id).await.unwrap());
    assert_eq!(store.get(u.id).await.unwrap(), None);
    assert_eq!(
        store.get_by_email("mordred@camelot.bt").await.unwrap(),
        None
    );
    // The address is free again.
    store.create(user("mordred@camelot.bt")).await.unwrap();
}

/// A store of users and their access tokens under test.
pub trait UserAndTokenStore: UserStore<Profile> + AccessTokenStore {}
impl<T: UserStore<Profile> + AccessTokenStore> UserAndTokenStore for T {}

/// A token store under test.
pub type TokenStore = Arc<dyn UserAndTokenStore>;

fn token(user: Uuid, created_at: SystemTime) -> AccessToken {
    AccessToken {
        token: crate::generate_token(),
        user_id: user,
        created_at,
    }
}

/// Tokens round-trip; `created_after` filters; delete is idempotent.
///
/// # Panics
/// When the store breaks the promise.
pub async fn tokens_create_get_delete(store: TokenStore) {
    let u = store.create(user("tristan@camelot.bt")).await.unwrap();
    let now = SystemTime::now();
    let t = store.create_token(token(u.id, now)).await.unwrap();
    let got = store.get_token(&t.token, None).await.unwrap().unwrap();
    assert_eq!(got.user_id, u.id);
    let drift = got
        .created_at
        .duration_since(now)
        .unwrap_or_else(|e| e.duration());
    assert!(
        drift < Duration::from_secs(1),
        "created_at kept to the second: {drift:?}"
    );
    let earlier = now - Duration::from_secs(60);
    assert!(
        store
            .get_token(&t.token, Some(earlier))
            .await
            .unwrap()
            .is_some()
    );
    let later = now + Duration::from_secs(60);
    assert!(
        store
            .get_token(&t.token, Some(later))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_token("nope", None).await.unwrap().is_none());
    store.delete_token(&t.token).await.unwrap();
    store.delete_token(&t.token).await.unwrap();
    assert!(store.get_token(&t.token, None).await.unwrap().is_none());
}

/// Deleting every token of a user spares other users'; deleting old tokens spares new ones;
/// deleting a user deletes their tokens.
///
/// # Panics
/// When the store breaks the promise.
pub async fn tokens_bulk_deletes_and_cascade(store: TokenStore) {
    let a = store.create(user("iseult@camelot.bt")).await.unwrap();
    let b = store.create(user("mark@camelot.bt")).await.unwrap();
    let now = SystemTime::now();
    let old = store
        .create_token(token(a.id, now - Duration::from_secs(7200)))
        .await
        .unwrap();
    let a1 = store.create_token(token(a.id, now)).await.unwrap();
    let b1 = store.create_token(token(b.id, now)).await.unwrap();
    assert_eq!(
        store
            .delete_tokens_created_before(now - Duration::from_secs(3600))
            .await
            .unwrap(),
        1
    );
    assert!(store.get_token(&old.token, None).await.unwrap().is_none());
    assert!(store.get_token(&a1.token, None).await.unwrap().is_some());
    assert_eq!(store.delete_user_tokens(a.id).await.unwrap(), 1);
    assert!(store.get_token(&a1.token, None).await.unwrap().is_none());
    assert!(store.get_token(&b1.token, None).await.unwrap().is_some());
    assert!(store.delete(b.id).await.unwrap());
    assert!(store.get_token(&b1.token, None).await.unwrap().is_none());
}

/// Generates one `#[tokio::test]` per access-token conformance check. The argument is an
/// `async` expression yielding a fresh store of users ([`Profile`]) and tokens.
#[macro_export]
macro_rules! token_store_tests {
    ($make:expr) => {
        $crate::token_store_tests!(@each $make; tokens_create_get_delete, tokens_bulk_deletes_and_cascade);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: $crate::conformance::TokenStore = ::std::sync::Arc::new($make.await);
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test]` per conformance check. The argument is an `async`
/// expression that yields a fresh, empty store (`impl UserStore<Profile>`).
#[macro_export]
macro_rules! user_store_tests {
    ($make:expr) => {
        $crate::user_store_tests!(@each $make;
            create_and_get, duplicate_email_conflicts, concurrent_creates_one_wins,
            update_applies_patch, delete_removes);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: $crate::conformance::Store = ::std::sync::Arc::new($make.await);
                $crate::conformance::$name(store).await;
            }
        )*
    };
}
