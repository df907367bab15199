//! OAuth2 and OpenID Connect login, the parts without HTTP: what a provider does
//! ([`OAuthProvider`]), what it yields ([`OAuthIdentity`]), the linked accounts
//! ([`OAuthAccount`], [`OAuthAccountStore`], [`OAuthAccounts`]), their tokens sealed at rest
//! ([`TokenCipher`]), and the state that carries a login through the provider and back
//! ([`OAuthStateCodec`], [`FlowSecrets`], [`OAuthStateStore`]).
//!
//! Providers on the `oauth2` and `openidconnect` crates live in the `axum-users-oauth` crate
//! (which keeps an HTTP client out of this one); the routes in `axum-users`
//! (`oauth_router`, `oauth_associate_router`); the three outcomes of a callback in
//! [`UserManager::oauth_callback`](crate::UserManager::oauth_callback).
//!
//! # The flow
//!
//! 1. `GET /authorize`: a random CSRF token goes into an `HttpOnly` cookie; the state JWT
//!    (`aud: "fastapi-users:oauth-state"`) carries a digest of it ([`FlowSecrets::csrf_digest`])
//!    and a random id; the PKCE verifier and the OpenID nonce are derived from the cookie's
//!    token, so they never appear in a URL and need no server-side storage.
//! 2. The provider sends the browser back with `code` and `state`.
//! 3. `GET /callback`: the state's signature, audience and expiry, then the cookie's digest
//!    (constant-time), then the state's id is spent ([`OAuthStateStore`]: single use); only
//!    then is the code exchanged, with the PKCE verifier.

mod accounts;
mod cipher;
mod state;
mod store;

use std::fmt;

use async_trait::async_trait;

use crate::BoxError;

pub use self::accounts::{OAuthAccounts, OAuthCallbackOptions, OAuthLogin};
pub use self::cipher::{CipherError, SEALED_PREFIX, TokenCipher};
pub use self::state::{
    CSRF_COOKIE_NAME, FlowSecrets, OAuthStateClaims, OAuthStateCodec, OAuthStateError,
    STATE_LIFETIME_SECONDS,
};
pub use self::store::{MemoryStateStore, OAuthAccount, OAuthAccountStore, OAuthStateStore};

/// The longest `oauth_name` the `oauth_account` table holds (`VARCHAR(100)`).
pub const MAX_OAUTH_NAME_CHARS: usize = 100;
/// The longest `account_id` the `oauth_account` table holds (`VARCHAR(320)`).
pub const MAX_ACCOUNT_ID_CHARS: usize = 320;
/// The longest stored token the `oauth_account` table holds (`VARCHAR(1024)`), sealed or not.
pub const MAX_STORED_TOKEN_CHARS: usize = 1024;

/// What the authorization URL is built from.
#[derive(Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    /// Where the provider sends the browser back (the callback route's public URL).
    pub redirect_uri: &'a str,
    /// The state JWT.
    pub state: &'a str,
    /// Scopes the client asked for (the `scopes` query parameters); `None`: the provider's
    /// configured scopes.
    pub scopes: Option<&'a [String]>,
    /// The PKCE verifier; the provider sends its S256 challenge.
    pub pkce_verifier: &'a str,
    /// The OpenID Connect nonce (ignored by plain OAuth2 providers).
    pub nonce: &'a str,
}

impl fmt::Debug for AuthorizationRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// What a callback hands the provider to exchange the code.
#[derive(Clone, Copy)]
pub struct CallbackRequest<'a> {
    /// The authorization code.
    pub code: &'a str,
    /// The same redirect URI as in the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier of the authorization request.
    pub pkce_verifier: &'a str,
    /// The nonce the ID token must carry (OpenID Connect).
    pub nonce: &'a str,
}

impl fmt::Debug for CallbackRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackRequest")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// The provider's tokens (FastAPI Users' `OAuth2Token`), as obtained.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthToken {
    /// The access token.
    pub access_token: String,
    /// When it expires, in seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// The refresh token, when one was issued.
    pub refresh_token: Option<String>,
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Who the provider says the user is (httpx-oauth's `get_id_email`, plus the
/// `email_verified` claim when the provider has one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthIdentity {
    /// The account's id at the provider (`account_id` of the linked account).
    pub account_id: String,
    /// The account's email, as the provider gives it (validated by the manager).
    pub email: Option<String>,
    /// The provider's word on the email (`email_verified`); `None` when it says nothing.
    pub email_verified: Option<bool>,
    /// The tokens.
    pub token: OAuthToken,
}

/// Why a provider could not build a URL or identify a user.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// The provider could not be reached, or did not answer in time (→ 503).
    #[error("the OAuth provider is unreachable: {0}")]
    Unavailable(#[source] BoxError),
    /// The provider refused (a bad or used code, an error response) or answered something
    /// unusable (→ 500, as FastAPI Users does when the token exchange fails).
    #[error("the OAuth provider refused or answered badly: {0}")]
    Provider(String),
    /// The ID token is not valid: signature, issuer, audience or expiry (→ 500).
    #[error("invalid ID token: {0}")]
    InvalidIdToken(String),
    /// The ID token's nonce is not this flow's (→ 400 `OAUTH_INVALID_STATE`).
    #[error("the ID token's nonce does not match")]
    InvalidNonce,
    /// The provider or the application is misconfigured (→ 500).
    #[error("OAuth configuration error: {0}")]
    Config(String),
}

/// An OAuth2 or OpenID Connect provider: builds the authorization URL and turns a callback's
/// code into an [`OAuthIdentity`]. Implementations: `axum_users_oauth::{OAuth2Provider,
/// OidcProvider}`.
///
/// ```
/// use async_trait::async_trait;
/// use axum_users_core::oauth::{
///     AuthorizationRequest, CallbackRequest, OAuthError, OAuthIdentity, OAuthProvider, OAuthToken,
/// };
///
/// /// A provider that knows one user (never do this outside an example).
/// struct Everyone;
///
/// #[async_trait]
/// impl OAuthProvider for Everyone {
///     fn name(&self) -> &str {
///         "everyone"
///     }
///     async fn authorization_url(&self, r: &AuthorizationRequest<'_>) -> Result<String, OAuthError> {
///         Ok(format!("https://id.example.com/authorize?state={}", r.state))
///     }
///     async fn callback(&self, _: &CallbackRequest<'_>) -> Result<OAuthIdentity, OAuthError> {
///         Ok(OAuthIdentity {
///             account_id: "1".into(),
///             email: Some("arthur@camelot.bt".into()),
///             email_verified: None,
///             token: OAuthToken { access_token: "t".into(), expires_at: None, refresh_token: None },
///         })
///     }
/// }
/// ```
#[async_trait]
pub trait OAuthProvider: Send + Sync + 'static {
    /// The provider's name: the `{provider}` of the routes and the `oauth_name` of its
    /// accounts (`google`, `github`, …; at most 100 characters).
    fn name(&self) -> &str;

    /// The URL to send the browser to (with `state`, the S256 PKCE challenge and, for OpenID
    /// Connect, the nonce).
    ///
    /// # Errors
    /// [`OAuthError::Unavailable`] when the provider's metadata cannot be fetched, or a
    /// configuration error.
    async fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, OAuthError>;

    /// Exchanges the code (with the PKCE verifier) and identifies the account.
    ///
    /// # Errors
    /// See [`OAuthError`].
    async fn callback(&self, request: &CallbackRequest<'_>) -> Result<OAuthIdentity, OAuthError>;
}
