//! A cookie (`fastapiusersauth`), with an optional CSRF check on cookie-authenticated unsafe
//! requests.

use axum::http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Transport;
use crate::error::ApiError;

/// `SameSite` attribute values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// `SameSite=lax` (FastAPI Users' default).
    #[default]
    Lax,
    /// `SameSite=strict`.
    Strict,
    /// `SameSite=none` (needs `Secure`).
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "lax",
            Self::Strict => "strict",
            Self::None => "none",
        }
    }
}

/// FastAPI Users' `CookieTransport`: login answers `204` with
/// `Set-Cookie: fastapiusersauth=<t>; HttpOnly; Max-Age=N; Path=/; SameSite=lax; Secure`
/// (attributes in the reference's order, `Max-Age` only when configured), logout `204` with the
/// cookie cleared.
///
/// With [`CookieTransport::csrf_protection`], a request it authenticates whose method is not
/// safe is refused (403) when `Origin` names another origin than the `Host` it was sent to, or
/// `Sec-Fetch-Site` is `cross-site`; a request with neither header (a non-browser client)
/// passes. It is off by default in the library, as in FastAPI Users (apps with their own CSRF
/// defence keep working unchanged), and on in the server.
///
/// ```
/// use axum_users::CookieTransport;
/// let t = CookieTransport::new().max_age(Some(3600)).secure(false).csrf_protection(true);
/// ```
#[derive(Debug, Clone)]
pub struct CookieTransport {
    name: String,
    max_age: Option<u64>,
    path: String,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    csrf: bool,
    trusted_origins: Vec<String>,
}

impl Default for CookieTransport {
    fn default() -> Self {
        Self {
            name: "fastapiusersauth".to_owned(),
            max_age: None,
            path: "/".to_owned(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            csrf: false,
            trusted_origins: Vec::new(),
        }
    }
}

impl CookieTransport {
    /// The reference's defaults: `fastapiusersauth`, session cookie, `/`, Secure, HttpOnly, lax.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The cookie's name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// `Max-Age` in seconds; `None` (default) makes a session cookie.
    #[must_use]
    pub fn max_age(mut self, seconds: Option<u64>) -> Self {
        self.max_age = seconds;
        self
    }

    /// The cookie's path (default `/`).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The cookie's domain (default: none, the host only).
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

    /// The `SameSite` attribute (default lax).
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = same_site;
        self
    }

    /// Turns the Origin / Sec-Fetch-Site check on cookie-authenticated unsafe requests on.
    #[must_use]
    pub fn csrf_protection(mut self, on: bool) -> Self {
        self.csrf = on;
        self
    }

    /// Other origins (`https://app.example.com`) allowed to send cookie-authenticated unsafe
    /// requests, e.g. a frontend on another host.
    #[must_use]
    pub fn trusted_origins(mut self, origins: Vec<String>) -> Self {
        self.trusted_origins = origins;
        self
    }

