//! The HTTP side shared by every provider: credentials, the client, error mapping, bounded JSON
//! reads.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum_users_core::oauth::OAuthError;
use oauth2::{ErrorResponse, HttpClientError, RequestTokenError};
use serde_json::Value;

/// A client's id and secret at the provider. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id.
    pub client_id: String,
    /// The client secret; `None` for a public client (PKCE alone).
    pub client_secret: Option<String>,
}

impl ClientCredentials {
    /// Credentials from an id and an optional secret.
    #[must_use]
    pub fn new(client_id: impl Into<String>, client_secret: Option<&str>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.map(str::to_owned),
        }
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// How a provider's HTTP client behaves. It never follows redirects (a token or profile
/// endpoint that redirects is refused rather than followed to wherever it points).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Time to connect (default 5 s).
    pub connect_timeout: Duration,
    /// Time for a whole request, body included (default 10 s).
    pub timeout: Duration,
    /// The most bytes read of a profile or userinfo response (default 1 MiB).
    pub max_body_bytes: usize,
    /// The `User-Agent` header (GitHub's API requires one).
    pub user_agent: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 20,
            user_agent: concat!("axum-users/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl HttpSettings {
    /// The client: rustls with the webpki roots, no redirects, these timeouts.
    ///
    /// # Errors
    /// [`ProviderError::Client`] when the TLS backend cannot start.
    pub fn client(&self) -> Result<reqwest::Client, ProviderError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent.clone())
            .build()
            .map_err(ProviderError::Client)
    }
}

/// Why a provider could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// A URL of the configuration does not parse.
    #[error("invalid {what} URL {url:?}: {source}")]
    Url {
        /// Which URL.
        what: &'static str,
        /// The URL as given.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The provider name is empty or longer than 100 characters.
    #[error("the provider name must have 1 to 100 characters")]
    Name,
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Parses a URL of the configuration.
pub(crate) fn parse_url(what: &'static str, url: &str) -> Result<url::Url, ProviderError> {
    url::Url::parse(url).map_err(|source| ProviderError::Url {
        what,
        url: url.to_owned(),
        source,
    })
}

/// Checks a provider name against the `oauth_name` column.
pub(crate) fn check_name(name: &str) -> Result<(), ProviderError> {
    let n = name.chars().count();
    if n == 0 || n > axum_users_core::oauth::MAX_OAUTH_NAME_CHARS {
        return Err(ProviderError::Name);
    }
    Ok(())
}

/// A transport failure is the provider being away (503); anything else is the provider
/// refusing or answering badly.
pub(crate) fn reqwest_error(e: reqwest::Error) -> OAuthError {
    if e.is_connect() || e.is_timeout() {
        OAuthError::Unavailable(Box::new(e))
    } else {
        OAuthError::Provider(e.to_string())
    }
}

pub(crate) fn client_error(e: HttpClientError<reqwest::Error>) -> OAuthError {
    match e {
        HttpClientError::Reqwest(e) => reqwest_error(*e),
        other => OAuthError::Provider(other.to_string()),
    }
}

/// The token endpoint's failures.
pub(crate) fn token_error<T: ErrorResponse>(
    e: RequestTokenError<HttpClientError<reqwest::Error>, T>,
) -> OAuthError {
    match e {
        RequestTokenError::Request(e) => client_error(e),
        RequestTokenError::ServerResponse(e) => {
            OAuthError::Provider(format!("the token endpoint refused the code: {e}"))
        }
        RequestTokenError::Parse(_, _) => {
            OAuthError::Provider("the token endpoint's answer is not a token response".to_owned())
        }
        RequestTokenError::Other(e) => OAuthError::Provider(e),
    }
}

/// `now + expires_in`, in seconds since the epoch, capped at 2038-01-19 (an `INTEGER` column
/// of PostgreSQL and MySQL holds no more).
pub(crate) fn expires_at(expires_in: Option<Duration>) -> Option<i64> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let at = now.saturating_add(expires_in?.as_secs());
    Some(i64::try_from(at).map_or(i64::from(i32::MAX), |at| at.min(i64::from(i32::MAX))))
}

/// `GET url` with the access token, as JSON, reading at most `max` bytes.
pub(crate) async fn get_json(
    http: &reqwest::Client,
    url: &str,
    access_token: &str,
    max: usize,
) -> Result<Value, OAuthError> {
    let mut response = http
        .get(url)
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(reqwest_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(OAuthError::Provider(format!(
            "the profile endpoint answered {status}"
        )));
    }
    if response
        .content_length()
        .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > max))
    {
        return Err(OAuthError::Provider(
            "the profile response is too large".to_owned(),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(reqwest_error)? {
        if body.len() + chunk.len() > max {
            return Err(OAuthError::Provider(
                "the profile response is too large".to_owned(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|_| OAuthError::Provider("the profile response is not JSON".to_owned()))
}

/// A JSON id as a string: strings as they are, numbers in decimal (GitHub's and GitLab's ids
/// are numbers; httpx-oauth stores `str(id)`).
pub(crate) fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON boolean, also as the strings `"true"`/`"false"` some providers send.
pub(crate) fn json_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_capped_for_integer_columns() {
        assert_eq!(expires_at(None), None);
        let soon = expires_at(Some(Duration::from_secs(3600))).unwrap();
        assert!(soon > 1_700_000_000);
        assert_eq!(
            expires_at(Some(Duration::from_secs(u64::MAX))),
            Some(i64::from(i32::MAX))
        );
    }

    #[test]
    fn ids_and_booleans_in_their_usual_shapes() {
        assert_eq!(id_string(&serde_json::json!(42)).as_deref(), Some("42"));
        assert_eq!(id_string(&serde_json::json!("a1")).as_deref(), Some("a1"));
        assert_eq!(id_string(&serde_json::json!("")), None);
        assert_eq!(id_string(&serde_json::json!(null)), None);
        assert_eq!(json_bool(&serde_json::json!("true")), Some(true));
        assert_eq!(json_bool(&serde_json::json!(false)), Some(false));
        assert_eq!(json_bool(&serde_json::json!(1)), None);
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c = ClientCredentials::new("id", Some("hunter2"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
