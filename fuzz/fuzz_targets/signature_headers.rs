//! Every signature header parser on the same value: they run before any MAC is compared, so any
//! sender on the internet reaches them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recete_events::signature_headers::{MAX_SIGNATURES, ReceteSignature, base64_mac, hub_signature};

/// Clocks to measure the skew from: now, and the extremes a broken clock could report.
const NOWS: [i64; 5] = [1_700_000_000, 0, -1, i64::MIN, i64::MAX];

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    if let Some(mac) = base64_mac(value) {
        assert_eq!(mac.len(), 32);
    }
    if let Some(mac) = hub_signature(value) {
        assert_eq!(mac.len(), 32);
        assert!(value.trim().starts_with("sha256="));
    }
    match ReceteSignature::parse(value) {
        Ok(signature) => {
            assert!(!signature.macs.is_empty() && signature.macs.iter().all(|mac| mac.len() == 32));
            assert!(signature.macs.len() <= MAX_SIGNATURES);
            for now in NOWS {
                let skew = signature.skew_secs(now);
                assert!(skew >= 0, "negative skew {skew} for t={} now={now}", signature.timestamp);
            }
            // Written back in its canonical form, the header reads the same.
            let mut canonical = format!("t={}", signature.timestamp);
            for mac in &signature.macs {
                canonical.push_str(",v1=");
                canonical.extend(mac.iter().map(|byte| format!("{byte:02x}")));
            }
            assert_eq!(ReceteSignature::parse(&canonical).as_ref(), Ok(&signature), "{canonical}");
        }
        Err(reason) => assert!(!reason.is_empty()),
    }
});
