//! Lenient parsers for the shapes platforms actually send.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer};

/// An id that platforms send as a number (Shopify, WooCommerce) or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalId(pub String);

impl<'de> Deserialize<'de> for ExternalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `Value` so a missing field keeps serde's own "missing field" error.
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => Ok(Self(n.to_string())),
            serde_json::Value::String(s) if !s.trim().is_empty() => Ok(Self(s.trim().to_owned())),
            serde_json::Value::String(_) => Err(serde::de::Error::custom("must not be empty")),
            _ => Err(serde::de::Error::custom("expected an integer or a non-empty string")),
        }
    }
}

/// Money as platforms send it: "49.90", 49.9 or 4990 cents elsewhere. Kept as text here and
/// converted with [`minor_units`] so no amount ever passes through floating point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount(pub String);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(s) => Ok(Self(s)),
            serde_json::Value::Number(n) => Ok(Self(n.to_string())),
            _ => Err(serde::de::Error::custom("expected an amount as a string or number")),
        }
    }
}

/// Currencies with no minor unit (ISO 4217 exponent 0).
const ZERO_DECIMAL: &[&str] =
    &["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];
/// Currencies with three decimals.
const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

fn exponent(currency: Option<&str>) -> u32 {
    match currency.map(str::to_ascii_uppercase) {
        Some(c) if ZERO_DECIMAL.contains(&c.as_str()) => 0,
        Some(c) if THREE_DECIMAL.contains(&c.as_str()) => 3,
        _ => 2,
    }
}

/// 4990 EUR → "49.90", 1500 JPY → "1500": an amount in minor units as people write it.
pub fn major_units(minor: i64, currency: Option<&str>) -> String {
    let exponent = exponent(currency);
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10_u64.pow(exponent);
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale, width = exponent as usize)
}

/// "49.90" EUR → 4990. `None` for text that is not a plain decimal or has more digits than the
/// currency allows (we do not round money).
pub fn minor_units(amount: &str, currency: Option<&str>) -> Option<i64> {
    let exponent = exponent(currency);
    let amount = amount.trim();
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = fraction.trim_end_matches('0');
    if significant.len() > exponent as usize {
        return None;
    }
    let mut padded = significant.to_owned();
    padded.extend(std::iter::repeat_n('0', exponent as usize - significant.len()));
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if padded.is_empty() { 0 } else { padded.parse().ok()? };
    let value = whole.checked_mul(10_i64.pow(exponent))?.checked_add(fraction)?;
    Some(if negative { -value } else { value })
}

/// RFC 3339 with an offset, or a naive `YYYY-MM-DDTHH:MM:SS` taken as UTC (WooCommerce's
/// `*_gmt` fields).
pub fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
        .ok()
        .map(|naive| Utc.from_utc_datetime(&naive))
}

/// Unix seconds as WhatsApp sends them (a string of digits).
pub fn unix_seconds(text: &str) -> Option<DateTime<Utc>> {
    text.trim().parse::<i64>().ok().and_then(|secs| DateTime::from_timestamp(secs, 0))
}

/// Trims and drops empty strings: platforms send `""` for "not set".
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Joins name parts that are present.
pub fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let joined =
        [first, last].into_iter().flatten().map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_read_back_as_people_write_them() {
        assert_eq!(major_units(74990, Some("TRY")), "749.90");
        assert_eq!(major_units(5, Some("EUR")), "0.05");
        assert_eq!(major_units(-1250, Some("usd")), "-12.50");
        assert_eq!(major_units(1500, Some("JPY")), "1500");
        assert_eq!(major_units(1234, Some("KWD")), "1.234");
        for (amount, currency) in [("49.90", "EUR"), ("1500", "JPY"), ("0.125", "BHD")] {
            let minor = minor_units(amount, Some(currency)).expect("an amount");
            assert_eq!(major_units(minor, Some(currency)), amount);
        }
    }

    #[test]
    fn money_is_parsed_exactly_per_currency() {
        let cases = [
            ("49.90", Some("EUR"), Some(4990)),
            ("49.9", Some("USD"), Some(4990)),
            ("49", None, Some(4900)),
            ("0.10", Some("try"), Some(10)),
            ("1200", Some("JPY"), Some(1200)),
            ("1200.00", Some("JPY"), Some(1200)),
            ("1.234", Some("KWD"), Some(1234)),
            ("-5.00", Some("EUR"), Some(-500)),
            ("49.999", Some("EUR"), None),
            ("abc", Some("EUR"), None),
            ("", Some("EUR"), None),
            ("1e3", Some("EUR"), None),
            ("99999999999999999999", Some("EUR"), None),
        ];
        for (text, currency, expected) in cases {
            assert_eq!(minor_units(text, currency), expected, "{text} {currency:?}");
        }
    }

    #[test]
    fn timestamps_with_offsets_and_naive_gmt_parse() {
        assert_eq!(
            timestamp("2026-11-20T10:00:00+03:00").map(|t| t.to_rfc3339()),
            Some("2026-11-20T07:00:00+00:00".into())
        );
        assert_eq!(timestamp("2026-11-20T10:00:00").map(|t| t.to_rfc3339()), Some("2026-11-20T10:00:00+00:00".into()));
        assert_eq!(timestamp("yesterday"), None);
        assert_eq!(unix_seconds("1700000000").map(|t| t.timestamp()), Some(1_700_000_000));
        assert_eq!(unix_seconds("soon"), None);
    }
}
