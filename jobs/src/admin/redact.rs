//! Hiding personal data in payloads by an allowlist per source: only fields known to be
//! non-personal (ids, topics, states, timestamps, totals and currency, line items' titles, SKUs
//! and quantities) are shown; every other value becomes `"[redacted]"`, however deep it sits. A
//! field a platform adds tomorrow is therefore hidden until it is listed here, never shown by
//! default. An admin can reveal the whole payload, on the record.
//!
//! Keys are compared lower-cased with everything but letters and digits removed, so
//! `created_at`, `createdAt` and `Created-At` are one key. Each source has two lists:
//! - fields, whose value is shown (an object or a list under one is filtered in turn);
//! - containers, objects or lists whose own allowed fields are shown (`customer`, `line_items`,
//!   Meta's `entry`/`changes`/`value`); a plain value under a container key is hidden, so a
//!   `"customer": "Ada Lovelace"` never slips through.
//!
//! `name` is never listed: platforms use it for people as often as for products.

use serde_json::Value;

pub(crate) const REDACTED: &str = "[redacted]";

/// Where a payload comes from, which decides what of it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Shopify,
    WooCommerce,
    /// Our own generic order API.
    Generic,
    /// Meta's WhatsApp Business webhooks.
    WhatsApp,
    /// A scheduled task's JSON, written by the fleet itself.
    Task,
    /// Anything else: only the fields every source shares.
    Other,
}

impl Source {
    /// The source of a stored event (`external_events.source`).
    pub(crate) fn of_event(source: &str) -> Self {
        match source {
            "shopify" => Self::Shopify,
            "woocommerce" => Self::WooCommerce,
            "generic" => Self::Generic,
            "whatsapp" => Self::WhatsApp,
            _ => Self::Other,
        }
    }

    fn fields(self) -> &'static [&'static [&'static str]] {
        match self {
            Self::Shopify => &[COMMON_FIELDS, COMMERCE_FIELDS, SHOPIFY_FIELDS],
            Self::WooCommerce => &[COMMON_FIELDS, COMMERCE_FIELDS, WOOCOMMERCE_FIELDS],
            Self::Generic => &[COMMON_FIELDS, COMMERCE_FIELDS, GENERIC_FIELDS],
            Self::WhatsApp => &[COMMON_FIELDS, WHATSAPP_FIELDS],
            Self::Task => &[COMMON_FIELDS, TASK_FIELDS],
            Self::Other => &[COMMON_FIELDS],
        }
    }

    fn containers(self) -> &'static [&'static str] {
        match self {
            Self::Shopify => SHOPIFY_CONTAINERS,
            Self::WooCommerce => WOOCOMMERCE_CONTAINERS,
            Self::Generic => GENERIC_CONTAINERS,
            Self::WhatsApp => WHATSAPP_CONTAINERS,
            Self::Task | Self::Other => &[],
        }
    }

    fn shows(self, key: &str) -> bool {
        self.fields().iter().any(|list| list.contains(&key))
    }

    fn opens(self, key: &str) -> bool {
        self.containers().contains(&key)
    }
}

/// Every source: identifiers, kinds, states and times.
const COMMON_FIELDS: &[&str] = &[
    "id",
    "type",
    "topic",
    "event",
    "eventtype",
    "kind",
    "status",
    "state",
    "object",
    "field",
    "timestamp",
    "createdat",
    "updatedat",
    "occurredat",
    "processedat",
    "cancelledat",
    "closedat",
    "deliveredat",
    "test",
];

/// Orders on any commerce platform: totals, currency and what was bought.
const COMMERCE_FIELDS: &[&str] = &[
    "orderid",
    "ordernumber",
    "number",
    "productid",
    "variantid",
    "lineitemid",
    "sku",
    "title",
    "quantity",
    "currency",
    "currencycode",
    "price",
    "total",
    "subtotal",
    "totalprice",
    "subtotalprice",
    "totaltax",
    "totaldiscounts",
    "amount",
    "financialstatus",
    "fulfillmentstatus",
    "placedat",
    "paidat",
];

