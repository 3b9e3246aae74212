//! The order pipeline's baseline: the rows the order-events pool writes for stored new-order
//! events, written instead by hand-written set-based SQL, with no queue and no Redis.
//!
//! Each batch is one transaction: it takes the next pending events (`FOR UPDATE SKIP LOCKED`),
//! opens and reads them as a worker does (the same decryption and decompression), seals each
//! customer's phone and name and hashes the phone for lookups, then writes customers (with their
//! consent), the product, orders, order items and the two audit rows of each event with one
//! `UNNEST` statement per table, and marks the events processed with one `UPDATE`. That is the
//! shape the pipeline's own batching aims at, so its rate is the ceiling the pipeline is held
//! against. It handles what `recete_testkit::orders::store_new_orders` stores (new orders of
//! distinct customers); anything else is refused by name rather than written half.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::{IntegrationId, MerchantId};
use recete_shared::customers::{PHONE_LOOKUP_DOMAIN, field_context};
use recete_shared::events::store::{open_payload, payload_context};
use recete_shared::events::{EventBody, NormalizedEvent};
use recete_shared::phone::PhoneNumber;
use sqlx::PgPool;
use uuid::Uuid;

/// The actor the baseline's audit rows name.
const ACTOR: &str = "bench:set-based";

/// A pending event as the baseline reads it.
#[derive(sqlx::FromRow)]
struct PendingEvent {
    id: Uuid,
    merchant_id: MerchantId,
    integration_id: IntegrationId,
    dedup_key: String,
    key_id: String,
    normalized_sealed: Vec<u8>,
}

/// The columns of one batch, one vector per column, ready for `UNNEST`.
#[derive(Default)]
struct Columns {
    event_ids: Vec<Uuid>,
    customer_ids: Vec<Uuid>,
    phone_sealed: Vec<Vec<u8>>,
    phone_lookup: Vec<Vec<u8>>,
    name_sealed: Vec<Option<Vec<u8>>>,
    country_codes: Vec<Option<String>>,
    consent_sources: Vec<String>,
    consent_at: Vec<DateTime<Utc>>,
    order_ids: Vec<Uuid>,
    integration_ids: Vec<Uuid>,
    external_order_ids: Vec<String>,
    currencies: Vec<Option<String>>,
    totals: Vec<Option<i64>>,
    placed_at: Vec<DateTime<Utc>>,
    occurred_at: Vec<DateTime<Utc>>,
    order_numbers: Vec<Option<String>>,
    item_ids: Vec<Uuid>,
    item_orders: Vec<Uuid>,
    item_keys: Vec<String>,
    item_skus: Vec<Option<String>>,
    item_titles: Vec<String>,
    item_quantities: Vec<i32>,
    item_prices: Vec<Option<i64>>,
}

