//! Who the access token belongs to, for plain OAuth2 providers: one profile call (two for
//! GitHub).

use axum_users_core::oauth::OAuthError;
use serde_json::Value;

use crate::http::{get_json, id_string, json_bool};

/// Where an OAuth2 provider says who the user is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileSource {
    /// A userinfo endpoint answering a JSON object.
    UserInfo {
        /// The endpoint.
        url: String,
        /// The fields that may hold the account id, tried in order (default `sub`, `id`).
        id_fields: Vec<String>,
        /// The email's field (default `email`).
        email_field: String,
        /// The field of the provider's word on the email (default `email_verified`), if any.
        email_verified_field: Option<String>,
    },
    /// GitHub's REST API at `api_url` (`https://api.github.com`): the id of `/user`, and the
    /// primary address of `/user/emails` if it is verified (none otherwise).
    GitHub {
        /// The API's base URL.
        api_url: String,
    },
    /// Microsoft Graph's `/me` at `me_url`: `id`, and `mail` (else `userPrincipalName`), which
    /// Microsoft does not vouch for.
    MicrosoftGraph {
        /// The `/me` endpoint (`https://graph.microsoft.com/v1.0/me`).
        me_url: String,
    },
    /// GitLab's `/api/v4/user` at `user_url`: `id` and `email`, verified when `confirmed_at`
    /// is set.
    GitLab {
        /// The endpoint.
        user_url: String,
    },
}

impl ProfileSource {
    /// A userinfo endpoint with the usual field names.
    #[must_use]
    pub fn userinfo(url: impl Into<String>) -> Self {
        Self::UserInfo {
            url: url.into(),
            id_fields: vec!["sub".to_owned(), "id".to_owned()],
            email_field: "email".to_owned(),
            email_verified_field: Some("email_verified".to_owned()),
        }
    }

    /// The URLs it calls, for validation.
    pub(crate) fn urls(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::UserInfo { url, .. } => vec![("userinfo", url.clone())],
            Self::GitHub { api_url } => vec![("GitHub API", api_url.clone())],
            Self::MicrosoftGraph { me_url } => vec![("Microsoft Graph", me_url.clone())],
            Self::GitLab { user_url } => vec![("GitLab user", user_url.clone())],
        }
    }
}

/// What a profile yields.
pub(crate) struct Profile {
    pub(crate) account_id: String,
    pub(crate) email: Option<String>,
    pub(crate) email_verified: Option<bool>,
}

fn no_id() -> OAuthError {
    OAuthError::Provider("the profile has no account id".to_owned())
}

fn string_field(data: &Value, field: &str) -> Option<String> {
    data.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl ProfileSource {
    pub(crate) async fn fetch(
        &self,
        http: &reqwest::Client,
        access_token: &str,
        max: usize,
    ) -> Result<Profile, OAuthError> {
        match self {
            Self::UserInfo {
                url,
                id_fields,
                email_field,
                email_verified_field,
            } => {
                let data = get_json(http, url, access_token, max).await?;
                let account_id = id_fields
                    .iter()
                    .find_map(|f| data.get(f).and_then(id_string))
                    .ok_or_else(no_id)?;
                Ok(Profile {
                    account_id,
                    email: string_field(&data, email_field),
                    email_verified: email_verified_field
                        .as_ref()
                        .and_then(|f| data.get(f))
                        .and_then(json_bool),
                })
            }
            Self::GitHub { api_url } => {
                let base = api_url.trim_end_matches('/');
                let user = get_json(http, &format!("{base}/user"), access_token, max).await?;
                let account_id = user.get("id").and_then(id_string).ok_or_else(no_id)?;
                let emails =
                    get_json(http, &format!("{base}/user/emails"), access_token, max).await?;
                let primary_verified = emails.as_array().and_then(|list| {
                    list.iter().find(|e| {
                        e.get("primary").and_then(Value::as_bool) == Some(true)
                            && e.get("verified").and_then(Value::as_bool) == Some(true)
                    })
                });
                let email = primary_verified.and_then(|e| string_field(e, "email"));
                Ok(Profile {
                    account_id,
                    email_verified: email.as_ref().map(|_| true),
                    email,
                })
            }
            Self::MicrosoftGraph { me_url } => {
                let data = get_json(http, me_url, access_token, max).await?;
                let account_id = data.get("id").and_then(id_string).ok_or_else(no_id)?;
                Ok(Profile {
                    account_id,
                    email: string_field(&data, "mail")
                        .or_else(|| string_field(&data, "userPrincipalName")),
                    email_verified: None,
                })
            }
            Self::GitLab { user_url } => {
                let data = get_json(http, user_url, access_token, max).await?;
                let account_id = data.get("id").and_then(id_string).ok_or_else(no_id)?;
                Ok(Profile {
                    account_id,
                    email: string_field(&data, "email"),
                    email_verified: data.get("confirmed_at").map(|v| !v.is_null()),
                })
            }
        }
    }
}
