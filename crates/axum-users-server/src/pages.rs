//! The pages behind the email links: `GET|POST /reset-password` and `GET /verify`.
//!
//! Small server-rendered HTML (no framework, no external asset, nothing loaded from
//! elsewhere), mounted in the `v15` profile only (the `classic` profile has its JSON API at
//! `POST /reset-password`):
//!
//! | route | does | answers |
//! |---|---|---|
//! | `GET /reset-password?token=…` | checks the link (signature, expiry) | 200 a form: the new password twice, the token in a hidden field; 400 when the token is missing, invalid or expired |
//! | `POST /reset-password` (form) | resets the password as `POST /auth/reset-password` does (then revokes the user's tokens and clears a lockout) | 200 "changed"; 400 with the reason in words (passwords differ, refused by the policy and why, link invalid, expired or used); 429/503 with `Retry-After` |
//! | `GET /verify?token=…` | verifies the email on load | 200 "verified" (or "already verified"); 400 when the token is missing, invalid or expired |
//!
//! With JavaScript on, an inline script checks that both passwords match and sends them to
//! the JSON API (`POST /auth/reset-password`) with `fetch`, showing the outcome without a
//! reload; without it the form posts to the page. The two paths show the same words, which
//! live in the template.
//!
//! Every page is sent with a `Content-Security-Policy` allowing only its own inline style and
//! script (by a fresh nonce per response), no framing, forms posting to the same origin only,
//! `Referrer-Policy: no-referrer` (the address holds the token) and `Cache-Control: no-store`.
//! Everything a template prints is HTML-escaped.
//!
//! The templates (`layout.html`, `reset_password.html`, `verify.html` in the crate's
//! `templates/pages/`) can be replaced one by one from the folder named by
//! `AXUM_USERS_PAGE_TEMPLATES`; see [`PageTemplates`].

mod templates;

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Extension, FromRequest, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, RETRY_AFTER,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, http::request::Parts};
use axum_users::limits::LimitedRoute;
use axum_users::{MAX_PASSWORD_CHARS, UsersState, request_context};
use axum_users_core::{AUDIENCE_RESET, AUDIENCE_VERIFY, JwtCodec, JwtError, ManagerError};
use minijinja::context;
use rand::RngCore as _;
use serde::Deserialize;

pub use self::templates::PageTemplates;
use self::templates::{RESET, VERIFY};
use crate::app::Extra;
use crate::config::{Config, ConfigError};

/// Largest form body accepted (a token and two passwords of at most 4096 characters).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Where the page's script sends the new password, relative to `/reset-password` (so that it
/// also works behind a proxy that mounts the server under a path).
const RESET_API: &str = "auth/reset-password";

/// The pages and what they need: templates and the token codecs (to tell an invalid or
/// expired link before anything else happens).
pub struct Pages {
    templates: PageTemplates,
    reset: JwtCodec,
    verify: JwtCodec,
    min_length: Option<usize>,
}

impl std::fmt::Debug for Pages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

impl Pages {
    /// The pages for these settings, with the secrets of the reset and verification tokens.
    ///
    /// # Errors
    /// `AXUM_USERS_PAGE_TEMPLATES` when a template folder is named and a template cannot be
    /// read, does not compile or does not render; `AXUM_USERS_SECRET` for an empty secret.
    pub fn new(
        config: &Config,
        reset_secret: &[u8],
        verify_secret: &[u8],
    ) -> Result<Self, ConfigError> {
        let templates = match &config.page_templates {
            Some(dir) => PageTemplates::from_dir(dir),
            None => PageTemplates::builtin(),
        }
        .map_err(|e| ConfigError::new("AXUM_USERS_PAGE_TEMPLATES", e))?;
        if !templates.overridden().is_empty() {
            tracing::info!(files = ?templates.overridden(), "page templates overridden");
        }
        let codec = |secret: &[u8]| {
            JwtCodec::hs256(secret)
                .map_err(|e| ConfigError::new("AXUM_USERS_SECRET", e.to_string()))
        };
        Ok(Self {
            templates,
            reset: codec(reset_secret)?,
            verify: codec(verify_secret)?,
            min_length: config
                .password
                .enabled
                .then_some(config.password.min_length)
                .filter(|&n| n > 0),
        })
    }

