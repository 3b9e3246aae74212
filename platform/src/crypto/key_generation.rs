//! `recete keys generate`: a fresh, complete production `[crypto]` section.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::NaiveDate;

use super::random_bytes;

/// Today's date in UTC, for key ids.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A new sealing key and lookup key, 32 bytes each from the operating system's generator, with
/// ids made of the day and a random suffix (lower case, so `RECETE__CRYPTO__KEYS__<ID>`
/// variables, which are read lower-cased, name them too). Store the whole text as a secret.
pub fn production_crypto_section(today: NaiveDate) -> String {
    let day = today.format("%Y%m%d");
    let key_id = format!("k-{day}-{}", hex::encode(random_bytes::<4>()));
    let lookup_key_id = format!("l-{day}-{}", hex::encode(random_bytes::<4>()));
    let key = STANDARD.encode(random_bytes::<32>());
    let lookup_key = STANDARD.encode(random_bytes::<32>());
    format!(
        "# Recete production keys, made by `recete keys generate` on {today}. Store this as a secret and\n\
         # name it with crypto.keys_file (or paste it into the RECETE_CONFIG file). Whoever holds it\n\
         # can open customers' personal data; losing it loses that data.\n\
         [crypto]\n\
         active_key_id = \"{key_id}\"\n\
         keys = {{ \"{key_id}\" = \"{key}\" }}\n\
         active_lookup_key_id = \"{lookup_key_id}\"\n\
         lookup_keys = {{ \"{lookup_key_id}\" = \"{lookup_key}\" }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Environment, PlatformSettings, base_figment};
    use crate::crypto::Keyring;

    #[test]
    fn a_generated_section_starts_production_and_differs_each_time() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date");
        let section = production_crypto_section(day);
        assert_ne!(section, production_crypto_section(day));
        let figment = base_figment(None)
            .merge(("app.environment", "production"))
            .merge(<figment::providers::Toml as figment::providers::Format>::string(&section));
        let settings = PlatformSettings::load_from(figment).expect("a generated section is a valid production key set");
        assert_eq!(settings.app.environment, Environment::Production);
        assert!(settings.crypto.active_key_id.starts_with("k-20261207-"), "{}", settings.crypto.active_key_id);
        assert!(settings.crypto.active_lookup_key_id.starts_with("l-20261207-"));
        let keyring = Keyring::from_settings(&settings.crypto).expect("keyring");
        let sealed = keyring.seal(b"+905551112233", b"ctx");
        assert_eq!(keyring.open(&sealed.key_id, &sealed.bytes, b"ctx").expect("opens"), b"+905551112233");
    }
}
