-- When an outbound message reached the customer's phone, kept apart from `status_at` (which
-- moves on to the read time): attributed revenue counts orders placed after a follow-up was
-- delivered. A read receipt implies delivery, so a message read with no delivered status gets
-- its read time; a delivered status arriving after the read receipt moves it back to the
-- delivery. Messages delivered or read before this column existed take the time of their last
-- status, the best the table knew.
ALTER TABLE messages ADD COLUMN delivered_at timestamptz;

UPDATE messages SET delivered_at = status_at
WHERE direction = 'outbound' AND status IN ('delivered', 'read') AND status_at IS NOT NULL;

-- Attribution looks up a customer's latest follow-up delivered before an order.
CREATE INDEX messages_customer_id_delivered_at_idx ON messages (customer_id, delivered_at DESC)
    WHERE proactive AND delivered_at IS NOT NULL;
