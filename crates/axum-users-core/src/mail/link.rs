//! The link an email carries: a URL template with a `{token}` placeholder.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::MailError;

/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is encoded, so a
/// token is one opaque query value whatever it holds.
const TOKEN_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

const PLACEHOLDER: &str = "{token}";

/// A link template such as `https://app.example/reset-password?token={token}`.
///
/// The application's public URL is substituted by the caller before (configuration does
/// `{public_url}`); what is left must be an absolute `http` or `https` URL with a host, and
/// must hold `{token}` (usually as the `token=` query parameter, which is where FastAPI
/// Users' front ends look for it).
///
/// ```
/// use axum_users_core::mail::LinkTemplate;
/// let link = LinkTemplate::new("https://camelot.example/reset-password?token={token}").unwrap();
/// assert_eq!(link.render("a.b_c-d"), "https://camelot.example/reset-password?token=a.b_c-d");
/// assert_eq!(link.render("a+b/c="), "https://camelot.example/reset-password?token=a%2Bb%2Fc%3D");
/// assert!(LinkTemplate::new("https://camelot.example/reset-password").is_err());
/// assert!(LinkTemplate::new("javascript:alert(1)//{token}").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTemplate {
    template: String,
}

impl LinkTemplate {
    /// Checks a template and keeps it.
    ///
    /// # Errors
    /// [`MailError::InvalidLinkTemplate`] when `{token}` is missing, another `{…}`
    /// placeholder is left, or the result is not an absolute `http(s)` URL with a host.
    pub fn new(template: &str) -> Result<Self, MailError> {
        let refuse = |reason| Err(MailError::InvalidLinkTemplate { reason });
        if !template.contains(PLACEHOLDER) {
            return refuse("it has no {token} placeholder");
        }
        let sample = template.replace(PLACEHOLDER, "TOKEN");
        if sample.contains('{') || sample.contains('}') {
            return refuse(
                "it has a placeholder other than {token} (substitute {public_url} first)",
            );
        }
        let Ok(url) = url::Url::parse(&sample) else {
            return refuse("it is not an absolute URL");
        };
        if !matches!(url.scheme(), "http" | "https") {
            return refuse("it is not an http or https URL");
        }
        if url.host_str().is_none_or(str::is_empty) {
            return refuse("it has no host");
        }
        Ok(Self {
            template: template.to_owned(),
        })
    }

    /// The link for `token`, percent-encoded into every `{token}`.
    #[must_use]
    pub fn render(&self, token: &str) -> String {
        let encoded = utf8_percent_encode(token, TOKEN_VALUE).to_string();
        self.template.replace(PLACEHOLDER, &encoded)
    }

    /// The template as given.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.template
    }
}
