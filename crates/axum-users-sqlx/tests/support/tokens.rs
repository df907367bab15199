//! Access-token checks every engine runs beyond the conformance suite: rows that FastAPI Users
//! wrote, expiry through `DatabaseStrategy`, and the cascade from `user`. Each engine gives an
//! `insert` that writes a row with plain SQL the way FastAPI Users (SQLAlchemy) writes it,
//! from the token, `created_at` as SQLAlchemy's UTC text (`YYYY-MM-DD HH:MM:SS.ffffff`) and
//! the user's id.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_users_core::conformance::Profile;
use axum_users_core::{
    AccessToken, AccessTokenStore, Argon2Hasher, Argon2Params, DatabaseStrategy, HashPool,
    HashPoolConfig, NoHooks, StoreError, Strategy, User, UserManager, UserStore, generate_token,
};
use sqlx::types::time::OffsetDateTime;
use uuid::Uuid;

/// 2026-01-02 03:04:05.123456 UTC, the time of the row FastAPI Users wrote.
pub(crate) fn fastapi_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(1_767_323_045_123_456)
}

/// `t` as SQLAlchemy writes a UTC `datetime` on SQLite and MySQL: `YYYY-MM-DD HH:MM:SS.ffffff`.
pub(crate) fn fastapi_text(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// A user to store.
pub(crate) fn knight(email: &str) -> User<Profile> {
    User {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        hashed_password: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        is_active: true,
        is_superuser: false,
        is_verified: false,
        extra: Profile {
            first_name: Some("Gareth".to_owned()),
            age: 25,
        },
    }
}

fn manager(store: Arc<dyn UserStore<Profile>>) -> UserManager<Profile> {
    let hasher = Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast()));
    let pool = HashPool::new(
        hasher,
        HashPoolConfig {
            workers: 1,
            ..HashPoolConfig::default()
        },
    );
    UserManager::new(store, pool, Arc::new(NoHooks))
}

/// A row FastAPI Users wrote is read back with its user and its creation time to the
/// microsecond, and `created_after` compares with that time (inclusive).
pub(crate) async fn reads_rows_fastapi_users_wrote<S, F, Fut>(store: Arc<S>, insert: F)
where
    S: UserStore<Profile> + AccessTokenStore,
    F: Fn(String, String, Uuid) -> Fut,
    Fut: Future<Output = ()>,
{
    let u = store.create(knight("gareth@camelot.bt")).await.unwrap();
    let token = generate_token();
    insert(token.clone(), fastapi_text(fastapi_time()), u.id).await;

    let row = store.get_token(&token, None).await.unwrap().unwrap();
    assert_eq!(
        row,
        AccessToken {
            token: token.clone(),
            user_id: u.id,
            created_at: fastapi_time(),
        }
    );
    let at = fastapi_time();
    assert!(store.get_token(&token, Some(at)).await.unwrap().is_some());
    let just_after = at + Duration::from_micros(1);
    assert!(
        store
            .get_token(&token, Some(just_after))
            .await
            .unwrap()
            .is_none()
    );
}

/// With a one-hour lifetime, a row FastAPI Users wrote two hours ago authenticates nobody and
/// is removed by `purge_expired`, while a token issued now works and stays.
pub(crate) async fn expired_rows_are_refused_and_purged<S, F, Fut>(store: Arc<S>, insert: F)
where
    S: UserStore<Profile> + AccessTokenStore,
    F: Fn(String, String, Uuid) -> Fut,
    Fut: Future<Output = ()>,
{
    let manager = manager(Arc::clone(&store) as Arc<dyn UserStore<Profile>>);
    let strategy = DatabaseStrategy::new(
        Arc::clone(&store) as Arc<dyn AccessTokenStore>,
        Some(Duration::from_secs(3600)),
    );
    let u = store.create(knight("gaheris@camelot.bt")).await.unwrap();
    let expired = generate_token();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    insert(expired.clone(), fastapi_text(two_hours_ago), u.id).await;
    let fresh = strategy.write_token(&u).await.unwrap();

    assert_eq!(strategy.read_token(&expired, &manager).await.unwrap(), None);
    assert_eq!(
        strategy.read_token(&fresh, &manager).await.unwrap(),
        Some(u.clone())
    );

    assert_eq!(strategy.purge_expired().await.unwrap(), 1);
    assert!(store.get_token(&expired, None).await.unwrap().is_none());
    assert_eq!(
        strategy.read_token(&fresh, &manager).await.unwrap(),
        Some(u)
    );
    assert_eq!(strategy.purge_expired().await.unwrap(), 0);
}

/// Deleting a user deletes their tokens, those FastAPI Users wrote included, and no other
/// user's.
pub(crate) async fn deleting_a_user_deletes_their_tokens<S, F, Fut>(store: Arc<S>, insert: F)
where
    S: UserStore<Profile> + AccessTokenStore,
    F: Fn(String, String, Uuid) -> Fut,
    Fut: Future<Output = ()>,
{
    let manager = manager(Arc::clone(&store) as Arc<dyn UserStore<Profile>>);
    let strategy = DatabaseStrategy::new(Arc::clone(&store) as Arc<dyn AccessTokenStore>, None);
    let agravain = store.create(knight("agravain@camelot.bt")).await.unwrap();
    let gawain = store.create(knight("gawain@camelot.bt")).await.unwrap();
    let written_by_fastapi = generate_token();
    insert(
        written_by_fastapi.clone(),
        fastapi_text(SystemTime::now()),
        agravain.id,
    )
    .await;
    let ours = strategy.write_token(&agravain).await.unwrap();
    let gawains = strategy.write_token(&gawain).await.unwrap();

    assert!(store.delete(agravain.id).await.unwrap());
    for token in [&written_by_fastapi, &ours] {
        assert!(store.get_token(token, None).await.unwrap().is_none());
        assert_eq!(strategy.read_token(token, &manager).await.unwrap(), None);
    }
    assert_eq!(store.delete_user_tokens(agravain.id).await.unwrap(), 0);
    assert_eq!(
        strategy.read_token(&gawains, &manager).await.unwrap(),
        Some(gawain)
    );
}

/// A token that is already stored is a conflict, and the stored row is left as it was.
pub(crate) async fn a_token_taken_is_a_conflict<S>(store: Arc<S>)
where
    S: UserStore<Profile> + AccessTokenStore,
{
    let a = store.create(knight("dinadan@camelot.bt")).await.unwrap();
    let b = store.create(knight("lamorak@camelot.bt")).await.unwrap();
    let first = AccessToken {
        token: generate_token(),
        user_id: a.id,
        created_at: fastapi_time(),
    };
    store.create_token(first.clone()).await.unwrap();
    let again = AccessToken {
        user_id: b.id,
        created_at: SystemTime::now(),
        ..first.clone()
    };
    let err = store.create_token(again).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict), "{err:?}");
    assert_eq!(
        store.get_token(&first.token, None).await.unwrap(),
        Some(first)
    );
}

/// A token for a user who does not exist is refused by the foreign key, not stored.
pub(crate) async fn tokens_need_an_existing_user<S>(store: Arc<S>)
where
    S: UserStore<Profile> + AccessTokenStore,
{
    let ghost = AccessToken {
        token: generate_token(),
        user_id: Uuid::new_v4(),
        created_at: SystemTime::now(),
    };
    assert!(store.create_token(ghost.clone()).await.is_err());
    assert!(store.get_token(&ghost.token, None).await.unwrap().is_none());
}
