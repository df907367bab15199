//! [`OidcProvider`]: OpenID Connect by discovery, with the ID token verified.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum_users_core::oauth::{
    AuthorizationRequest, CallbackRequest, OAuthError, OAuthIdentity, OAuthProvider, OAuthToken,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpClientError, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeVerifier, Scope, SignatureVerificationError,
    TokenResponse as _,
};
use tokio::sync::RwLock;

use crate::http::{
    ClientCredentials, HttpSettings, ProviderError, check_name, client_error, expires_at,
    parse_url, token_error,
};
use crate::oauth2_provider::{pkce_challenge, redirect_url};

/// The suffix a discovery URL ends with; an issuer URL is what comes before it.
const DISCOVERY_SUFFIX: &str = "/.well-known/openid-configuration";
/// The shortest time between two fetches of the metadata and keys (a token signed with an
/// unknown key refetches them, at most this often).
const MIN_REFRESH: Duration = Duration::from_secs(60);

/// The configuration of an [`OidcProvider`].
///
/// ```
/// use axum_users_oauth::{ClientCredentials, OidcConfig};
///
/// let okta = OidcConfig::new(
///     "okta",
///     ClientCredentials::new("id", Some("secret")),
///     "https://acme.okta.com/.well-known/openid-configuration",
/// );
/// let provider = okta.build().unwrap(); // discovery happens on first use
/// # let _ = provider;
/// ```
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's name: the routes' `{provider}` and the accounts' `oauth_name`.
    pub name: String,
    /// Client id and secret.
    pub credentials: ClientCredentials,
    /// The issuer URL, or its discovery URL (ending in `/.well-known/openid-configuration`).
    pub issuer_url: String,
    /// Scopes asked for when the client names none (`openid` is always added).
    pub scopes: Vec<String>,
    /// Put before the ID token's `sub` to make the account id (`people/` for Google, as
    /// httpx-oauth's People API ids).
    pub account_id_prefix: String,
    /// How long the discovered metadata and keys are kept before they are fetched again
    /// (default an hour).
    pub metadata_ttl: Duration,
    /// The HTTP client's behaviour.
    pub http: HttpSettings,
}

impl OidcConfig {
    /// A provider found by discovery at `issuer_url` (the issuer, or its discovery URL); scopes
    /// `openid email profile`.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        credentials: ClientCredentials,
        issuer_url: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            credentials,
            issuer_url: issuer_url.into(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            account_id_prefix: String::new(),
            metadata_ttl: Duration::from_secs(3600),
            http: HttpSettings::default(),
        }
    }

    /// Google (`google`), issuer `https://accounts.google.com`. The account id is
    /// `people/<sub>`, the People API resource name httpx-oauth's `GoogleOAuth2` stores (the
    /// People API id of the signed-in user is their Google account id, the ID token's `sub`),
    /// so accounts FastAPI Users linked keep matching.
    #[must_use]
    pub fn google(credentials: ClientCredentials) -> Self {
        let mut c = Self::new("google", credentials, "https://accounts.google.com");
        c.account_id_prefix = "people/".to_owned();
        c
    }

    /// The same configuration under another name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The default scopes.
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The provider. Discovery happens on first use (and again after
    /// [`metadata_ttl`](Self::metadata_ttl)), so building never waits on the network.
    ///
    /// # Errors
    /// An issuer URL that does not parse, a bad name, or an HTTP client that cannot be built.
    pub fn build(mut self) -> Result<OidcProvider, ProviderError> {
        check_name(&self.name)?;
        if let Some(issuer) = self.issuer_url.strip_suffix(DISCOVERY_SUFFIX) {
            self.issuer_url = issuer.to_owned();
        }
        parse_url("issuer", &self.issuer_url)?;
        // As written: discovery compares it with the metadata's `issuer` character for
        // character, and a parsed URL would gain a trailing slash.
        let issuer =
            IssuerUrl::new(self.issuer_url.clone()).map_err(|source| ProviderError::Url {
                what: "issuer",
                url: self.issuer_url.clone(),
                source,
            })?;
        let http = self.http.client()?;
        Ok(OidcProvider {
            issuer,
            http,
            discovered: RwLock::new(None),
            config: self,
        })
    }
}

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    client: Client,
    at: Instant,
}

