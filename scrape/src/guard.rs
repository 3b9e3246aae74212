//! Which addresses a product page may live at: public unicast only.
//!
//! A merchant-supplied URL must never make the fleet talk to its own network (databases,
//! metadata services, admin ports), so every address a request would connect to is classified
//! here: literal IP hosts before the request, resolved names inside the resolver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::ScrapeError;

/// IPv4 ranges that are not on the public internet, with the name the error uses.
const FORBIDDEN_V4: &[(Ipv4Addr, u32, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this network\" (unspecified)"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "carrier-grade NAT"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignment"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay anycast"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(255, 255, 255, 255), 32, "broadcast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved"),
];

/// IPv6 ranges inside global unicast (2000::/3) that are still not public hosts.
const FORBIDDEN_V6_GLOBAL: &[(Ipv6Addr, u32, &str)] = &[
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32, "documentation"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32, "Teredo tunnel"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, "IETF protocol assignment"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "documentation"),
];

/// IPv6 ranges outside global unicast, named for the error; anything else there is "reserved".
const NAMED_V6_NON_GLOBAL: &[(Ipv6Addr, u32, &str)] = &[
    (Ipv6Addr::new(0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0), 48, "local-use NAT64"),
    (Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64, "discard-only"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "unique local"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

/// Why `address` must not be connected to, or `None` for a public unicast address.
///
/// `allow_loopback` lets exactly 127.0.0.0/8 and `::1` through (for tests against a local
/// server); IPv4 forms hidden inside IPv6 (mapped, compatible, NAT64, 6to4) are judged by the
/// IPv4 address they carry, with loopback never allowed there.
pub fn forbidden_reason(address: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => v4_reason(v4, allow_loopback),
        IpAddr::V6(v6) => v6_reason(v6, allow_loopback),
    }
}

fn v4_reason(address: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    if allow_loopback && address.is_loopback() {
        return None;
    }
    let bits = address.to_bits();
    FORBIDDEN_V4
        .iter()
        .find(|(network, prefix, _)| bits & v4_mask(*prefix) == network.to_bits())
        .map(|(_, _, reason)| *reason)
}

fn v6_reason(address: Ipv6Addr, allow_loopback: bool) -> Option<&'static str> {
    if address == Ipv6Addr::LOCALHOST {
        return (!allow_loopback).then_some("loopback");
    }
    if address == Ipv6Addr::UNSPECIFIED {
        return Some("unspecified");
    }
    if let Some(embedded) = embedded_v4(address) {
        return v4_reason(embedded, false);
    }
    let bits = address.to_bits();
    let within = |network: &Ipv6Addr, prefix: u32| bits & v6_mask(prefix) == network.to_bits();
    let global_unicast = within(&Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
    if global_unicast {
        FORBIDDEN_V6_GLOBAL.iter().find(|(network, prefix, _)| within(network, *prefix)).map(|(_, _, reason)| *reason)
    } else {
        let named = NAMED_V6_NON_GLOBAL.iter().find(|(network, prefix, _)| within(network, *prefix));
        Some(named.map_or("reserved", |(_, _, reason)| *reason))
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible
/// (::a.b.c.d), NAT64 well-known prefix (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(mapped) = address.to_ipv4_mapped() {
        return Some(mapped);
    }
    let segments = address.segments();
    let low_v4 = || Ipv4Addr::from_bits(address.to_bits() as u32);
    match segments {
        [0, 0, 0, 0, 0, 0, _, _] => Some(low_v4()),
        [0x0064, 0xff9b, 0, 0, 0, 0, _, _] => Some(low_v4()),
        [0x2002, high, low, ..] => Some(Ipv4Addr::from_bits((u32::from(high) << 16) | u32::from(low))),
        _ => None,
    }
}

fn v4_mask(prefix: u32) -> u32 {
    u32::MAX.checked_shl(32 - prefix).unwrap_or(0)
}

fn v6_mask(prefix: u32) -> u128 {
    u128::MAX.checked_shl(128 - prefix).unwrap_or(0)
}

/// A refused address, carried through the HTTP client's error chain from the resolver so the
/// caller can report it as [`ScrapeError::ForbiddenAddress`].
#[derive(Debug, Clone)]
pub(crate) struct BlockedAddress {
    pub host: String,
    pub address: IpAddr,
    pub reason: &'static str,
}

impl BlockedAddress {
    pub(crate) fn check(host: &str, address: IpAddr, allow_loopback: bool) -> Result<(), BlockedAddress> {
        match forbidden_reason(address, allow_loopback) {
            None => Ok(()),
            Some(reason) => Err(BlockedAddress { host: host.to_owned(), address, reason }),
        }
    }
}

impl std::fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves to {}, a {} address", self.host, self.address, self.reason)
    }
}

