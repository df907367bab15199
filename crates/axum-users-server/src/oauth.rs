//! OAuth2 and OpenID Connect login (FastAPI Users' `get_oauth_router` and
//! `get_oauth_associate_router`): the `[oauth.<name>]` tables of `axum-users.toml`, the
//! providers built from them, and their routes, `/auth/<name>/{authorize,callback}` (login
//! through one of the server's backends) and `/auth/associate/<name>/{authorize,callback}`
//! (linking a provider account to the logged-in user).
//!
//! ```toml
//! [oauth.google]
//! preset = "google"                 # google, github, microsoft, gitlab
//! client_id = "1234.apps.googleusercontent.com"
//! # client_secret: here, or AXUM_USERS_OAUTH_GOOGLE_CLIENT_SECRET
//!
//! [oauth.acme]                      # any OpenID Connect provider
//! discovery_url = "https://id.acme.example/.well-known/openid-configuration"
//! client_id = "axum-users"
//!
//! [oauth.partner]                   # any OAuth2 server
//! authorize_url = "https://partner.example/oauth/authorize"
//! token_url = "https://partner.example/oauth/token"
//! userinfo_url = "https://partner.example/api/me"
//! client_id = "axum-users"
//! ```
//!
//! The name is the routes' `{provider}` and the accounts' `oauth_name`, so several names may
//! use one preset (two GitLab instances, say). States are signed with
//! `AXUM_USERS_OAUTH_STATE_SECRET` and spent in the database (single use across instances);
//! provider tokens are sealed at rest (AES-256-GCM) under `AXUM_USERS_OAUTH_TOKEN_SECRET`;
//! both default to keys derived from the main secret.
//!
//! OpenID Connect discovery is lazy, as in the library: the server starts while a provider is
//! away, and that provider's routes answer 503 with `Retry-After` until it is back. At start a
//! background check fetches each provider's metadata once, logging a warning that names the
//! provider and its discovery URL when that fails (and warming the cache when it works).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum_users::{
    AuthBackend, CsrfCookie, OAuthAssociateOptions, OAuthRouterConfig, UsersState,
    oauth_associate_router, oauth_router,
};
use axum_users_core::oauth::{
    AuthorizationRequest, FlowSecrets, OAuthAccounts, OAuthCallbackOptions, OAuthProvider,
    TokenCipher,
};
use axum_users_oauth::{ClientCredentials, OAuth2Config, OidcConfig, ProfileSource, TokenAuth};
use axum_users_sqlx::AnyUserStore;
use serde::Deserialize;

use crate::app::Extra;
use crate::config::{BackendKind, Config, ConfigError, Profile};
use crate::error::ServerError;

