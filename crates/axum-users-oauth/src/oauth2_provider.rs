//! [`OAuth2Provider`]: the authorization code flow with PKCE, then a profile call.

use std::borrow::Cow;
use std::fmt;

use async_trait::async_trait;
use axum_users_core::oauth::{
    AuthorizationRequest, CallbackRequest, OAuthError, OAuthIdentity, OAuthProvider, OAuthToken,
};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
    TokenUrl,
};

use crate::http::{
    ClientCredentials, HttpSettings, ProviderError, check_name, expires_at, parse_url, token_error,
};
use crate::profile::ProfileSource;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAuth {
    /// HTTP Basic (`client_secret_basic`, the OAuth2 default).
    #[default]
    Basic,
    /// In the form body (`client_secret_post`: Google, GitLab).
    Post,
}

/// The configuration of an [`OAuth2Provider`]. The presets fill every field for a known
/// provider; every field stays public, so a preset can be pointed elsewhere (a self-hosted
/// GitLab, a test server).
///
/// ```
/// use axum_users_oauth::{ClientCredentials, OAuth2Config, ProfileSource};
///
/// let custom = OAuth2Config::new(
///     "acme",
///     ClientCredentials::new("id", Some("secret")),
///     "https://id.acme.example/authorize",
///     "https://id.acme.example/token",
///     ProfileSource::userinfo("https://id.acme.example/userinfo"),
/// )
/// .scopes(["openid", "email"]);
/// let provider = custom.build().unwrap();
/// # let _ = provider;
/// ```
#[derive(Debug, Clone)]
pub struct OAuth2Config {
    /// The provider's name: the routes' `{provider}` and the accounts' `oauth_name`.
    pub name: String,
    /// Client id and secret.
    pub credentials: ClientCredentials,
    /// The authorization endpoint.
    pub authorize_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// How the client authenticates at the token endpoint.
    pub token_auth: TokenAuth,
    /// Scopes asked for when the client names none.
    pub scopes: Vec<String>,
    /// Extra query parameters of the authorization URL.
    pub extra_authorize_params: Vec<(String, String)>,
    /// Where the user's id and email come from.
    pub profile: ProfileSource,
    /// The HTTP client's behaviour.
    pub http: HttpSettings,
}

impl OAuth2Config {
    /// A generic OAuth2 provider.
    #[must_use]
    pub fn new(
        name: impl Into<String>,
        credentials: ClientCredentials,
        authorize_url: impl Into<String>,
        token_url: impl Into<String>,
        profile: ProfileSource,
    ) -> Self {
        Self {
            name: name.into(),
            credentials,
            authorize_url: authorize_url.into(),
            token_url: token_url.into(),
            token_auth: TokenAuth::Basic,
            scopes: Vec::new(),
            extra_authorize_params: Vec::new(),
            profile,
            http: HttpSettings::default(),
        }
    }

    /// GitHub (`github`): scopes `read:user`, `user:email`; the account's primary address,
    /// only if GitHub has verified it.
    #[must_use]
    pub fn github(credentials: ClientCredentials) -> Self {
        Self::new(
            "github",
            credentials,
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            ProfileSource::GitHub {
                api_url: "https://api.github.com".to_owned(),
            },
        )
        .scopes(["read:user", "user:email"])
    }

    /// Microsoft Entra ID (`microsoft`) for `tenant` (`common`, `organizations`,
    /// `consumers` or a tenant id), through Microsoft Graph's `/me` (scope `User.Read`).
    /// Microsoft does not vouch for `mail`: keep `associate_by_email` and
    /// `trust_email_verified` off for it.
    #[must_use]
    pub fn microsoft(credentials: ClientCredentials, tenant: &str) -> Self {
        let mut c = Self::new(
            "microsoft",
            credentials,
            format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
            format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
            ProfileSource::MicrosoftGraph {
                me_url: "https://graph.microsoft.com/v1.0/me".to_owned(),
            },
        )
        .scopes(["User.Read"]);
        c.extra_authorize_params
            .push(("response_mode".to_owned(), "query".to_owned()));
        c
    }

