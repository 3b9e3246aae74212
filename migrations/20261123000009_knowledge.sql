-- Product knowledge kept as sections, the state of each product's scrape, and the agent's
-- hand-overs.

ALTER TABLE products
    -- Where the product came from first: an order's line items, the merchant API, a scrape, a CSV.
    ADD COLUMN source text NOT NULL DEFAULT 'order' CONSTRAINT products_source_check
        CHECK (source IN ('order', 'api', 'scrape', 'csv')),
    ADD COLUMN brand text,
    -- [{kind, heading, text}]: usage, ingredients, warnings, FAQ... as the page or merchant wrote them.
    ADD COLUMN sections jsonb NOT NULL DEFAULT '[]'::jsonb CONSTRAINT products_sections_check
        CHECK (jsonb_typeof(sections) = 'array'),
    ADD COLUMN scrape_error text,
    -- When the chunks last matched the product's text.
    ADD COLUMN embedded_at timestamptz;

ALTER TABLE knowledge_chunks
    ADD COLUMN heading text;
CREATE INDEX knowledge_chunks_product_id_idx ON knowledge_chunks (product_id);

ALTER TABLE conversations
    ADD COLUMN handover_reason text,
    ADD COLUMN resolved_at timestamptz;
CREATE INDEX conversations_merchant_id_handed_over_idx ON conversations (merchant_id, last_message_at DESC)
    WHERE state = 'handed_over';

-- The number a customer sees and quotes ("#1001"), beside the platform's own id.
ALTER TABLE orders ADD COLUMN order_number text;
