//! The OAuth part of the conformance suite: linked accounts (FastAPI Users' `oauth_account`
//! table) and spent states. Run it with [`oauth_store_tests!`](crate::oauth_store_tests).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::{Profile, user};
use crate::StoreError;
use crate::oauth::{OAuthAccount, OAuthAccountStore, OAuthStateStore};

/// A store of users, linked accounts and spent states under test.
pub trait OAuthTestStore: OAuthAccountStore<Profile> + OAuthStateStore {}
impl<T: OAuthAccountStore<Profile> + OAuthStateStore> OAuthTestStore for T {}

/// An OAuth store under test.
pub type OAuthStore = Arc<dyn OAuthTestStore>;

fn account(user_id: Uuid, oauth_name: &str, account_id: &str) -> OAuthAccount {
    OAuthAccount {
        id: Uuid::new_v4(),
        user_id,
        oauth_name: oauth_name.to_owned(),
        access_token: format!("at-{account_id}"),
        expires_at: Some(1_900_000_000),
        refresh_token: Some(format!("rt-{account_id}")),
        account_id: account_id.to_owned(),
        account_email: "arthur@camelot.bt".to_owned(),
    }
}

/// An account round-trips through add, get, get-by-account (with its user), list and update.
///
/// # Panics
/// When the store breaks the promise.
pub async fn oauth_accounts_round_trip(store: OAuthStore) {
    let u = store.create(user("arthur@camelot.bt")).await.unwrap();
    let a = account(u.id, "github", "42");
    assert_eq!(store.add_oauth_account(a.clone()).await.unwrap(), a);
    assert_eq!(
        store.get_oauth_account("github", "42").await.unwrap(),
        Some(a.clone())
    );
    let (found, linked) = store
        .get_by_oauth_account("github", "42")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, u);
    assert_eq!(linked, a);
    assert_eq!(store.get_oauth_account("github", "43").await.unwrap(), None);
    assert_eq!(store.get_oauth_account("gitlab", "42").await.unwrap(), None);
    assert!(
        store
            .get_by_oauth_account("google", "42")
            .await
            .unwrap()
            .is_none()
    );

    // Without expiry or refresh token; a token as long as the column (1024 characters).
    let long = "x".repeat(1024);
    let b = OAuthAccount {
        access_token: long.clone(),
        expires_at: None,
        refresh_token: None,
        ..account(u.id, "google", "people/7")
    };
    store.add_oauth_account(b.clone()).await.unwrap();
    assert_eq!(
        store.list_oauth_accounts(u.id).await.unwrap(),
        vec![a.clone(), b.clone()]
    );

    let refreshed = OAuthAccount {
        access_token: "at-new".to_owned(),
        expires_at: Some(i64::from(i32::MAX)),
        refresh_token: Some(long),
        account_email: "Arthur@avalon.bt".to_owned(),
        ..a.clone()
    };
    assert_eq!(
        store.update_oauth_account(refreshed.clone()).await.unwrap(),
        Some(refreshed.clone())
    );
    assert_eq!(
        store.get_oauth_account("github", "42").await.unwrap(),
        Some(refreshed.clone())
    );
    let cleared = OAuthAccount {
        expires_at: None,
        refresh_token: None,
        ..refreshed
    };
    store.update_oauth_account(cleared.clone()).await.unwrap();
    assert_eq!(
        store.get_oauth_account("github", "42").await.unwrap(),
        Some(cleared)
    );
    let ghost = account(u.id, "github", "ghost");
    assert_eq!(store.update_oauth_account(ghost).await.unwrap(), None);
    assert!(
        store
            .list_oauth_accounts(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
}

/// One provider account links to one user; unlinking and deleting the user remove accounts.
///
/// # Panics
/// When the store breaks the promise.
pub async fn oauth_accounts_unique_and_cascade(store: OAuthStore) {
    let a = store.create(user("lancelot@camelot.bt")).await.unwrap();
    let b = store.create(user("gawain@camelot.bt")).await.unwrap();
    let first = account(a.id, "github", "7");
    store.add_oauth_account(first.clone()).await.unwrap();
    let err = store
        .add_oauth_account(account(b.id, "github", "7"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    let err = store
        .add_oauth_account(account(a.id, "github", "7"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    // The same id at another provider, or another id at the same one, is another account.
    store
        .add_oauth_account(account(b.id, "gitlab", "7"))
        .await
        .unwrap();
    let other = account(b.id, "github", "8");
    store.add_oauth_account(other.clone()).await.unwrap();
    // No account for a user who does not exist.
    assert!(
        store
            .add_oauth_account(account(Uuid::new_v4(), "github", "9"))
            .await
            .is_err()
    );

    assert!(store.delete_oauth_account(other.id).await.unwrap());
    assert!(!store.delete_oauth_account(other.id).await.unwrap());
    assert_eq!(store.get_oauth_account("github", "8").await.unwrap(), None);

    assert!(store.delete(a.id).await.unwrap());
    assert_eq!(store.get_oauth_account("github", "7").await.unwrap(), None);
    assert!(store.list_oauth_accounts(a.id).await.unwrap().is_empty());
    assert_eq!(store.list_oauth_accounts(b.id).await.unwrap().len(), 1);
    // The provider account is free again.
    store
        .add_oauth_account(account(b.id, "github", "7"))
        .await
        .unwrap();
}

/// Concurrent links of one provider account: exactly one wins, the others conflict.
///
/// # Panics
/// When the store breaks the promise.
pub async fn oauth_concurrent_links_one_wins(store: OAuthStore) {
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(
            store
                .create(user(&format!("knight{i}@camelot.bt")))
                .await
                .unwrap(),
        );
    }
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let store = Arc::clone(&store);
            let a = account(u.id, "google", "people/1");
            tokio::spawn(async move { store.add_oauth_account(a).await })
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

/// A state is spent once, also under concurrency.
///
/// # Panics
/// When the store breaks the promise.
pub async fn oauth_states_spent_once(store: OAuthStore) {
    let later = SystemTime::now() + Duration::from_secs(3600);
    assert!(store.consume_oauth_state("state-a", later).await.unwrap());
    assert!(!store.consume_oauth_state("state-a", later).await.unwrap());
    assert!(store.consume_oauth_state("state-b", later).await.unwrap());
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.consume_oauth_state("state-c", later).await })
        })
        .collect();
    let mut first = 0;
    for t in tasks {
        if t.await.unwrap().unwrap() {
            first += 1;
        }
    }
    assert_eq!(first, 1);
}

/// Generates one `#[tokio::test]` per OAuth conformance check. The argument is an `async`
/// expression yielding a fresh store of users ([`Profile`]), linked accounts and spent states.
#[macro_export]
macro_rules! oauth_store_tests {
    ($make:expr) => {
        $crate::oauth_store_tests!(@each $make;
            oauth_accounts_round_trip, oauth_accounts_unique_and_cascade,
            oauth_concurrent_links_one_wins, oauth_states_spent_once);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: $crate::conformance::OAuthStore = ::std::sync::Arc::new($make.await);
                $crate::conformance::$name(store).await;
            }
        )*
    };
}