/// An OpenID Connect provider: discovery (metadata and signing keys, cached), authorization
/// code with PKCE (S256) and a nonce, then the ID token verified (signature by the provider's
/// keys, issuer, audience, expiry, nonce). The email comes from the ID token, else from the
/// userinfo endpoint. Build it from an [`OidcConfig`].
pub struct OidcProvider {
    config: OidcConfig,
    issuer: IssuerUrl,
    http: reqwest::Client,
    discovered: RwLock<Option<Arc<Discovered>>>,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn discovery_error(e: DiscoveryError<HttpClientError<reqwest::Error>>) -> OAuthError {
    let error = match e {
        DiscoveryError::Request(e) => return client_error(e),
        other => other.to_string(),
    };
    OAuthError::Unavailable(format!("OpenID Connect discovery failed: {error}").into())
}

/// What the ID token says.
struct Claims {
    subject: String,
    email: Option<String>,
    email_verified: Option<bool>,
}

impl Claims {
    fn of(claims: &CoreIdTokenClaims) -> Self {
        Self {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified(),
        }
    }
}

impl OidcProvider {
    /// The discovered client: cached, fetched again after the TTL, or (`stale_keys`) when a
    /// token names a key we do not have and the last fetch is over a minute old.
    async fn client(&self, stale_keys: bool) -> Result<Arc<Discovered>, OAuthError> {
        let usable = |d: &Arc<Discovered>| {
            let age = d.at.elapsed();
            age < self.config.metadata_ttl && !(stale_keys && age >= MIN_REFRESH)
        };
        if let Some(d) = self.discovered.read().await.as_ref().filter(|d| usable(d)) {
            return Ok(Arc::clone(d));
        }
        let mut slot = self.discovered.write().await;
        if let Some(d) = slot.as_ref().filter(|d| usable(d)) {
            return Ok(Arc::clone(d));
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(discovery_error)?;
        let secret = self.config.credentials.client_secret.clone();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.credentials.client_id.clone()),
            secret.map(ClientSecret::new),
        );
        let d = Arc::new(Discovered {
            client,
            at: Instant::now(),
        });
        *slot = Some(Arc::clone(&d));
        Ok(d)
    }

    async fn verify(
        &self,
        id_token: &openidconnect::core::CoreIdToken,
        nonce: &Nonce,
    ) -> Result<Claims, OAuthError> {
        let mut refreshed = false;
        loop {
            let d = self.client(refreshed).await?;
            match id_token.claims(&d.client.id_token_verifier(), nonce) {
                Ok(claims) => return Ok(Claims::of(claims)),
                Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )) if !refreshed => refreshed = true,
                Err(ClaimsVerificationError::InvalidNonce(_)) => {
                    return Err(OAuthError::InvalidNonce);
                }
                Err(e) => return Err(OAuthError::InvalidIdToken(e.to_string())),
            }
        }
    }
}

#[async_trait]
impl OAuthProvider for OidcProvider {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, OAuthError> {
        let d = self.client(false).await?;
        let state = request.state.to_owned();
        let nonce = request.nonce.to_owned();
        let mut auth = d
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_redirect_uri(Cow::Owned(redirect_url(request.redirect_uri)?))
            .set_pkce_challenge(pkce_challenge(request.pkce_verifier));
        let scopes = request.scopes.unwrap_or(&self.config.scopes);
        // `openid` is added by the client itself.
        auth = auth.add_scopes(
            scopes
                .iter()
                .filter(|s| *s != "openid")
                .map(|s| Scope::new(s.clone())),
        );
        Ok(auth.url().0.into())
    }

    async fn callback(&self, request: &CallbackRequest<'_>) -> Result<OAuthIdentity, OAuthError> {
        let d = self.client(false).await?;
        let redirect = redirect_url(request.redirect_uri)?;
        let token = d
            .client
            .exchange_code(AuthorizationCode::new(request.code.to_owned()))
            .map_err(|e| OAuthError::Config(e.to_string()))?
            .set_redirect_uri(Cow::Borrowed(&redirect))
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OAuthError::Provider("the token response has no ID token".to_owned()))?;
        let claims = self
            .verify(id_token, &Nonce::new(request.nonce.to_owned()))
            .await?;
        let (email, email_verified) = match claims.email {
            Some(email) => (Some(email), claims.email_verified),
            None => {
                self.userinfo(&d, token.access_token(), &claims.subject)
                    .await?
            }
        };
        Ok(OAuthIdentity {
            account_id: format!("{}{}", self.config.account_id_prefix, claims.subject),
            email,
            email_verified,
            token: OAuthToken {
                access_token: token.access_token().secret().clone(),
                expires_at: expires_at(token.expires_in()),
                refresh_token: token.refresh_token().map(|t| t.secret().clone()),
            },
        })
    }
}

impl OidcProvider {
    /// The email from the userinfo endpoint (whose `sub` must be the ID token's), when the ID
    /// token has none; nothing when the provider has no such endpoint.
    async fn userinfo(
        &self,
        d: &Discovered,
        access_token: &openidconnect::AccessToken,
        subject: &str,
    ) -> Result<(Option<String>, Option<bool>), OAuthError> {
        let Ok(request) = d.client.user_info(
            access_token.clone(),
            Some(openidconnect::SubjectIdentifier::new(subject.to_owned())),
        ) else {
            return Ok((None, None));
        };
        let info: CoreUserInfoClaims =
            request
                .request_async(&self.http)
                .await
                .map_err(|e| match e {
                    openidconnect::UserInfoError::Request(e) => client_error(e),
                    other => OAuthError::Provider(format!("userinfo: {other}")),
                })?;
        Ok((
            info.email().map(|e| e.as_str().to_owned()),
            info.email_verified(),
        ))
    }
}
