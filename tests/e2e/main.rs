//! End-to-end tests against real PostgreSQL and Redis: the HTTP API, and the worker pipeline.

mod api;
mod followups;
mod helpers;
mod knowledge;
mod pipeline;
