#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::*;
use crate::oauth::{OAuthAccountStore, OAuthToken, TokenCipher};
use crate::{
    Argon2Hasher, Argon2Params, BoxError, CreateMode, HashPool, MemoryStore, UserCreate, UserHooks,
};

#[derive(Default)]
struct Events(Mutex<Vec<String>>);

#[async_trait]
impl UserHooks<()> for Events {
    async fn on_after_register(&self, user: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("register {}", user.email));
        Ok(())
    }
    async fn on_after_update(
        &self,
        user: &User,
        _: &UserUpdate,
        _: &RequestContext,
    ) -> Result<(), BoxError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("update {}", user.email));
        Ok(())
    }
    async fn on_after_verify(&self, user: &User, _: &RequestContext) -> Result<(), BoxError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("verify {}", user.email));
        Ok(())
    }
}

struct Fixture {
    store: Arc<MemoryStore>,
    manager: UserManager,
    accounts: OAuthAccounts,
    events: Arc<Events>,
}

fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let pool = HashPool::new(
        Arc::new(Argon2Hasher::new(Argon2Params::insecure_fast())),
        crate::HashPoolConfig::default(),
    );
    let events = Arc::new(Events::default());
    let manager = UserManager::new(store.clone(), pool, events.clone());
    let accounts = OAuthAccounts::new(store.clone());
    Fixture {
        store,
        manager,
        accounts,
        events,
    }
}

fn identity(id: &str, email: Option<&str>, verified: Option<bool>) -> OAuthIdentity {
    OAuthIdentity {
        account_id: id.to_owned(),
        email: email.map(str::to_owned),
        email_verified: verified,
        token: OAuthToken {
            access_token: format!("at-{id}"),
            expires_at: Some(1_900_000_000),
            refresh_token: Some("rt".to_owned()),
        },
    }
}

async fn existing(f: &Fixture, email: &str) -> User {
    f.manager
        .create(
            UserCreate::new(email.to_owned(), "guinevere".to_owned()),
            CreateMode::Public,
            &RequestContext::default(),
        )
        .await
        .unwrap()
}

const DEFAULT: OAuthCallbackOptions = OAuthCallbackOptions {
    associate_by_email: false,
    is_verified_by_default: false,
    trust_email_verified: false,
};

#[tokio::test]
async fn new_account_creates_an_unverified_user_with_a_random_password() {
    let f = fixture();
    let ctx = RequestContext::default();
    let login = f
        .manager
        .oauth_callback(
            &f.accounts,
            "github",
            &identity("1", Some(" Arthur@Camelot.BT "), Some(true)),
            DEFAULT,
            &ctx,
        )
        .await
        .unwrap();
    assert!(login.created);
    let user = login.user;
    assert_eq!(user.email, "Arthur@camelot.bt");
    assert!(user.is_active && !user.is_verified && !user.is_superuser);
    assert!(user.hashed_password.starts_with("$argon2id$"));
    let linked = f.store.list_oauth_accounts(user.id).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].access_token, "at-1");
    assert_eq!(linked[0].account_email, "Arthur@camelot.bt");
    assert_eq!(
        *f.events.0.lock().unwrap(),
        vec!["register Arthur@camelot.bt"]
    );

    // Second login: the same user, tokens refreshed, nothing created.
    let mut again = identity("1", Some("arthur@avalon.bt"), None);
    again.token.access_token = "at-new".to_owned();
    let login = f
        .manager
        .oauth_callback(&f.accounts, "github", &again, DEFAULT, &ctx)
        .await
        .unwrap();
    assert!(!login.created);
    assert_eq!(login.user.id, user.id);
    let linked = f.store.list_oauth_accounts(user.id).await.unwrap();
    assert_eq!(linked[0].access_token, "at-new");
    assert_eq!(linked[0].account_email, "arthur@avalon.bt");
}

#[tokio::test]
async fn verified_by_default_or_by_a_trusted_claim() {
    let f = fixture();
    let ctx = RequestContext::default();
    let by_default = OAuthCallbackOptions {
        is_verified_by_default: true,
        ..DEFAULT
    };
    let u = f
        .manager
        .oauth_callback(
            &f.accounts,
            "x",
            &identity("1", Some("a@camelot.bt"), None),
            by_default,
            &ctx,
        )
        .await
        .unwrap();
    assert!(u.user.is_verified);
    let trusting = OAuthCallbackOptions {
        trust_email_verified: true,
        ..DEFAULT
    };
    let u = f
        .manager
        .oauth_callback(
            &f.accounts,
            "x",
            &identity("2", Some("b@camelot.bt"), Some(true)),
            trusting,
            &ctx,
        )
        .await
        .unwrap();
    assert!(u.user.is_verified);
    let u = f
        .manager
        .oauth_callback(
            &f.accounts,
            "x",
            &identity("3", Some("c@camelot.bt"), Some(false)),
            trusting,
            &ctx,
        )
        .await
        .unwrap();
    assert!(!u.user.is_verified);
}