impl std::error::Error for BlockedAddress {}

impl From<BlockedAddress> for ScrapeError {
    fn from(blocked: BlockedAddress) -> Self {
        ScrapeError::ForbiddenAddress { host: blocked.host, address: blocked.address, reason: blocked.reason }
    }
}

/// Refuses a URL whose host is a literal forbidden IP address. The HTTP client never asks the
/// resolver about literal addresses, so this check is the only one they get.
pub(crate) fn check_literal_host(url: &Url, allow_loopback: bool) -> Result<(), ScrapeError> {
    let address = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(ScrapeError::InvalidUrl(format!("{url} has no host"))),
    };
    let host = url.host_str().unwrap_or_default();
    Ok(BlockedAddress::check(host, address, allow_loopback)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(address: &str) -> Option<&'static str> {
        forbidden_reason(address.parse().expect("test addresses are valid"), false)
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"] {
            assert_eq!(reason(address), None, "{address} is public");
        }
        assert_eq!(reason("::ffff:8.8.8.8"), None, "a mapped public address is public");
    }

    #[test]
    fn ipv4_special_ranges_are_refused_with_their_name() {
        let cases = [
            ("0.0.0.0", "\"this network\" (unspecified)"),
            ("10.0.0.1", "private"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.8", "IETF protocol assignment"),
            ("192.0.2.10", "documentation"),
            ("192.168.1.1", "private"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.1", "benchmarking"),
            ("198.51.100.7", "documentation"),
            ("203.0.113.9", "documentation"),
            ("224.0.0.251", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "broadcast"),
        ];
        for (address, expected) in cases {
            assert_eq!(reason(address), Some(expected), "{address}");
        }
        assert_eq!(reason("172.32.0.1"), None, "just outside 172.16/12");
        assert_eq!(reason("100.128.0.1"), None, "just outside 100.64/10");
        assert_eq!(reason("198.20.0.1"), None, "just outside 198.18/15");
    }

    #[test]
    fn ipv6_special_ranges_are_refused_with_their_name() {
        let cases = [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("100::1", "discard-only"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "Teredo tunnel"),
            ("2001:10::1", "IETF protocol assignment"),
            ("3fff::1", "documentation"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("4000::1", "reserved"),
        ];
        for (address, expected) in cases {
            assert_eq!(reason(address), Some(expected), "{address}");
        }
    }

    #[test]
    fn ipv4_hidden_in_ipv6_is_judged_by_the_ipv4_address() {
        assert_eq!(reason("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(reason("::ffff:10.1.2.3"), Some("private"));
        assert_eq!(reason("::ffff:169.254.169.254"), Some("link-local"));
        assert_eq!(reason("::127.0.0.1"), Some("loopback"), "IPv4-compatible");
        assert_eq!(reason("64:ff9b::a9fe:a9fe"), Some("link-local"), "NAT64 of 169.254.169.254");
        assert_eq!(reason("2002:c0a8:0101::1"), Some("private"), "6to4 of 192.168.1.1");
        assert_eq!(reason("2002:0808:0808::1"), None, "6to4 of a public address");
    }

    #[test]
    fn allowing_loopback_admits_only_plain_loopback() {
        let allow = |address: &str| forbidden_reason(address.parse().expect("valid"), true);
        assert_eq!(allow("127.0.0.1"), None);
        assert_eq!(allow("127.1.2.3"), None);
        assert_eq!(allow("::1"), None);
        assert_eq!(allow("::ffff:127.0.0.1"), Some("loopback"), "mapped loopback stays refused");
        assert_eq!(allow("10.0.0.1"), Some("private"));
        assert_eq!(allow("169.254.169.254"), Some("link-local"));
        assert_eq!(allow("0.0.0.0"), Some("\"this network\" (unspecified)"));
    }

    #[test]
    fn literal_hosts_are_checked_and_names_are_left_to_the_resolver() {
        let check = |url: &str| check_literal_host(&Url::parse(url).expect("valid URL"), false);
        assert!(matches!(check("http://10.0.0.1/p"), Err(ScrapeError::ForbiddenAddress { reason: "private", .. })));
        assert!(matches!(check("http://[::1]:8080/"), Err(ScrapeError::ForbiddenAddress { .. })));
        // The URL parser turns these spellings into 127.0.0.1 before we look.
        assert!(matches!(check("http://2130706433/"), Err(ScrapeError::ForbiddenAddress { .. })));
        assert!(matches!(check("http://0x7f.1/"), Err(ScrapeError::ForbiddenAddress { .. })));
        assert!(check("https://shop.example/p").is_ok());
        assert!(check("http://93.184.216.34/").is_ok());
    }
}
