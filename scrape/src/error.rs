//! Why a product page could not be scraped, and whether trying again later may help.

use std::fmt;
use std::net::IpAddr;

/// Everything that stops a scrape. Workers store [`ScrapeError::code`] and use
/// [`ScrapeError::is_retryable`] to decide between a later attempt and giving up on the URL.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The URL cannot be fetched as given (unparseable, not http(s), no host, carries credentials).
    #[error("invalid product URL: {0}")]
    InvalidUrl(String),
    /// The host is, or resolves to, an address outside the public internet. The message is
    /// shown to merchants, so it names neither the address nor its kind: a product URL must not
    /// become a way to map the fleet's own network. Both stay in the value for the logs.
    #[error("the URL's host ({host}) resolves to an address that is not public, so it is never fetched")]
    ForbiddenAddress { host: String, address: IpAddr, reason: &'static str },
    #[error("{url} may not be fetched: {reason}")]
    RobotsDisallowed { url: String, reason: RobotsRefusal },
    #[error("{url} redirected more than {limit} times")]
    TooManyRedirects { url: String, limit: usize },
    #[error("the page is larger than the {limit} bytes we accept")]
    TooLarge { limit: usize },
    #[error("the page is not HTML (content type `{content_type}`)")]
    NotHtml { content_type: String },
    #[error("the page answered HTTP {status}")]
    HttpStatus { status: u16 },
    #[error("the page did not answer within the configured timeout")]
    Timeout,
    #[error("network error: {0}")]
    Network(String),
    /// The scrape settings cannot work (an empty or malformed user agent, a zero limit).
    #[error("invalid scrape settings: {0}")]
    InvalidSettings(String),
}

/// Why robots.txt keeps us away from a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsRefusal {
    /// The site's rules disallow the path for our user agent.
    Disallowed,
    /// robots.txt answered 5xx or could not be reached; RFC 9309 then asks crawlers to stay away
    /// from the whole site until it can be read.
    Unreachable(String),
}

impl fmt::Display for RobotsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disallowed => f.write_str("the site's robots.txt disallows it for our user agent"),
            Self::Unreachable(detail) => {
                write!(f, "the site's robots.txt could not be read ({detail}), so the whole site is off limits for now")
            }
        }
    }
}

impl ScrapeError {
    /// Whether the same URL may succeed later: network trouble, timeouts, server-side errors,
    /// rate limiting and an unreadable robots.txt are passing; everything else is a property of
    /// the URL or the page.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Network(_) => true,
            Self::HttpStatus { status } => matches!(status, 408 | 425 | 429 | 500..=599),
            Self::RobotsDisallowed { reason, .. } => matches!(reason, RobotsRefusal::Unreachable(_)),
            Self::InvalidUrl(_)
            | Self::ForbiddenAddress { .. }
            | Self::TooManyRedirects { .. }
            | Self::TooLarge { .. }
            | Self::NotHtml { .. }
            | Self::InvalidSettings(_) => false,
        }
    }

    /// A stable, machine-readable name for the failure, suitable for storing and counting.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::ForbiddenAddress { .. } => "forbidden_address",
            Self::RobotsDisallowed { .. } => "robots_disallowed",
            Self::TooManyRedirects { .. } => "too_many_redirects",
            Self::TooLarge { .. } => "too_large",
            Self::NotHtml { .. } => "not_html",
            Self::HttpStatus { .. } => "http_status",
            Self::Timeout => "timeout",
            Self::Network(_) => "network",
            Self::InvalidSettings(_) => "invalid_settings",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_failures_are_retryable_and_page_properties_are_not() {
        assert!(ScrapeError::Timeout.is_retryable());
        assert!(ScrapeError::HttpStatus { status: 503 }.is_retryable());
        assert!(ScrapeError::HttpStatus { status: 429 }.is_retryable());
        assert!(!ScrapeError::HttpStatus { status: 404 }.is_retryable());
        let unreachable = ScrapeError::RobotsDisallowed {
            url: "https://shop.example/p".into(),
            reason: RobotsRefusal::Unreachable("HTTP 500".into()),
        };
        assert!(unreachable.is_retryable());
        assert_eq!(unreachable.code(), "robots_disallowed");
        let disallowed =
            ScrapeError::RobotsDisallowed { url: "https://shop.example/p".into(), reason: RobotsRefusal::Disallowed };
        assert!(!disallowed.is_retryable());
        assert!(!ScrapeError::NotHtml { content_type: "application/pdf".into() }.is_retryable());
    }

    #[test]
    fn forbidden_address_names_the_host_but_not_the_address_it_resolves_to() {
        let error = ScrapeError::ForbiddenAddress {
            host: "intranet.example".into(),
            address: IpAddr::from([10, 0, 0, 5]),
            reason: "private",
        };
        let message = error.to_string();
        assert!(message.contains("intranet.example") && message.contains("not public"), "{message}");
        assert!(!message.contains("10.0.0.5") && !message.contains("private"), "{message}");
        assert_eq!(error.code(), "forbidden_address");
    }
}
