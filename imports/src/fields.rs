//! The values a row of any file can carry, and how headers are compared.

/// A value a row can carry; each documented column or an export's column stands for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    OrderId,
    /// The number a customer sees (`#1001`), when a file has it beside the store's id.
    OrderNumber,
    Email,
    Phone,
    ShippingPhone,
    BillingPhone,
    Name,
    ShippingName,
    BillingName,
    FirstName,
    LastName,
    Country,
    ShippingCountry,
    BillingCountry,
    CreatedAt,
    PaidAt,
    FulfilledAt,
    DeliveredAt,
    CancelledAt,
    Status,
    /// Shopify's `Financial Status`: paid, pending, refunded, partially_refunded, voided...
    FinancialStatus,
    /// Shopify's `Fulfillment Status`: fulfilled, partial, unfulfilled, restocked.
    FulfillmentStatus,
    Sku,
    ProductTitle,
    Quantity,
    UnitPrice,
    WhatsappConsent,
    /// Consent to SMS marketing, which the stores' WhatsApp consent is recorded as.
    SmsConsent,
    ConsentAt,
    Currency,
    Total,
    CustomerId,
    ProductUrl,
    Title,
    Url,
    Description,
    Usage,
    Ingredients,
    Warnings,
}

/// A header reduced to what identifies it: lower-case letters and digits (and `#`).
pub(crate) fn fold(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric() || *c == '#').flat_map(char::to_lowercase).collect()
}
