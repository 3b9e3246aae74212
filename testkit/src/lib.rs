//! Real PostgreSQL and Redis for tests and benchmarks, isolated per test.
//!
//! Each test gets its own database, cloned from a template that is migrated once per set of
//! migrations (its name carries their checksum, so a changed migration makes a new template),
//! and its own Redis key prefix. Both are removed when the guard drops, so parallel tests never
//! see each other and leave nothing behind.
//!
//! Environment: `RECETE_TEST_ADMIN_URL` (a superuser connection, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `RECETE_TEST_APP_ROLE` (default `recete`, the
//! application role without superuser or BYPASSRLS), `RECETE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`).
#![forbid(unsafe_code)]

mod database;
pub mod orders;
mod redis_prefix;
pub mod signing;

pub use database::TestDatabase;
pub use redis_prefix::TestRedis;
