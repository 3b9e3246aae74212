-- Customers' privacy requests (exports and erasures, from the merchant API or a store's privacy
-- webhooks), and the marks an erasure leaves on the rows it keeps.

-- An erased customer keeps an anonymous row, so orders, conversations and messages still add up
-- in aggregate figures while nothing in them names the person.
ALTER TABLE customers ADD COLUMN erased_at timestamptz;

-- A stored webhook that named an erased customer keeps its row (a redelivery still deduplicates
-- against it, audit rows still point at it) with a sealed tombstone in place of its payloads.
ALTER TABLE external_events ADD COLUMN erased_at timestamptz;

-- What an erasure looks up: a customer's messages and all of their tasks, the stored webhooks
-- about an order or a WhatsApp message, and what a whole shop still holds.
CREATE INDEX messages_customer_id_idx ON messages (customer_id);
CREATE INDEX scheduled_tasks_customer_id_all_idx ON scheduled_tasks (customer_id);
CREATE INDEX external_events_merchant_id_subject_id_idx ON external_events (merchant_id, subject_id)
    WHERE subject_id IS NOT NULL;
CREATE INDEX external_events_merchant_id_unerased_idx ON external_events (merchant_id, id)
    WHERE erased_at IS NULL;
CREATE INDEX customers_merchant_id_unerased_idx ON customers (merchant_id, id) WHERE erased_at IS NULL;

CREATE TABLE privacy_requests (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT privacy_requests_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    kind                text NOT NULL CONSTRAINT privacy_requests_kind_check CHECK (kind IN ('export', 'erase')),
    -- One customer, or every customer of the shop (a store's shop redact).
    scope               text NOT NULL CONSTRAINT privacy_requests_scope_check CHECK (scope IN ('customer', 'shop')),
    channel             text NOT NULL CONSTRAINT privacy_requests_channel_check CHECK (channel IN ('api', 'shopify')),
    -- 'api-key:<id>' or 'shopify:privacy-webhook'.
    actor               text NOT NULL,
    -- The stored webhook a store's request arrived as: one request per delivery.
    event_id            uuid,
    -- The store's own id of the request (Shopify's data_request.id), to answer it by.
    platform_request_id text,
    status              text NOT NULL CONSTRAINT privacy_requests_status_check
                            CHECK (status IN ('running', 'completed', 'not_found')),
    -- Our ids of the customers the request matched; never a phone, email or name.
    customer_ids        uuid[] NOT NULL DEFAULT '{}',
    -- How many customers, orders, messages, events... were exported or erased.
    counts              jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- A store's data request is answered by the merchant, so its export document is kept for
    -- them, sealed, until they fetch it or the customer is erased.
    document_key_id     text,
    document_sealed     bytea,
    document_erased_at  timestamptz,
    completed_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT privacy_requests_document_check CHECK ((document_sealed IS NULL) = (document_key_id IS NULL))
);
CREATE UNIQUE INDEX privacy_requests_event_id_key ON privacy_requests (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX privacy_requests_merchant_id_created_at_idx ON privacy_requests (merchant_id, created_at DESC, id DESC);
CREATE INDEX privacy_requests_customer_ids_idx ON privacy_requests USING gin (customer_ids);
-- Sealed documents are ciphertext, which PostgreSQL's compression cannot shrink.
ALTER TABLE privacy_requests ALTER COLUMN document_sealed SET STORAGE EXTERNAL;

ALTER TABLE privacy_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE privacy_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY privacy_requests_tenant_isolation ON privacy_requests
    USING (recete_row_visible(merchant_id)) WITH CHECK (recete_row_visible(merchant_id));
CREATE TRIGGER privacy_requests_touch_updated_at BEFORE UPDATE ON privacy_requests
    FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at();
