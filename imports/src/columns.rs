//! The documented columns of each kind of file and how a file's header maps onto them. Headers
//! are compared by their letters and digits alone, in lower case, so `Order ID`, `order_id` and
//! `ORDER-ID` are one column, and each column has the aliases stores and spreadsheets use.

use crate::ImportKind;
use crate::errors::FileError;
use crate::fields::{Field, fold};
use crate::profiles::{Profile, ProfileSpec, StatusRule};

/// One documented column: what the template and the API's documentation show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The name the template uses.
    pub name: &'static str,
    /// Other headers read as this column.
    pub aliases: &'static [&'static str],
    /// Whether a file without this column is refused. Orders also need an `email` or a `phone`
    /// column, and a `status` or one of the date columns, though neither is required alone.
    pub required: bool,
    pub description: &'static str,
    pub example: &'static str,
    pub(crate) field: Field,
}

/// Columns orders and customers files share.
const EMAIL_COLUMN: ColumnSpec = ColumnSpec {
    name: "email",
    aliases: &["email address", "customer email", "mail"],
    required: false,
    description: "The customer's email address. Each row needs an email or a phone.",
    example: "ada@example.com",
    field: Field::Email,
};

const NAME_COLUMN: ColumnSpec = ColumnSpec {
    name: "name",
    aliases: &["customer name", "full name", "customer"],
    required: false,
    description: "The customer's name.",
    example: "Ada Lovelace",
    field: Field::Name,
};

const COUNTRY_COLUMN: ColumnSpec = ColumnSpec {
    name: "country",
    aliases: &["country code"],
    required: false,
    description: "The customer's country as a two-letter ISO 3166 code.",
    example: "DE",
    field: Field::Country,
};

const WHATSAPP_CONSENT_COLUMN: ColumnSpec = ColumnSpec {
    name: "whatsapp_consent",
    aliases: &["whatsapp opt in", "consent", "opt in", "whatsapp marketing"],
    required: false,
    description: "Whether the customer agreed to WhatsApp messages: yes/no/y/n/true/false/1/0, or unknown or \
                  empty when not asked.",
    example: "yes",
    field: Field::WhatsappConsent,
};

const CONSENT_AT_COLUMN: ColumnSpec = ColumnSpec {
    name: "consent_at",
    aliases: &["consent date", "consented at", "opt in date", "opted in at"],
    required: false,
    description: "When the customer gave or withdrew WhatsApp consent.",
    example: "2026-03-05 14:00",
    field: Field::ConsentAt,
};