impl Columns {
    fn add(&mut self, keyring: &Keyring, row: &PendingEvent, event: &NormalizedEvent) -> anyhow::Result<()> {
        let EventBody::Order(order) = &event.body else {
            anyhow::bail!("event {} is not an order event: the set-based baseline writes new orders only", row.id);
        };
        let customer = order.customer.as_ref().with_context(|| format!("order event {} names no customer", row.id))?;
        let raw_phone = customer.phone.as_deref().with_context(|| format!("order event {} has no phone", row.id))?;
        let phone = PhoneNumber::parse(raw_phone, customer.country_code.as_deref())
            .with_context(|| format!("order event {} has an unusable phone", row.id))?;
        let consent = customer
            .messaging_consent
            .as_ref()
            .filter(|consent| consent.granted)
            .with_context(|| format!("order event {} grants no consent", row.id))?;
        let merchant = row.merchant_id;
        let seal = |field: &str, value: &str| keyring.seal(value.as_bytes(), &field_context(merchant, field)).bytes;
        let order_id = Uuid::now_v7();
        self.event_ids.push(row.id);
        self.customer_ids.push(Uuid::now_v7());
        self.phone_sealed.push(seal("phone", phone.as_e164()));
        self.phone_lookup.push(keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, phone.as_e164()).to_vec());
        self.name_sealed.push(customer.name.as_deref().map(|name| seal("name", name)));
        self.country_codes.push(customer.country_code.as_deref().map(str::to_ascii_uppercase));
        self.consent_sources.push(consent.source.clone());
        self.consent_at.push(consent.recorded_at.unwrap_or(event.occurred_at));
        self.order_ids.push(order_id);
        self.integration_ids.push(row.integration_id.as_uuid());
        self.external_order_ids.push(order.external_order_id.clone());
        self.currencies.push(order.currency.clone());
        self.totals.push(order.total_minor);
        self.placed_at.push(order.placed_at.unwrap_or(event.occurred_at));
        self.occurred_at.push(event.occurred_at);
        self.order_numbers.push(order.order_number.clone());
        for item in &order.items {
            self.item_ids.push(Uuid::now_v7());
            self.item_orders.push(order_id);
            self.item_keys.push(item.line_key.clone());
            self.item_skus.push(item.sku.clone());
            self.item_titles.push(if item.title.is_empty() { "(untitled)".to_owned() } else { item.title.clone() });
            self.item_quantities.push(item.quantity.max(1));
            self.item_prices.push(item.unit_price_minor);
        }
        Ok(())
    }
}

