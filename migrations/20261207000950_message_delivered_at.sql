-- When an outbound message reached the customer's phone, kept apart from `status_at` (which
-- moves on to the read time): attributed revenue counts orders placed after a follow-up was
-- delivered. A read receipt implies delivery, so a message read with no delivered status gets
-- its read time; a delivered status arriving after the read receipt moves it back to the
-- delivery. Messages delivered or read before this column existed take the time of their last
-- status, the best the table knew.
ALTER TABLE messages ADD COLUMN delivered_at timestamptz;

-- The backfill reads every merchant's rows (row-level security is forced, even for the owner
-- that migrates), and leaves `updated_at` alone: nothing a reader of the row knew changed, and
-- the analytics rollup need not recompute every day it touched.
SELECT set_config('recete.scope', 'system', true);
ALTER TABLE messages DISABLE TRIGGER messages_touch_updated_at;
UPDATE messages SET delivered_at = status_at
WHERE direction = 'outbound' AND status IN ('delivered', 'read') AND status_at IS NOT NULL;
ALTER TABLE messages ENABLE TRIGGER messages_touch_updated_at;
SELECT set_config('recete.scope', '', true);

-- Attribution looks up a customer's latest follow-up delivered before an order.
CREATE INDEX messages_customer_id_delivered_at_idx ON messages (customer_id, delivered_at DESC)
    WHERE proactive AND delivered_at IS NOT NULL;