const ORDER_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "order_id",
        aliases: &["order", "order number", "order no", "order nr", "order #", "order ref", "order reference"],
        required: true,
        description: "The store's order number. Several rows with the same order id are the line items of one order.",
        example: "1001",
        field: Field::OrderId,
    },
    EMAIL_COLUMN,
    ColumnSpec {
        name: "phone",
        aliases: &[
            "phone number",
            "mobile",
            "mobile number",
            "mobile phone",
            "cell",
            "cell phone",
            "telephone",
            "tel",
            "whatsapp number",
            "customer phone",
        ],
        required: false,
        description: "The customer's phone number, with + and country code or in the local format of the row's \
                      country (else the store's country). Each row needs an email or a phone.",
        example: "+49 151 2345 6789",
        field: Field::Phone,
    },
    NAME_COLUMN,
    COUNTRY_COLUMN,
    ColumnSpec {
        name: "created_at",
        aliases: &["created", "order date", "date", "ordered at", "purchase date", "placed at"],
        required: false,
        description: "When the order was placed. A date or time without a zone is in the store's time zone.",
        example: "2026-03-05 14:00",
        field: Field::CreatedAt,
    },
    ColumnSpec {
        name: "fulfilled_at",
        aliases: &["fulfilled", "shipped at", "shipped", "ship date", "shipping date", "shipped date", "dispatched at"],
        required: false,
        description: "When the order was shipped.",
        example: "2026-03-06",
        field: Field::FulfilledAt,
    },
    ColumnSpec {
        name: "delivered_at",
        aliases: &["delivered", "delivery date", "delivered date"],
        required: false,
        description: "When the order reached the customer.",
        example: "2026-03-08",
        field: Field::DeliveredAt,
    },
    ColumnSpec {
        name: "status",
        aliases: &["order status", "fulfillment status", "state"],
        required: false,
        description: "created, paid, fulfilled, delivered, cancelled or refunded (also: pending, processing, \
                      shipped, completed, canceled, returned and similar). When empty it follows from the dates: \
                      delivered_at gives delivered, else fulfilled_at gives fulfilled, else created_at gives created.",
        example: "delivered",
        field: Field::Status,
    },
    ColumnSpec {
        name: "sku",
        aliases: &["product sku", "item sku", "variant sku", "lineitem sku", "product code", "article number"],
        required: false,
        description: "The SKU of the product on this line.",
        example: "SERUM-30",
        field: Field::Sku,
    },
    ColumnSpec {
        name: "product_title",
        aliases: &["product", "product name", "item", "item name", "title", "lineitem name"],
        required: false,
        description: "The name of the product on this line.",
        example: "Vitamin C Serum 30 ml",
        field: Field::ProductTitle,
    },
    ColumnSpec {
        name: "quantity",
        aliases: &["qty", "lineitem quantity", "units", "item quantity"],
        required: false,
        description: "How many of the product, a whole number of at least 1. Empty means 1.",
        example: "1",
        field: Field::Quantity,
    },
    WHATSAPP_CONSENT_COLUMN,
    CONSENT_AT_COLUMN,
    ColumnSpec {
        name: "currency",
        aliases: &["currency code"],
        required: false,
        description: "The three-letter ISO 4217 currency of the total.",
        example: "EUR",
        field: Field::Currency,
    },
    ColumnSpec {
        name: "total",
        aliases: &["order total", "total price", "grand total", "amount"],
        required: false,
        description: "The amount as written on the row, with a decimal point or comma (39.90, 39,90, 1.234,56, \
                      1,234.56).",
        example: "39.90",
        field: Field::Total,
    },
    ColumnSpec {
        name: "customer_id",
        aliases: &["customer number", "customer no", "customer ref"],
        required: false,
        description: "The store's own id of the customer.",
        example: "C-501",
        field: Field::CustomerId,
    },
    ColumnSpec {
        name: "product_url",
        aliases: &["product link", "product page", "url", "link"],
        required: false,
        description: "The web page of the product on this line, starting with https://.",
        example: "https://shop.example.com/products/vitamin-c-serum",
        field: Field::ProductUrl,
    },
];

const PRODUCT_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "sku",
        aliases: &["product sku", "item sku", "variant sku", "product code", "article number"],
        required: true,
        description: "The product's SKU, unique within the store.",
        example: "SERUM-30",
        field: Field::Sku,
    },
    ColumnSpec {
        name: "title",
        aliases: &["product title", "product name", "name", "product"],
        required: true,
        description: "The product's name.",
        example: "Vitamin C Serum 30 ml",
        field: Field::Title,
    },
    ColumnSpec {
        name: "url",
        aliases: &["product url", "product link", "product page", "link", "page url"],
        required: false,
        description: "The product's web page, starting with https://.",
        example: "https://shop.example.com/products/vitamin-c-serum",
        field: Field::Url,
    },
    ColumnSpec {
        name: "description",
        aliases: &["product description", "body", "body html", "details"],
        required: false,
        description: "What the product is and does.",
        example: "Brightening serum with 15% vitamin C.",
        field: Field::Description,
    },
    ColumnSpec {
        name: "usage",
        aliases: &["how to use", "directions", "instructions", "usage instructions", "directions for use"],
        required: false,
        description: "How to use the product.",
        example: "Apply four drops to clean skin every morning.",
        field: Field::Usage,
    },
    ColumnSpec {
        name: "ingredients",
        aliases: &["inci", "composition", "ingredient list"],
        required: false,
        description: "What the product contains.",
        example: "Aqua, Ascorbic Acid, Glycerin",
        field: Field::Ingredients,
    },
    ColumnSpec {
        name: "warnings",
        aliases: &["warning", "cautions", "caution", "precautions", "safety information"],
        required: false,
        description: "Warnings and precautions.",
        example: "Avoid contact with the eyes.",
        field: Field::Warnings,
    },
];

