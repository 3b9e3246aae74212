//! What a failed call to an embeddings endpoint means for the caller: worth retrying later
//! (rate limits, server errors, the network) or not (a rejected key, a bad request).

use recete_knowledge::EmbedError;
use reqwest::StatusCode;

/// Characters of an error body kept in a message; enough for the provider's explanation.
const MAX_DETAIL_CHARS: usize = 300;

/// An error raised before any status arrived: connecting, sending, or reading the body.
pub(super) fn from_transport(error: &reqwest::Error, endpoint: &str, request_timeout_ms: u64) -> EmbedError {
    if error.is_connect() {
        EmbedError::Remote { message: format!("could not connect to {endpoint}: {error}"), retryable: true }
    } else if error.is_timeout() {
        EmbedError::Timeout(request_timeout_ms)
    } else {
        EmbedError::Remote { message: format!("request to {endpoint} failed: {error}"), retryable: !error.is_builder() }
    }
}

/// A response whose status is not a success.
pub(super) fn from_status(status: StatusCode, body: &[u8], endpoint: &str) -> EmbedError {
    let retryable =
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error();
    EmbedError::Remote { message: format!("{endpoint} answered {status}: {}", detail(body)), retryable }
}

/// The provider's own explanation: OpenAI's `{"error": {"message": ...}}`, the looser shapes
/// other compatible servers use, or else the start of the body.
fn detail(body: &[u8]) -> String {
    let explained = serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|json| {
        [json.pointer("/error/message"), json.get("error"), json.get("message"), json.get("detail")]
            .into_iter()
            .flatten()
            .find_map(|value| value.as_str().map(str::to_owned))
    });
    let text = explained.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if text.is_empty() {
        return "no explanation in the body".to_owned();
    }
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retryable(status: u16) -> bool {
        let status = StatusCode::from_u16(status).expect("valid status");
        from_status(status, b"", "http://embeddings.test/v1/embeddings").is_retryable()
    }

    #[test]
    fn rate_limits_server_errors_and_request_timeouts_are_retryable() {
        assert!(retryable(429));
        assert!(retryable(408));
        assert!(retryable(500));
        assert!(retryable(503));
    }

    #[test]
    fn other_client_errors_are_final() {
        assert!(!retryable(400));
        assert!(!retryable(401));
        assert!(!retryable(404));
        assert!(!retryable(422));
    }

    #[test]
    fn the_provider_explanation_is_kept() {
        assert_eq!(
            detail(br#"{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}"#),
            "Incorrect API key"
        );
        assert_eq!(detail(br#"{"error":"model not loaded"}"#), "model not loaded");
        assert_eq!(detail(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(detail(b"  upstream overloaded \n"), "upstream overloaded");
        assert_eq!(detail(b""), "no explanation in the body");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_DETAIL_CHARS + 50);
        let cut = detail(long.as_bytes());
        assert_eq!(cut.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