/// A client secret: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(pub String);

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// One `[oauth.<name>]` table: where the provider is (exactly one of `preset`,
/// `discovery_url`, or the three endpoint URLs), the client, and how callbacks behave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSettings {
    /// A known provider: `google` (OpenID Connect), `github`, `microsoft`, `gitlab`.
    pub preset: Option<String>,
    /// `preset = "microsoft"`: the tenant (`common`, the default; `organizations`,
    /// `consumers`, or a tenant id).
    pub tenant: Option<String>,
    /// `preset = "gitlab"`: the instance (default `https://gitlab.com`).
    pub base_url: Option<String>,
    /// Any OpenID Connect provider: its discovery URL (`…/.well-known/openid-configuration`)
    /// or its issuer URL.
    pub discovery_url: Option<String>,
    /// Any OAuth2 server: the authorization endpoint.
    pub authorize_url: Option<String>,
    /// Any OAuth2 server: the token endpoint.
    pub token_url: Option<String>,
    /// Any OAuth2 server: the endpoint answering the user's JSON profile (`sub` or `id`,
    /// `email`, `email_verified`) for the access token.
    pub userinfo_url: Option<String>,
    /// Any OAuth2 server: how the client authenticates at the token endpoint,
    /// `client_secret_basic` (default) or `client_secret_post`.
    pub token_auth: Option<String>,
    /// The client id the provider issued (`AXUM_USERS_OAUTH_<NAME>_CLIENT_ID` overrides it).
    pub client_id: Option<String>,
    /// The client secret (`AXUM_USERS_OAUTH_<NAME>_CLIENT_SECRET` overrides it); none for a
    /// public client (PKCE alone).
    pub client_secret: Option<ClientSecret>,
    /// Scopes asked for when the client names none (default: the preset's; `openid email
    /// profile` for OpenID Connect; none for a plain OAuth2 server).
    pub scopes: Option<Vec<String>>,
    /// Link an unlinked provider account to the user who has its email (default false:
    /// 400 `OAUTH_USER_ALREADY_EXISTS`). Only for providers that verify emails.
    pub associate_by_email: bool,
    /// Users created by this provider are verified (default false).
    pub is_verified_by_default: bool,
    /// The provider's `email_verified: true` verifies the user (default false: the claim is
    /// ignored, and `is_verified` comes from `is_verified_by_default` for new users only).
    pub trust_email_verified: bool,
    /// The backend the login callback answers with (default: the first of
    /// `AXUM_USERS_BACKENDS`).
    pub backend: Option<String>,
    /// The login callback's public URL, registered at the provider (default
    /// `{public_url}/auth/<name>/callback`).
    pub redirect_url: Option<String>,
    /// The associate callback's public URL (default
    /// `{public_url}/auth/associate/<name>/callback`).
    pub associate_redirect_url: Option<String>,
    /// After a successful login, `303` to this frontend URL instead of the backend's login
    /// answer (use it with the cookie backend: the cookie stays, a bearer token would be lost).
    pub frontend_redirect: Option<String>,
    /// After a successful association, `303` to this frontend URL instead of the user.
    pub associate_frontend_redirect: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Preset {
    Google,
    GitHub,
    Microsoft,
    GitLab,
}

/// Where a provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source<'a> {
    Preset(Preset),
    Discovery(&'a str),
    Endpoints {
        authorize: &'a str,
        token: &'a str,
        userinfo: &'a str,
    },
}

/// Names that would collide with the server's own routes under `/auth`.
const RESERVED: &[&str] = &[
    "associate",
    "jwt",
    "cookie",
    "database",
    "redis",
    "register",
    "verify",
    "request-verify-token",
    "forgot-password",
    "reset-password",
];

/// `oauth.<name>.<key>` (or `oauth.<name>`), the setting an error names. Leaked: it is made
/// only for an error that stops the server.
fn setting(name: &str, key: &str) -> &'static str {
    let s = if key.is_empty() {
        format!("oauth.{name}")
    } else {
        format!("oauth.{name}.{key}")
    };
    Box::leak(s.into_boxed_str())
}

/// The prefix of a provider's environment variables: `AXUM_USERS_OAUTH_<NAME>` (upper case,
/// `-` as `_`).
#[must_use]
pub fn env_prefix(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("AXUM_USERS_OAUTH_{name}")
}

/// Applies `AXUM_USERS_OAUTH_<NAME>_CLIENT_ID` and `_CLIENT_SECRET` to the providers the
/// file declares.
pub(crate) fn overlay_env(
    providers: &mut BTreeMap<String, ProviderSettings>,
    get: &dyn Fn(&str) -> Option<String>,
) {
    for (name, p) in providers.iter_mut() {
        let prefix = env_prefix(name);
        if let Some(v) = get(&format!("{prefix}_CLIENT_ID")) {
            p.client_id = Some(v).filter(|s| !s.trim().is_empty());
        }
        if let Some(v) = get(&format!("{prefix}_CLIENT_SECRET")) {
            p.client_secret = Some(v).filter(|s| !s.is_empty()).map(ClientSecret);
        }
    }
}

fn check_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= axum_users_core::oauth::MAX_OAUTH_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(ConfigError::new(
            setting(name, ""),
            "a provider name has 1 to 100 letters, digits, '-' or '_'",
        ));
    }
    if RESERVED.contains(&name) {
        return Err(ConfigError::new(
            setting(name, ""),
            format!("{name:?} is taken by the server's own routes under /auth"),
        ));
    }
    Ok(())
}

