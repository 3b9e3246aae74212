-- Product knowledge for retrieval, and the WhatsApp conversations it serves.

CREATE TABLE knowledge_chunks (
    id              uuid PRIMARY KEY,
    merchant_id     uuid NOT NULL CONSTRAINT knowledge_chunks_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    product_id      uuid NOT NULL CONSTRAINT knowledge_chunks_product_id_fkey REFERENCES products (id) ON DELETE CASCADE,
    section         text NOT NULL,
    position        integer NOT NULL DEFAULT 0,
    content         text NOT NULL,
    -- SHA-256 of the content and model: unchanged text is never embedded twice.
    content_hash    bytea NOT NULL,
    model           text NOT NULL,
    -- 384 dimensions: the local all-MiniLM-L6-v2 model; remote embedders are asked for the same.
    embedding       vector(384) NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_chunks_product_id_content_hash_key UNIQUE (product_id, content_hash)
);
CREATE INDEX knowledge_chunks_merchant_id_idx ON knowledge_chunks (merchant_id);
CREATE INDEX knowledge_chunks_embedding_idx ON knowledge_chunks USING hnsw (embedding vector_cosine_ops);

CREATE TABLE conversations (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT conversations_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    customer_id         uuid NOT NULL CONSTRAINT conversations_customer_id_fkey REFERENCES customers (id) ON DELETE CASCADE,
    state               text NOT NULL DEFAULT 'open' CONSTRAINT conversations_state_check
                            CHECK (state IN ('open', 'handed_over', 'closed')),
    -- WhatsApp's 24-hour customer service window: free-form text is allowed until then.
    window_expires_at   timestamptz,
    last_message_at     timestamptz,
    handed_over_at      timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_merchant_id_last_message_at_idx ON conversations (merchant_id, last_message_at DESC);
CREATE INDEX conversations_customer_id_idx ON conversations (customer_id);

CREATE TABLE messages (
    id                  uuid PRIMARY KEY,
    merchant_id         uuid NOT NULL CONSTRAINT messages_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    conversation_id     uuid CONSTRAINT messages_conversation_id_fkey REFERENCES conversations (id) ON DELETE SET NULL,
    customer_id         uuid CONSTRAINT messages_customer_id_fkey REFERENCES customers (id) ON DELETE SET NULL,
    order_id            uuid CONSTRAINT messages_order_id_fkey REFERENCES orders (id) ON DELETE SET NULL,
    scheduled_task_id   uuid,
    direction           text NOT NULL CONSTRAINT messages_direction_check CHECK (direction IN ('inbound', 'outbound')),
    kind                text NOT NULL CONSTRAINT messages_kind_check CHECK (kind IN ('text', 'template', 'other')),
    pii_key_id          text,
    body_sealed         bytea,
    template_name       text,
    -- Recorded before an outbound call: a retry finds it and never sends a second copy.
    idempotency_key     text,
    wa_message_id       text,
    status              text NOT NULL CONSTRAINT messages_status_check
                            CHECK (status IN ('received', 'queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'skipped')),
    status_at           timestamptz,
    error_code          text,
    error_reason        text,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_merchant_id_idempotency_key_key ON messages (merchant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX messages_merchant_id_wa_message_id_key ON messages (merchant_id, wa_message_id)
    WHERE wa_message_id IS NOT NULL;
CREATE INDEX messages_conversation_id_created_at_idx ON messages (conversation_id, created_at);
CREATE INDEX messages_order_id_idx ON messages (order_id);