/// Writes one batch; returns how many events it processed (0 when none is pending).
async fn write_batch(pool: &PgPool, keyring: &Keyring, batch: i64) -> anyhow::Result<usize> {
    let mut tx = db::system_tx(pool).await?;
    let rows: Vec<PendingEvent> = sqlx::query_as(
        "SELECT id, merchant_id, integration_id, dedup_key, key_id, normalized_sealed FROM external_events
         WHERE state = 'pending' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(batch)
    .fetch_all(&mut *tx)
    .await?;
    let Some(merchant) = rows.first().map(|row| row.merchant_id) else {
        return Ok(0);
    };
    anyhow::ensure!(rows.iter().all(|row| row.merchant_id == merchant), "the baseline writes one merchant's events");
    db::set_tenant(&mut tx, merchant).await?;
    let mut columns = Columns::default();
    for row in &rows {
        let context = payload_context(row.integration_id, &row.dedup_key, "normalized");
        let opened = open_payload(keyring, &row.key_id, &row.normalized_sealed, &context)
            .with_context(|| format!("event {} does not open", row.id))?;
        let event: NormalizedEvent = serde_json::from_slice(&opened)?;
        columns.add(keyring, row, &event)?;
    }
    let c = &columns;
    sqlx::query(
        "INSERT INTO customers (id, merchant_id, pii_key_id, phone_sealed, phone_lookup, name_sealed, country_code,
             lookup_key_id, whatsapp_consent, consent_source, consent_updated_at)
         SELECT id, $2, $3, phone, lookup, name, country, $4, 'granted', source, at
         FROM UNNEST($1::uuid[], $5::bytea[], $6::bytea[], $7::bytea[], $8::text[], $9::text[], $10::timestamptz[])
              AS u(id, phone, lookup, name, country, source, at)",
    )
    .bind(&c.customer_ids)
    .bind(merchant)
    .bind(keyring.active_key_id())
    .bind(keyring.active_lookup_key_id())
    .bind(&c.phone_sealed)
    .bind(&c.phone_lookup)
    .bind(&c.name_sealed)
    .bind(&c.country_codes)
    .bind(&c.consent_sources)
    .bind(&c.consent_at)
    .execute(&mut *tx)
    .await
    .context("customers")?;
    sqlx::query(
        "INSERT INTO orders (id, merchant_id, customer_id, integration_id, external_order_id, status, currency,
             total_minor, placed_at, source_updated_at, created_at, order_number)
         SELECT id, $2, customer, integration, external, 'created', currency, total, placed, occurred, now(), number
         FROM UNNEST($1::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::bigint[], $8::timestamptz[],
                     $9::timestamptz[], $10::text[])
              AS u(id, customer, integration, external, currency, total, placed, occurred, number)",
    )
    .bind(&c.order_ids)
    .bind(merchant)
    .bind(&c.customer_ids)
    .bind(&c.integration_ids)
    .bind(&c.external_order_ids)
    .bind(&c.currencies)
    .bind(&c.totals)
    .bind(&c.placed_at)
    .bind(&c.occurred_at)
    .bind(&c.order_numbers)
    .execute(&mut *tx)
    .await
    .context("orders")?;
    // The products the items name, once per SKU, found or made in one statement each.
    let mut skus: Vec<String> = c.item_skus.iter().flatten().cloned().collect();
    skus.sort();
    skus.dedup();
    sqlx::query(
        "INSERT INTO products (id, merchant_id, sku, title)
         SELECT gen_random_uuid(), $1, sku, sku FROM UNNEST($2::text[]) AS u(sku)
         WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.merchant_id = $1 AND p.sku = u.sku)
         ON CONFLICT DO NOTHING",
    )
    .bind(merchant)
    .bind(&skus)
    .execute(&mut *tx)
    .await
    .context("products")?;
    sqlx::query(
        "INSERT INTO order_items (id, merchant_id, order_id, product_id, line_key, sku, title, quantity, unit_price_minor)
         SELECT u.id, $2, u.order_id, p.id, u.line_key, u.sku, u.title, u.quantity, u.price
         FROM UNNEST($1::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[])
              AS u(id, order_id, line_key, sku, title, quantity, price)
         LEFT JOIN LATERAL (SELECT id FROM products WHERE merchant_id = $2 AND sku = u.sku LIMIT 1) p ON true",
    )
    .bind(&c.item_ids)
    .bind(merchant)
    .bind(&c.item_orders)
    .bind(&c.item_keys)
    .bind(&c.item_skus)
    .bind(&c.item_titles)
    .bind(&c.item_quantities)
    .bind(&c.item_prices)
    .execute(&mut *tx)
    .await
    .context("order items")?;
    sqlx::query(
        "INSERT INTO audit_log (merchant_id, actor, action, subject_type, subject_id, event_id, before, after)
         SELECT $2, $3, 'customer.consent_changed', 'customer', customer::text, event,
                jsonb_build_object('whatsapp_consent', 'unknown'),
                jsonb_build_object('whatsapp_consent', 'granted', 'source', source, 'recorded_at', at)
         FROM UNNEST($1::uuid[], $4::uuid[], $5::text[], $6::timestamptz[]) AS u(event, customer, source, at)
         UNION ALL
         SELECT $2, $3, 'order.created', 'order', id::text, event,
                NULL, jsonb_build_object('status', 'created', 'external_order_id', external)
         FROM UNNEST($1::uuid[], $7::uuid[], $8::text[]) AS o(event, id, external)",
    )
    .bind(&c.event_ids)
    .bind(merchant)
    .bind(ACTOR)
    .bind(&c.customer_ids)
    .bind(&c.consent_sources)
    .bind(&c.consent_at)
    .bind(&c.order_ids)
    .bind(&c.external_order_ids)
    .execute(&mut *tx)
    .await
    .context("audit rows")?;
    sqlx::query(
        "UPDATE external_events SET state = 'processed', processed_at = now(), attempts = attempts + 1, last_error = NULL
         WHERE id = ANY($1)",
    )
    .bind(&c.event_ids)
    .execute(&mut *tx)
    .await
    .context("event states")?;
    tx.commit().await?;
    Ok(rows.len())
}

/// Writes every pending event's rows in batches of `batch`; returns the events written and the
/// time it took.
pub async fn write_all(pool: &PgPool, keyring: &Keyring, batch: i64) -> anyhow::Result<(usize, Duration)> {
    let started = Instant::now();
    let mut written = 0;
    loop {
        let count = write_batch(pool, keyring, batch).await?;
        if count == 0 {
            return Ok((written, started.elapsed()));
        }
        written += count;
    }
}
