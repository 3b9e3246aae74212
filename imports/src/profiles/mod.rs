//! Where a file comes from, told by its header, and how that origin's columns are read.
//!
//! Stores export their own column sets, and the same word means different things in each:
//! `Name` is the order number in Shopify's orders export and the customer's name in a
//! spreadsheet. So a header is first matched against the exports we know, each with its own
//! exact column table ([`Profile`]); a file that matches none goes through the generic alias
//! table of [`crate::columns`], which reads our own template and most hand-made spreadsheets.
//!
//! A profile is recognised by a few columns that together appear only in that export
//! (its signature); the other columns it knows are optional, so an export with columns added or
//! removed by the merchant is still recognised.

mod shopify;
mod woocommerce;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ImportKind;
use crate::fields::{Field, fold};

/// The origin of a file, as recognised by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Our own template, or any spreadsheet read by the generic column names and aliases.
    Generic,
    /// Shopify admin → Orders → Export (one row per line item, grouped by `Name`).
    ShopifyOrders,
    /// Shopify admin → Customers → Export.
    ShopifyCustomers,
    /// WooCommerce's "Customer / Order / Coupon Export" extension, default orders format (one
    /// row per line item).
    WoocommerceOrderExport,
    /// The "Advanced Order Export For WooCommerce" plugin with its default fields.
    WoocommerceAdvancedOrderExport,
    /// WooCommerce → Analytics → Orders → Download: recognised to say what to export instead.
    WoocommerceAnalyticsOrders,
}

impl Profile {
    pub const ALL: [Self; 6] = [
        Self::Generic,
        Self::ShopifyOrders,
        Self::ShopifyCustomers,
        Self::WoocommerceOrderExport,
        Self::WoocommerceAdvancedOrderExport,
        Self::WoocommerceAnalyticsOrders,
    ];

    /// The name stored with an import and shown in its summary.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::ShopifyOrders => "shopify_orders",
            Self::ShopifyCustomers => "shopify_customers",
            Self::WoocommerceOrderExport => "woocommerce_order_export",
            Self::WoocommerceAdvancedOrderExport => "woocommerce_advanced_order_export",
            Self::WoocommerceAnalyticsOrders => "woocommerce_analytics_orders",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|profile| profile.as_str() == name)
    }

    /// What a merchant would call the file.
    pub fn label(self) -> &'static str {
        match self {
            Self::Generic => "Recete template or a spreadsheet matched by column names",
            Self::ShopifyOrders => "Shopify orders export",
            Self::ShopifyCustomers => "Shopify customers export",
            Self::WoocommerceOrderExport => "WooCommerce Customer / Order / Coupon Export (orders)",
            Self::WoocommerceAdvancedOrderExport => "Advanced Order Export For WooCommerce",
            Self::WoocommerceAnalyticsOrders => "WooCommerce Analytics orders download",
        }
    }

    /// The kind of file the export holds; the generic profile reads either kind.
    pub fn kind(self) -> Option<ImportKind> {
        match self {
            Self::Generic => None,
            Self::ShopifyCustomers => Some(ImportKind::Customers),
            Self::ShopifyOrders
            | Self::WoocommerceOrderExport
            | Self::WoocommerceAdvancedOrderExport
            | Self::WoocommerceAnalyticsOrders => Some(ImportKind::Orders),
        }
    }

    pub(crate) fn spec(self) -> Option<&'static ProfileSpec> {
        SPECS.iter().find(|spec| spec.profile == self)
    }

    /// Recognises a file's origin by its header; `Generic` when no known export matches.
    pub fn detect(headers: &[String]) -> Self {
        let folded: Vec<String> = headers.iter().map(|header| fold(header)).collect();
        SPECS
            .iter()
            .find(|spec| spec.signature.iter().all(|wanted| folded.iter().any(|header| header == &fold(wanted))))
            .map_or(Self::Generic, |spec| spec.profile)
    }

    /// The headers the profile reads, as the export writes them.
    pub fn headers_read(self) -> Vec<&'static str> {
        self.spec().map_or_else(Vec::new, |spec| spec.columns.iter().map(|(header, _)| *header).collect())
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a profile's status words are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusRule {
    /// One status column in any store's or spreadsheet's words.
    Words,
    /// Shopify's `Cancelled at`, `Financial Status` and `Fulfillment Status` together.
    Shopify,
    /// WooCommerce's order statuses, with or without their `wc-` prefix.
    WooCommerce,
}

/// One known export.
#[derive(Debug)]
pub(crate) struct ProfileSpec {
    pub(crate) profile: Profile,
    /// Headers that all appear in this export and together in no other file we know.
    signature: &'static [&'static str],
    /// Header as the export writes it, and the field it holds. One header may hold two fields.
    pub(crate) columns: &'static [(&'static str, Field)],
    /// The field whose value the rows of one order share.
    pub(crate) group_by: Field,
    /// Whether an order whose rows carry no store id is known by its group value instead (where
    /// the export's order number is the store's id unless a plugin renumbers orders).
    pub(crate) id_from_group: bool,
    pub(crate) statuses: StatusRule,
    /// Why a recognised file cannot be imported, with what to export instead.
    pub(crate) refusal: Option<&'static str>,
}

/// Most specific first: the first whose signature matches wins.
static SPECS: [ProfileSpec; 5] = [
    shopify::ORDERS,
    shopify::CUSTOMERS,
    woocommerce::ORDER_EXPORT,
    woocommerce::ADVANCED_ORDER_EXPORT,
    woocommerce::ANALYTICS_ORDERS,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(line: &str) -> Vec<String> {
        line.split(',').map(str::to_owned).collect()
    }

    #[test]
    fn names_round_trip() {
        for profile in Profile::ALL {
            assert_eq!(Profile::parse(profile.as_str()), Some(profile));
        }
    }

    #[test]
    fn no_profile_lists_a_header_twice_and_each_reads_a_way_to_reach_the_customer() {
        for spec in &SPECS {
            let mut seen = std::collections::HashSet::new();
            for (header, _) in spec.columns {
                assert!(seen.insert(fold(header)), "{}: `{header}` twice", spec.profile);
            }
            let contact = [Field::Email, Field::Phone, Field::ShippingPhone, Field::BillingPhone];
            let reaches = spec.columns.iter().any(|(_, field)| contact.contains(field));
            assert!(reaches || spec.refusal.is_some(), "{} reads no email or phone", spec.profile);
        }
    }

    #[test]
    fn each_export_is_recognised_by_its_header_and_nothing_else_is() {
        let cases = [
            (shopify::tests::ORDERS_HEADER, Profile::ShopifyOrders),
            (shopify::tests::CUSTOMERS_HEADER, Profile::ShopifyCustomers),
            (shopify::tests::OLD_CUSTOMERS_HEADER, Profile::ShopifyCustomers),
            (woocommerce::tests::ORDER_EXPORT_HEADER, Profile::WoocommerceOrderExport),
            (woocommerce::tests::ADVANCED_HEADER, Profile::WoocommerceAdvancedOrderExport),
            (woocommerce::tests::ANALYTICS_HEADER, Profile::WoocommerceAnalyticsOrders),
            ("order_id,email,phone,name,country,created_at,fulfilled_at,delivered_at,status,sku", Profile::Generic),
            ("Order Number,E-Mail,Name,Status,Date", Profile::Generic),
        ];
        for (line, profile) in cases {
            assert_eq!(Profile::detect(&headers(line)), profile, "{line}");
        }
    }
}
