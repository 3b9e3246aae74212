//! Phone numbers in E.164, parsed by libphonenumber's rules (the `phonenumber` crate), never by
//! hand. A number typed in a local format (`0555 111 22 33`) needs the country it was typed in.

use std::fmt;

use phonenumber::Mode;
use phonenumber::country;

/// A valid phone number in E.164 form (`+905551112233`). Only [`PhoneNumber::parse`] makes one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a phone number")]
    Unparseable,
    #[error("not a valid number for its country")]
    Invalid,
    #[error("`{0}` is not an ISO 3166-1 alpha-2 country code")]
    UnknownCountry(String),
}

impl PhoneNumber {
    /// Parses `raw`, reading a number without a `+` prefix as local to `default_country`
    /// (ISO 3166-1 alpha-2, for example `TR`).
    pub fn parse(raw: &str, default_country: Option<&str>) -> Result<Self, PhoneError> {
        let region = match default_country.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => Some(
                code.to_ascii_uppercase()
                    .parse::<country::Id>()
                    .map_err(|_| PhoneError::UnknownCountry(code.to_owned()))?,
            ),
            None => None,
        };
        // A number written with its `+` country code is read without the default country: given
        // one, the parser can fold the country code into a national number (with `US`,
        // `+49 151 23456789` came out as `+495123456789`, still "valid").
        let raw = raw.trim();
        let region = if raw.starts_with('+') { None } else { region };
        let parsed = phonenumber::parse(region, raw).map_err(|_| PhoneError::Unparseable)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(parsed.format().mode(Mode::E164).to_string()))
    }

    /// A sender's WhatsApp id (`905551112233`, E.164 without the `+`). Meta's id is
    /// authoritative: a number range the bundled metadata does not know yet is accepted as long
    /// as it is possible (a known country code and a length that country's numbers have).
    pub fn from_wa_id(wa_id: &str) -> Result<Self, PhoneError> {
        let digits = wa_id.trim().trim_start_matches('+');
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(PhoneError::Unparseable);
        }
        let parsed = phonenumber::parse(None, format!("+{digits}")).map_err(|_| PhoneError::Unparseable)?;
        if !phonenumber::is_valid(&parsed) && !is_possible(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(parsed.format().mode(Mode::E164).to_string()))
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }

    /// The WhatsApp id form: E.164 without the `+`.
    pub fn wa_id(&self) -> &str {
        self.0.trim_start_matches('+')
    }
}

/// Whether the number's national part has a length some number of its country code has
/// (libphonenumber's "possible number" test), whatever its digits.
fn is_possible(parsed: &phonenumber::PhoneNumber) -> bool {
    let national = parsed.national().to_string();
    let length = u16::try_from(national.len()).unwrap_or(u16::MAX);
    phonenumber::metadata::DATABASE.by_code(&parsed.code().value()).is_some_and(|regions| {
        regions.iter().any(|region| {
            let kinds = region.descriptors();
            // The general description's lengths are the union of the kinds' in libphonenumber's
            // own builds; the bundled metadata keeps them per kind.
            [
                Some(kinds.general()),
                kinds.fixed_line(),
                kinds.mobile(),
                kinds.toll_free(),
                kinds.premium_rate(),
                kinds.shared_cost(),
                kinds.personal_number(),
                kinds.voip(),
                kinds.pager(),
                kinds.uan(),
                kinds.voicemail(),
            ]
            .into_iter()
            .flatten()
            .any(|kind| kind.possible_length().contains(&length))
        })
    })
}

/// A stored number as a dashboard may show it: the country calling code and the last two digits
/// (`+49 ****89`), enough to tell customers apart without revealing the number. Anything that is
/// not an E.164 number keeps only its last two digits.
pub fn masked(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    match phonenumber::parse(None, e164.trim()) {
        Ok(parsed) if e164.trim_start().starts_with('+') && digits.len() > 4 => {
            format!("+{} ****{tail}", parsed.code().value())
        }
        _ => format!("****{tail}"),
    }
}

/// Never prints the number: logs and debug output show only that one exists.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber(+***{})", &self.0[self.0.len().saturating_sub(2)..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_international_forms_become_e164() {
        let cases = [
            ("+90 555 111 22 33", None, "+905551112233"),
            ("0555 111 22 33", Some("TR"), "+905551112233"),
            ("(613) 555-1212", Some("ca"), "+16135551212"),
            ("+49 30 901820", Some("US"), "+4930901820"),
            ("905551112233", Some("TR"), "+905551112233"),
        ];
        for (raw, country, expected) in cases {
            let phone = PhoneNumber::parse(raw, country).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(phone.as_e164(), expected, "{raw}");
        }
    }

    #[test]
    fn junk_is_refused_with_a_reason() {
        assert_eq!(PhoneNumber::parse("555-555-SHIP", Some("US")), Err(PhoneError::Invalid));
        assert!(PhoneNumber::parse("hello", Some("US")).is_err());
        assert!(PhoneNumber::parse("0555 111 22 33", None).is_err());
        assert_eq!(PhoneNumber::parse("0555", Some("XX")), Err(PhoneError::UnknownCountry("XX".into())));
    }

    #[test]
    fn masking_keeps_the_country_code_and_the_last_two_digits() {
        assert_eq!(masked("+4915112345689"), "+49 ****89");
        assert_eq!(masked("+905551112233"), "+90 ****33");
        assert_eq!(masked("+16135551212"), "+1 ****12");
        assert_eq!(masked("garbage 42"), "****42");
        assert_eq!(masked(""), "****");
    }

    #[test]
    fn an_international_number_ignores_the_default_country() {
        let phone = PhoneNumber::parse("+49 151 23456789", Some("US")).expect("valid");
        assert_eq!(phone.as_e164(), "+4915123456789");
    }

    #[test]
    fn a_wa_id_needs_only_to_be_possible() {
        // Valid by the metadata.
        assert_eq!(PhoneNumber::from_wa_id("905551112233").expect("valid").as_e164(), "+905551112233");
        // A Turkish mobile range the metadata does not list (59x): possible, not valid.
        assert_eq!(PhoneNumber::parse("+905951112233", None), Err(PhoneError::Invalid));
        assert_eq!(PhoneNumber::from_wa_id("905951112233").expect("possible").as_e164(), "+905951112233");
        // Too short for its country, or not digits at all.
        assert_eq!(PhoneNumber::from_wa_id("90555"), Err(PhoneError::Invalid));
        assert!(PhoneNumber::from_wa_id("90555abc1122").is_err());
        assert!(PhoneNumber::from_wa_id("").is_err());
    }

    #[test]
    fn debug_output_hides_the_number() {
        let phone = PhoneNumber::parse("+905551112233", None).expect("valid");
        assert!(!format!("{phone:?}").contains("5551112233"));
    }
}
