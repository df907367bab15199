//! The online check against Have I Been Pwned's Pwned Passwords range API (feature `hibp`).

use std::{fmt::Write as _, time::Duration};

use sha1::{Digest, Sha1};

use crate::InvalidPassword;

/// The public Pwned Passwords API.
pub const HIBP_BASE_URL: &str = "https://api.pwnedpasswords.com";

/// A range response larger than this is refused as malformed (a real padded one is ~40 KiB).
const MAX_BODY_BYTES: usize = 1 << 20;

/// The reason given when the password was found in the breach corpus.
pub const REASON_PWNED: &str = "This password has appeared in a data breach; choose another one";

/// The reason given when the check could not be made and [`PwnedSettings::fail_open`] is false.
pub const REASON_UNCHECKED: &str =
    "This password could not be checked against known data breaches; try again later";

/// Settings of a [`PwnedCheck`].
///
/// ```
/// use std::time::Duration;
/// use axum_users_core::policy::PwnedSettings;
///
/// let settings = PwnedSettings {
///     fail_open: false,
///     timeout: Duration::from_secs(2),
///     ..PwnedSettings::default()
/// };
/// assert_eq!(settings.base_url, "https://api.pwnedpasswords.com");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwnedSettings {
    /// Where the API is; the request goes to `<base_url>/range/<5 hex digits>`. Default
    /// [`HIBP_BASE_URL`]; tests point it at a local server.
    pub base_url: String,
    /// What to do when the API cannot answer (unreachable, timeout, non-200 status, malformed
    /// body): `true` (the default) accepts the password, so an outage of the API does not stop
    /// registrations; `false` refuses it with [`REASON_UNCHECKED`]. Either way a warning is
    /// logged (without the password or its hash).
    pub fail_open: bool,
    /// The whole request's time limit, connecting and reading the body included. Default 3 s.
    pub timeout: Duration,
}

impl Default for PwnedSettings {
    fn default() -> Self {
        Self {
            base_url: HIBP_BASE_URL.to_owned(),
            fail_open: true,
            timeout: Duration::from_secs(3),
        }
    }
}

/// Why a range lookup gave no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PwnedError {
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The request failed: connection refused, timeout, interrupted body.
    #[error("the range request failed: {0}")]
    Request(#[source] reqwest::Error),
    /// The API answered with a status other than 200.
    #[error("the range API answered {0}")]
    Status(u16),
    /// The body was not a range response (`SUFFIX:COUNT` lines), or was too large.
    #[error("the range response is malformed")]
    Malformed,
}

/// The online check: is the password in Have I Been Pwned's corpus of breached passwords?
///
/// Uses the range API's k-anonymity model: only the first 5 hex digits of the password's SHA-1
/// leave the process (`GET <base_url>/range/ABCDE` with `Add-Padding: true`, so the size of
/// the answer says nothing either); the returned suffixes are compared locally.
///
/// ```no_run
/// use axum_users_core::policy::{PwnedCheck, PwnedSettings};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let check = PwnedCheck::new(PwnedSettings::default())?;
/// // One request to the real API:
/// assert!(check.check("password").await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PwnedCheck {
    client: reqwest::Client,
    base_url: String,
    fail_open: bool,
}

impl PwnedCheck {
    /// A check with these settings. Builds an HTTP client (rustls, with the webpki roots).
    ///
    /// # Errors
    /// [`PwnedError::Client`] when the client cannot be built.
    pub fn new(settings: PwnedSettings) -> Result<Self, PwnedError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("axum-users/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(PwnedError::Client)?;
        let mut base_url = settings.base_url;
        base_url.truncate(base_url.trim_end_matches('/').len());
        Ok(Self {
            client,
            base_url,
            fail_open: settings.fail_open,
        })
    }

    /// Whether the check accepts passwords it could not check.
    #[must_use]
    pub fn fail_open(&self) -> bool {
        self.fail_open
    }

    /// How often the password appears in the breach corpus (0: not found). One request.
    ///
    /// # Errors
    /// [`PwnedError`] when the API gives no usable answer.
    pub async fn breach_count(&self, password: &str) -> Result<u64, PwnedError> {
        let digest = Sha1::digest(password.as_bytes());
        let mut hex = String::with_capacity(40);
        for byte in digest.iter() {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02X}");
        }
        let (prefix, suffix) = hex.split_at(5);
        let url = format!("{}/range/{prefix}", self.base_url);
        let mut response = self
            .client
            .get(url)
            .header("Add-Padding", "true")
            .send()
            .await
            .map_err(PwnedError::Request)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(PwnedError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(PwnedError::Request)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(PwnedError::Malformed);
            }
            body.extend_from_slice(&chunk);
        }
        find_suffix(&body, suffix)
    }

    /// The policy rule: refuses a password found in the corpus with [`REASON_PWNED`]; when the
    /// API gives no answer, [`PwnedSettings::fail_open`] decides (a warning is logged either
    /// way).
    ///
    /// # Errors
    /// [`InvalidPassword`] as above.
    pub async fn check(&self, password: &str) -> Result<(), InvalidPassword> {
        match self.breach_count(password).await {
            Ok(0) => Ok(()),
            Ok(_) => Err(InvalidPassword::new(REASON_PWNED)),
            Err(error) if self.fail_open => {
                tracing::warn!(%error, "breached-password check unavailable; password accepted");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, "breached-password check unavailable; password refused");
                Err(InvalidPassword::new(REASON_UNCHECKED))
            }
        }
    }
}

/// The count on the line for `suffix` (35 upper-case hex digits) in a range response, 0 when
/// absent. Padding lines carry a count of 0 and so read as absent.
fn find_suffix(body: &[u8], suffix: &str) -> Result<u64, PwnedError> {
    let body = std::str::from_utf8(body).map_err(|_| PwnedError::Malformed)?;
    for line in body.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (candidate, count) = line.split_once(':').ok_or(PwnedError::Malformed)?;
        let count: u64 = count.trim().parse().map_err(|_| PwnedError::Malformed)?;
        if candidate.len() != 35 || !candidate.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PwnedError::Malformed);
        }
        if candidate.eq_ignore_ascii_case(suffix) {
            return Ok(count);
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
    const SUFFIX: &str = "1E4C9B93F3F0682250B6CF8331B7EE68FD8";

    #[test]
    fn suffix_lines_are_read() {
        let body = format!("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{SUFFIX}:10434004\r\n");
        assert_eq!(find_suffix(body.as_bytes(), SUFFIX).unwrap(), 10_434_004);
        let lower = body.to_lowercase();
        assert_eq!(find_suffix(lower.as_bytes(), SUFFIX).unwrap(), 10_434_004);
        let padding = format!("{SUFFIX}:0\r\n");
        assert_eq!(find_suffix(padding.as_bytes(), SUFFIX).unwrap(), 0);
        assert_eq!(find_suffix(b"", SUFFIX).unwrap(), 0);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &b"<html>oops</html>"[..],
            b"0018A45C4D1DEF81644B54AB7F969B88D65",
            b"0018A45C4D1DEF81644B54AB7F969B88D65:x",
            b"XYZ:1",
            b"\xff\xfe",
        ] {
            assert!(matches!(
                find_suffix(body, SUFFIX),
                Err(PwnedError::Malformed)
            ));
        }
    }
}
