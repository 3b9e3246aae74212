//! Cloud API failures sorted by what to do about them.

/// Why a send did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying with backoff: throughput limits, Meta's 5xx, connection failures before the
    /// request was sent.
    #[error("retryable ({code}): {reason}")]
    Retryable { code: String, reason: String },
    /// The request may or may not have reached Meta (a timeout after sending): a blind retry could
    /// make the customer see the message twice.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// This message will never go out as it is; `opted_out` when Meta says the user stopped
    /// marketing messages.
    #[error("permanent ({code}): {reason}")]
    Permanent { code: String, reason: String, opted_out: bool },
}

/// Sorts a Graph API error by its code and HTTP status.
pub fn classify(http_status: u16, code: Option<i64>, details: Option<&str>) -> SendError {
    let detail = details.map(|d| format!(" ({d})")).unwrap_or_default();
    let permanent = |code: i64, reason: &str, opted_out: bool| SendError::Permanent {
        code: code.to_string(),
        reason: format!("{reason}{detail}"),
        opted_out,
    };
    match code {
        Some(130429) => SendError::Retryable {
            code: "130429".into(),
            reason: "throughput limit of the phone number reached".into(),
        },
        Some(131056) => SendError::Retryable {
            code: "131056".into(),
            reason: "too many messages to this user in a short time".into(),
        },
        Some(131026) => {
            permanent(131026, "message undeliverable to this number (no WhatsApp, or an old app version)", false)
        }
        Some(131047) => {
            permanent(131047, "more than 24 hours since the customer last wrote; only a template may be sent", false)
        }
        Some(131049) => permanent(131049, "Meta held back this marketing message to keep engagement healthy", false),
        Some(131050) => permanent(131050, "the customer stopped marketing messages from this business", true),
        Some(132000 | 132001 | 132005 | 132007 | 132012 | 132015 | 132016) => {
            permanent(code.unwrap_or_default(), "the template or its parameters were rejected", false)
        }
        Some(100 | 131008 | 131009 | 131021) => {
            permanent(code.unwrap_or_default(), "invalid parameter in the request", false)
        }
        Some(190 | 10 | 200) => {
            permanent(code.unwrap_or_default(), "access token invalid or without permission", false)
        }
        _ if http_status >= 500 || http_status == 429 => SendError::Retryable {
            code: code.map_or_else(|| format!("http-{http_status}"), |c| c.to_string()),
            reason: format!("Meta answered {http_status}{detail}"),
        },
        Some(other) => permanent(other, "request refused by the Cloud API", false),
        None => SendError::Permanent {
            code: format!("http-{http_status}"),
            reason: format!("Meta answered {http_status}{detail}"),
            opted_out: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_into_retry_and_give_up() {
        assert!(matches!(classify(400, Some(130429), None), SendError::Retryable { .. }));
        assert!(matches!(classify(503, None, None), SendError::Retryable { .. }));
        assert!(matches!(classify(500, Some(1), None), SendError::Retryable { .. }));
        for code in [131026, 131047, 131049, 132000, 100] {
            assert!(matches!(classify(400, Some(code), None), SendError::Permanent { opted_out: false, .. }), "{code}");
        }
        assert!(matches!(classify(400, Some(131050), None), SendError::Permanent { opted_out: true, .. }));
        let SendError::Permanent { reason, .. } = classify(400, Some(131047), Some("Message failed to send")) else {
            panic!("permanent")
        };
        assert!(reason.contains("24 hours") && reason.contains("Message failed to send"), "{reason}");
    }
}