fn check_url(name: &str, key: &str, value: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        Ok(_) => Err(ConfigError::new(
            setting(name, key),
            format!("{value:?} is not an http(s) URL"),
        )),
        Err(e) => Err(ConfigError::new(
            setting(name, key),
            format!("{value:?} is not a URL ({e})"),
        )),
    }
}

fn source<'a>(name: &str, p: &'a ProviderSettings) -> Result<Source<'a>, ConfigError> {
    let endpoints = [
        ("authorize_url", p.authorize_url.as_deref()),
        ("token_url", p.token_url.as_deref()),
        ("userinfo_url", p.userinfo_url.as_deref()),
    ];
    let has_endpoints = endpoints.iter().any(|(_, v)| v.is_some());
    let given = usize::from(p.preset.is_some())
        + usize::from(p.discovery_url.is_some())
        + usize::from(has_endpoints);
    if given != 1 {
        let what = if given == 0 {
            "none is set"
        } else {
            "several are set"
        };
        return Err(ConfigError::new(
            setting(name, ""),
            format!(
                "set exactly one of preset (google, github, microsoft, gitlab), discovery_url \
                 (OpenID Connect), or authorize_url + token_url + userinfo_url (OAuth2); {what}"
            ),
        ));
    }
    if let Some(preset) = &p.preset {
        let preset = match preset.trim().to_ascii_lowercase().as_str() {
            "google" => Preset::Google,
            "github" => Preset::GitHub,
            "microsoft" => Preset::Microsoft,
            "gitlab" => Preset::GitLab,
            _ => {
                return Err(ConfigError::new(
                    setting(name, "preset"),
                    format!(
                        "{preset:?} is not a preset (google, github, microsoft, gitlab; or use \
                         discovery_url or authorize_url + token_url + userinfo_url)"
                    ),
                ));
            }
        };
        return Ok(Source::Preset(preset));
    }
    if let Some(url) = &p.discovery_url {
        check_url(name, "discovery_url", url)?;
        return Ok(Source::Discovery(url));
    }
    for (key, value) in endpoints {
        match value {
            Some(url) => check_url(name, key, url)?,
            None => {
                return Err(ConfigError::new(
                    setting(name, key),
                    "missing (an OAuth2 provider needs authorize_url, token_url and userinfo_url)",
                ));
            }
        }
    }
    Ok(Source::Endpoints {
        authorize: p.authorize_url.as_deref().unwrap_or_default(),
        token: p.token_url.as_deref().unwrap_or_default(),
        userinfo: p.userinfo_url.as_deref().unwrap_or_default(),
    })
}

fn token_auth(name: &str, p: &ProviderSettings) -> Result<TokenAuth, ConfigError> {
    match p.token_auth.as_deref().map(str::trim) {
        None | Some("client_secret_basic") => Ok(TokenAuth::Basic),
        Some("client_secret_post") => Ok(TokenAuth::Post),
        Some(other) => Err(ConfigError::new(
            setting(name, "token_auth"),
            format!("{other:?} is not supported (client_secret_basic or client_secret_post)"),
        )),
    }
}

fn client_id<'a>(name: &str, p: &'a ProviderSettings) -> Result<&'a str, ConfigError> {
    p.client_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                setting(name, "client_id"),
                format!(
                    "missing: the client id the provider issued (or {}_CLIENT_ID)",
                    env_prefix(name)
                ),
            )
        })
}

/// The backend a provider's login callback answers with: its `backend`, else the first of
/// `AXUM_USERS_BACKENDS`.
///
/// # Errors
/// An unknown backend, or one the server does not mount.
pub fn backend_kind(
    config: &Config,
    name: &str,
    p: &ProviderSettings,
) -> Result<BackendKind, ConfigError> {
    let Some(b) = &p.backend else {
        return config.backends.first().copied().ok_or_else(|| {
            ConfigError::new(
                "AXUM_USERS_BACKENDS",
                "at least one backend is needed (jwt, cookie, database, redis)",
            )
        });
    };
    let kind: BackendKind = b
        .parse()
        .map_err(|e: String| ConfigError::new(setting(name, "backend"), e))?;
    if !config.backends.contains(&kind) {
        return Err(ConfigError::new(
            setting(name, "backend"),
            format!("{} is not among AXUM_USERS_BACKENDS", kind.name()),
        ));
    }
    Ok(kind)
}

