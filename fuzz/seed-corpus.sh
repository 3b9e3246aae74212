#!/usr/bin/env bash
# Rebuilds fuzz/corpus/ from the payloads the tests use: the webhook bodies in tests/fixtures,
# the CSV files in imports/tests/fixtures, and a few small bodies and headers written out below
# (privacy webhooks, signature headers, products files). Files are named by the SHA-1 of their
# content, as libFuzzer names what it adds.
#
# Targets that take a header read the first byte as a selector (topic, or import kind and options)
# and the first line as the header value; the selector values below follow the order of
# `shopify::TOPICS` + `shopify::privacy::TOPICS` and `woocommerce::TOPICS`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
corpus="$root/fuzz/corpus"
webhooks="$root/tests/fixtures"
csv="$root/imports/tests/fixtures"

# seed TARGET: stores standard input as one corpus file of TARGET.
seed() {
    local dir="$corpus/$1" tmp
    mkdir -p "$dir"
    tmp="$(mktemp)"
    cat >"$tmp"
    mv "$tmp" "$dir/$(sha1sum "$tmp" | cut -d' ' -f1)"
}

# selector N: the byte N.
selector() { printf "\\$(printf '%03o' "$1")"; }

# Shopify: selector, X-Shopify-Triggered-At line, body.
for topic in 0 1 2 3 4 12; do
    { selector "$topic"; printf '2026-11-20T10:00:00Z\n'; cat "$webhooks/shopify_orders_create.json"; } | seed shopify
done
for topic in 6 7; do
    { selector "$topic"; printf '\n'; cat "$webhooks/shopify_fulfillments_update.json"; } | seed shopify
done
{ selector 5; printf '2026-11-20T10:00:00Z\n'; printf '{"id": 509562969, "order_id": 450789469, "created_at": "2026-11-21T12:00:00-05:00"}'; } | seed shopify
{ selector 8; printf '\n'; printf '{"id": 944956391, "fulfillment_id": 255858046, "order_id": 450789469, "status": "delivered", "happened_at": "2026-11-22T09:30:00Z"}'; } | seed shopify
{ selector 9; printf '2026-11-23T10:00:00Z\n'; printf '{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com", "orders_requested": [299938, 280263], "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}, "data_request": {"id": 9999}}'; } | seed shopify
{ selector 10; printf '2026-11-23T10:00:00Z\n'; printf '{"shop_id": 954889, "customer": {"email": "john@example.com"}, "orders_to_redact": [299938]}'; } | seed shopify
{ selector 11; printf '\n'; printf '{"shop_id": 954889, "shop_domain": "snowdevil.myshopify.com"}'; } | seed shopify

# WooCommerce: selector, X-WC-Webhook-Delivery-ID line, body.
for topic in 0 1 2 3 4; do
    { selector "$topic"; printf '7f6a1c2e-delivery\n'; cat "$webhooks/woocommerce_order_updated.json"; } | seed woocommerce
done

seed generic <"$webhooks/generic_order_delivered.json"
seed whatsapp <"$webhooks/whatsapp_inbound.json"
seed whatsapp <"$webhooks/whatsapp_statuses.json"

mac_hex="$(printf 'a%.0s' {1..64})"
for header in \
    "t=1700000000,v1=$mac_hex" \
    "t=1700000000,v1=$mac_hex,v0=zz,v1=$mac_hex" \
    "t=-9223372036854775808,v1=$mac_hex" \
    "t=yesterday,v1=00" \
    "sha256=$mac_hex" \
    "$(head -c 32 /dev/zero | base64)"; do
    printf '%s' "$header" | seed signature_headers
done

# CSV: selector (bit 0: products; bit 1: month first; bits 2-3: time zone; bits 4-5: country), file.
{ selector 0; cat "$csv/mixed_utf8_latin1.csv"; } | seed csv_rows
{ selector 48; cat "$csv/windows1252_semicolon.csv"; } | seed csv_rows
{ selector 20; cat "$csv/excel_unicode_text.txt"; } | seed csv_rows
{ selector 6; printf 'order_id,email,phone,status,created_at,quantity,total,currency\n1001,ada@example.com,+905551112233,paid,03/05/2026 14:00,2,49.90,EUR\n1002,,0555 111 22 33,delivered,2026-03-06,1,"1.234,56",TRY\n'; } | seed csv_rows
{ selector 1; printf 'sku,title,url,description,usage,ingredients,warnings\nSERUM-30,Vitamin C Serum,https://shop.example/serum,Brightens,Apply at night,"Ascorbic acid, water",Avoid eyes\n,No SKU,,,,,\n'; } | seed csv_rows

du -sh "$corpus"
