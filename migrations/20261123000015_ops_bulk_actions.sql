-- What the queue board needs of the job tables: events an operator cancelled, bulk actions that
-- survive a restart, and indexes that keep every search an index scan at millions of rows.

-- An operator may cancel an event as well as a task; the reason names who did.
ALTER TABLE external_events DROP CONSTRAINT external_events_state_check;
ALTER TABLE external_events ADD CONSTRAINT external_events_state_check
    CHECK (state IN ('pending', 'processing', 'processed', 'failed', 'dead', 'ignored', 'cancelled'));
ALTER TABLE external_events ADD COLUMN cancel_reason text;

-- A retry, cancel or requeue over every job a filter matches, worked through in batches of one
-- transaction each. The position is the last job handled per table (newest first), so a run
-- stopped by a restart continues where it stopped. Fleet-wide rows with no merchant: no
-- row-level security (they hold filters and counts, never payloads).
CREATE TABLE ops_bulk_actions (
    id                  uuid PRIMARY KEY,
    action              text NOT NULL CONSTRAINT ops_bulk_actions_action_check
                            CHECK (action IN ('retry', 'cancel', 'requeue')),
    -- The board's filter, as JobFilter serializes it.
    filter              jsonb NOT NULL,
    -- 'operator:<name>'.
    requested_by        text NOT NULL,
    -- The count the operator confirmed; jobs created after the action started are left alone.
    expected_count      bigint NOT NULL CONSTRAINT ops_bulk_actions_expected_count_check CHECK (expected_count >= 0),
    -- Jobs looked at, and of those the ones changed.
    processed           bigint NOT NULL DEFAULT 0,
    changed             bigint NOT NULL DEFAULT 0,
    state               text NOT NULL DEFAULT 'running' CONSTRAINT ops_bulk_actions_state_check
                            CHECK (state IN ('running', 'done', 'failed', 'cancelled')),
    -- {"external_events": {"created_at": ..., "id": ...} | "finished", "scheduled_tasks": ...}
    position            jsonb NOT NULL DEFAULT '{}'::jsonb,
    error               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz
);
CREATE INDEX ops_bulk_actions_created_at_idx ON ops_bulk_actions (created_at DESC);
CREATE INDEX ops_bulk_actions_running_idx ON ops_bulk_actions (created_at) WHERE state = 'running';
CREATE TRIGGER ops_bulk_actions_touch_updated_at BEFORE UPDATE ON ops_bulk_actions
    FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at();

-- Searches by kind page newest first like the others; an external id or a store's order id is
-- looked up directly.
CREATE INDEX external_events_kind_created_at_idx ON external_events (kind, created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_kind_created_at_idx ON scheduled_tasks (kind, created_at DESC, id DESC);
CREATE INDEX external_events_platform_event_id_idx ON external_events (platform_event_id)
    WHERE platform_event_id IS NOT NULL;
CREATE INDEX scheduled_tasks_unique_key_idx ON scheduled_tasks (unique_key);
CREATE INDEX orders_external_order_id_idx ON orders (external_order_id);
