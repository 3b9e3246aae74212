-- The relay's bookkeeping on external_events: when a row was last handed to the queue, and how
-- many times. A pending row whose hand-over is older than the reconcile delay is handed over
-- again (Redis lost it, a worker died, an enqueue was dropped).
ALTER TABLE external_events
    ADD COLUMN enqueued_at timestamptz,
    ADD COLUMN enqueue_count integer NOT NULL DEFAULT 0;

-- Dead letters are listed newest first by operators.
CREATE INDEX external_events_dead_idx ON external_events (updated_at DESC) WHERE state = 'dead';
