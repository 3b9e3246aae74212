-- Figures per merchant and day, the bookkeeping of periodic jobs that run once across the
-- fleet, the record of API keys that expired, and the indexes the daily rollup reads through.

-- One row per merchant and day (the merchant's own time zone), recomputed from the source tables
-- by the rollup: every figure is a count over rows that still exist, so recomputing a day twice
-- gives the same row. A day with no row had nothing to count.
CREATE TABLE analytics_daily (
    merchant_id         uuid NOT NULL CONSTRAINT analytics_daily_merchant_id_fkey REFERENCES merchants (id) ON DELETE CASCADE,
    day                 date NOT NULL,
    -- Outbound messages (follow-ups and replies) whose send was confirmed that day; delivered
    -- and read count those of them that reached the phone or were opened since.
    messages_sent       bigint NOT NULL DEFAULT 0,
    messages_delivered  bigint NOT NULL DEFAULT 0,
    messages_read       bigint NOT NULL DEFAULT 0,
    -- Outbound messages that failed for good that day.
    messages_failed     bigint NOT NULL DEFAULT 0,
    -- Follow-ups sent that day, and those of them the customer answered within 24 hours.
    follow_ups_sent     bigint NOT NULL DEFAULT 0,
    replied             bigint NOT NULL DEFAULT 0,
    -- Messages customers wrote that day.
    inbound_messages    bigint NOT NULL DEFAULT 0,
    -- WhatsApp consent revoked that day, by a STOP or by the store.
    opt_outs            bigint NOT NULL DEFAULT 0,
    -- Conversations handed to a person that day.
    hand_overs          bigint NOT NULL DEFAULT 0,
    orders_delivered    bigint NOT NULL DEFAULT 0,
    follow_ups_planned  bigint NOT NULL DEFAULT 0,
    -- When these figures were last found different from the stored ones.
    computed_at         timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_daily_pkey PRIMARY KEY (merchant_id, day)
);

ALTER TABLE analytics_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE analytics_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY analytics_daily_tenant_isolation ON analytics_daily
    USING (recete_row_visible(merchant_id)) WITH CHECK (recete_row_visible(merchant_id));
CREATE TRIGGER analytics_daily_touch_updated_at BEFORE UPDATE ON analytics_daily
    FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at();

-- Runs of the fleet's periodic jobs. The primary key is the claim: the first replica to insert
-- (job, period) runs it; the others find the row and skip. A run whose lease lapsed (its process
-- died) or that failed may be claimed again, a bounded number of times. Fleet-wide rows with no
-- merchant: no row-level security.
CREATE TABLE periodic_runs (
    job                 text NOT NULL,
    -- The period the run covers: the UTC date of a daily job, the start of a tick.
    period_key          text NOT NULL,
    state               text NOT NULL CONSTRAINT periodic_runs_state_check
                            CHECK (state IN ('running', 'succeeded', 'failed')),
    attempts            integer NOT NULL DEFAULT 1 CONSTRAINT periodic_runs_attempts_check CHECK (attempts >= 1),
    started_at          timestamptz NOT NULL,
    -- A running row past this is taken as abandoned.
    lease_expires_at    timestamptz NOT NULL,
    finished_at         timestamptz,
    succeeded_at        timestamptz,
    -- A failed run is not claimed again before this.
    retry_at            timestamptz,
    -- What the run did (counts), for operators.
    outcome             jsonb,
    error               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT periodic_runs_pkey PRIMARY KEY (job, period_key)
);
CREATE INDEX periodic_runs_job_succeeded_at_idx ON periodic_runs (job, succeeded_at DESC) WHERE state = 'succeeded';
CREATE TRIGGER periodic_runs_touch_updated_at BEFORE UPDATE ON periodic_runs
    FOR EACH ROW EXECUTE FUNCTION recete_touch_updated_at();

-- Authentication refuses a key past expires_at by itself; expired_at records that the daily
-- expiry job saw it lapse (and audited it). revoked_at stays for explicit revocation.
ALTER TABLE api_keys ADD COLUMN expired_at timestamptz;
CREATE INDEX api_keys_expires_at_idx ON api_keys (expires_at)
    WHERE expires_at IS NOT NULL AND expired_at IS NULL AND revoked_at IS NULL;

-- The rollup finds rows written since its last run (messages and orders change after they are
-- written: a status arrives, an old order is delivered; follow-ups and audit rows are only
-- inserted), then counts each day through the merchant's own range indexes.
CREATE INDEX messages_updated_at_idx ON messages (updated_at);
CREATE INDEX messages_merchant_id_sent_at_idx ON messages (merchant_id, sent_at)
    WHERE direction = 'outbound' AND sent_at IS NOT NULL;
CREATE INDEX messages_merchant_id_failed_at_idx ON messages (merchant_id, status_at)
    WHERE direction = 'outbound' AND status = 'failed';
CREATE INDEX messages_merchant_id_received_at_idx ON messages (merchant_id, status_at)
    WHERE direction = 'inbound';
CREATE INDEX orders_updated_at_idx ON orders (updated_at);
CREATE INDEX orders_merchant_id_delivered_at_idx ON orders (merchant_id, delivered_at)
    WHERE delivered_at IS NOT NULL;
CREATE INDEX scheduled_tasks_follow_up_created_at_idx ON scheduled_tasks (created_at)
    WHERE kind = 'follow_up';
CREATE INDEX scheduled_tasks_merchant_id_follow_up_created_at_idx ON scheduled_tasks (merchant_id, created_at)
    WHERE kind = 'follow_up';
CREATE INDEX audit_log_analytics_created_at_idx ON audit_log (created_at)
    WHERE action IN ('customer.consent_changed', 'conversation.handed_over');

-- The merchant API's lists, newest first, page by page.
CREATE INDEX customers_merchant_id_created_at_idx ON customers (merchant_id, created_at DESC, id DESC);
CREATE INDEX orders_merchant_id_placed_idx ON orders (merchant_id, (coalesce(placed_at, created_at)) DESC, id DESC);
