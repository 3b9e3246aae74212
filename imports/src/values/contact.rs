//! Contact details and addresses: phone numbers by libphonenumber's rules (the `phonenumber`
//! crate), emails by their shape, countries as ISO codes, web pages as absolute http(s) URLs.

use phonenumber::{Mode, country};

/// A phone number in E.164 (`+4915123456789`). A number starting with `+` or `00` is read as
/// international; any other as local to `default_country`, and failing that as a number whose
/// `+` a spreadsheet dropped. An international number is parsed without the default country:
/// given one, the parser strips that country's trunk prefix from the digits after the country
/// code (with `US`, `+49 151 ...` would lose its `1`).
pub(crate) fn phone(raw: &str, default_country: Option<country::Id>) -> Result<String, String> {
    // A leading apostrophe keeps a spreadsheet from reading the number as a formula or a number.
    let trimmed = raw.trim().trim_start_matches('\'').trim_start();
    if trimmed.contains(['e', 'E']) && trimmed.contains('+') && trimmed.contains(['.', ',']) {
        return Err("a spreadsheet turned this number into scientific notation; format the column as text".into());
    }
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let found = if trimmed.starts_with('+') {
        valid_e164(None, trimmed)
    } else if let Some(international) = digits.strip_prefix("00") {
        valid_e164(None, &format!("+{international}")).or_else(|| valid_e164(default_country, trimmed))
    } else {
        let plus_dropped = || (digits.len() >= 10 && !digits.starts_with('0')).then(|| format!("+{digits}"));
        default_country
            .and_then(|country| valid_e164(Some(country), trimmed))
            .or_else(|| plus_dropped().and_then(|number| valid_e164(None, &number)))
    };
    found.ok_or_else(|| match default_country {
        None if !trimmed.starts_with('+') => {
            "not a phone number in international form; write it with + and the country code, or set the store's \
             country"
                .into()
        }
        None => "not a valid phone number".into(),
        Some(country) => format!("not a valid phone number for {country:?} or in international form"),
    })
}

fn valid_e164(country: Option<country::Id>, number: &str) -> Option<String> {
    let parsed = phonenumber::parse(country, number).ok()?;
    phonenumber::is_valid(&parsed).then(|| parsed.format().mode(Mode::E164).to_string())
}

/// An email address in lower case, if it looks like one: one `@`, something before it, a
/// domain with a dot after it, no spaces.
pub(crate) fn email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    let refuse = || Err("not an email address".to_owned());
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control() || "<>,;\"()[]\\".contains(c)) {
        return refuse();
    }
    let Some((local, domain)) = email.split_once('@') else { return refuse() };
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && !domain.contains('@');
    let local_ok = !local.is_empty() && local.len() <= 64 && !local.starts_with('.') && !local.ends_with('.');
    if domain_ok && local_ok && !local.contains("..") { Ok(email) } else { refuse() }
}

/// A two-letter ISO 3166 country code in upper case.
pub(crate) fn country(raw: &str) -> Result<String, String> {
    let code = raw.trim().to_ascii_uppercase();
    let known = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) && code.parse::<country::Id>().is_ok();
    if known { Ok(code) } else { Err("not a two-letter ISO 3166 country code such as DE or US".into()) }
}

/// An absolute `http` or `https` address, as written.
pub(crate) fn web_address(raw: &str) -> Result<String, String> {
    let address = raw.trim();
    match url::Url::parse(address) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() && !address.contains(' ') => {
            Ok(address.to_owned())
        }
        _ => Err("not a web address; it should start with https://".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_international_phones_become_e164() {
        let cases = [
            ("0151 2345 6789", Some(country::Id::DE), "+4915123456789"),
            ("+49 151 23456789", None, "+4915123456789"),
            ("+49 151 23456789", Some(country::Id::US), "+4915123456789"),
            ("+1 415 555 0100", Some(country::Id::DE), "+14155550100"),
            ("0049 151 23456789", Some(country::Id::DE), "+4915123456789"),
            ("0049 151 23456789", None, "+4915123456789"),
            ("0049 151 23456789", Some(country::Id::US), "+4915123456789"),
            ("(415) 555-0100", Some(country::Id::US), "+14155550100"),
            ("4915123456789", Some(country::Id::US), "+4915123456789"),
            ("0555 111 22 33", Some(country::Id::TR), "+905551112233"),
        ];
        for (raw, country, expected) in cases {
            assert_eq!(phone(raw, country).as_deref(), Ok(expected), "{raw} in {country:?}");
        }
    }

    #[test]
    fn unreadable_phones_say_why() {
        assert_eq!(
            phone("0151 2345 6789", None),
            Err("not a phone number in international form; write it with + and the country code, or set the \
                 store's country"
                .into())
        );
        assert_eq!(
            phone("12", Some(country::Id::DE)),
            Err("not a valid phone number for DE or in international form".into())
        );
        assert_eq!(phone("+0 000", None), Err("not a valid phone number".into()));
        assert!(phone("4.91512E+12", Some(country::Id::DE)).is_err_and(|e| e.contains("scientific")));
    }

    #[test]
    fn emails_are_checked_for_shape_and_lowercased() {
        assert_eq!(email("  Ada.Lovelace@Example.COM "), Ok("ada.lovelace@example.com".into()));
        assert_eq!(email("a+tag@mail.example.co.uk"), Ok("a+tag@mail.example.co.uk".into()));
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "a b@example.com",
            "ada@-x.com",
            "a..b@x.com",
            "ada@x..com",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn countries_are_two_letter_codes() {
        assert_eq!(country(" de "), Ok("DE".into()));
        assert!(country("Germany").is_err());
        assert!(country("XX").is_err());
    }

    #[test]
    fn web_addresses_must_be_absolute_http() {
        assert_eq!(web_address(" https://shop.example.com/p/1 "), Ok("https://shop.example.com/p/1".into()));
        assert!(web_address("shop.example.com/p/1").is_err());
        assert!(web_address("ftp://shop.example.com/p/1").is_err());
        assert!(web_address("javascript:alert(1)").is_err());
    }
}
