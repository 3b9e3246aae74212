//! Real PostgreSQL and Redis for tests and benchmarks, isolated per test.
//!
//! Each test gets its own database, cloned from a template that is migrated once per set of
//! migrations (its name carries their checksum, so a changed migration makes a new template),
//! and its own Redis key prefix. Both are removed when the guard drops, so parallel tests never
//! see each other and leave nothing behind.
//!
//! Tests that stop a server start their own instead ([`PrivatePostgres`], [`PrivateRedis`]), and
//! processes they start are killed with their guard ([`process::ChildProcess`]).
//!
//! Environment: `RECETE_TEST_ADMIN_URL` (a superuser connection, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `RECETE_TEST_APP_ROLE` (default `recete`, the
//! application role without superuser or BYPASSRLS, owning nothing), `RECETE_TEST_OWNER_ROLE`
//! (default `recete_owner`, the role that owns the schema and runs migrations),
//! `RECETE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`).
#![forbid(unsafe_code)]

mod database;
pub mod orders;
mod pgbouncer;
mod private_postgres;
mod private_redis;
pub mod process;
mod redis_prefix;
pub mod signing;
mod tls;
pub mod whatsapp;

pub use database::TestDatabase;
pub use pgbouncer::TestPgBouncer;
pub use private_postgres::PrivatePostgres;
pub use private_redis::PrivateRedis;
pub use redis_prefix::TestRedis;
pub use tls::TestCertificates;
