//! Parsers for the signature headers each sender uses. Each returns the MAC bytes to compare;
//! the comparison itself is constant time and lives with the secrets
//! (`recete_platform::crypto::verify_hmac_sha256`). These run before any signature is checked, so
//! they face anyone on the internet.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Shopify and WooCommerce: base64 of HMAC-SHA256 of the body.
pub fn base64_mac(value: &str) -> Option<Vec<u8>> {
    STANDARD.decode(value.trim()).ok().filter(|mac| mac.len() == 32)
}

/// Meta: `sha256=<hex HMAC-SHA256 of the body with the app secret>`.
pub fn hub_signature(value: &str) -> Option<Vec<u8>> {
    let hex_mac = value.trim().strip_prefix("sha256=")?;
    hex::decode(hex_mac).ok().filter(|mac| mac.len() == 32)
}

/// The most `v1` entries one `Recete-Signature` may carry. A sender needs two while it rotates a
/// secret; a few more leave room for mistakes, and a bound keeps a header of thousands of
/// entries from costing more than a refusal.
pub const MAX_SIGNATURES: usize = 8;

/// The most comma-separated parts one `Recete-Signature` may carry: `t`, the `v1` entries and a
/// few entries of schemes we do not know yet.
pub const MAX_PARTS: usize = 16;

/// Our generic API: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. Several `v1` entries
/// (at most [`MAX_SIGNATURES`]) may be present while a secret rotates; any one matching is
/// enough. The MAC is computed once per secret and compared with each entry.
#[derive(Debug, PartialEq, Eq)]
pub struct ReceteSignature {
    pub timestamp: i64,
    pub macs: Vec<Vec<u8>>,
}

impl ReceteSignature {
    /// Reads the header, stopping at the first part past the bounds: a header of thousands of
    /// entries is refused after at most [`MAX_PARTS`] parts, and no entry is decoded until the
    /// whole header is known to be within them.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let mut timestamp = None;
        let mut entries = Vec::new();
        for (index, part) in value.split(',').enumerate() {
            if index == MAX_PARTS {
                return Err("at most 16 comma-separated parts are accepted");
            }
            let (key, val) = part.trim().split_once('=').ok_or("each part must be key=value")?;
            match key {
                "t" => timestamp = Some(val),
                "v1" if entries.len() == MAX_SIGNATURES => return Err("at most 8 v1 signatures are accepted"),
                "v1" => entries.push(val),
                // Unknown schemes are skipped so a future v2 can be added beside v1.
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or("t= is missing")?.parse::<i64>().map_err(|_| "t must be unix seconds")?;
        if entries.is_empty() {
            return Err("v1= is missing");
        }
        let macs = entries
            .into_iter()
            .map(|entry| hex::decode(entry).ok().filter(|mac| mac.len() == 32).ok_or("v1 must be 64 hex digits"))
            .collect::<Result<_, _>>()?;
        Ok(Self { timestamp, macs })
    }

    /// How many seconds the signed timestamp is from `now` (unix seconds), in either direction.
    /// Saturates: `t` is whatever a sender wrote, checked before the MAC, and `now - t`
    /// overflows an i64 for a `t` near `i64::MIN`.
    pub fn skew_secs(&self, now: i64) -> i64 {
        now.saturating_sub(self.timestamp).saturating_abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recete_signature_headers_parse_or_say_why_not() {
        let mac = "a".repeat(64);
        let parsed = ReceteSignature::parse(&format!("t=1700000000,v1={mac},v0=zz,v1={mac}")).expect("valid");
        assert_eq!(parsed.timestamp, 1_700_000_000);
        assert_eq!(parsed.macs.len(), 2);
        let cases = [
            ("", "each part must be key=value"),
            (&format!("v1={mac}") as &str, "t= is missing"),
            ("t=1700000000", "v1= is missing"),
            ("t=yesterday,v1=00", "t must be unix seconds"),
            ("t=1,v1=abc", "v1 must be 64 hex digits"),
        ];
        for (header, reason) in cases {
            assert_eq!(ReceteSignature::parse(header), Err(reason), "{header}");
        }
    }

    #[test]
    fn eight_v1_entries_are_accepted_and_a_ninth_is_refused_before_it_is_decoded() {
        let mac = "b".repeat(64);
        let eight = format!("t=1700000000,{}", vec![format!("v1={mac}"); 8].join(","));
        assert_eq!(ReceteSignature::parse(&eight).expect("eight entries").macs.len(), 8);
        // The ninth is not even hex: the bound is what refuses it.
        let nine = format!("{eight},v1=not-hex");
        assert_eq!(ReceteSignature::parse(&nine), Err("at most 8 v1 signatures are accepted"));
        let short = format!("t=1700000000,{}", vec!["v1=ab"; 10_000].join(","));
        assert_eq!(ReceteSignature::parse(&short), Err("at most 8 v1 signatures are accepted"));
    }

    #[test]
    fn a_header_of_ten_thousand_entries_is_refused_after_the_first_parts() {
        let mac = "c".repeat(64);
        let flood = format!("t=1700000000,{}", vec![format!("v1={mac}"); 10_000].join(","));
        assert_eq!(ReceteSignature::parse(&flood), Err("at most 8 v1 signatures are accepted"));
        let unknown = format!("t=1700000000,v1={mac},{}", vec!["v9=x"; 10_000].join(","));
        assert_eq!(ReceteSignature::parse(&unknown), Err("at most 16 comma-separated parts are accepted"));
        let sixteen = format!("t=1700000000,v1={mac},{}", vec!["v9=x"; 14].join(","));
        assert!(ReceteSignature::parse(&sixteen).is_ok(), "sixteen parts are within the bound");
    }

    #[test]
    fn mac_headers_must_have_the_right_length_and_encoding() {
        assert!(base64_mac(&STANDARD.encode([7u8; 32])).is_some());
        assert!(base64_mac(&STANDARD.encode([7u8; 31])).is_none());
        assert!(base64_mac("not base64!").is_none());
        assert!(hub_signature(&format!("sha256={}", "0".repeat(64))).is_some());
        assert!(hub_signature(&"0".repeat(64)).is_none());
        assert!(hub_signature("sha256=xyz").is_none());
    }

    #[test]
    fn skew_is_measured_both_ways_and_extreme_timestamps_do_not_overflow() {
        let signed_at = |t: i64| ReceteSignature { timestamp: t, macs: vec![vec![0; 32]] };
        assert_eq!(signed_at(1_700_000_000).skew_secs(1_700_000_300), 300);
        assert_eq!(signed_at(1_700_000_300).skew_secs(1_700_000_000), 300);
        // `now - t` overflowed here and panicked the request in debug builds.
        let header = format!("t={},v1={}", i64::MIN, "a".repeat(64));
        let extreme = ReceteSignature::parse(&header).expect("a well-formed header");
        assert_eq!(extreme.skew_secs(1_700_000_000), i64::MAX);
        assert_eq!(signed_at(i64::MAX).skew_secs(-1_700_000_000), i64::MAX);
        assert_eq!(signed_at(i64::MIN).skew_secs(i64::MIN), 0);
    }
}
