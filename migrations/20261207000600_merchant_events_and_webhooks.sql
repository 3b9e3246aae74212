-- What happened that a merchant's own systems want to know (a conversation handed over, a
-- customer opting out, a message failing, an import or a privacy request finished), written in
-- the same transaction as the change that caused it. Outbound webhooks fan each event out to the
-- merchant's endpoints; a live event stream can read the same rows in order.
--
-- The payload holds ids and non-sensitive fields only; the customer's masked phone and name are
-- added when an event is rendered for delivery, from the sealed customer row, so erasing a
-- customer leaves nothing of them here.
CREATE TABLE merchant_events (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT merchant_events_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    type                text NOT NULL CONSTRAINT merchant_events_type_check CHECK (type IN (
                            'conversation.handed_over', 'conversation.message_received', 'customer.opted_out',
                            'message.failed', 'import.completed', 'privacy_request.completed')),
    payload             jsonb NOT NULL CONSTRAINT merchant_events_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Ids are UUIDv7, so this index reads a merchant's events in the order they happened.
CREATE INDEX merchant_events_merchant_id_id_idx ON merchant_events (merchant_id, id);

-- A merchant's receivers. The signing secret is sealed (it must be read back to sign); after a
-- rotation the previous secret keeps signing until `previous_secret_expires_at`.
CREATE TABLE webhook_endpoints (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT webhook_endpoints_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    url                 text NOT NULL CONSTRAINT webhook_endpoints_url_check CHECK (length(url) BETWEEN 1 AND 2048),
    description         text,
    event_types         text[] NOT NULL CONSTRAINT webhook_endpoints_event_types_check CHECK (cardinality(event_types) > 0),
    secret_key_id       text NOT NULL,
    secret_sealed       bytea NOT NULL,
    previous_secret_key_id text,
    previous_secret_sealed bytea,
    previous_secret_expires_at timestamptz,
    -- Set by the merchant, or by us after `webhooks.disable_after_secs` of failures (with why).
    disabled_at         timestamptz,
    disabled_reason     text,
    -- The first failed attempt since the last success; cleared by a success.
    failing_since       timestamptz,
    deleted_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_merchant_id_idx ON webhook_endpoints (merchant_id, created_at) WHERE deleted_at IS NULL;

-- One event to one endpoint. Its id is also the id of the `webhook` scheduled task that carries
-- its attempts, backoff and dead-letter state; this row keeps what the merchant needs to see.
-- The event's id is the `webhook-id` of every attempt and replay.
CREATE TABLE webhook_deliveries (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT webhook_deliveries_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    endpoint_id         uuid NOT NULL CONSTRAINT webhook_deliveries_endpoint_id_fkey REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id            uuid NOT NULL CONSTRAINT webhook_deliveries_event_id_fkey REFERENCES merchant_events (id) ON DELETE CASCADE,
    state               text NOT NULL DEFAULT 'pending' CONSTRAINT webhook_deliveries_state_check
                            CHECK (state IN ('pending', 'failed', 'delivered', 'dead', 'cancelled')),
    attempts            integer NOT NULL DEFAULT 0,
    last_attempt_at     timestamptz,
    -- The receiver's HTTP status of the last attempt; NULL when it never answered.
    last_status_code    integer,
    last_error          text,
    last_duration_ms    integer,
    next_attempt_at     timestamptz,
    delivered_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_endpoint_id_event_id_key UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint_id_id_idx ON webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_event_id_idx ON webhook_deliveries (event_id);

DO $$
DECLARE
    tenant_table text;
BEGIN
    FOREACH tenant_table IN ARRAY ARRAY['merchant_events', 'webhook_endpoints', 'webhook_deliveries'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', tenant_table);
        EXECUTE format(
            'CREATE POLICY %I ON %I USING (recete_row_visible(merchant_id)) WITH CHECK (recete_row_visible(merchant_id))',
            tenant_table || '_tenant_isolation', tenant_table
        );
        EXECUTE format(
            'CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at()',
            tenant_table || '_touch_updated_at', tenant_table
        );
    END LOOP;
END
$$;