    fn set_cookie(&self, value: &str, max_age: Option<u64>) -> Response {
        // Python's `SimpleCookie` writes attributes sorted by name; so do we.
        let mut s = format!("{}={}", self.name, value);
        if let Some(domain) = &self.domain {
            s.push_str("; Domain=");
            s.push_str(domain);
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        if let Some(age) = max_age {
            s.push_str(&format!("; Max-Age={age}"));
        }
        s.push_str("; Path=");
        s.push_str(&self.path);
        s.push_str("; SameSite=");
        s.push_str(self.same_site.as_str());
        if self.secure {
            s.push_str("; Secure");
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        match HeaderValue::from_str(&s) {
            Ok(v) => {
                response.headers_mut().insert(SET_COOKIE, v);
                response
            }
            // Only a misconfigured name, path or domain can get here.
            Err(_) => ApiError::Internal("invalid cookie attributes".into()).into_response(),
        }
    }
}

fn is_safe_method(parts: &Parts) -> bool {
    matches!(parts.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// `scheme://host[:port]` → `host[:port]`.
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin.split_once("://")?.1;
    Some(rest.trim_end_matches('/'))
}

impl Transport for CookieTransport {
    fn token(&self, parts: &Parts) -> Option<String> {
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

    fn login_response(&self, token: String) -> Response {
        self.set_cookie(&token, self.max_age)
    }

    fn logout_response(&self) -> Response {
        self.set_cookie("\"\"", Some(0))
    }

    fn check_request(&self, parts: &Parts) -> Result<(), ApiError> {
        if !self.csrf || is_safe_method(parts) {
            return Ok(());
        }
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if header("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
            return Err(ApiError::Forbidden);
        }
        let Some(origin) = header(ORIGIN.as_str()) else {
            return Ok(());
        };
        if self
            .trusted_origins
            .iter()
            .any(|o| o.trim_end_matches('/') == origin.trim_end_matches('/'))
        {
            return Ok(());
        }
        let host = header(HOST.as_str()).or_else(|| parts.uri.authority().map(|a| a.as_str()));
        match (origin_authority(origin), host) {
            (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
            _ => Err(ApiError::Forbidden),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri("/users/me");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    fn set_cookie(r: &Response) -> &str {
        r.headers().get(SET_COOKIE).unwrap().to_str().unwrap()
    }

    #[test]
    fn set_cookie_strings_are_the_reference_bytes() {
        let t = CookieTransport::new();
        let r = t.login_response("abc".into());
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            set_cookie(&r),
            "fastapiusersauth=abc; HttpOnly; Path=/; SameSite=lax; Secure"
        );
        let t = CookieTransport::new().max_age(Some(3600));
        assert_eq!(
            set_cookie(&t.login_response("abc".into())),
            "fastapiusersauth=abc; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"
        );
        assert_eq!(
            set_cookie(&t.logout_response()),
            "fastapiusersauth=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax; Secure"
        );
        let t = CookieTransport::new()
            .domain(Some("example.com".into()))
            .secure(false);
        assert_eq!(
            set_cookie(&t.login_response("x".into())),
            "fastapiusersauth=x; Domain=example.com; HttpOnly; Path=/; SameSite=lax"
        );
    }

    #[test]
    fn reads_its_cookie_among_others() {
        let t = CookieTransport::new();
        let p = parts("GET", &[("cookie", "a=1; fastapiusersauth=tok; b=2")]);
        assert_eq!(t.token(&p).as_deref(), Some("tok"));
        assert_eq!(
            t.token(&parts("GET", &[("cookie", "fastapiusersauth=")])),
            None
        );
        assert_eq!(t.token(&parts("GET", &[("cookie", "other=1")])), None);
    }

    #[test]
    fn csrf_rules() {
        let t = CookieTransport::new().csrf_protection(true);
        let host = ("host", "auth.example.com");
        assert!(
            t.check_request(&parts("POST", &[host])).is_ok(),
            "no browser headers pass"
        );
        assert!(
            t.check_request(&parts(
                "POST",
                &[host, ("origin", "https://auth.example.com")]
            ))
            .is_ok()
        );
        assert!(
            t.check_request(&parts("POST", &[host, ("origin", "https://evil.example")]))
                .is_err()
        );
        assert!(
            t.check_request(&parts("POST", &[host, ("origin", "null")]))
                .is_err()
        );
        assert!(
            t.check_request(&parts("DELETE", &[host, ("sec-fetch-site", "cross-site")]))
                .is_err()
        );
        assert!(
            t.check_request(&parts("PATCH", &[host, ("sec-fetch-site", "same-origin")]))
                .is_ok()
        );
        assert!(
            t.check_request(&parts("GET", &[host, ("origin", "https://evil.example")]))
                .is_ok()
        );
        let trusted = t
            .clone()
            .trusted_origins(vec!["https://app.example.com".into()]);
        assert!(
            trusted
                .check_request(&parts(
                    "POST",
                    &[host, ("origin", "https://app.example.com")]
                ))
                .is_ok()
        );
        let off = CookieTransport::new();
        assert!(
            off.check_request(&parts("POST", &[host, ("origin", "https://evil.example")]))
                .is_ok()
        );
    }
}
