//! Single HTTP exchanges: one request with no redirect followed, bodies read under a byte cap,
//! and the client's errors turned into [`ScrapeError`]s.

use std::error::Error as _;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Client, Response, StatusCode};
use url::Url;

use crate::ScrapeError;
use crate::guard::BlockedAddress;

/// Sends one GET. Redirects come back as responses for the caller to vet and follow.
pub(crate) async fn get(client: &Client, url: &Url, accept: &'static str) -> Result<Response, ScrapeError> {
    client.get(url.clone()).header(ACCEPT, accept).send().await.map_err(|error| request_error(error, url))
}

/// Where a redirect response points, resolved against the URL that answered it; `None` when the
/// response is not a redirect.
pub(crate) fn redirect_target(response: &Response, from: &Url) -> Result<Option<Url>, ScrapeError> {
    let status = response.status();
    let is_redirect = matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    if !is_redirect {
        return Ok(None);
    }
    let location = response
        .headers()
        .get(LOCATION)
        .ok_or(ScrapeError::HttpStatus { status: status.as_u16() })?
        .to_str()
        .map_err(|_| ScrapeError::InvalidUrl(format!("{from} redirects to a Location that is not text")))?;
    from.join(location)
        .map(Some)
        .map_err(|error| ScrapeError::InvalidUrl(format!("{from} redirects to `{location}`: {error}")))
}

/// A body read up to a cap.
pub(crate) struct CappedBody {
    pub bytes: Vec<u8>,
    /// The server had more to send than the cap; reading stopped there and the connection was
    /// dropped with the rest unread.
    pub truncated: bool,
}

/// Reads the body chunk by chunk and stops as soon as `limit` bytes are passed, so an endless or
/// huge response costs at most `limit` bytes of memory and about as much transfer.
pub(crate) async fn read_capped(mut response: Response, url: &Url, limit: usize) -> Result<CappedBody, ScrapeError> {
    let expected = response.content_length().map_or(0, |length| usize::try_from(length).unwrap_or(usize::MAX));
    let mut bytes = Vec::with_capacity(expected.min(limit));
    while let Some(chunk) = response.chunk().await.map_err(|error| request_error(error, url))? {
        let room = limit - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(CappedBody { bytes, truncated: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(CappedBody { bytes, truncated: false })
}

/// What the Content-Type header says about a page.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DeclaredType {
    Html,
    /// No Content-Type at all; the body decides (see [`looks_like_html`]).
    Missing,
    Other(String),
}

pub(crate) fn declared_type(response: &Response) -> DeclaredType {
    let Some(header) = response.headers().get(CONTENT_TYPE) else {
        return DeclaredType::Missing;
    };
    let Ok(value) = header.to_str() else {
        return DeclaredType::Other(String::from_utf8_lossy(header.as_bytes()).into_owned());
    };
    let media_type = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media_type.as_str() {
        "text/html" | "application/xhtml+xml" => {
            if let Some(charset) = declared_charset(value)
                && !matches!(charset.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
            {
                tracing::debug!(%charset, "page declares a non-UTF-8 charset; decoding it as UTF-8 with replacements");
            }
            DeclaredType::Html
        }
        "" => DeclaredType::Missing,
        _ => DeclaredType::Other(value.to_owned()),
    }
}

fn declared_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

/// Whether an undeclared body starts like an HTML document (after a byte-order mark and
/// whitespace): a doctype, `<html`, `<head` or `<body`. Anything vaguer is refused rather than
/// guessed at, so stray binaries and XML feeds never reach the extractor.
pub(crate) fn looks_like_html(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|byte| !byte.is_ascii_whitespace()).unwrap_or(body.len());
    let head = &body[start..body.len().min(start + 16)];
    [b"<!doctype html".as_slice(), b"<html", b"<head", b"<body"]
        .iter()
        .any(|opening| head.len() >= opening.len() && head[..opening.len()].eq_ignore_ascii_case(opening))
}

/// Decodes a page as UTF-8. Pages in other charsets come out with replacement characters where
/// their bytes are not valid UTF-8; for product text that loss is accepted over guessing.
pub(crate) fn decode_html(bytes: Vec<u8>) -> String {
    let text = String::from_utf8(bytes).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    match text.strip_prefix('\u{feff}') {
        Some(without_bom) => without_bom.to_owned(),
        None => text,
    }
}

/// Names what went wrong with a request: a refused address found anywhere in the error chain
/// (the resolver's verdict), a timeout, or a network failure with its whole cause chain.
pub(crate) fn request_error(error: reqwest::Error, url: &Url) -> ScrapeError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(current) = cause {
        if let Some(blocked) = current.downcast_ref::<BlockedAddress>() {
            return blocked.clone().into();
        }
        cause = current.source();
    }
    if error.is_timeout() {
        return ScrapeError::Timeout;
    }
    ScrapeError::Network(format!("{} ({url})", describe_chain(error.without_url())))
}

/// The error and its causes on one line, skipping causes that repeat their parent's message.
fn describe_chain(error: reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let text = current.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = current.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_recognised_only_by_a_real_opening() {
        assert!(looks_like_html(b"<!DOCTYPE html><html></html>"));
        assert!(looks_like_html(b"\xEF\xBB\xBF\n  <html lang=\"en\">"));
        assert!(looks_like_html(b"<HEAD><title>x</title>"));
        assert!(!looks_like_html(b"%PDF-1.7\n"));
        assert!(!looks_like_html(b"<?xml version=\"1.0\"?><rss>"));
        assert!(!looks_like_html(b"<htm"));
        assert!(!looks_like_html(b""));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_the_byte_order_mark_dropped() {
        assert_eq!(decode_html(b"\xEF\xBB\xBF<p>caf\xE9</p>".to_vec()), "<p>caf\u{fffd}</p>");
        assert_eq!(decode_html("<p>çay</p>".as_bytes().to_vec()), "<p>çay</p>");
    }

    #[test]
    fn charset_parameter_is_read_case_insensitively() {
        assert_eq!(declared_charset("text/html; Charset=\"ISO-8859-9\""), Some("iso-8859-9".to_owned()));
        assert_eq!(declared_charset("text/html"), None);
    }
}
