//! The OAuth CSRF cookie (`fastapiusersoauthcsrf`).

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum_users_core::oauth::{CSRF_COOKIE_NAME, STATE_LIFETIME_SECONDS};

use crate::transport::SameSite;

/// The OAuth CSRF cookie's attributes: FastAPI Users' defaults
/// (`fastapiusersoauthcsrf=<token>; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure`),
/// each configurable. The authorize route sets it, every callback answer clears it.
///
/// ```
/// use axum_users::CsrfCookie;
/// let dev = CsrfCookie::default().secure(false);
/// # let _ = dev;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsrfCookie {
    name: String,
    max_age: u64,
    path: String,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
}

impl Default for CsrfCookie {
    fn default() -> Self {
        Self {
            name: CSRF_COOKIE_NAME.to_owned(),
            max_age: STATE_LIFETIME_SECONDS,
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
        }
    }
}

impl CsrfCookie {
    /// The cookie's name (default `fastapiusersoauthcsrf`).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// `Max-Age` in seconds (default 3600, the state's lifetime).
    #[must_use]
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = seconds;
        self
    }

    /// The path (default `/`).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The domain (default none: the host only).
    #[must_use]
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }

    /// The `Secure` attribute (default on; plain-HTTP development needs it off).
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// The `HttpOnly` attribute (default on).
    #[must_use]
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The `SameSite` attribute (default lax: the provider's redirect back is a top-level
    /// navigation, which lax lets the cookie ride along; strict would not).
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// The `Set-Cookie` value, attributes sorted by name as Python's `SimpleCookie` writes
    /// them.
    fn header(&self, value: &str, max_age: u64) -> Option<HeaderValue> {
        let mut s = format!("{}={}", self.name, value);
        if let Some(domain) = &self.domain {
            s.push_str("; Domain=");
            s.push_str(domain);
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        s.push_str(&format!("; Max-Age={max_age}; Path={}", self.path));
        s.push_str(match self.same_site {
            SameSite::Lax => "; SameSite=lax",
            SameSite::Strict => "; SameSite=strict",
            SameSite::None => "; SameSite=none",
        });
        if self.secure {
            s.push_str("; Secure");
        }
        HeaderValue::from_str(&s).ok()
    }

    /// Adds the cookie holding `token`.
    pub(crate) fn set(&self, headers: &mut HeaderMap, token: &str) -> bool {
        match self.header(token, self.max_age) {
            Some(v) => {
                headers.append(SET_COOKIE, v);
                true
            }
            None => false,
        }
    }

    /// Adds the cookie's removal (an empty value, `Max-Age=0`).
    pub(crate) fn clear(&self, headers: &mut HeaderMap) {
        if let Some(v) = self.header("\"\"", 0) {
            headers.append(SET_COOKIE, v);
        }
    }

    /// The cookie's value in a request, if any.
    pub(crate) fn read(&self, parts: &Parts) -> Option<String> {
        parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == self.name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_strings_are_the_reference_bytes() {
        let c = CsrfCookie::default();
        let mut h = HeaderMap::new();
        assert!(c.set(&mut h, "tok"));
        c.clear(&mut h);
        let all: Vec<_> = h.get_all(SET_COOKIE).iter().collect();
        assert_eq!(
            all[0],
            "fastapiusersoauthcsrf=tok; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"
        );
        assert_eq!(
            all[1],
            "fastapiusersoauthcsrf=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure"
        );
        let dev = CsrfCookie::default()
            .secure(false)
            .domain(Some("example.com".into()));
        let mut h = HeaderMap::new();
        dev.set(&mut h, "t");
        assert_eq!(
            h[SET_COOKIE],
            "fastapiusersoauthcsrf=t; Domain=example.com; HttpOnly; Max-Age=3600; Path=/; SameSite=lax"
        );
    }

    #[test]
    fn reads_its_cookie_among_others() {
        let parts = axum::http::Request::builder()
            .header(COOKIE, "a=1; fastapiusersoauthcsrf=abc; b=2")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert_eq!(CsrfCookie::default().read(&parts).as_deref(), Some("abc"));
        assert_eq!(CsrfCookie::default().name("other").read(&parts), None);
    }
}