/// Checks the OAuth settings: the secrets' lengths, and every `[oauth.<name>]`.
///
/// # Errors
/// A [`ConfigError`] naming the setting (`oauth.<name>.<key>` for a provider's).
pub(crate) fn validate(config: &Config) -> Result<(), ConfigError> {
    if let Some(s) = &config.oauth_state_secret {
        crate::secret::check_len("AXUM_USERS_OAUTH_STATE_SECRET", s)?;
    }
    if let Some(s) = &config.oauth_token_secret {
        crate::secret::check_len("AXUM_USERS_OAUTH_TOKEN_SECRET", s)?;
    }
    for s in &config.oauth_previous_token_secrets {
        crate::secret::check_len("AXUM_USERS_OAUTH_PREVIOUS_TOKEN_SECRETS", s)?;
    }
    if config.oauth.is_empty() {
        return Ok(());
    }
    if config.profile != Profile::V15 {
        return Err(ConfigError::new(
            "AXUM_USERS_PROFILE",
            "OAuth login ([oauth.<name>]) needs the v15 profile",
        ));
    }
    for (name, p) in &config.oauth {
        check_provider(config, name, p)?;
    }
    Ok(())
}

fn check_provider(config: &Config, name: &str, p: &ProviderSettings) -> Result<(), ConfigError> {
    check_name(name)?;
    let source = source(name, p)?;
    if p.tenant.is_some() && source != Source::Preset(Preset::Microsoft) {
        return Err(ConfigError::new(
            setting(name, "tenant"),
            "applies to preset = \"microsoft\" only",
        ));
    }
    if let Some(base) = &p.base_url {
        if source != Source::Preset(Preset::GitLab) {
            return Err(ConfigError::new(
                setting(name, "base_url"),
                "applies to preset = \"gitlab\" only",
            ));
        }
        check_url(name, "base_url", base)?;
    }
    if p.token_auth.is_some() && !matches!(source, Source::Endpoints { .. }) {
        return Err(ConfigError::new(
            setting(name, "token_auth"),
            "applies to providers given by authorize_url, token_url and userinfo_url only",
        ));
    }
    token_auth(name, p)?;
    client_id(name, p)?;
    if source == Source::Preset(Preset::Microsoft) && p.associate_by_email {
        // Microsoft does not vouch for `mail`: anyone could claim a user's address in a
        // tenant of their own and be linked to that user.
        return Err(ConfigError::new(
            setting(name, "associate_by_email"),
            "Microsoft does not verify email addresses; linking by email would let anyone take \
             over an account",
        ));
    }
    if let Some(scopes) = &p.scopes
        && let Some(bad) = scopes
            .iter()
            .find(|s| s.is_empty() || s.chars().any(char::is_whitespace))
    {
        return Err(ConfigError::new(
            setting(name, "scopes"),
            format!("{bad:?} is not a scope (one scope per list item)"),
        ));
    }
    let backend = backend_kind(config, name, p)?;
    if p.frontend_redirect.is_some() && backend != BackendKind::Cookie {
        return Err(ConfigError::new(
            setting(name, "frontend_redirect"),
            format!(
                "needs backend = \"cookie\" (the {} backend's token would be lost in the redirect)",
                backend.name()
            ),
        ));
    }
    for (key, value) in [
        ("redirect_url", &p.redirect_url),
        ("associate_redirect_url", &p.associate_redirect_url),
        ("frontend_redirect", &p.frontend_redirect),
        (
            "associate_frontend_redirect",
            &p.associate_frontend_redirect,
        ),
    ] {
        if let Some(url) = value {
            check_url(name, key, url)?;
        }
    }
    Ok(())
}