#[tokio::test]
async fn existing_email_needs_associate_by_email() {
    let f = fixture();
    let ctx = RequestContext::default();
    let user = existing(&f, "percival@camelot.bt").await;
    let id = identity("9", Some("Percival@Camelot.bt"), Some(true));
    let err = f
        .manager
        .oauth_callback(&f.accounts, "google", &id, DEFAULT, &ctx)
        .await
        .unwrap_err();
    assert!(matches!(err, ManagerError::UserAlreadyExists), "{err:?}");
    assert!(
        f.store
            .list_oauth_accounts(user.id)
            .await
            .unwrap()
            .is_empty()
    );

    let associate = OAuthCallbackOptions {
        associate_by_email: true,
        trust_email_verified: true,
        ..DEFAULT
    };
    // An email the provider says is unverified is not linked by email.
    let unverified = identity("9", Some("percival@camelot.bt"), Some(false));
    assert!(matches!(
        f.manager
            .oauth_callback(&f.accounts, "google", &unverified, associate, &ctx)
            .await,
        Err(ManagerError::UserAlreadyExists)
    ));
    let login = f
        .manager
        .oauth_callback(&f.accounts, "google", &id, associate, &ctx)
        .await
        .unwrap();
    assert!(!login.created);
    assert_eq!(login.user.id, user.id);
    // The trusted claim verified the user whose email it is.
    assert!(login.user.is_verified);
    assert_eq!(f.store.list_oauth_accounts(user.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn no_email_or_an_invalid_one_is_not_available() {
    let f = fixture();
    let ctx = RequestContext::default();
    for email in [None, Some("not an email"), Some("merlin@localhost")] {
        let err = f
            .manager
            .oauth_callback(&f.accounts, "x", &identity("1", email, None), DEFAULT, &ctx)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ManagerError::OAuthNotAvailableEmail),
            "{email:?}"
        );
    }
    let too_long = identity(&"1".repeat(321), Some("a@camelot.bt"), None);
    assert!(matches!(
        f.manager
            .oauth_callback(&f.accounts, "x", &too_long, DEFAULT, &ctx)
            .await,
        Err(ManagerError::OAuthProvider(_))
    ));
}

#[tokio::test]
async fn associate_links_refreshes_and_refuses_another_users_account() {
    let f = fixture();
    let ctx = RequestContext::default();
    let a = existing(&f, "tristan@camelot.bt").await;
    let b = existing(&f, "iseult@camelot.bt").await;
    let id = identity("5", Some("tristan@lyonesse.bt"), None);
    let linked = f
        .manager
        .oauth_associate_callback(&f.accounts, &a, "github", &id, DEFAULT, &ctx)
        .await
        .unwrap();
    assert_eq!(linked.id, a.id);
    // Again: refreshed, not duplicated.
    f.manager
        .oauth_associate_callback(&f.accounts, &a, "github", &id, DEFAULT, &ctx)
        .await
        .unwrap();
    assert_eq!(f.store.list_oauth_accounts(a.id).await.unwrap().len(), 1);
    let err = f
        .manager
        .oauth_associate_callback(&f.accounts, &b, "github", &id, DEFAULT, &ctx)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ManagerError::OAuthAccountAlreadyLinked),
        "{err:?}"
    );
    assert!(f.store.list_oauth_accounts(b.id).await.unwrap().is_empty());
    let events = f.events.0.lock().unwrap().clone();
    assert_eq!(
        events[2..],
        ["update tristan@camelot.bt", "update tristan@camelot.bt"]
    );
}

#[tokio::test]
async fn tokens_are_sealed_at_rest_and_opened_by_list() {
    let f = fixture();
    let ctx = RequestContext::default();
    let accounts = f
        .accounts
        .clone()
        .encrypt_tokens(TokenCipher::new(b"0123456789abcdef0123456789abcdef").unwrap());
    let login = f
        .manager
        .oauth_callback(
            &accounts,
            "github",
            &identity("1", Some("a@camelot.bt"), None),
            DEFAULT,
            &ctx,
        )
        .await
        .unwrap();
    let raw = f.store.list_oauth_accounts(login.user.id).await.unwrap();
    assert!(raw[0].access_token.starts_with("enc:v1:"));
    assert!(
        raw[0]
            .refresh_token
            .as_deref()
            .unwrap()
            .starts_with("enc:v1:")
    );
    let opened = accounts.list(login.user.id).await.unwrap();
    assert_eq!(opened[0].access_token, "at-1");
    assert_eq!(opened[0].refresh_token.as_deref(), Some("rt"));
    // Without the key, sealed tokens do not open.
    assert!(f.accounts.list(login.user.id).await.is_err());

    // A token longer than the column is dropped, the login goes on.
    let mut huge = identity("2", Some("b@camelot.bt"), None);
    huge.token.access_token = "x".repeat(2000);
    let login = f
        .manager
        .oauth_callback(&accounts, "github", &huge, DEFAULT, &ctx)
        .await
        .unwrap();
    let raw = f.store.list_oauth_accounts(login.user.id).await.unwrap();
    assert_eq!(raw[0].access_token, "");
}
