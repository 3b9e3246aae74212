//! Shopify's own exports, as the admin writes them (Orders → Export, Customers → Export).
//!
//! The orders export has one row per line item. The order's own fields (email, statuses, dates,
//! totals, addresses, `Id`) are on its first row; later rows repeat `Name` and carry their line
//! item's columns. `Name` is the order number (`#1001`) and `Id` the order's id in Shopify, the
//! same id its webhooks carry, so an imported order and a later webhook are one order. Times
//! are written with their offset (`2026-11-02 14:03:22 +0300`).
//!
//! `Accepts Marketing` (orders) and `Accepts Email Marketing` (customers) are e-mail consent and
//! are never read as WhatsApp consent; `Accepts SMS Marketing` is the consent Shopify's webhooks
//! carry as `sms_marketing_consent`, and is read as it is there.

use super::{Profile, ProfileSpec, StatusRule};
use crate::fields::Field;

pub(super) const ORDERS: ProfileSpec = ProfileSpec {
    profile: Profile::ShopifyOrders,
    signature: &["Name", "Financial Status", "Fulfillment Status", "Lineitem name"],
    columns: &[
        ("Name", Field::OrderNumber),
        ("Id", Field::OrderId),
        ("Email", Field::Email),
        ("Financial Status", Field::FinancialStatus),
        ("Paid at", Field::PaidAt),
        ("Fulfillment Status", Field::FulfillmentStatus),
        ("Fulfilled at", Field::FulfilledAt),
        ("Currency", Field::Currency),
        ("Total", Field::Total),
        ("Created at", Field::CreatedAt),
        ("Lineitem quantity", Field::Quantity),
        ("Lineitem name", Field::ProductTitle),
        ("Lineitem price", Field::UnitPrice),
        ("Lineitem sku", Field::Sku),
        ("Billing Name", Field::BillingName),
        ("Billing Country", Field::BillingCountry),
        ("Billing Phone", Field::BillingPhone),
        ("Shipping Name", Field::ShippingName),
        ("Shipping Country", Field::ShippingCountry),
        ("Shipping Phone", Field::ShippingPhone),
        ("Cancelled at", Field::CancelledAt),
        ("Phone", Field::Phone),
    ],
    group_by: Field::OrderNumber,
    id_from_group: false,
    statuses: StatusRule::Shopify,
    refusal: None,
};

pub(super) const CUSTOMERS: ProfileSpec = ProfileSpec {
    profile: Profile::ShopifyCustomers,
    signature: &["First Name", "Last Name", "Email", "Total Orders", "Total Spent"],
    columns: &[
        ("Customer ID", Field::CustomerId),
        ("First Name", Field::FirstName),
        ("Last Name", Field::LastName),
        ("Email", Field::Email),
        ("Default Address Country Code", Field::ShippingCountry),
        ("Default Address Phone", Field::ShippingPhone),
        ("Country Code", Field::ShippingCountry),
        ("Phone", Field::Phone),
        ("Accepts SMS Marketing", Field::SmsConsent),
    ],
    group_by: Field::Email,
    id_from_group: false,
    statuses: StatusRule::Words,
    refusal: None,
};

#[cfg(test)]
pub(super) mod tests {
    /// The header of Shopify's orders export, in Shopify's order.
    pub(crate) const ORDERS_HEADER: &str = "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,\
        Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,\
        Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,\
        Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,\
        Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,Billing Province,\
        Billing Country,Billing Phone,Shipping Name,Shipping Street,Shipping Address1,Shipping Address2,\
        Shipping Company,Shipping City,Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,\
        Note Attributes,Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,\
        Employee,Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,Tax 1 Value,\
        Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,\
        Receipt Number,Duties,Billing Province Name,Shipping Province Name,Payment ID,Payment Terms Name,\
        Next Payment Due At,Payment References";

    /// Shopify's customers export as written today.
    pub(crate) const CUSTOMERS_HEADER: &str = "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,\
        Default Address Company,Default Address Address1,Default Address Address2,Default Address City,\
        Default Address Province Code,Default Address Country Code,Default Address Zip,Default Address Phone,\
        Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags";

    /// The customers export as Shopify wrote it before the address columns were renamed.
    pub(crate) const OLD_CUSTOMERS_HEADER: &str = "First Name,Last Name,Email,Company,Address1,Address2,City,\
        Province,Province Code,Country,Country Code,Zip,Phone,Accepts Marketing,Total Spent,Total Orders,Tags,\
        Note,Tax Exempt";
}
