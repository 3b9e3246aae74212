-- Work that must happen exists here first; Redis only carries "work on row N".

CREATE TABLE external_events (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT external_events_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    integration_id      uuid NOT NULL CONSTRAINT external_events_integration_id_fkey REFERENCES integrations (id) ON DELETE CASCADE,
    source              text NOT NULL CONSTRAINT external_events_source_check
                            CHECK (source IN ('shopify', 'woocommerce', 'generic', 'whatsapp', 'csv')),
    kind                text NOT NULL,
    -- The platform's own name for what happened (X-Shopify-Topic, X-WC-Webhook-Topic, type...).
    topic               text NOT NULL,
    -- Unique per integration: the platform's delivery or event id, so a retried delivery is
    -- stored once.
    dedup_key           text NOT NULL,
    platform_event_id   text,
    -- The order id or WhatsApp message id the event is about (not personal data).
    subject_id          text,
    occurred_at         timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    request_id          text,
    -- Raw body and normalized event both carry personal data: sealed with the key named here.
    key_id              text NOT NULL,
    payload_sealed      bytea NOT NULL,
    normalized_sealed   bytea NOT NULL,
    state               text NOT NULL DEFAULT 'pending' CONSTRAINT external_events_state_check
                            CHECK (state IN ('pending', 'processing', 'processed', 'failed', 'dead', 'ignored')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    last_error          text,
    processed_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT external_events_integration_id_dedup_key_key UNIQUE (integration_id, dedup_key)
);
CREATE INDEX external_events_due_idx ON external_events (next_attempt_at)
    WHERE state IN ('pending', 'failed');
-- Sealed values are ciphertext, which PostgreSQL's own compression cannot shrink: skip the attempt.
-- (Payloads are compressed before they are sealed.)
ALTER TABLE external_events
    ALTER COLUMN payload_sealed SET STORAGE EXTERNAL,
    ALTER COLUMN normalized_sealed SET STORAGE EXTERNAL;

CREATE TABLE scheduled_tasks (
    id              uuid PRIMARY KEY,
    merchant_id     uuid NOT NULL CONSTRAINT scheduled_tasks_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    order_id        uuid CONSTRAINT scheduled_tasks_order_id_fkey REFERENCES orders (id) ON DELETE CASCADE,
    customer_id     uuid CONSTRAINT scheduled_tasks_customer_id_fkey REFERENCES customers (id) ON DELETE CASCADE,
    -- One row per (order, step) or per other natural key, so planning twice plans once.
    unique_key      text NOT NULL,
    due_at          timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CONSTRAINT scheduled_tasks_state_check
                        CHECK (state IN ('pending', 'running', 'done', 'failed', 'cancelled', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    cancel_reason   text,
    payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
    finished_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduled_tasks_merchant_id_unique_key_key UNIQUE (merchant_id, unique_key)
);
CREATE INDEX scheduled_tasks_due_idx ON scheduled_tasks (due_at) WHERE state IN ('pending', 'failed');
CREATE INDEX scheduled_tasks_order_id_idx ON scheduled_tasks (order_id);

CREATE TABLE audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id     uuid CONSTRAINT audit_log_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    -- Who or what acted: 'worker:orders', 'api-key:<id>', 'operator:<name>', 'cli'.
    actor           text NOT NULL,
    action          text NOT NULL,
    subject_type    text NOT NULL,
    subject_id      text,
    event_id        uuid,
    before          jsonb,
    after           jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_merchant_id_created_at_idx ON audit_log (merchant_id, created_at);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);
