//! Example files a merchant can download, fill in and upload: every documented column, in
//! order, with two rows that import cleanly (the tests hold them to both).

use crate::ImportKind;

const ORDERS: &str = "\
order_id,email,phone,name,country,created_at,fulfilled_at,delivered_at,status,sku,product_title,quantity,\
whatsapp_consent,consent_at,currency,total,customer_id,product_url
1001,ada@example.com,+49 151 2345 6789,Ada Lovelace,DE,2026-03-05 14:00,2026-03-06,2026-03-08,delivered,SERUM-30,\
Vitamin C Serum 30 ml,1,yes,2026-03-05 14:00,EUR,\"39,90\",C-501,https://shop.example.com/products/vitamin-c-serum
1002,,+1 415 555 0100,Grace Hopper,US,2026-03-07T09:30:00Z,,,paid,SPF-50,Daily Sunscreen SPF 50,2,no,,USD,58.00,\
C-502,https://shop.example.com/products/daily-sunscreen
";

const PRODUCTS: &str = "\
sku,title,url,description,usage,ingredients,warnings
SERUM-30,Vitamin C Serum 30 ml,https://shop.example.com/products/vitamin-c-serum,\
Brightening serum with 15% vitamin C.,Apply four drops to clean skin every morning.,\
\"Aqua, Ascorbic Acid, Glycerin\",Avoid contact with the eyes.
SPF-50,Daily Sunscreen SPF 50,https://shop.example.com/products/daily-sunscreen,\
Light sunscreen for every day.,Apply generously 15 minutes before sun exposure.,\
\"Aqua, Zinc Oxide, Glycerin\",Reapply after swimming.
";

const CUSTOMERS: &str = "\
customer_id,email,phone,name,country,whatsapp_consent,consent_at
C-501,ada@example.com,+49 151 2345 6789,Ada Lovelace,DE,yes,2026-03-05 14:00
C-502,grace@example.com,(415) 555-0100,Grace Hopper,US,no,
";

/// A CSV file with the header and two example rows.
pub fn template(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Orders => ORDERS,
        ImportKind::Products => PRODUCTS,
        ImportKind::Customers => CUSTOMERS,
    }
}
