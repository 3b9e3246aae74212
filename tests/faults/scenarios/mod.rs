//! One module per fault.

pub mod backlog;
pub mod duplicate_deliveries;
pub mod postgres_stopped;
pub mod redis_flushed;
pub mod redis_stopped;
pub mod sigterm;
pub mod worker_killed;