const SHOPIFY_FIELDS: &[&str] = &[
    "admingraphqlapiid",
    "currenttotalprice",
    "currentsubtotalprice",
    "currenttotaltax",
    "presentmentcurrency",
    "totalweight",
    "taxesincluded",
    "sourcename",
    "cancelreason",
    "vendor",
    "varianttitle",
    "requiresshipping",
    "taxable",
    "giftcard",
    "fulfillablequantity",
    "shipmentstatus",
    "trackingcompany",
    "locationid",
    "fulfillmentid",
    "shopid",
    "shopdomain",
    "orderstoredact",
    "estimateddeliveryat",
];
const SHOPIFY_CONTAINERS: &[&str] = &[
    "customer",
    "lineitems",
    "fulfillments",
    "refunds",
    "refundlineitems",
    "lineitem",
    "shippinglines",
    "totalpriceset",
    "subtotalpriceset",
    "totaltaxset",
    "totaldiscountsset",
    "priceset",
    "shopmoney",
    "presentmentmoney",
    "datarequest",
];

const WOOCOMMERCE_FIELDS: &[&str] = &[
    "parentid",
    "datecreated",
    "datecreatedgmt",
    "datemodified",
    "datemodifiedgmt",
    "datecompleted",
    "datecompletedgmt",
    "datepaid",
    "datepaidgmt",
    "discounttotal",
    "discounttax",
    "shippingtotal",
    "shippingtax",
    "carttax",
    "pricesincludetax",
    "paymentmethod",
    "customerid",
    "variationid",
    "subtotaltax",
    "taxclass",
    "createdvia",
    "version",
];
const WOOCOMMERCE_CONTAINERS: &[&str] =
    &["lineitems", "shippinglines", "taxlines", "feelines", "couponlines", "refunds"];

const GENERIC_FIELDS: &[&str] = &["unitprice", "whatsappconsent", "consentat"];
const GENERIC_CONTAINERS: &[&str] = &["order", "customer", "items"];

const WHATSAPP_FIELDS: &[&str] = &[
    "messagingproduct",
    "phonenumberid",
    "expirationtimestamp",
    "billable",
    "pricingmodel",
    "category",
    "code",
    "title",
    "errorsubcode",
    "fbtraceid",
];
const WHATSAPP_CONTAINERS: &[&str] = &[
    "entry",
    "changes",
    "value",
    "metadata",
    "messages",
    "statuses",
    "conversation",
    "pricing",
    "origin",
    "errors",
    "context",
];

/// What the fleet itself writes into scheduled tasks: references to rows, never personal values.
const TASK_FIELDS: &[&str] = &[
    "importid",
    "productid",
    "orderid",
    "messageid",
    "customerid",
    "privacyrequestid",
    "taskid",
    "step",
    "url",
    "attempt",
    "dueat",
];

