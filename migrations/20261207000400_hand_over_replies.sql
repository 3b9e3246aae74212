-- A person in the loop: merchants reply to the customers the agent handed over, customers'
-- media messages are kept as what they are, and a retried reply request sends once.

-- Who wrote a message: `customer` (inbound), `agent` (the answering agent), `system` (follow-ups,
-- consent confirmations) or `merchant:<api key id>` (a person replying through the API).
ALTER TABLE messages ADD COLUMN author text;
-- Every merchant's rows: row-level security is forced, even for the owner that migrates.
SELECT set_config('recete.scope', 'system', true);
UPDATE messages SET author = CASE
    WHEN direction = 'inbound' THEN 'customer'
    WHEN metadata ? 'agent' THEN 'agent'
    ELSE 'system'
END;
SELECT set_config('recete.scope', '', true);
ALTER TABLE messages
    ALTER COLUMN author SET DEFAULT 'system',
    ALTER COLUMN author SET NOT NULL,
    ADD CONSTRAINT messages_author_check
        CHECK (author IN ('customer', 'agent', 'system') OR author LIKE 'merchant:_%');

-- A customer's image, document, voice note, video, sticker or location is stored as its kind,
-- its caption (sealed like any body) beside it, instead of one `other` bucket.
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('text', 'template', 'image', 'document', 'audio', 'video', 'sticker', 'location', 'other'));

-- `Idempotency-Key` of merchant API writes: the first answer to a key, kept a day. A request
-- holds its row lock until it commits, so a concurrent repeat waits and then reads the answer.
CREATE TABLE idempotency_keys (
    merchant_id      uuid NOT NULL CONSTRAINT idempotency_keys_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    -- The method and path the key was sent to: one key on two routes means two requests.
    route            text NOT NULL,
    key              text NOT NULL,
    -- SHA-256 of the request body as parsed: the same key with another body is refused.
    request_hash     bytea NOT NULL,
    -- Set in the same transaction as the work; never personal data (ids, statuses, times).
    response_status  smallint,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (merchant_id, route, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_tenant_isolation ON idempotency_keys
    USING (recete_row_visible(merchant_id)) WITH CHECK (recete_row_visible(merchant_id));
CREATE TRIGGER idempotency_keys_touch_updated_at BEFORE UPDATE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at();