    /// GitLab (`gitlab`) at `base_url` (`https://gitlab.com` or a self-hosted instance):
    /// scope `read_user`, `client_secret_post`.
    #[must_use]
    pub fn gitlab(credentials: ClientCredentials, base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        let mut c = Self::new(
            "gitlab",
            credentials,
            format!("{base}/oauth/authorize"),
            format!("{base}/oauth/token"),
            ProfileSource::GitLab {
                user_url: format!("{base}/api/v4/user"),
            },
        )
        .scopes(["read_user"]);
        c.token_auth = TokenAuth::Post;
        c
    }

    /// The same configuration under another name (two GitLab instances, say).
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

    /// The provider.
    ///
    /// # Errors
    /// A URL that does not parse, a bad name, or an HTTP client that cannot be built.
    pub fn build(self) -> Result<OAuth2Provider, ProviderError> {
        check_name(&self.name)?;
        let auth = AuthUrl::from_url(parse_url("authorization", &self.authorize_url)?);
        let token = TokenUrl::from_url(parse_url("token", &self.token_url)?);
        for (what, url) in self.profile.urls() {
            parse_url(what, &url)?;
        }
        let mut client = BasicClient::new(ClientId::new(self.credentials.client_id.clone()))
            .set_auth_uri(auth)
            .set_token_uri(token)
            .set_auth_type(match self.token_auth {
                TokenAuth::Basic => AuthType::BasicAuth,
                TokenAuth::Post => AuthType::RequestBody,
            });
        if let Some(secret) = &self.credentials.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        let http = self.http.client()?;
        Ok(OAuth2Provider {
            client,
            http,
            config: self,
        })
    }
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// A plain OAuth2 provider: authorization code with PKCE (S256), then
/// [`ProfileSource`] for the account. Build it from an [`OAuth2Config`].
pub struct OAuth2Provider {
    config: OAuth2Config,
    client: Client,
    http: reqwest::Client,
}

impl fmt::Debug for OAuth2Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Provider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn redirect_url(uri: &str) -> Result<RedirectUrl, OAuthError> {
    RedirectUrl::new(uri.to_owned())
        .map_err(|e| OAuthError::Config(format!("invalid redirect URL {uri:?}: {e}")))
}

pub(crate) fn pkce_challenge(verifier: &str) -> PkceCodeChallenge {
    PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(verifier.to_owned()))
}

#[async_trait]
impl OAuthProvider for OAuth2Provider {
    fn name(&self) -> &str {
        &self.config.name
    }

    async fn authorization_url(
        &self,
        request: &AuthorizationRequest<'_>,
    ) -> Result<String, OAuthError> {
        let state = request.state.to_owned();
        let mut auth = self
            .client
            .authorize_url(move || CsrfToken::new(state))
            .set_redirect_uri(Cow::Owned(redirect_url(request.redirect_uri)?))
            .set_pkce_challenge(pkce_challenge(request.pkce_verifier));
        let scopes = request.scopes.unwrap_or(&self.config.scopes);
        auth = auth.add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
        for (name, value) in &self.config.extra_authorize_params {
            auth = auth.add_extra_param(name.as_str(), value.as_str());
        }
        Ok(auth.url().0.into())
    }

    async fn callback(&self, request: &CallbackRequest<'_>) -> Result<OAuthIdentity, OAuthError> {
        let redirect = redirect_url(request.redirect_uri)?;
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(request.code.to_owned()))
            .set_redirect_uri(Cow::Borrowed(&redirect))
            .set_pkce_verifier(PkceCodeVerifier::new(request.pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let access_token = token.access_token().secret().clone();
        let profile = self
            .config
            .profile
            .fetch(&self.http, &access_token, self.config.http.max_body_bytes)
            .await?;
        Ok(OAuthIdentity {
            account_id: profile.account_id,
            email: profile.email,
            email_verified: profile.email_verified,
            token: OAuthToken {
                access_token,
                expires_at: expires_at(token.expires_in()),
                refresh_token: token.refresh_token().map(|t| t.secret().clone()),
            },
        })
    }
}