const CUSTOMER_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "customer_id",
        aliases: &["customer number", "customer no", "customer ref", "id"],
        required: false,
        description: "The store's own id of the customer.",
        example: "C-501",
        field: Field::CustomerId,
    },
    EMAIL_COLUMN,
    ColumnSpec {
        name: "phone",
        aliases: &["phone number", "mobile", "mobile number", "mobile phone", "cell", "telephone", "whatsapp number"],
        required: false,
        description: "The customer's phone number, with + and country code or in the local format of the row's \
                      country (else the store's country). Each row needs an email or a phone.",
        example: "+49 151 2345 6789",
        field: Field::Phone,
    },
    NAME_COLUMN,
    COUNTRY_COLUMN,
    WHATSAPP_CONSENT_COLUMN,
    CONSENT_AT_COLUMN,
];

/// Headers of hand-made and exported spreadsheets that name a value the template holds in
/// another column: read where the file has them, never required, not in the template.
const ORDER_EXTRA_HEADERS: &[(Field, &[&str])] = &[
    (Field::ShippingPhone, &["shipping phone", "delivery phone"]),
    (Field::BillingPhone, &["billing phone"]),
    (Field::ShippingName, &["shipping name", "delivery name"]),
    (Field::BillingName, &["billing name"]),
    (Field::FirstName, &["first name", "given name"]),
    (Field::LastName, &["last name", "surname", "family name"]),
    (Field::ShippingCountry, &["shipping country", "shipping country code", "delivery country"]),
    (Field::BillingCountry, &["billing country", "billing country code"]),
    (Field::PaidAt, &["paid at", "paid date", "payment date"]),
    (Field::CancelledAt, &["cancelled at", "canceled at", "cancellation date"]),
    (Field::UnitPrice, &["unit price", "item price", "lineitem price", "price"]),
    (Field::SmsConsent, &["sms consent", "accepts sms marketing", "sms marketing"]),
];

/// The documented columns of a kind of file, in template order.
pub fn columns(kind: ImportKind) -> &'static [ColumnSpec] {
    match kind {
        ImportKind::Orders => ORDER_COLUMNS,
        ImportKind::Products => PRODUCT_COLUMNS,
        ImportKind::Customers => CUSTOMER_COLUMNS,
    }
}

/// The field a header names in a file read by the generic mapping.
fn generic_field(kind: ImportKind, header: &str) -> Option<(Field, &'static str)> {
    let folded = fold(header);
    if folded.is_empty() {
        return None;
    }
    let documented = columns(kind)
        .iter()
        .find(|spec| fold(spec.name) == folded || spec.aliases.iter().any(|alias| fold(alias) == folded))
        .map(|spec| (spec.field, spec.name));
    let extra = || {
        let extras: &[(Field, &[&str])] = match kind {
            ImportKind::Orders | ImportKind::Customers => ORDER_EXTRA_HEADERS,
            ImportKind::Products => &[],
        };
        extras
            .iter()
            .find(|(_, aliases)| aliases.iter().any(|alias| fold(alias) == folded))
            .and_then(|(field, aliases)| aliases.first().map(|name| (*field, *name)))
    };
    documented.or_else(extra)
}

/// Where each known column sits in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnMap {
    pub(crate) kind: ImportKind,
    pub(crate) profile: Profile,
    /// Per recognised field, its position in a record and the header as written.
    positions: Vec<(Field, usize, String)>,
    /// How many fields a record must have: up to the last named header.
    pub(crate) width: usize,
}

