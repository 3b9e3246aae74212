//! The address guard for other calls to merchant-supplied URLs (webhook endpoints): the same
//! rules as product pages, with the same resolver inside the HTTP client, so a name is judged on
//! the addresses it is actually connected to.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::ClientBuilder;
use reqwest::redirect::Policy;
use url::{Host, Url};

use crate::guard::{BlockedAddress, forbidden_reason};
use crate::resolver::GuardedResolver;

/// A client builder whose every connection goes through the guard: names resolved by the
/// guarded resolver, no proxy (it would resolve out of sight), no redirects (a redirect could
/// lead anywhere). Literal IP hosts never reach a resolver: check them with [`check_literal`].
pub fn guarded_client_builder(allow_loopback: bool, connect_timeout: Duration) -> ClientBuilder {
    let resolver = GuardedResolver { allow_loopback, lookup_timeout: connect_timeout };
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(resolver))
        .referer(false)
}

/// Refuses a URL whose host is a forbidden literal IP address; names pass (the resolver judges
/// them).
pub fn check_literal(url: &Url, allow_loopback: bool) -> Result<(), String> {
    let address = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(format!("{url} has no host")),
    };
    let host = url.host_str().unwrap_or_default();
    BlockedAddress::check(host, address, allow_loopback).map_err(|blocked| blocked.to_string())
}

/// The longest webhook endpoint URL a merchant may register.
pub const MAX_WEBHOOK_URL: usize = 2048;

/// A webhook endpoint URL the fleet may call: http(s) without credentials or fragment, `https`
/// when `require_https` (production), not on a private, loopback or link-local address. Returns
/// it as it will be called, or what is wrong with it (a phrase that follows the field's name).
pub async fn checked_webhook_url(
    raw: &str,
    require_https: bool,
    allow_loopback: bool,
    lookup_timeout: Duration,
) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_WEBHOOK_URL {
        return Err(format!("must be 1 to {MAX_WEBHOOK_URL} characters"));
    }
    let url = Url::parse(raw).map_err(|error| format!("is not a URL: {error}"))?;
    match url.scheme() {
        "https" => {}
        "http" if !require_https => {}
        "http" => return Err("must use https".into()),
        other => return Err(format!("must be an https URL, not {other}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    check_destination(&url, allow_loopback, lookup_timeout)
        .await
        .map_err(|refusal| format!("is not reachable safely: {refusal}"))?;
    Ok(url.to_string())
}

/// Refuses a URL whose host is, or resolves to, a forbidden address: the check made when a
/// merchant registers a URL, so a mistake is reported at once rather than at the first call.
/// A name that does not resolve is refused too.
pub async fn check_destination(url: &Url, allow_loopback: bool, lookup_timeout: Duration) -> Result<(), String> {
    check_literal(url, allow_loopback)?;
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses = tokio::time::timeout(lookup_timeout, tokio::net::lookup_host((name, port)))
        .await
        .map_err(|_| format!("looking up {name} took longer than {} ms", lookup_timeout.as_millis()))?
        .map_err(|error| format!("{name} does not resolve: {error}"))?;
    let mut any = false;
    for address in addresses {
        any = true;
        if let Some(reason) = forbidden_reason(address.ip(), allow_loopback) {
            return Err(format!("{name} resolves to {}, a {reason} address", address.ip()));
        }
    }
    if !any {
        return Err(format!("{name} has no addresses"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("valid test URL")
    }

    #[test]
    fn literal_private_and_loopback_hosts_are_refused_unless_loopback_is_allowed() {
        let refused = check_literal(&url("https://10.1.2.3/hook"), true).expect_err("private");
        assert!(refused.contains("private"), "{refused}");
        let refused = check_literal(&url("http://169.254.169.254/latest"), false).expect_err("link-local");
        assert!(refused.contains("link-local"), "{refused}");
        assert!(check_literal(&url("http://127.0.0.1:9000/hook"), false).is_err());
        assert!(check_literal(&url("http://127.0.0.1:9000/hook"), true).is_ok());
        assert!(check_literal(&url("https://hooks.example.com/in"), false).is_ok());
    }

    #[tokio::test]
    async fn names_are_judged_by_what_they_resolve_to() {
        let refused = check_destination(&url("http://localhost:9/hook"), false, Duration::from_secs(2))
            .await
            .expect_err("loopback");
        assert!(refused.contains("loopback"), "{refused}");
    }
}
