-- Customers, their orders and the product catalogue.
--
-- Personal data (phone, email, name) is sealed with AES-256-GCM; `pii_key_id` names the key so
-- keys can rotate. Lookups go through keyed hashes (HMAC-SHA256), never through plaintext.

CREATE TABLE customers (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT customers_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    external_id         text,
    pii_key_id          text,
    phone_sealed        bytea,
    phone_lookup        bytea,
    email_sealed        bytea,
    email_lookup        bytea,
    name_sealed         bytea,
    country_code        text,
    timezone            text,
    whatsapp_consent    text NOT NULL DEFAULT 'unknown' CONSTRAINT customers_whatsapp_consent_check
                            CHECK (whatsapp_consent IN ('granted', 'revoked', 'unknown')),
    consent_source      text,
    consent_updated_at  timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_merchant_id_phone_lookup_key ON customers (merchant_id, phone_lookup)
    WHERE phone_lookup IS NOT NULL;
CREATE INDEX customers_merchant_id_email_lookup_idx ON customers (merchant_id, email_lookup)
    WHERE email_lookup IS NOT NULL;
CREATE UNIQUE INDEX customers_merchant_id_external_id_key ON customers (merchant_id, external_id)
    WHERE external_id IS NOT NULL;

CREATE TABLE products (
    id              uuid PRIMARY KEY,
    merchant_id     uuid NOT NULL CONSTRAINT products_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    external_id     text,
    sku             text,
    title           text NOT NULL,
    url             text,
    description     text,
    -- Structured facts from JSON-LD, OpenGraph or CSV (brand, usage, ingredients, warnings...).
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    scrape_state    text NOT NULL DEFAULT 'none' CONSTRAINT products_scrape_state_check
                        CHECK (scrape_state IN ('none', 'pending', 'done', 'failed')),
    scraped_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX products_merchant_id_external_id_key ON products (merchant_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX products_merchant_id_sku_key ON products (merchant_id, sku)
    WHERE sku IS NOT NULL;

CREATE TABLE orders (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT orders_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    customer_id         uuid CONSTRAINT orders_customer_id_fkey REFERENCES customers (id) ON DELETE SET NULL,
    integration_id      uuid CONSTRAINT orders_integration_id_fkey REFERENCES integrations (id) ON DELETE SET NULL,
    external_order_id   text NOT NULL,
    status              text NOT NULL CONSTRAINT orders_status_check
                            CHECK (status IN ('created', 'paid', 'fulfilled', 'delivered', 'cancelled', 'refunded')),
    currency            text,
    total_minor         bigint,
    placed_at           timestamptz,
    paid_at             timestamptz,
    fulfilled_at        timestamptz,
    delivered_at        timestamptz,
    cancelled_at        timestamptz,
    refunded_at         timestamptz,
    -- The platform's own timestamp of the newest change applied, so a stale retry never moves the
    -- order backwards.
    source_updated_at   timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_merchant_id_external_order_id_key UNIQUE (merchant_id, external_order_id)
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE order_items (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT order_items_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    order_id            uuid NOT NULL CONSTRAINT order_items_order_id_fkey REFERENCES orders (id) ON DELETE CASCADE,
    product_id          uuid CONSTRAINT order_items_product_id_fkey REFERENCES products (id) ON DELETE SET NULL,
    line_key            text NOT NULL,
    sku                 text,
    title               text NOT NULL,
    quantity            integer NOT NULL CONSTRAINT order_items_quantity_check CHECK (quantity > 0),
    unit_price_minor    bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT order_items_order_id_line_key_key UNIQUE (order_id, line_key)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);