/// A key as the lists spell it: lower-case letters and digits only.
fn fold(key: &str) -> String {
    key.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Replaces every value `source` does not list as shown; returns how many were replaced.
pub(crate) fn redact(value: &mut Value, source: Source) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, inner)| {
                let key = fold(key);
                let structured = matches!(inner, Value::Object(_) | Value::Array(_));
                if source.shows(&key) || (source.opens(&key) && structured) {
                    redact(inner, source)
                } else if inner.is_null() {
                    // Nothing to hide, and an absent value is worth seeing.
                    0
                } else {
                    *inner = Value::String(REDACTED.to_owned());
                    1
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(|item| redact(item, source)).sum(),
        // A plain value reached here sits under a listed key (or is the whole payload).
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_listed_fields_show_and_unknown_ones_are_hidden_at_any_depth() {
        let mut order = json!({
            "id": 820982911946154500_u64,
            "Email": "ada@example.com",
            "created_at": "2026-03-05T10:00:00Z",
            "loyalty_card": "GOLD-4711",
            "customer": { "id": 207119551, "firstName": "Ada", "phone": "+905551112233", "orders_count": 3 },
            "billing_address": { "address1": "1 Main St", "city": "Istanbul" },
            "line_items": [{ "sku": "SERUM-30", "quantity": 2, "title": "Serum", "engraving": "For Ada" }],
            "total_price": "49.90",
            "currency": "TRY",
            "cancel_reason": null
        });
        let hidden = redact(&mut order, Source::Shopify);
        assert_eq!(hidden, 7, "{order}");
        for (pointer, shown) in [
            ("/id", json!(820982911946154500_u64)),
            ("/created_at", json!("2026-03-05T10:00:00Z")),
            ("/customer/id", json!(207119551)),
            ("/line_items/0/sku", json!("SERUM-30")),
            ("/line_items/0/quantity", json!(2)),
            ("/line_items/0/title", json!("Serum")),
            ("/total_price", json!("49.90")),
            ("/currency", json!("TRY")),
            ("/cancel_reason", json!(null)),
        ] {
            assert_eq!(order.pointer(pointer), Some(&shown), "{pointer} is shown");
        }
        for pointer in [
            "/Email",
            "/loyalty_card",
            "/customer/firstName",
            "/customer/phone",
            "/customer/orders_count",
            "/billing_address",
            "/line_items/0/engraving",
        ] {
            assert_eq!(order.pointer(pointer), Some(&json!(REDACTED)), "{pointer} is hidden");
        }
    }

    #[test]
    fn a_plain_value_under_a_container_key_is_hidden() {
        let mut odd = json!({ "customer": "Ada Lovelace", "order": { "id": "1001", "customer": "Ada" } });
        redact(&mut odd, Source::Generic);
        assert_eq!(odd, json!({ "customer": REDACTED, "order": { "id": "1001", "customer": REDACTED } }));
    }

    #[test]
    fn whatsapp_numbers_names_and_message_text_are_hidden() {
        let mut webhook = json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": { "phone_number_id": "106540352242922", "display_phone_number": "15550001111" },
                "contacts": [{ "profile": { "name": "Ada" }, "wa_id": "905551112233" }],
                "messages": [{ "from": "905551112233", "id": "wamid.X", "timestamp": "1760000000", "type": "text",
                               "text": { "body": "Hi, I'm Ada" } }]
            }}]}]
        });
        redact(&mut webhook, Source::WhatsApp);
        let value = &webhook["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["phone_number_id"], "106540352242922");
        assert_eq!(value["metadata"]["display_phone_number"], REDACTED);
        assert_eq!(value["contacts"], REDACTED);
        assert_eq!(value["messages"][0]["id"], "wamid.X");
        assert_eq!(value["messages"][0]["type"], "text");
        assert_eq!(value["messages"][0]["from"], REDACTED);
        assert_eq!(value["messages"][0]["text"], REDACTED);
    }

    #[test]
    fn each_source_shows_only_its_own_list() {
        let mut woo = json!({ "id": 7, "date_paid_gmt": "2026-03-05T10:00:00", "billing": { "email": "a@b.c" } });
        redact(&mut woo, Source::WooCommerce);
        assert_eq!(woo, json!({ "id": 7, "date_paid_gmt": "2026-03-05T10:00:00", "billing": REDACTED }));
        let mut same_in_shopify = json!({ "date_paid_gmt": "2026-03-05T10:00:00" });
        redact(&mut same_in_shopify, Source::Shopify);
        assert_eq!(same_in_shopify["date_paid_gmt"], REDACTED);
        let mut task = json!({ "import_id": "x", "phone": "+905551112233" });
        redact(&mut task, Source::Task);
        assert_eq!(task, json!({ "import_id": "x", "phone": REDACTED }));
        let mut unknown = json!({ "id": 1, "sku": "A" });
        redact(&mut unknown, Source::Other);
        assert_eq!(unknown, json!({ "id": 1, "sku": REDACTED }));
    }
}
