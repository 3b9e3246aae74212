-- Merchant events are kept for `events.retention_days` (the live stream resumes from them with
-- `Last-Event-ID`); housekeeping deletes older ones, and finished webhook deliveries, oldest
-- first and in batches. These indexes let it find them without reading the whole tables.
CREATE INDEX merchant_events_created_at_idx ON merchant_events (created_at);
CREATE INDEX webhook_deliveries_finished_updated_at_idx ON webhook_deliveries (updated_at)
    WHERE state IN ('delivered', 'dead', 'cancelled');