/// A built provider, and its discovery URL when it is OpenID Connect.
struct Built {
    provider: Arc<dyn OAuthProvider>,
    discovery: Option<String>,
}

fn build_provider(name: &str, p: &ProviderSettings) -> Result<Built, ConfigError> {
    let source = source(name, p)?;
    let credentials = ClientCredentials::new(
        client_id(name, p)?,
        p.client_secret.as_ref().map(|s| s.0.as_str()),
    );
    let scopes = p.scopes.clone();
    let oauth2 = |mut c: OAuth2Config| {
        c = c.name(name);
        if let Some(scopes) = scopes.clone() {
            c = c.scopes(scopes);
        }
        c.build().map(|provider| Built {
            provider: Arc::new(provider),
            discovery: None,
        })
    };
    let oidc = |mut c: OidcConfig| {
        c = c.name(name);
        if let Some(scopes) = scopes.clone() {
            c = c.scopes(scopes);
        }
        let discovery = Some(c.issuer_url.clone());
        c.build().map(|provider| Built {
            provider: Arc::new(provider),
            discovery,
        })
    };
    let built = match source {
        Source::Preset(Preset::Google) => oidc(OidcConfig::google(credentials)),
        Source::Discovery(url) => oidc(OidcConfig::new(name, credentials, url)),
        Source::Preset(Preset::GitHub) => oauth2(OAuth2Config::github(credentials)),
        Source::Preset(Preset::Microsoft) => oauth2(OAuth2Config::microsoft(
            credentials,
            p.tenant.as_deref().unwrap_or("common"),
        )),
        Source::Preset(Preset::GitLab) => oauth2(OAuth2Config::gitlab(
            credentials,
            p.base_url.as_deref().unwrap_or("https://gitlab.com"),
        )),
        Source::Endpoints {
            authorize,
            token,
            userinfo,
        } => {
            let mut config = OAuth2Config::new(
                name,
                credentials,
                authorize,
                token,
                ProfileSource::userinfo(userinfo),
            );
            config.token_auth = token_auth(name, p)?;
            oauth2(config)
        }
    };
    built.map_err(|e| ConfigError::new(setting(name, ""), e.to_string()))
}

/// The token cipher: `AXUM_USERS_OAUTH_TOKEN_SECRET` (else a key derived from the main
/// secret), and the retired secrets that still open (each also as a main secret whose
/// derived key sealed the tokens).
fn token_cipher(config: &Config, secret: &str) -> Result<TokenCipher, ConfigError> {
    let key = config.oauth_token_secret.as_ref().map_or_else(
        || crate::app::derive_secret(secret, "oauth-token"),
        |s| s.clone().into_bytes(),
    );
    let mut cipher = TokenCipher::new(&key)
        .map_err(|e| ConfigError::new("AXUM_USERS_OAUTH_TOKEN_SECRET", e.to_string()))?;
    for old in &config.oauth_previous_token_secrets {
        cipher = cipher
            .with_previous_secret(old.as_bytes())
            .and_then(|c| c.with_previous_secret(&crate::app::derive_secret(old, "oauth-token")))
            .map_err(|e| {
                ConfigError::new("AXUM_USERS_OAUTH_PREVIOUS_TOKEN_SECRETS", e.to_string())
            })?;
    }
    Ok(cipher)
}