impl ColumnMap {
    /// Recognises the file's origin and matches its headers to the fields that origin's columns
    /// hold; `ignored` receives the headers it does not use.
    pub(crate) fn resolve(kind: ImportKind, headers: &[String], ignored: &mut Vec<String>) -> Result<Self, FileError> {
        let profile = Profile::detect(headers);
        if let Some(spec) = profile.spec() {
            if let Some(reason) = spec.refusal {
                return Err(FileError::Refused { profile: profile.label(), reason });
            }
            if let Some(holds) = profile.kind().filter(|holds| *holds != kind) {
                return Err(FileError::WrongKind { profile: profile.label(), holds, chosen: kind });
            }
        }
        let positions = match profile.spec() {
            Some(spec) => Self::profile_positions(spec, headers, ignored),
            None => Self::generic_positions(kind, headers, ignored)?,
        };
        let map = Self {
            kind,
            profile,
            width: headers.iter().rposition(|header| !header.trim().is_empty()).map_or(0, |last| last + 1),
            positions,
        };
        let missing = map.missing_columns();
        if missing.is_empty() { Ok(map) } else { Err(FileError::MissingColumns(missing)) }
    }

    /// A known export: each of its headers holds what its table says; a field named by two of
    /// its headers is read from the one listed first.
    fn profile_positions(
        spec: &ProfileSpec,
        headers: &[String],
        ignored: &mut Vec<String>,
    ) -> Vec<(Field, usize, String)> {
        let mut positions: Vec<(Field, usize, String)> = Vec::new();
        for (wanted, field) in spec.columns {
            if positions.iter().any(|(known, _, _)| known == field) {
                continue;
            }
            if let Some(position) = headers.iter().position(|header| fold(header) == fold(wanted)) {
                positions.push((*field, position, headers[position].clone()));
            }
        }
        for (position, header) in headers.iter().enumerate() {
            if !header.trim().is_empty() && !positions.iter().any(|(_, used, _)| *used == position) {
                ignored.push(header.clone());
            }
        }
        positions
    }

    fn generic_positions(
        kind: ImportKind,
        headers: &[String],
        ignored: &mut Vec<String>,
    ) -> Result<Vec<(Field, usize, String)>, FileError> {
        let mut positions: Vec<(Field, usize, String)> = Vec::new();
        for (position, header) in headers.iter().enumerate() {
            let Some((field, name)) = generic_field(kind, header) else {
                if !header.trim().is_empty() {
                    ignored.push(header.clone());
                }
                continue;
            };
            if positions.iter().any(|(known, _, _)| *known == field) {
                let headers = headers
                    .iter()
                    .filter(|other| generic_field(kind, other).is_some_and(|(other, _)| other == field))
                    .cloned()
                    .collect();
                return Err(FileError::DuplicateColumn { column: name.to_owned(), headers });
            }
            positions.push((field, position, header.clone()));
        }
        Ok(positions)
    }

    pub(crate) fn has(&self, field: Field) -> bool {
        self.positions.iter().any(|(known, _, _)| *known == field)
    }

    fn missing_columns(&self) -> Vec<String> {
        let mut missing: Vec<String> = Vec::new();
        if self.profile == Profile::Generic {
            missing.extend(
                columns(self.kind)
                    .iter()
                    .filter(|spec| spec.required && !self.has(spec.field))
                    .map(|spec| spec.name.to_owned()),
            );
        } else if self.kind == ImportKind::Orders {
            let group = self.profile.spec().map(|spec| spec.group_by);
            if let Some(group) = group.filter(|group| !self.has(*group)) {
                missing.push(self.profile_header(group).unwrap_or("order_id").to_owned());
            }
        }
        let reaches = [Field::Email, Field::Phone, Field::ShippingPhone, Field::BillingPhone];
        if self.kind != ImportKind::Products && !reaches.iter().any(|field| self.has(*field)) {
            missing.push("email or phone".to_owned());
        }
        if self.kind == ImportKind::Orders {
            let status_sources = [
                Field::Status,
                Field::FinancialStatus,
                Field::FulfillmentStatus,
                Field::CreatedAt,
                Field::FulfilledAt,
                Field::DeliveredAt,
            ];
            if !status_sources.iter().any(|field| self.has(*field)) {
                missing.push("status (or created_at, fulfilled_at or delivered_at)".to_owned());
            }
        }
        missing
    }

