//! Whether a browser's request comes from our own pages: the checks every cookie-signed web page
//! (the queue board, the merchants' console) makes before it changes anything.

use subtle::ConstantTimeEq;

/// Why a request is taken to come from another site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossSite {
    /// The browser's `Sec-Fetch-Site` names another site (`cross-site`, `same-site`).
    FetchSite(String),
    /// `Origin` is not the host the request was sent to.
    Origin { origin: String, host: String },
}

/// Refuses what a browser says came from another site: `Sec-Fetch-Site` other than
/// `same-origin` or `none` (typed by the user), or an `Origin` whose host is not `host`. A
/// request with neither header (scripts, old browsers) passes: the CSRF token guards it.
pub fn same_origin(sec_fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> Result<(), CrossSite> {
    if let Some(site) = sec_fetch_site
        && site != "same-origin"
        && site != "none"
    {
        return Err(CrossSite::FetchSite(site.to_owned()));
    }
    if let Some(origin) = origin {
        let host = host.unwrap_or_default();
        let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        if host.is_empty() || origin_host != Some(host) {
            return Err(CrossSite::Origin { origin: origin.to_owned(), host: host.to_owned() });
        }
    }
    Ok(())
}

/// A form's CSRF token against the session's, in constant time.
pub fn tokens_match(expected: &str, given: &[u8]) -> bool {
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_from_other_sites_are_refused_and_same_site_ones_pass() {
        assert_eq!(same_origin(None, None, None), Ok(()));
        assert_eq!(same_origin(Some("same-origin"), None, None), Ok(()));
        assert_eq!(same_origin(Some("none"), None, None), Ok(()));
        assert_eq!(same_origin(None, Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")), Ok(()));
        assert_eq!(same_origin(None, Some("https://shop.example"), Some("shop.example")), Ok(()));
        assert_eq!(same_origin(Some("cross-site"), None, None), Err(CrossSite::FetchSite("cross-site".into())));
        assert_eq!(same_origin(Some("same-site"), None, None), Err(CrossSite::FetchSite("same-site".into())));
        assert!(matches!(
            same_origin(None, Some("http://evil.example"), Some("127.0.0.1:8080")),
            Err(CrossSite::Origin { origin, .. }) if origin == "http://evil.example"
        ));
        assert!(same_origin(None, Some("http://127.0.0.1:8080"), None).is_err(), "no host to compare with");
        assert!(same_origin(None, Some("null"), Some("127.0.0.1:8080")).is_err());
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        assert!(tokens_match("abc", b"abc"));
        assert!(!tokens_match("abc", b"abd"));
        assert!(!tokens_match("abc", b"ab"));
        assert!(!tokens_match("", b"x"));
    }
}
