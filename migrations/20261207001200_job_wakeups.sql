-- Relays wake when work arrives instead of polling for it. Each statement that adds due work
-- sends one NOTIFY on `recete_jobs` per event source or task kind it added, payload
-- '<table>:<source or kind>'; a row given back to the relay (a failure to retry later, a job
-- released at shutdown, a replay, a send deferred by a rate limit) sends one too, so the relay
-- learns when it becomes due. PostgreSQL delivers notifications only at commit and folds identical
-- ones of one transaction: a committed batch of any size wakes each relay once, a rolled-back one
-- never. Relays also sweep slowly (`queue.sweep_interval_secs`) for anything a lost notification
-- or a lost job left behind. The trigger's argument names the column that says which queue.
CREATE FUNCTION notify_added_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format(
        'SELECT pg_notify(''recete_jobs'', %L || '':'' || added.name) FROM (SELECT DISTINCT %I AS name FROM added_rows) AS added',
        TG_TABLE_NAME, TG_ARGV[0]);
    RETURN NULL;
END
$$;

CREATE FUNCTION notify_requeued_job() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    name text;
BEGIN
    EXECUTE format('SELECT ($1).%I', TG_ARGV[0]) INTO name USING NEW;
    PERFORM pg_notify('recete_jobs', TG_TABLE_NAME || ':' || name);
    RETURN NULL;
END
$$;

CREATE TRIGGER external_events_notify_added AFTER INSERT ON external_events
    REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_added_jobs('source');
CREATE TRIGGER scheduled_tasks_notify_added AFTER INSERT ON scheduled_tasks
    REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_added_jobs('kind');
CREATE TRIGGER external_events_notify_requeued AFTER UPDATE OF state, enqueued_at, next_attempt_at ON external_events
    FOR EACH ROW WHEN (NEW.enqueued_at IS NULL AND NEW.state IN ('pending', 'failed'))
    EXECUTE FUNCTION notify_requeued_job('source');
CREATE TRIGGER scheduled_tasks_notify_requeued AFTER UPDATE OF state, enqueued_at, due_at ON scheduled_tasks
    FOR EACH ROW WHEN (NEW.enqueued_at IS NULL AND NEW.state IN ('pending', 'failed'))
    EXECUTE FUNCTION notify_requeued_job('kind');
