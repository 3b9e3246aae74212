//! CSV imports: the uploaded file, the import's progress and the rows that failed.
//!
//! An upload is sealed piece by piece into a temporary file as it arrives (no database
//! connection is held meanwhile), then written to `import_chunks` in one short transaction that
//! also creates the `imports` row and its `import` task, so an upload cut off half-way leaves
//! nothing behind. A worker of the imports pool reads the pieces back as a stream and commits the rows
//! in batches, each batch together with the import's checkpoint and counters; the CSV reading
//! itself is the `recete-imports` crate's.
//!
//! # Layout
//! - [`upload`]: storing an uploaded file.
//! - [`store`]: reading imports and their errors, and the job's bookkeeping on them.
//! - [`slots`]: how many uploads may stream in at once.
//! - [`errors_file`]: the failed rows as a CSV file to fix and upload again.

pub mod errors_file;
pub mod slots;
pub mod store;
pub mod upload;

pub use recete_imports::ImportKind;
use serde::{Deserialize, Serialize};

use recete_platform::crypto::{Keyring, KeyringError};
use recete_platform::ids::{ImportId, MerchantId};

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportStatus {
    /// Stored, waiting for a worker.
    Queued,
    Running,
    /// Every row was read; failed rows are listed in the import's errors.
    Completed,
    /// The file as a whole could not be imported; the reason says why.
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Completed, Self::Failed].into_iter().find(|status| status.as_str() == value)
    }

    /// Nothing more will happen to the import.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// How `05/03/2026` is read: the 5th of March (`day_first`) or the 3rd of May.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    #[default]
    DayFirst,
    MonthFirst,
}

/// What the merchant asked of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportOptions {
    /// Delivered orders plan follow-ups, as a delivery webhook would (orders only).
    pub plan_followups: bool,
    /// ISO 3166-1 alpha-2 country of phone numbers written without `+`, in place of the
    /// merchant's default phone country.
    pub default_country: Option<String>,
    pub date_order: DateOrder,
}

/// A country code as imports take it (`de` → `DE`); `None` when it is not an ISO 3166-1 alpha-2
/// code phone numbers know.
pub fn country_code(raw: &str) -> Option<String> {
    let code = raw.trim().to_ascii_uppercase();
    (code.len() == 2 && code.parse::<phonenumber::country::Id>().is_ok()).then_some(code)
}

/// The associated data a piece of an uploaded file is sealed with.
pub fn chunk_context(merchant: MerchantId, import: ImportId, seq: i32) -> Vec<u8> {
    format!("import_chunks.data:{merchant}:{import}:{seq}").into_bytes()
}

/// The associated data a failed row's raw fields are sealed with.
pub fn error_row_context(merchant: MerchantId, import: ImportId) -> Vec<u8> {
    format!("import_errors.row:{merchant}:{import}").into_bytes()
}

/// Seals a failed row's raw fields (a JSON array of strings).
pub fn seal_error_row(
    keyring: &Keyring,
    merchant: MerchantId,
    import: ImportId,
    fields: &[String],
) -> (String, Vec<u8>) {
    let json = serde_json::to_vec(fields).unwrap_or_else(|_| b"[]".to_vec());
    let sealed = keyring.seal(&json, &error_row_context(merchant, import));
    (sealed.key_id, sealed.bytes)
}

/// The lookup hashes, under the active lookup key, of every field of a failed row that reads as
/// an email or a phone number (read in `default_country` when it has no `+`), so the customer's
/// failed rows can be found and erased.
pub fn subject_lookups(keyring: &Keyring, fields: &[String], default_country: Option<&str>) -> Vec<Vec<u8>> {
    let mut lookups = Vec::new();
    for field in fields {
        if let Some(email) = crate::customers::normalize_email(field) {
            lookups.push(keyring.lookup_hash(crate::customers::EMAIL_LOOKUP_DOMAIN, &email).to_vec());
        } else if field.chars().filter(char::is_ascii_digit).count() >= 6
            && let Ok(phone) = crate::phone::PhoneNumber::parse(field, default_country)
        {
            lookups.push(keyring.lookup_hash(crate::customers::PHONE_LOOKUP_DOMAIN, phone.as_e164()).to_vec());
        }
    }
    lookups.sort();
    lookups.dedup();
    lookups
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorRowError {
    #[error(transparent)]
    Sealed(#[from] KeyringError),
    #[error("a failed row's fields are not a JSON array of strings")]
    Malformed,
}

/// Opens what [`seal_error_row`] sealed.
pub fn open_error_row(
    keyring: &Keyring,
    merchant: MerchantId,
    import: ImportId,
    key_id: &str,
    sealed: &[u8],
) -> Result<Vec<String>, ErrorRowError> {
    let json = keyring.open(key_id, sealed, &error_row_context(merchant, import))?;
    serde_json::from_slice(&json).map_err(|_| ErrorRowError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_no_follow_ups_and_day_first_dates() {
        let options: ImportOptions = serde_json::from_str("{}").expect("empty options");
        assert_eq!(options, ImportOptions::default());
        assert!(!options.plan_followups);
        assert_eq!(options.date_order, DateOrder::DayFirst);
        let json = serde_json::to_value(ImportOptions {
            plan_followups: true,
            default_country: Some("DE".into()),
            date_order: DateOrder::MonthFirst,
        })
        .expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({ "plan_followups": true, "default_country": "DE", "date_order": "month_first" })
        );
    }

    #[test]
    fn country_codes_are_checked_and_upper_cased() {
        assert_eq!(country_code(" de "), Some("DE".into()));
        assert_eq!(country_code("XX"), None);
        assert_eq!(country_code("DEU"), None);
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in [ImportStatus::Queued, ImportStatus::Running, ImportStatus::Completed, ImportStatus::Failed] {
            assert_eq!(ImportStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ImportStatus::parse("done"), None);
    }
}
