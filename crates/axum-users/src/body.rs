//! Reading request bodies the way FastAPI does, so that every malformed body gets a 422 in
//! pydantic's shape (or the 400/413 FastAPI gives), never axum's plain-text rejections.

use axum::body::Body as AxumBody;
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use crate::error::{ApiError, ValidationItem};

/// Largest request body accepted (64 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A body as FastAPI sees it before validation.
#[derive(Debug)]
pub(crate) enum Body {
    /// No bytes at all.
    Missing,
    /// Parsed JSON (content type JSON, or none given).
    Json(Value),
    /// Bytes of another content type (a form, text), which no JSON model accepts.
    Other(String),
}

/// Reads the whole body, at most [`MAX_BODY_BYTES`]; more is a 413.
pub(crate) async fn read_bytes(body: AxumBody) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            if e.into_inner().is::<http_body_util::LengthLimitError>() {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("There was an error parsing the body")
            }
        })
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| {
            s.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// Whether a content type is JSON (`application/json` or `application/*+json`).
fn is_json(ct: &str) -> bool {
    ct.strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

/// Decodes a JSON body as FastAPI does: empty → missing; JSON or no content type → parsed
/// (syntax errors are a `json_invalid` item at the byte offset); any other type → raw.
pub(crate) fn decode_json(headers: &HeaderMap, bytes: &[u8]) -> Result<Body, ApiError> {
    if bytes.is_empty() {
        return Ok(Body::Missing);
    }
    let ct = content_type(headers);
    if ct.as_deref().is_some_and(|ct| !is_json(ct)) {
        return Ok(Body::Other(String::from_utf8_lossy(bytes).into_owned()));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(ApiError::BadRequest("There was an error parsing the body"));
    };
    serde_json::from_str::<Value>(text)
        .map(Body::Json)
        .map_err(|e| {
            // At end of input serde_json names the last character read; Python the position
            // after it.
            let offset = if e.classify() == serde_json::error::Category::Eof {
                text.chars().count()
            } else {
                byte_offset(text, e.line(), e.column())
            };
            ApiError::Validation(vec![ValidationItem {
                kind: "json_invalid",
                loc: vec![json!("body"), json!(offset)],
                msg: "JSON decode error".to_owned(),
                input: json!({}),
                ctx: Some(json!({ "error": e.to_string() })),
            }])
        })
}

/// Turns serde_json's 1-based line/column into a character offset, as Python's `JSONDecodeError.pos`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let before: usize = text
        .split('\n')
        .take(line.saturating_sub(1))
        .map(|l| l.chars().count() + 1)
        .sum();
    (before + column.saturating_sub(1)).min(text.chars().count())
}

/// A form body (`application/x-www-form-urlencoded` or `multipart/form-data`), as
/// `(key, value)` pairs; any other content type, or a malformed multipart body, reads as an
/// empty form, as FastAPI does for its form models. Multipart file parts are skipped.
pub(crate) async fn decode_form(headers: &HeaderMap, bytes: bytes::Bytes) -> Vec<(String, String)> {
    match content_type(headers).as_deref() {
        Some("application/x-www-form-urlencoded") => {
            form_urlencoded::parse(&bytes).into_owned().collect()
        }
        Some("multipart/form-data") => decode_multipart(headers, bytes).await.unwrap_or_default(),
        _ => Vec::new(),
    }
}

async fn decode_multipart(
    headers: &HeaderMap,
    bytes: bytes::Bytes,
) -> Option<Vec<(String, String)>> {
    use axum::extract::FromRequest as _;
    let mut req = axum::http::Request::new(AxumBody::from(bytes));
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        headers.get(header::CONTENT_TYPE)?.clone(),
    );
    let mut multipart = axum::extract::Multipart::from_request(req, &())
        .await
        .ok()?;
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.ok()? {
        if field.file_name().is_some() {
            continue;
        }
        let name = field.name()?.to_owned();
        pairs.push((name, field.text().await.ok()?));
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_across_lines() {
        assert_eq!(byte_offset("{\"a\": }", 1, 7), 6);
        assert_eq!(byte_offset("{\n\"a\": }", 2, 6), 7);
    }

    #[test]
    fn content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/json"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
