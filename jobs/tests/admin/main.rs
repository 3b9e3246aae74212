//! The queue board's data layer (`recete_jobs::admin`) against a real, migrated PostgreSQL:
//! searching, reading and acting on job rows the way the pipeline leaves them.

mod actions;
mod bulk;
mod detail;
mod fleet;
mod schedules;
mod search;
