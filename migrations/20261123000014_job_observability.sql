-- What operators and metrics need to see of the queues: every attempt of every job, queues an
-- operator paused, and the worker processes alive now. Fleet-wide rows with no merchant: no
-- row-level security (they hold ids, states and trimmed errors, never payloads).

-- One row per finished attempt of an `external_events` or `scheduled_tasks` row. An attempt that
-- found its row already finished or claimed elsewhere did nothing and is not recorded.
CREATE TABLE job_attempts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id          uuid NOT NULL,
    job_table       text NOT NULL CONSTRAINT job_attempts_job_table_check
                        CHECK (job_table IN ('external_events', 'scheduled_tasks')),
    queue           text NOT NULL,
    -- 1 for the first try; a replayed dead letter starts counting again.
    attempt         integer NOT NULL,
    -- The worker that ran it: `<pool>@<process id>`, the process id being its
    -- `worker_processes.id` (`<hostname>-<pid>-<random>`).
    worker          text NOT NULL,
    -- When the job was due to run (a delayed task's due time, an event's next attempt time).
    -- The job waited from the later of this and its hand-over to Redis until `started_at`.
    due_at          timestamptz NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    outcome         text NOT NULL CONSTRAINT job_attempts_outcome_check
                        CHECK (outcome IN ('succeeded', 'failed', 'dead', 'timed_out', 'released')),
    error           text
);
CREATE INDEX job_attempts_job_id_idx ON job_attempts (job_id, id);
-- Throughput and failure share over the last minutes, and pruning.
CREATE INDEX job_attempts_finished_at_idx ON job_attempts (finished_at);

-- A paused queue's rows stay in PostgreSQL: the relay hands none of them to Redis until resumed.
CREATE TABLE queue_pauses (
    queue           text PRIMARY KEY,
    paused_by       text NOT NULL,
    reason          text,
    paused_at       timestamptz NOT NULL DEFAULT now()
);

-- Each running worker process, refreshed every `metrics.heartbeat_interval_secs`; a row not
-- refreshed for three intervals is a process that is gone.
CREATE TABLE worker_processes (
    id              text PRIMARY KEY,
    hostname        text NOT NULL,
    pid             integer NOT NULL,
    version         text NOT NULL,
    -- Per pool: {"order-events": {"slots": 8, "busy": 3}, ...}
    pools           jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    -- Set when the process began shutting down: it takes no new work.
    draining_since  timestamptz
);
CREATE INDEX worker_processes_last_seen_at_idx ON worker_processes (last_seen_at);

-- The board's job search pages newest first within each table and filters by state, kind,
-- merchant and order; these keep each page an index scan at millions of rows.
CREATE INDEX external_events_created_at_id_idx ON external_events (created_at DESC, id DESC);
CREATE INDEX external_events_state_created_at_idx ON external_events (state, created_at DESC, id DESC);
CREATE INDEX external_events_merchant_created_at_idx ON external_events (merchant_id, created_at DESC, id DESC);
CREATE INDEX external_events_subject_id_idx ON external_events (subject_id) WHERE subject_id IS NOT NULL;
CREATE INDEX scheduled_tasks_created_at_id_idx ON scheduled_tasks (created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_state_created_at_idx ON scheduled_tasks (state, created_at DESC, id DESC);
CREATE INDEX scheduled_tasks_merchant_created_at_idx ON scheduled_tasks (merchant_id, created_at DESC, id DESC);
-- Depth by state reads only the rows that are not final, and the dead letters: counting them
-- by queue, state and due time is an index-only scan however many finished rows exist.
CREATE INDEX scheduled_tasks_dead_idx ON scheduled_tasks (updated_at DESC) WHERE state = 'dead';
CREATE INDEX scheduled_tasks_active_idx ON scheduled_tasks (kind, state, due_at)
    WHERE state IN ('pending', 'running', 'failed', 'dead');
CREATE INDEX external_events_active_idx ON external_events (source, state, next_attempt_at)
    WHERE state IN ('pending', 'processing', 'failed', 'dead');
