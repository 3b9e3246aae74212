//! The country a merchant's phone numbers written without `+` are read in: the merchant's
//! `default_phone_country` setting, else the country of the shop's time zone (a shop in
//! Europe/Madrid reads `612 345 678` as a Spanish number). A zone of no country (UTC) or of a
//! country phone parsing does not know gives none, and such numbers must carry their `+`.
//!
//! # Layout
//! - [`zone_countries`]: the zone → country table, generated from tzdata by
//!   `scripts/zone_countries.py`.

use serde::Serialize;

mod zone_countries;

use zone_countries::ZONE_COUNTRIES;

/// Where the country phone numbers are read in comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneCountrySource {
    /// The merchant's `default_phone_country` setting.
    Setting,
    /// The country of the merchant's time zone, the setting being unset.
    Timezone,
}

/// The country (ISO 3166-1 alpha-2, upper case) local phone numbers are read in, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhoneCountry {
    pub code: String,
    pub source: PhoneCountrySource,
}

/// An upper-case ISO 3166-1 alpha-2 code that phone parsing knows (`TR`, `DE`).
pub fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) && code.parse::<phonenumber::country::Id>().is_ok()
}

/// The country of IANA time zone `zone` (`Europe/Madrid` → `ES`), when it has one.
pub fn of_zone(zone: &str) -> Option<&'static str> {
    ZONE_COUNTRIES.binary_search_by(|(name, _)| (*name).cmp(zone)).ok().map(|index| ZONE_COUNTRIES[index].1)
}

/// The setting when there is one, else the country of `timezone` when phone parsing knows it.
pub fn effective(setting: Option<&str>, timezone: Option<&str>) -> Option<PhoneCountry> {
    if let Some(code) = setting.map(str::trim).filter(|code| !code.is_empty()) {
        return Some(PhoneCountry { code: code.to_ascii_uppercase(), source: PhoneCountrySource::Setting });
    }
    timezone
        .and_then(of_zone)
        .filter(|code| is_country_code(code))
        .map(|code| PhoneCountry { code: code.to_owned(), source: PhoneCountrySource::Timezone })
}

/// A stored phone-country label that is either a country code (`ES`) or, where no country was
/// set, the shop's time zone (`Europe/Madrid`): the country either way.
pub fn from_code_or_zone(label: &str) -> Option<String> {
    let label = label.trim();
    if label.len() == 2 {
        return Some(label.to_ascii_uppercase());
    }
    effective(None, Some(label)).map(|country| country.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes_are_upper_case_pairs_that_phone_parsing_knows() {
        assert!(is_country_code("TR") && !is_country_code("tr") && !is_country_code("TUR"));
    }

    #[test]
    fn zones_name_their_country() {
        for (zone, country) in [
            ("Europe/Madrid", Some("ES")),
            ("Europe/Istanbul", Some("TR")),
            ("America/New_York", Some("US")),
            ("UTC", None),
            ("Etc/UTC", None),
            ("Etc/GMT+3", None),
            // Shared in zone1970.tab (DE, DK, NO, SE, SJ): zone.tab's one country.
            ("Europe/Berlin", Some("DE")),
            // Shared (AE, OM, RE, SC, TF).
            ("Asia/Dubai", Some("AE")),
            // Folded into Europe/Berlin by zone1970.tab, its own in zone.tab.
            ("Europe/Oslo", Some("NO")),
            // Links into single-country zones.
            ("Asia/Istanbul", Some("TR")),
            ("Turkey", Some("TR")),
            ("US/Eastern", Some("US")),
            // A link into a shared zone (Africa/Abidjan) names no country rather than a wrong one.
            ("Iceland", None),
            ("Atlantic/Reykjavik", Some("IS")),
            ("Nowhere/Special", None),
        ] {
            assert_eq!(of_zone(zone), country, "{zone}");
        }
    }

    #[test]
    fn the_table_is_sorted_and_holds_country_codes() {
        assert!(ZONE_COUNTRIES.windows(2).all(|pair| pair[0].0 < pair[1].0), "binary search needs sorted zones");
        assert!(ZONE_COUNTRIES.len() > 400);
        for (zone, code) in ZONE_COUNTRIES {
            assert!(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()), "{zone}: {code}");
        }
    }

    #[test]
    fn the_setting_wins_and_the_zone_fills_in() {
        let setting = effective(Some("tr"), Some("Europe/Madrid"));
        assert_eq!(setting, Some(PhoneCountry { code: "TR".into(), source: PhoneCountrySource::Setting }));
        let zone = effective(None, Some("Europe/Madrid"));
        assert_eq!(zone, Some(PhoneCountry { code: "ES".into(), source: PhoneCountrySource::Timezone }));
        assert_eq!(effective(None, Some("UTC")), None);
        assert_eq!(effective(Some(" "), None), None);
        // Antarctica: a country in tzdata, none that phone numbers belong to.
        assert_eq!(effective(None, Some("Antarctica/Troll")), None);
        assert_eq!(from_code_or_zone("es").as_deref(), Some("ES"));
        assert_eq!(from_code_or_zone("Europe/Istanbul").as_deref(), Some("TR"));
        assert_eq!(from_code_or_zone("UTC"), None);
    }
}
