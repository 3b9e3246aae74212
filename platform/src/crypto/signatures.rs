use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Checks `expected_mac` against HMAC-SHA256 of the message parts in constant time.
pub fn verify_hmac_sha256(key: &[u8], message_parts: &[&[u8]], expected_mac: &[u8]) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in message_parts {
        mac.update(part);
    }
    mac.verify_slice(expected_mac).is_ok()
}

/// HMAC-SHA256 of the message parts, for a caller that compares it with several candidates.
pub fn hmac_sha256_parts(key: &[u8], message_parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in message_parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Whether any candidate equals `computed`, comparing each in constant time and every one of
/// them, so the answer takes as long whichever candidate matches.
pub fn matches_any(computed: &[u8], candidates: &[Vec<u8>]) -> bool {
    candidates
        .iter()
        .fold(subtle::Choice::from(0), |found, candidate| {
            found | subtle::ConstantTimeEq::ct_eq(computed, candidate.as_slice())
        })
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify_hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"], &mac));
        assert!(!verify_hmac_sha256(b"Jefe", &[b"what do ya want for nothing!"], &mac));
        assert!(!verify_hmac_sha256(b"Jefe", &[b"what do ya want for nothing?"], &mac[..31]));
    }

    #[test]
    fn a_mac_computed_once_is_matched_against_any_of_several_candidates() {
        let mac = hmac_sha256_parts(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(mac, hmac_sha256(b"Jefe", b"what do ya want for nothing?"));
        let other = vec![0u8; 32];
        assert!(matches_any(&mac, &[other.clone(), mac.to_vec()]));
        assert!(matches_any(&mac, &[mac.to_vec(), other.clone()]));
        assert!(!matches_any(&mac, &[other.clone(), other]));
        assert!(!matches_any(&mac, &[mac[..31].to_vec()]));
        assert!(!matches_any(&mac, &[]));
    }
}
