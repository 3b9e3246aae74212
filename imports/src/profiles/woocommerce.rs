//! WooCommerce order exports in common use. WooCommerce itself exports products but not orders;
//! merchants export orders with the "Customer / Order / Coupon Export" extension sold on
//! WooCommerce's own marketplace, or with the free "Advanced Order Export For WooCommerce"
//! plugin. Both write one row per line item, the order's fields repeated on each. Analytics'
//! orders download has no email or phone, so it is recognised only to say what to export instead.
//!
//! `order_id` is the id WooCommerce's webhooks carry, so an imported order and a later webhook
//! are one order; the order number is what the customer sees (the same unless a plugin numbers
//! orders). Dates are the shop's local time, read in the merchant's zone. Statuses are read as
//! the webhooks read them: `completed` is shipped (WooCommerce has no delivery state).

use super::{Profile, ProfileSpec, StatusRule};
use crate::fields::Field;

pub(super) const ORDER_EXPORT: ProfileSpec = ProfileSpec {
    profile: Profile::WoocommerceOrderExport,
    signature: &["order_id", "order_number", "order_date", "billing_email"],
    columns: &[
        ("order_id", Field::OrderId),
        ("order_number", Field::OrderNumber),
        ("order_date", Field::CreatedAt),
        ("completed_date", Field::FulfilledAt),
        ("status", Field::Status),
        ("order_total", Field::Total),
        ("order_currency", Field::Currency),
        ("customer_id", Field::CustomerId),
        ("billing_first_name", Field::FirstName),
        ("billing_last_name", Field::LastName),
        ("billing_email", Field::Email),
        ("billing_phone", Field::BillingPhone),
        ("billing_country", Field::BillingCountry),
        ("shipping_phone", Field::ShippingPhone),
        ("shipping_country", Field::ShippingCountry),
        ("item_name", Field::ProductTitle),
        ("item_sku", Field::Sku),
        ("item_quantity", Field::Quantity),
    ],
    group_by: Field::OrderId,
    id_from_group: false,
    statuses: StatusRule::WooCommerce,
    refusal: None,
};

pub(super) const ADVANCED_ORDER_EXPORT: ProfileSpec = ProfileSpec {
    profile: Profile::WoocommerceAdvancedOrderExport,
    signature: &["Order Number", "Order Status", "Order Date", "Email (Billing)"],
    columns: &[
        ("Order ID", Field::OrderId),
        ("Order Number", Field::OrderNumber),
        ("Order Status", Field::Status),
        ("Order Date", Field::CreatedAt),
        ("Completed Date", Field::FulfilledAt),
        ("Paid Date", Field::PaidAt),
        ("First Name (Billing)", Field::FirstName),
        ("Last Name (Billing)", Field::LastName),
        ("Country Code (Billing)", Field::BillingCountry),
        ("Email (Billing)", Field::Email),
        ("Phone (Billing)", Field::BillingPhone),
        ("Country Code (Shipping)", Field::ShippingCountry),
        ("Phone (Shipping)", Field::ShippingPhone),
        ("Order Total Amount", Field::Total),
        ("Order Currency", Field::Currency),
        ("Customer User ID", Field::CustomerId),
        ("SKU", Field::Sku),
        ("Item Name", Field::ProductTitle),
        ("Quantity", Field::Quantity),
        ("Quantity (- Refund)", Field::Quantity),
        ("Item Cost", Field::UnitPrice),
    ],
    group_by: Field::OrderNumber,
    id_from_group: true,
    statuses: StatusRule::WooCommerce,
    refusal: None,
};

pub(super) const ANALYTICS_ORDERS: ProfileSpec = ProfileSpec {
    profile: Profile::WoocommerceAnalyticsOrders,
    signature: &["Order #", "Status", "Customer", "Customer type", "Items sold"],
    columns: &[],
    group_by: Field::OrderNumber,
    id_from_group: false,
    statuses: StatusRule::WooCommerce,
    refusal: Some(
        "this is WooCommerce's Analytics orders download, which has no customer email or phone; export the \
         orders with the Customer / Order / Coupon Export extension or the Advanced Order Export For WooCommerce \
         plugin, or fill in Recete's orders template",
    ),
};

#[cfg(test)]
pub(super) mod tests {
    /// The extension's default orders format (one row per line item).
    pub(crate) const ORDER_EXPORT_HEADER: &str = "order_id,order_number,order_number_formatted,order_date,status,\
        shipping_total,shipping_tax_total,fee_total,fee_tax_total,tax_total,cart_discount,order_discount,\
        discount_total,order_total,refunded_total,order_currency,payment_method,shipping_method,customer_id,\
        billing_first_name,billing_last_name,billing_full_name,billing_company,billing_email,billing_phone,\
        billing_address_1,billing_address_2,billing_postcode,billing_city,billing_state,billing_state_code,\
        billing_country,shipping_first_name,shipping_last_name,shipping_full_name,shipping_address_1,\
        shipping_address_2,shipping_postcode,shipping_city,shipping_state,shipping_state_code,shipping_country,\
        shipping_company,customer_note,item_id,item_product_id,item_name,item_sku,item_quantity,item_subtotal,\
        item_subtotal_tax,item_total,item_total_tax,item_refunded,item_refunded_qty,item_meta,shipping_items,\
        fee_items,tax_items,coupon_items,order_notes,download_permissions_granted";

    /// The plugin's default fields.
    pub(crate) const ADVANCED_HEADER: &str = "Order Number,Order Status,Order Date,Customer Note,\
        First Name (Billing),Last Name (Billing),Company (Billing),Address 1&2 (Billing),City (Billing),\
        State Code (Billing),Postcode (Billing),Country Code (Billing),Email (Billing),Phone (Billing),\
        First Name (Shipping),Last Name (Shipping),Address 1&2 (Shipping),City (Shipping),\
        State Code (Shipping),Postcode (Shipping),Country Code (Shipping),Payment Method Title,\
        Cart Discount Amount,Order Subtotal Amount,Shipping Method Title,Order Shipping Amount,\
        Order Refund Amount,Order Total Amount,Order Total Tax Amount,SKU,Item #,Item Name,\
        Quantity (- Refund),Item Cost,Coupon Code,Discount Amount,Discount Amount Tax";

    pub(crate) const ANALYTICS_HEADER: &str = "Date,Order #,N. Revenue (formatted),Status,Customer,Customer type,\
        Product(s),Items sold,Coupon(s),Net Sales,Attribution";
}