    /// The header the file's profile gives a field, for messages.
    fn profile_header(&self, field: Field) -> Option<&'static str> {
        let spec = self.profile.spec()?;
        spec.columns.iter().find(|(_, known)| *known == field).map(|(header, _)| *header)
    }

    /// The position of a field in a record and the header it was found under.
    pub(crate) fn locate(&self, field: Field) -> Option<(usize, &str)> {
        self.positions
            .iter()
            .find(|(known, _, _)| *known == field)
            .map(|(_, position, header)| (*position, header.as_str()))
    }

    /// How the file's rows are grouped into orders and its statuses read.
    pub(crate) fn group_by(&self) -> Field {
        self.profile.spec().map_or(Field::OrderId, |spec| spec.group_by)
    }

    pub(crate) fn status_rule(&self) -> StatusRule {
        self.profile.spec().map_or(StatusRule::Words, |spec| spec.statuses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn headers_match_in_any_case_spacing_and_order_with_aliases() {
        let file = headers(&["Mobile", "  E-Mail ", "Notes", "ORDER NUMBER", "Product SKU", "Delivery Date", ""]);
        let mut ignored = Vec::new();
        let map = ColumnMap::resolve(ImportKind::Orders, &file, &mut ignored).expect("resolves");
        assert_eq!(map.locate(Field::OrderId), Some((3, "ORDER NUMBER")));
        assert_eq!(map.locate(Field::Email), Some((1, "  E-Mail ")));
        assert_eq!(map.locate(Field::Phone), Some((0, "Mobile")));
        assert_eq!(map.locate(Field::Sku), Some((4, "Product SKU")));
        assert_eq!(map.locate(Field::DeliveredAt), Some((5, "Delivery Date")));
        assert_eq!(map.locate(Field::Name), None);
        assert_eq!(map.width, 6);
        assert_eq!(ignored, ["Notes"]);
        for spelling in ["Order ID", "order_id", "order-id", "OrderId", "Order #"] {
            let found = generic_field(ImportKind::Orders, spelling).map(|(_, name)| name);
            assert_eq!(found, Some("order_id"), "{spelling}");
        }
    }

    #[test]
    fn every_missing_column_is_named_at_once() {
        let mut ignored = Vec::new();
        let error = ColumnMap::resolve(ImportKind::Orders, &headers(&["name", "sku"]), &mut ignored).err();
        let Some(FileError::MissingColumns(missing)) = error else { panic!("expected missing columns: {error:?}") };
        assert_eq!(missing, ["order_id", "email or phone", "status (or created_at, fulfilled_at or delivered_at)"]);
        let error = ColumnMap::resolve(ImportKind::Products, &headers(&["description"]), &mut ignored).err();
        let Some(FileError::MissingColumns(missing)) = error else { panic!("expected missing columns: {error:?}") };
        assert_eq!(missing, ["sku", "title"]);
    }

    #[test]
    fn two_headers_for_one_column_are_refused() {
        let file = headers(&["order id", "Email", "status", "E-mail"]);
        let error = ColumnMap::resolve(ImportKind::Orders, &file, &mut Vec::new()).err();
        let Some(FileError::DuplicateColumn { column, headers }) = error else { panic!("{error:?}") };
        assert_eq!(column, "email");
        assert_eq!(headers, ["Email", "E-mail"]);
    }

    #[test]
    fn documented_names_and_aliases_never_collide() {
        for kind in [ImportKind::Orders, ImportKind::Products, ImportKind::Customers] {
            let mut seen = std::collections::HashSet::new();
            for spec in columns(kind) {
                for name in std::iter::once(&spec.name).chain(spec.aliases) {
                    assert!(seen.insert(fold(name)), "{kind}: `{name}` is claimed twice");
                }
            }
            if kind != ImportKind::Products {
                for name in ORDER_EXTRA_HEADERS.iter().flat_map(|(_, aliases)| aliases.iter()) {
                    assert!(seen.insert(fold(name)), "{kind}: `{name}` is claimed twice");
                }
            }
        }
    }
}
