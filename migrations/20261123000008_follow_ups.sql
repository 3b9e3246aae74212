-- Follow-up sending: the relay's bookkeeping on scheduled_tasks, why a task was deferred,
-- skipped or failed, and when each message left.

ALTER TABLE scheduled_tasks
    ADD COLUMN step text,
    ADD COLUMN enqueued_at timestamptz,
    ADD COLUMN enqueue_count integer NOT NULL DEFAULT 0,
    -- The last decision in words: "quiet hours until 09:00 Europe/Istanbul", "opted out"...
    ADD COLUMN status_reason text;

ALTER TABLE messages
    ADD COLUMN sent_at timestamptz,
    -- Proactive messages count against the per-customer frequency cap; replies do not.
    ADD COLUMN proactive boolean NOT NULL DEFAULT false;

CREATE INDEX messages_customer_id_sent_at_idx ON messages (customer_id, sent_at DESC) WHERE proactive;
CREATE INDEX scheduled_tasks_customer_id_idx ON scheduled_tasks (customer_id) WHERE state IN ('pending', 'failed');