    /// `GET|POST /reset-password` and `GET /verify`.
    pub fn router(self) -> Router<UsersState<Extra>> {
        Router::new()
            .route("/reset-password", get(reset_form).post(reset_submit))
            .route("/verify", get(verify))
            .method_not_allowed_fallback(axum_users::method_not_allowed)
            .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
            .layer(Extension(Arc::new(self)))
    }

    fn reset_page(&self, status: StatusCode, view: &ResetView<'_>) -> Response {
        let nonce = nonce();
        let ctx = context! {
            nonce => &nonce,
            view => view.view,
            message => view.message,
            reason => view.reason,
            token => view.token,
            api => RESET_API,
            min_length => self.min_length,
        };
        self.respond(status, RESET, &ctx, &nonce)
    }

    fn verify_page(
        &self,
        status: StatusCode,
        view: &'static str,
        message: Option<&'static str>,
        email: Option<&str>,
    ) -> Response {
        let nonce = nonce();
        let ctx = context! { nonce => &nonce, view => view, message => message, email => email };
        self.respond(status, VERIFY, &ctx, &nonce)
    }

    fn respond(
        &self,
        status: StatusCode,
        name: &str,
        ctx: &minijinja::Value,
        nonce: &str,
    ) -> Response {
        let html = match self.templates.render(name, ctx) {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(template = name, %error, "a page template failed to render");
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
        };
        let mut response = (status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let csp = format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
             img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'"
        );
        if let Ok(csp) = HeaderValue::from_str(&csp) {
            headers.insert(CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }

    /// Whether a link's token is genuine and current: `None` when it is, else the message code.
    fn check_link(codec: &JwtCodec, token: &str, audience: &str) -> Option<&'static str> {
        match codec.decode::<serde_json::Value>(token, audience) {
            Ok(_) => None,
            Err(JwtError::Expired) => Some("expired_link"),
            Err(_) => Some("invalid_link"),
        }
    }
}

/// The `GET|POST /reset-password` and `GET /verify` routes for `config` (see [`Pages::new`]).
///
/// # Errors
/// As [`Pages::new`].
pub fn router(
    config: &Config,
    reset_secret: &[u8],
    verify_secret: &[u8],
) -> Result<Router<UsersState<Extra>>, ConfigError> {
    Ok(Pages::new(config, reset_secret, verify_secret)?.router())
}

/// What a reset page shows: `view` is `form`, `done` or `problem`; `message` a code of the
/// template's words.
#[derive(Debug, Default)]
struct ResetView<'a> {
    view: &'static str,
    message: Option<&'static str>,
    reason: Option<&'a str>,
    token: &'a str,
}

impl<'a> ResetView<'a> {
    fn form(token: &'a str, message: Option<&'static str>) -> Self {
        Self {
            view: "form",
            message,
            token,
            ..Self::default()
        }
    }

    fn problem(message: &'static str) -> Self {
        Self {
            view: "problem",
            message: Some(message),
            ..Self::default()
        }
    }
}

fn nonce() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    // URL-safe letters: valid in a CSP nonce and printed by the templates unescaped.
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The link's token: `Ok(None)` when absent or empty, `Err` when the query does not parse.
fn query_token(query: Result<Query<TokenQuery>, QueryRejection>) -> Result<Option<String>, ()> {
    match query {
        Ok(Query(q)) => Ok(q.token.filter(|t| !t.trim().is_empty())),
        Err(_) => Err(()),
    }
}

/// A refusal by the rate limits (429) or their store (503), as a page's message code, with
/// the response's status and `Retry-After`.
async fn limited(
    users: &UsersState<Extra>,
    route: LimitedRoute,
    parts: &Parts,
) -> Option<(StatusCode, &'static str, Option<HeaderValue>)> {
    let limits = users.limits()?;
    let refusal = limits.check_request(route, parts).await.err()?;
    let response = refusal.into_response();
    let status = response.status();
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        _ => "error",
    };
    Some((status, code, response.headers().get(RETRY_AFTER).cloned()))
}

