//! Quantities, currencies and amounts. Amounts come with a decimal point or a decimal comma
//! (`1,234.56` and `1.234,56` are the same), so the separator is told from the value itself:
//! - both `.` and `,` present: the last one is the decimal separator;
//! - one of them, several times: thousands separators (`1.234.567`);
//! - one of them, once, followed by exactly three digits: a thousands separator (`1.234` is
//!   1234), unless the currency has three decimals (KWD, BHD, ...);
//! - otherwise the decimal separator.
//!
//! Spaces and apostrophes (`1 234,56`, `1'234.56`) group thousands; a currency symbol or code
//! around the number is ignored.

/// A positive whole number; empty means 1. `2.0` and `2,00` (a spreadsheet's number format)
/// are 2.
pub(crate) fn quantity(raw: &str) -> Result<u32, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(1);
    }
    let whole = match value.find(['.', ',']) {
        Some(at) if value.len() > at + 1 && value[at + 1..].bytes().all(|b| b == b'0') => &value[..at],
        _ => value,
    };
    let refuse = || "must be a whole number of at least 1".to_owned();
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    match whole.parse::<u32>() {
        Ok(0) => Err(refuse()),
        Ok(count) => Ok(count),
        Err(_) => Err("is too large for a quantity".to_owned()),
    }
}

/// A three-letter ISO 4217 code in upper case.
pub(crate) fn currency(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err("not a three-letter currency code such as EUR or USD".to_owned())
    }
}

/// Digits after the decimal point in a currency's minor unit (ISO 4217); 2 when unknown.
pub(crate) fn minor_unit_digits(currency: Option<&str>) -> u32 {
    match currency.unwrap_or_default() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
        | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

const CURRENCY_SIGNS: &[char] = &['€', '$', '£', '¥', '₺', '₹', '₽', '₩', '₫', '₪', '¢', '₴', '₱', '฿', '₦', '₡'];

/// An amount in minor units (cents for EUR): `1.234,56` with 2 decimals is 123456.
pub(crate) fn money(raw: &str, decimals: u32) -> Result<i64, String> {
    let not_a_number = || "not an amount; write it as 1234.56 or 1234,56".to_owned();
    let bare = raw.trim().trim_matches(|c: char| c.is_alphabetic() || CURRENCY_SIGNS.contains(&c) || c.is_whitespace());
    let (negative, unsigned) = match bare.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, bare.strip_prefix('+').unwrap_or(bare)),
    };
    let digits: String = unsigned.chars().filter(|c| !c.is_whitespace() && !matches!(c, '\'' | '’')).collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',') {
        return Err(not_a_number());
    }
    let (integer, fraction) = split_decimal(&digits, decimals).ok_or_else(not_a_number)?;
    if fraction.len() > decimals as usize {
        return Err(format!("has more than {decimals} decimal places"));
    }
    let scale = 10i64.pow(decimals);
    let padded_fraction = format!("{fraction:0<width$}", width = decimals as usize);
    let too_large = || "is too large".to_owned();
    let whole: i64 = integer.parse().map_err(|_| too_large())?;
    let cents: i64 =
        if padded_fraction.is_empty() { 0 } else { padded_fraction.parse().map_err(|_| not_a_number())? };
    let minor = whole.checked_mul(scale).and_then(|w| w.checked_add(cents)).ok_or_else(too_large)?;
    Ok(if negative { -minor } else { minor })
}

/// Splits digits and separators into the whole part (grouping removed) and the fraction.
fn split_decimal(number: &str, decimals: u32) -> Option<(String, &str)> {
    let dots = number.matches('.').count();
    let commas = number.matches(',').count();
    let decimal_at = match (dots, commas) {
        (0, 0) => None,
        (_, 0) | (0, _) => {
            let separator = if dots > 0 { '.' } else { ',' };
            let at = number.find(separator)?;
            let three_after = number.len() - at - 1 == 3;
            if dots + commas > 1 || (three_after && decimals != 3) { None } else { Some(at) }
        }
        _ => Some(number.rfind(['.', ','])?),
    };
    let (whole, fraction) = match decimal_at {
        Some(at) => (&number[..at], &number[at + 1..]),
        None => (number, ""),
    };
    if fraction.contains(['.', ',']) {
        return None;
    }
    let groups: Vec<&str> = whole.split(['.', ',']).collect();
    let grouped_well = groups.len() == 1
        || (groups.first().is_some_and(|g| (1..=3).contains(&g.len())) && groups[1..].iter().all(|g| g.len() == 3));
    let separators_agree = groups.len() == 1 || whole.contains('.') != whole.contains(',');
    if !grouped_well || !separators_agree || whole.is_empty() {
        return None;
    }
    Some((groups.concat(), fraction))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_with_either_decimal_separator() {
        let cases = [
            ("1.234,56", 2, 123_456),
            ("1,234.56", 2, 123_456),
            ("39,90", 2, 3_990),
            ("39.90", 2, 3_990),
            ("39.9", 2, 3_990),
            ("39", 2, 3_900),
            ("1.234", 2, 123_400),
            ("1,234", 2, 123_400),
            ("1.234", 3, 1_234),
            ("1.234.567", 2, 123_456_700),
            ("1 234,56", 2, 123_456),
            ("1'234.56", 2, 123_456),
            ("€ 12,50", 2, 1_250),
            ("12.50 EUR", 2, 1_250),
            ("-5,00", 2, -500),
            ("1500", 0, 1_500),
            ("12.345", 0, 12_345),
            ("0,5", 2, 50),
        ];
        for (raw, decimals, expected) in cases {
            assert_eq!(money(raw, decimals), Ok(expected), "{raw} with {decimals} decimals");
        }
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for raw in ["", "abc", "1.2.3,4,5", "12,34,5", "1,23.456,7", "1..2", ".", "12-3", "1.23.45"] {
            assert!(money(raw, 2).is_err(), "{raw}");
        }
        assert_eq!(money("1.5", 0), Err("has more than 0 decimal places".into()));
        assert_eq!(money("99999999999999999999", 2), Err("is too large".into()));
    }

    #[test]
    fn quantities_are_positive_whole_numbers() {
        assert_eq!(quantity(""), Ok(1));
        assert_eq!(quantity(" 3 "), Ok(3));
        assert_eq!(quantity("2.0"), Ok(2));
        assert_eq!(quantity("2,00"), Ok(2));
        for bad in ["0", "-1", "1.5", "two", "1e3", ".0"] {
            assert_eq!(quantity(bad), Err("must be a whole number of at least 1".into()), "{bad}");
        }
        assert_eq!(quantity("99999999999"), Err("is too large for a quantity".into()));
    }

    #[test]
    fn currencies_and_their_decimals() {
        assert_eq!(currency(" eur "), Ok("EUR".into()));
        assert!(currency("€").is_err());
        assert_eq!(minor_unit_digits(Some("JPY")), 0);
        assert_eq!(minor_unit_digits(Some("KWD")), 3);
        assert_eq!(minor_unit_digits(Some("EUR")), 2);
        assert_eq!(minor_unit_digits(None), 2);
    }
}
