-- Job rows are updated as they move: handed over to the queue (`enqueued_at`, `enqueue_count`),
-- then finished, failed or released. An update that changes no indexed column and finds room on
-- its page is heap-only (HOT): no index entry is written and none left for vacuum. Every update
-- sets `updated_at` (the touch trigger), and the dead-letter indexes were on `updated_at`, so
-- every update of these tables, the hand-over included, wrote to all of their indexes.
--
-- The dead-letter indexes now hold the row's id: they still cover only dead rows, and the
-- dead-letter lists, sorted by `updated_at` (when the row died), sort those rows alone.
--
-- A HOT update also needs room on the row's own page. The relay hands over a batch of rows that
-- were stored together, so every row of a page gets a new version in one transaction: only a
-- page kept half free holds them all (measured with pipeline-bench: the share of heap-only
-- updates was 0.21 at fillfactor 80, 0.27 at 60, 0.50 at 50, i.e. every hand-over). The old
-- versions are pruned within the page, so the table does not grow by a version per update as it
-- did; the price is pages about half full once their rows are finished. The second update (the
-- row's state) stays an index update: the due-row indexes are on the state.
DROP INDEX external_events_dead_idx;
CREATE INDEX external_events_dead_idx ON external_events (id) WHERE state = 'dead';
DROP INDEX scheduled_tasks_dead_idx;
CREATE INDEX scheduled_tasks_dead_idx ON scheduled_tasks (id) WHERE state = 'dead';
ALTER TABLE external_events SET (fillfactor = 50);
ALTER TABLE scheduled_tasks SET (fillfactor = 50);
