//! A customer's time zone from an ISO 3166-1 country code. Countries spanning several zones map
//! to the zone where most of their people live; a merchant's own zone is the fallback for any
//! country not listed.

use chrono_tz::Tz;

const ZONES: &[(&str, &str)] = &[
    ("AE", "Asia/Dubai"),
    ("AR", "America/Argentina/Buenos_Aires"),
    ("AT", "Europe/Vienna"),
    ("AU", "Australia/Sydney"),
    ("AZ", "Asia/Baku"),
    ("BE", "Europe/Brussels"),
    ("BG", "Europe/Sofia"),
    ("BR", "America/Sao_Paulo"),
    ("CA", "America/Toronto"),
    ("CH", "Europe/Zurich"),
    ("CL", "America/Santiago"),
    ("CN", "Asia/Shanghai"),
    ("CO", "America/Bogota"),
    ("CY", "Asia/Nicosia"),
    ("CZ", "Europe/Prague"),
    ("DE", "Europe/Berlin"),
    ("DK", "Europe/Copenhagen"),
    ("EE", "Europe/Tallinn"),
    ("EG", "Africa/Cairo"),
    ("ES", "Europe/Madrid"),
    ("FI", "Europe/Helsinki"),
    ("FR", "Europe/Paris"),
    ("GB", "Europe/London"),
    ("GE", "Asia/Tbilisi"),
    ("GR", "Europe/Athens"),
    ("HK", "Asia/Hong_Kong"),
    ("HR", "Europe/Zagreb"),
    ("HU", "Europe/Budapest"),
    ("ID", "Asia/Jakarta"),
    ("IE", "Europe/Dublin"),
    ("IL", "Asia/Jerusalem"),
    ("IN", "Asia/Kolkata"),
    ("IT", "Europe/Rome"),
    ("JP", "Asia/Tokyo"),
    ("KR", "Asia/Seoul"),
    ("KZ", "Asia/Almaty"),
    ("LT", "Europe/Vilnius"),
    ("LU", "Europe/Luxembourg"),
    ("LV", "Europe/Riga"),
    ("MA", "Africa/Casablanca"),
    ("MX", "America/Mexico_City"),
    ("MY", "Asia/Kuala_Lumpur"),
    ("NG", "Africa/Lagos"),
    ("NL", "Europe/Amsterdam"),
    ("NO", "Europe/Oslo"),
    ("NZ", "Pacific/Auckland"),
    ("PE", "America/Lima"),
    ("PH", "Asia/Manila"),
    ("PK", "Asia/Karachi"),
    ("PL", "Europe/Warsaw"),
    ("PT", "Europe/Lisbon"),
    ("QA", "Asia/Qatar"),
    ("RO", "Europe/Bucharest"),
    ("RS", "Europe/Belgrade"),
    ("RU", "Europe/Moscow"),
    ("SA", "Asia/Riyadh"),
    ("SE", "Europe/Stockholm"),
    ("SG", "Asia/Singapore"),
    ("SI", "Europe/Ljubljana"),
    ("SK", "Europe/Bratislava"),
    ("TH", "Asia/Bangkok"),
    ("TR", "Europe/Istanbul"),
    ("TW", "Asia/Taipei"),
    ("UA", "Europe/Kyiv"),
    ("US", "America/New_York"),
    ("VN", "Asia/Ho_Chi_Minh"),
    ("ZA", "Africa/Johannesburg"),
];

pub fn zone_for_country(country_code: &str) -> Option<Tz> {
    let code = country_code.trim().to_ascii_uppercase();
    ZONES.iter().find(|(country, _)| *country == code).and_then(|(_, zone)| zone.parse().ok())
}

/// The zone of a phone number's country (`+90…` → Europe/Istanbul).
pub fn zone_for_phone(e164: &str) -> Option<Tz> {
    let parsed = phonenumber::parse(None, e164).ok()?;
    let country = parsed.country().id()?;
    zone_for_country(country.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_zone_exists_and_lookups_work() {
        for (country, zone) in ZONES {
            assert!(zone.parse::<Tz>().is_ok(), "{country}: {zone}");
        }
        assert_eq!(zone_for_country("tr"), Some(chrono_tz::Europe::Istanbul));
        assert_eq!(zone_for_country("XX"), None);
        assert_eq!(zone_for_phone("+905551112233"), Some(chrono_tz::Europe::Istanbul));
        assert_eq!(zone_for_phone("+16135551212"), Some(chrono_tz::America::Toronto));
    }
}
