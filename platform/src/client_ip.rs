//! Which address a request comes from, and which proxies may say so.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is believed only when the
//! peer is a proxy we run, and then only from the right: each trusted proxy appends the address
//! it saw, so the right-most entry that is not one of ours is the client. Anything left of it
//! may be made up by the client.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use serde::Deserialize;

/// An address block in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`); a bare address is a block
/// of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an address block like 10.0.0.0/8, 2001:db8::/32 or a single address")]
pub struct InvalidCidr(String);

impl FromStr for Cidr {
    type Err = InvalidCidr;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidCidr(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| invalid())?);
        let bits = address_bits(network);
        let prefix = match prefix {
            Some(prefix) => prefix.parse::<u8>().ok().filter(|p| *p <= bits).ok_or_else(invalid)?,
            None => bits,
        };
        Ok(Self { network: masked(network, prefix), prefix })
    }
}

impl TryFrom<String> for Cidr {
    type Error = InvalidCidr;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && masked(ip, self.prefix) == self.network
    }
}

/// IPv4 addresses written as IPv6 (`::ffff:192.0.2.1`, as dual-stack sockets report them) are
/// the IPv4 address, for matching and for counting.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

fn address_bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy. `forwarded_for` holds every
/// `X-Forwarded-For` field value in the order received. An entry that is not an address stops
/// the walk at the last trusted hop, so a broken header can never name an arbitrary client.
pub fn client_ip<'a>(peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>, trusted: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|block| block.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let entries: Vec<&str> = forwarded_for.into_iter().flat_map(|value| value.split(',')).collect();
    let mut hop = peer;
    for entry in entries.into_iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            return hop;
        };
        if !is_trusted(ip) {
            return ip;
        }
        hop = ip;
    }
    hop
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), as some load balancers write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry.parse::<IpAddr>().or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip())).ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|text| text.parse().expect("valid block")).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("valid address")
    }

    #[test]
    fn blocks_parse_and_match() {
        let private = blocks(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]);
        assert!(private[0].contains(ip("10.200.3.4")));
        assert!(!private[0].contains(ip("11.0.0.1")));
        assert!(private[0].contains(ip("::ffff:10.1.1.1")), "IPv4-mapped IPv6 is the IPv4 address");
        assert!(private[1].contains(ip("2001:db8:ffff::1")));
        assert!(!private[1].contains(ip("2001:db9::1")));
        assert!(private[2].contains(ip("192.0.2.7")));
        assert!(!private[2].contains(ip("192.0.2.8")));
        assert_eq!("10.1.2.3/8".parse::<Cidr>().expect("host bits are masked").to_string(), "10.0.0.0/8");
        assert!("0.0.0.0/0".parse::<Cidr>().expect("everything").contains(ip("203.0.113.9")));
    }

    #[test]
    fn malformed_blocks_are_refused_by_name() {
        for text in ["10.0.0.0/33", "2001:db8::/129", "ten.0.0.0/8", "10.0.0.0/", "10.0.0.0/-1", ""] {
            let error = text.parse::<Cidr>().expect_err(text);
            assert!(error.to_string().contains(&format!("`{text}`")), "{error}");
        }
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_trusted() {
        let trusted = blocks(&["10.0.0.0/8"]);
        assert_eq!(client_ip(ip("198.51.100.4"), ["203.0.113.9"], &trusted), ip("198.51.100.4"));
        assert_eq!(client_ip(ip("198.51.100.4"), ["203.0.113.9"], &[]), ip("198.51.100.4"));
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = blocks(&["10.0.0.0/8"]);
        // The client claims to be 192.0.2.1; our proxies saw 203.0.113.9 and then 10.0.0.2.
        let headers = ["192.0.2.1, 203.0.113.9", "10.0.0.2"];
        assert_eq!(client_ip(ip("10.0.0.1"), headers, &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.1"), ["203.0.113.9:4711"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.1"), ["[2001:db8::5]:4711"], &trusted), ip("2001:db8::5"));
    }

    #[test]
    fn without_a_usable_entry_the_last_trusted_hop_is_the_client() {
        let trusted = blocks(&["10.0.0.0/8"]);
        assert_eq!(client_ip(ip("10.0.0.1"), [], &trusted), ip("10.0.0.1"));
        assert_eq!(client_ip(ip("10.0.0.1"), ["10.0.0.5"], &trusted), ip("10.0.0.5"));
        assert_eq!(client_ip(ip("10.0.0.1"), ["203.0.113.9, unknown, 10.0.0.5"], &trusted), ip("10.0.0.5"));
    }
}
