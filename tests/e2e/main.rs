//! End-to-end tests against real PostgreSQL and Redis: the HTTP API, and the worker pipeline.

mod api;
mod browser;
mod console;
mod demo;
mod deployment;
mod event_stream;
mod followups;
mod helpers;
mod imports;
mod knowledge;
mod layout;
mod merchant_api;
mod merchant_api_reads;
mod metrics;
mod monitoring;
mod ops;
mod pipeline;
mod privacy;
mod production;
mod queries;
mod rate_limits;
mod replies;
mod webhooks;
