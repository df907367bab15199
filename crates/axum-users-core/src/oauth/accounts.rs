//! [`OAuthAccounts`]: the account store with the token cipher, and the options and outcome of
//! a callback.

use std::fmt;
use std::sync::Arc;

use uuid::Uuid;

use super::cipher::{CipherError, TokenCipher, is_sealed};
use super::store::{OAuthAccount, OAuthAccountStore};
use super::{MAX_STORED_TOKEN_CHARS, OAuthToken};
use crate::{ManagerError, StoreError, User};

/// How a login callback treats what the provider says (FastAPI Users' `get_oauth_router`
/// arguments, plus `trust_email_verified`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OAuthCallbackOptions {
    /// An unlinked provider account whose email belongs to a user is linked to that user
    /// (otherwise: 400 `OAUTH_USER_ALREADY_EXISTS`). Only for providers that verify emails:
    /// anyone who can make an account there with your address would get yours. An email the
    /// provider itself marks unverified (`email_verified: false`) is never linked so.
    pub associate_by_email: bool,
    /// Users created by OAuth are verified.
    pub is_verified_by_default: bool,
    /// The provider's `email_verified: true` verifies the user whose email it is: a new user
    /// is created verified, and an existing one with that email becomes verified.
    pub trust_email_verified: bool,
}

/// What a login callback did.
#[derive(Debug, Clone)]
pub struct OAuthLogin<X = ()> {
    /// The user to log in (active or not: the caller decides).
    pub user: User<X>,
    /// Whether the user was created by this callback.
    pub created: bool,
}

/// The linked accounts: an [`OAuthAccountStore`] and, optionally, the [`TokenCipher`] that
/// seals provider tokens before they are written. Cheap to clone.
///
/// ```
/// # #[cfg(feature = "memory")] {
/// use std::sync::Arc;
/// use axum_users_core::MemoryStore;
/// use axum_users_core::oauth::{OAuthAccounts, TokenCipher};
///
/// let store = Arc::new(MemoryStore::<()>::new());
/// let accounts = OAuthAccounts::new(store)
///     .encrypt_tokens(TokenCipher::new(b"a secret of at least sixteen bytes").unwrap());
/// # }
/// ```
pub struct OAuthAccounts<X = ()> {
    store: Arc<dyn OAuthAccountStore<X>>,
    cipher: Option<Arc<TokenCipher>>,
}

impl<X> Clone for OAuthAccounts<X> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            cipher: self.cipher.clone(),
        }
    }
}

impl<X> fmt::Debug for OAuthAccounts<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAccounts")
            .field("encrypted", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}

/// The associated data a token is sealed with: its row's identity and its column.
fn aad(oauth_name: &str, account_id: &str, column: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(oauth_name.len() + account_id.len() + column.len() + 2);
    aad.extend_from_slice(oauth_name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(account_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(column.as_bytes());
    aad
}

fn cipher_error(e: CipherError) -> ManagerError {
    ManagerError::Store(StoreError::Backend(Box::new(e)))
}

impl<X: Send + Sync + 'static> OAuthAccounts<X> {
    /// Accounts in `store`, tokens stored as they come (as FastAPI Users stores them).
    #[must_use]
    pub fn new(store: Arc<dyn OAuthAccountStore<X>>) -> Self {
        Self {
            store,
            cipher: None,
        }
    }

    /// The same accounts with tokens sealed by `cipher` before they are written (and opened
    /// by [`list`](Self::list)). Plaintext tokens already stored still read.
    #[must_use]
    pub fn encrypt_tokens(mut self, cipher: TokenCipher) -> Self {
        self.cipher = Some(Arc::new(cipher));
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn OAuthAccountStore<X>> {
        &self.store
    }

    /// The accounts linked to a user, tokens opened.
    ///
    /// # Errors
    /// A store failure, or a sealed token that does not open with the configured keys.
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<OAuthAccount>, ManagerError> {
        let accounts = self.store.list_oauth_accounts(user_id).await?;
        accounts.into_iter().map(|a| self.open(a)).collect()
    }

    /// Opens the tokens of a stored account.
    ///
    /// # Errors
    /// A sealed token and no cipher, or one that does not open.
    pub fn open(&self, mut account: OAuthAccount) -> Result<OAuthAccount, ManagerError> {
        let open = |value: &str, column: &str| -> Result<String, ManagerError> {
            match &self.cipher {
                Some(cipher) => cipher
                    .open(
                        value,
                        &aad(&account.oauth_name, &account.account_id, column),
                    )
                    .map_err(cipher_error),
                None if is_sealed(value) => Err(cipher_error(CipherError::NoKey)),
                None => Ok(value.to_owned()),
            }
        };
        let access_token = open(&account.access_token, "access_token")?;
        let refresh_token = match &account.refresh_token {
            Some(t) => Some(open(t, "refresh_token")?),
            None => None,
        };
        account.access_token = access_token;
        account.refresh_token = refresh_token;
        Ok(account)
    }

    /// A row for `token`, as stored: sealed when a cipher is configured. A token whose stored
    /// form is longer than the column (1024 characters) is not kept (an empty access token,
    /// no refresh token), with a warning: the login itself does not depend on it.
    pub(crate) fn row(
        &self,
        id: Uuid,
        user_id: Uuid,
        oauth_name: &str,
        account_id: &str,
        account_email: &str,
        token: &OAuthToken,
    ) -> Result<OAuthAccount, ManagerError> {
        let stored = |value: &str, column: &str| -> Result<Option<String>, ManagerError> {
            let value = match &self.cipher {
                Some(cipher) => cipher
                    .seal(value, &aad(oauth_name, account_id, column))
                    .map_err(cipher_error)?,
                None => value.to_owned(),
            };
            if value.chars().count() > MAX_STORED_TOKEN_CHARS {
                tracing::warn!(
                    oauth_name,
                    column,
                    "provider token longer than the oauth_account column; not stored"
                );
                return Ok(None);
            }
            Ok(Some(value))
        };
        Ok(OAuthAccount {
            id,
            user_id,
            oauth_name: oauth_name.to_owned(),
            access_token: stored(&token.access_token, "access_token")?.unwrap_or_default(),
            expires_at: token.expires_at,
            refresh_token: match &token.refresh_token {
                Some(t) => stored(t, "refresh_token")?,
                None => None,
            },
            account_id: account_id.to_owned(),
            account_email: account_email.to_owned(),
        })
    }
}