/// The routes of every `[oauth.<name>]`: login at `/auth/<name>` through the provider's
/// backend (one of `backends`), association at `/auth/associate/<name>`; accounts and spent
/// states in `store`. Starts the background discovery check of OpenID Connect providers.
///
/// # Errors
/// A provider or secret that cannot be built (a [`ConfigError`] naming the setting).
pub fn router(
    config: &Config,
    secret: &str,
    store: &Arc<AnyUserStore<Extra>>,
    backends: &[AuthBackend<Extra>],
) -> Result<Router<UsersState<Extra>>, ServerError> {
    let mut router = Router::new();
    if config.oauth.is_empty() {
        return Ok(router);
    }
    // The main secret by default (issue #7), as FastAPI Users apps commonly pass one secret:
    // the state's own audience keeps it from passing for an access token and back.
    let state_secret = config
        .oauth_state_secret
        .as_deref()
        .unwrap_or(secret)
        .as_bytes()
        .to_vec();
    let mut accounts = OAuthAccounts::new(store.clone());
    if config.oauth_encrypt_tokens {
        accounts = accounts.encrypt_tokens(token_cipher(config, secret)?);
    } else {
        tracing::warn!(
            "AXUM_USERS_OAUTH_ENCRYPT_TOKENS is off: provider tokens are stored in plaintext"
        );
    }
    let csrf_cookie = CsrfCookie::default().secure(config.cookie.secure);
    let public_url = config.public_url();
    for (name, p) in &config.oauth {
        let Built {
            provider,
            discovery,
        } = build_provider(name, p)?;
        let kind = backend_kind(config, name, p)?;
        let backend = backends
            .iter()
            .find(|b| b.name() == kind.name())
            .cloned()
            .ok_or_else(|| {
                ConfigError::new(
                    setting(name, "backend"),
                    format!("{} is not among AXUM_USERS_BACKENDS", kind.name()),
                )
            })?;
        let options = OAuthCallbackOptions {
            associate_by_email: p.associate_by_email,
            is_verified_by_default: p.is_verified_by_default,
            trust_email_verified: p.trust_email_verified,
        };
        let redirect = p
            .redirect_url
            .clone()
            .unwrap_or_else(|| format!("{public_url}/auth/{name}/callback"));
        let associate_redirect = p
            .associate_redirect_url
            .clone()
            .unwrap_or_else(|| format!("{public_url}/auth/associate/{name}/callback"));
        let routes = |redirect: &str, frontend: Option<String>| {
            OAuthRouterConfig::new(
                Arc::clone(&provider),
                accounts.clone(),
                &state_secret,
                redirect,
            )
            .map(|c| {
                c.options(options)
                    .state_store(store.clone())
                    .csrf_cookie(csrf_cookie.clone())
                    .frontend_redirect(frontend)
            })
            .map_err(|e| ConfigError::new("AXUM_USERS_OAUTH_STATE_SECRET", e.to_string()))
        };
        let login = routes(&redirect, p.frontend_redirect.clone())?;
        let associate = routes(&associate_redirect, p.associate_frontend_redirect.clone())?;
        tracing::info!(
            provider = %name,
            backend = kind.name(),
            redirect_url = %redirect,
            associate_redirect_url = %associate_redirect,
            "OAuth provider mounted (register these redirect URLs at the provider)"
        );
        router = router
            .nest(&format!("/auth/{name}"), oauth_router(backend, login))
            .nest(
                &format!("/auth/associate/{name}"),
                oauth_associate_router(
                    associate,
                    OAuthAssociateOptions {
                        requires_verification: config.requires_verification,
                    },
                ),
            );
        if let Some(url) = discovery {
            check_discovery(name.clone(), provider, url, redirect);
        }
    }
    Ok(router)
}

/// Fetches an OpenID Connect provider's metadata once, in the background: a warning naming
/// the provider and the URL when that fails, a warm cache when it works.
fn check_discovery(
    name: String,
    provider: Arc<dyn OAuthProvider>,
    discovery_url: String,
    redirect: String,
) {
    tokio::spawn(async move {
        let secrets = FlowSecrets::generate();
        let request = AuthorizationRequest {
            redirect_uri: &redirect,
            state: "discovery-check",
            scopes: None,
            pkce_verifier: &secrets.pkce_verifier(),
            nonce: &secrets.nonce(),
        };
        match provider.authorization_url(&request).await {
            Ok(_) => {
                tracing::info!(provider = %name, %discovery_url, "OpenID Connect discovery succeeded")
            }
            Err(error) => tracing::warn!(
                provider = %name,
                %discovery_url,
                %error,
                "OpenID Connect discovery failed: this provider's routes answer 503 until it succeeds"
            ),
        }
    });
}
