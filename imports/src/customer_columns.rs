//! The customer a row names, read the same way from order and customer files: email, the phone
//! from the first of `Phone`, `Shipping Phone` and `Billing Phone` that reads (each in its own
//! address's country, else the import's), the name, the country and WhatsApp consent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ParseOptions;
use crate::cells::Cells;
use crate::errors::RowError;
use crate::fields::Field;
use crate::{shown, values};

/// Whether the customer agreed to WhatsApp messages, as the file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consent {
    Granted,
    Revoked,
    Unknown,
}

impl Consent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Revoked => "revoked",
            Self::Unknown => "unknown",
        }
    }
}

/// The customer columns of one row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Contact {
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) name: Option<String>,
    /// The shipping country, else the billing country, else the row's country column.
    pub(crate) country: Option<String>,
    pub(crate) consent: Consent,
    pub(crate) consent_at: Option<DateTime<Utc>>,
    pub(crate) external_id: Option<String>,
}

impl Contact {
    pub(crate) fn reaches(&self) -> bool {
        self.email.is_some() || self.phone.is_some()
    }
}

pub(crate) fn read(cells: &Cells<'_>, options: &ParseOptions) -> Result<Contact, RowError> {
    let email = cells.read(Field::Email, values::email, shown::email)?;
    let country_of = |field| cells.read(field, values::country, shown::plain);
    let stated = country_of(Field::Country)?;
    let shipping = country_of(Field::ShippingCountry)?;
    let billing = country_of(Field::BillingCountry)?;
    let country = shipping.clone().or_else(|| billing.clone()).or_else(|| stated.clone());
    // A phone written without `+` was dialled in its address's country when the row names one,
    // else in the country the import was given (or the merchant's).
    let phones = [
        (Field::Phone, country.clone()),
        (Field::ShippingPhone, shipping.or_else(|| stated.clone())),
        (Field::BillingPhone, billing.or(stated)),
    ];
    let mut phone = None;
    let mut first_failure = None;
    for (field, country) in phones {
        let dialled_in = country
            .as_deref()
            .and_then(|code| code.parse::<phonenumber::country::Id>().ok())
            .or(options.default_country);
        match cells.read(field, |raw| values::phone(raw, dialled_in), shown::phone) {
            Ok(Some(number)) => {
                phone = Some(number);
                break;
            }
            Ok(None) => {}
            Err(error) => {
                first_failure.get_or_insert(error);
            }
        }
    }
    // A phone that does not read fails the row only when no other phone column does.
    if let (None, Some(failure)) = (&phone, first_failure) {
        return Err(failure);
    }
    let name = [Field::Name, Field::ShippingName, Field::BillingName]
        .into_iter()
        .find_map(|field| cells.text(field))
        .or_else(|| {
            let parts: Vec<String> =
                [Field::FirstName, Field::LastName].into_iter().filter_map(|f| cells.text(f)).collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        });
    let stated_consent = match cells.read(Field::WhatsappConsent, values::yes_no, shown::plain)?.flatten() {
        Some(answer) => Some(answer),
        None => cells.read(Field::SmsConsent, values::yes_no, shown::plain)?.flatten(),
    };
    let consent = match stated_consent {
        Some(true) => Consent::Granted,
        Some(false) => Consent::Revoked,
        None => Consent::Unknown,
    };
    let consent_at = cells.read(Field::ConsentAt, |raw| values::datetime(raw, options), shown::plain)?;
    // WooCommerce writes customer id 0 for a guest: no id at all, not one shared by every guest.
    let external_id = cells.identifier(Field::CustomerId)?.filter(|id| id != "0");
    Ok(Contact { email, phone, name, country, consent, consent_at, external_id })
}
