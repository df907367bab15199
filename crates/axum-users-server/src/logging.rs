//! Logs: text or JSON lines on standard error (`AXUM_USERS_LOG_FORMAT`), filtered by
//! `RUST_LOG` (default `info`), with every line of a request inside its `request` span.
//!
//! Each request gets a span carrying its `request_id` (the `x-request-id` the client sent, or
//! a UUID assigned by the server and returned in the response's `x-request-id`), `method`,
//! `path` and, when a route matched, `route`. Text lines show it as
//! `request{request_id=… method=POST path=/auth/jwt/login …}:`; JSON lines carry it in `span`
//! and in `spans` (every enclosing span, outermost first). One `finished processing request`
//! line per request (level `info`) gives its `status` and `latency`.
//!
//! **What is never logged**: request and response headers (so no `Authorization`, `Cookie` or
//! `Set-Cookie`), bodies (so no password), and query strings (the pages' links carry reset and
//! verification tokens in `?token=`): the span holds the path only.

use std::io::IsTerminal as _;
use std::str::FromStr;

use axum::extract::MatchedPath;
use axum::http::Request;
use serde::Deserialize;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};
use tracing_subscriber::EnvFilter;

/// The header holding the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest request id kept in logs (a client may send its own).
const MAX_REQUEST_ID_CHARS: usize = 128;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!("{s:?} is not a log format (text or json)")),
        }
    }
}

/// Installs the process's log subscriber: `format` lines on standard error, filtered by
/// `RUST_LOG` (default `info`). Colours only when standard error is a terminal. A second call
/// (tests) leaves the first subscriber in place.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
    };
    if let Err(error) = installed {
        tracing::debug!(%error, "a log subscriber was already installed");
    }
}

/// The request span: see the [module documentation](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let request_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|id| match id.char_indices().nth(MAX_REQUEST_ID_CHARS) {
                Some((cut, _)) => &id[..cut],
                None => id,
            })
            .unwrap_or("-");
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            path = %request.uri().path(),
            route = route.map(tracing::field::display),
        )
    }
}

/// The tracing layer of every request: [`RequestSpan`], a `debug` line when a request starts
/// and an `info` line when its response is ready (status, latency; no headers).
#[must_use]
pub fn trace_layer() -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    RequestSpan,
    DefaultOnRequest,
    DefaultOnResponse,
> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn formats_parse_and_name_the_choices() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!(" text ".parse::<LogFormat>(), Ok(LogFormat::Text));
        let e = "xml".parse::<LogFormat>().unwrap_err();
        assert!(e.contains("text or json"), "{e}");
    }
}