fn with_retry_after(mut response: Response, retry_after: Option<HeaderValue>) -> Response {
    if let Some(value) = retry_after {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

async fn reset_form(
    Extension(pages): Extension<Arc<Pages>>,
    query: Result<Query<TokenQuery>, QueryRejection>,
) -> Response {
    let token = match query_token(query) {
        Ok(Some(token)) => token,
        Ok(None) => {
            return pages.reset_page(StatusCode::BAD_REQUEST, &ResetView::problem("no_token"));
        }
        Err(()) => {
            return pages.reset_page(StatusCode::BAD_REQUEST, &ResetView::problem("invalid_link"));
        }
    };
    if let Some(problem) = Pages::check_link(&pages.reset, &token, AUDIENCE_RESET) {
        return pages.reset_page(StatusCode::BAD_REQUEST, &ResetView::problem(problem));
    }
    pages.reset_page(StatusCode::OK, &ResetView::form(&token, None))
}

/// The posted form. No `Debug`: it holds a password.
#[derive(Deserialize)]
struct ResetForm {
    token: Option<String>,
    password: Option<String>,
    password_confirm: Option<String>,
}

async fn reset_submit(
    State(users): State<UsersState<Extra>>,
    Extension(pages): Extension<Arc<Pages>>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    if let Some((status, code, retry_after)) =
        limited(&users, LimitedRoute::ResetPassword, &parts).await
    {
        let page = pages.reset_page(status, &ResetView::problem(code));
        return with_retry_after(page, retry_after);
    }
    let ctx = request_context(&parts);
    let form = match Form::<ResetForm>::from_request(Request::from_parts(parts, body), &()).await {
        Ok(Form(form)) => form,
        Err(rejection) => {
            return pages.reset_page(rejection.status(), &ResetView::problem("error"));
        }
    };
    let Some(token) = form.token.filter(|t| !t.trim().is_empty()) else {
        return pages.reset_page(StatusCode::BAD_REQUEST, &ResetView::problem("no_token"));
    };
    if let Some(problem) = Pages::check_link(&pages.reset, &token, AUDIENCE_RESET) {
        return pages.reset_page(StatusCode::BAD_REQUEST, &ResetView::problem(problem));
    }
    let password = form.password.unwrap_or_default();
    let refuse = |message| {
        pages.reset_page(
            StatusCode::BAD_REQUEST,
            &ResetView::form(&token, Some(message)),
        )
    };
    if password.is_empty() {
        return refuse("empty");
    }
    if form.password_confirm.as_deref() != Some(password.as_str()) {
        return refuse("mismatch");
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return refuse("too_long");
    }
    match users
        .manager()
        .reset_password(&token, &password, &ctx)
        .await
    {
        Ok(user) => {
            users.revoke_all(&user).await;
            if let Some(limits) = users.limits() {
                limits.clear_lockout(&user.email).await;
            }
            let done = ResetView {
                view: "done",
                ..ResetView::default()
            };
            pages.reset_page(StatusCode::OK, &done)
        }
        Err(
            ManagerError::InvalidResetPasswordToken
            | ManagerError::UserNotExists
            | ManagerError::UserInactive
            | ManagerError::InvalidId,
        ) => pages.reset_page(StatusCode::BAD_REQUEST, &ResetView::problem("bad_token")),
        Err(ManagerError::InvalidPassword { reason }) => {
            let view = ResetView {
                reason: Some(&reason),
                ..ResetView::form(&token, Some("invalid_password"))
            };
            pages.reset_page(StatusCode::BAD_REQUEST, &view)
        }
        Err(error) => {
            let (status, code) = failure(&error, "reset-password page");
            let page = pages.reset_page(status, &ResetView::form(&token, Some(code)));
            with_retry_after(page, retry_after_for(status))
        }
    }
}

async fn verify(
    State(users): State<UsersState<Extra>>,
    Extension(pages): Extension<Arc<Pages>>,
    req: Request,
) -> Response {
    let (mut parts, _body) = req.into_parts();
    if let Some((status, code, retry_after)) = limited(&users, LimitedRoute::Verify, &parts).await {
        let page = pages.verify_page(status, "problem", Some(code), None);
        return with_retry_after(page, retry_after);
    }
    let query = <Query<TokenQuery> as axum::extract::FromRequestParts<()>>::from_request_parts(
        &mut parts,
        &(),
    )
    .await;
    let token = match query_token(query) {
        Ok(Some(token)) => token,
        Ok(None) => {
            return pages.verify_page(StatusCode::BAD_REQUEST, "problem", Some("no_token"), None);
        }
        Err(()) => {
            return pages.verify_page(
                StatusCode::BAD_REQUEST,
                "problem",
                Some("invalid_link"),
                None,
            );
        }
    };
    if let Some(problem) = Pages::check_link(&pages.verify, &token, AUDIENCE_VERIFY) {
        return pages.verify_page(StatusCode::BAD_REQUEST, "problem", Some(problem), None);
    }
    match users
        .manager()
        .verify(&token, &request_context(&parts))
        .await
    {
        Ok(user) => pages.verify_page(StatusCode::OK, "done", None, Some(&user.email)),
        Err(ManagerError::UserAlreadyVerified) => {
            pages.verify_page(StatusCode::OK, "already", None, None)
        }
        Err(
            ManagerError::InvalidVerifyToken
            | ManagerError::UserNotExists
            | ManagerError::InvalidId,
        ) => pages.verify_page(
            StatusCode::BAD_REQUEST,
            "problem",
            Some("invalid_link"),
            None,
        ),
        Err(error) => {
            let (status, code) = failure(&error, "verify page");
            let page = pages.verify_page(status, "problem", Some(code), None);
            with_retry_after(page, retry_after_for(status))
        }
    }
}

/// An infrastructure failure: 503 (busy pool, store away) or 500, logged.
fn failure(error: &ManagerError, page: &'static str) -> (StatusCode, &'static str) {
    match error {
        ManagerError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ManagerError::Store(_) => {
            tracing::error!(page, %error, "store failure");
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
        _ => {
            tracing::error!(page, %error, "unexpected failure");
            (StatusCode::INTERNAL_SERVER_ERROR, "error")
        }
    }
}

fn retry_after_for(status: StatusCode) -> Option<HeaderValue> {
    (status == StatusCode::SERVICE_UNAVAILABLE).then(|| HeaderValue::from_static("1"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pages() -> Pages {
        Pages::new(&Config::default(), b"reset secret", b"verify secret").unwrap()
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn everything_printed_is_escaped_and_the_nonce_matches_the_policy() {
        let p = pages();
        let token = "\"><script>alert(1)</script>";
        let view = ResetView {
            reason: Some("<b>no</b> & never"),
            ..ResetView::form(token, Some("invalid_password"))
        };
        let response = p.reset_page(StatusCode::BAD_REQUEST, &view);
        let csp = response.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        let html = body(response).await;
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("This password was refused: &lt;b&gt;no&lt;&#x2f;b&gt; &amp; never"),
            "{html}"
        );
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .unwrap();
        assert!(
            html.contains(&format!("<script nonce=\"{nonce}\">")),
            "{html}"
        );
        assert!(
            html.contains(&format!("<style nonce=\"{nonce}\">")),
            "{html}"
        );

        let response = p.verify_page(StatusCode::OK, "done", None, Some("<i>@x"));
        assert!(body(response).await.contains("&lt;i&gt;@x"));
    }

    #[test]
    fn links_are_told_apart() {
        let p = pages();
        assert_eq!(
            Pages::check_link(&p.reset, "garbage", AUDIENCE_RESET),
            Some("invalid_link")
        );
        let claims = serde_json::json!({"sub": "x", "aud": AUDIENCE_RESET, "exp": 1});
        let expired = p.reset.encode(&claims).unwrap();
        assert_eq!(
            Pages::check_link(&p.reset, &expired, AUDIENCE_RESET),
            Some("expired_link")
        );
        // A verification token is no reset token.
        let claims =
            serde_json::json!({"sub": "x", "aud": AUDIENCE_VERIFY, "exp": 4_000_000_000_u64});
        let other = p.verify.encode(&claims).unwrap();
        assert_eq!(
            Pages::check_link(&p.reset, &other, AUDIENCE_RESET),
            Some("invalid_link")
        );
        assert_eq!(Pages::check_link(&p.verify, &other, AUDIENCE_VERIFY), None);
    }

    #[test]
    fn a_template_missing_a_message_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("verify.html"),
            "{% extends \"layout.html\" %}{% block content %}{% set words = {\"no_token\": \"x\"} %}{{ words[message] if message else email }}{% endblock %}",
        )
        .unwrap();
        let config = Config {
            page_templates: Some(dir.path().to_owned()),
            ..Config::default()
        };
        let e = Pages::new(&config, b"r", b"v").unwrap_err();
        assert_eq!(e.setting, "AXUM_USERS_PAGE_TEMPLATES");
        assert!(e.problem.contains("verify.html"), "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
