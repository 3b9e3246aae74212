//! Jobs as operators see them: rows of `external_events` and `scheduled_tasks`, found, shown
//! and acted on through PostgreSQL (never through Redis, which only carries "work on row N").
