//! End-to-end tests of the HTTP API against real PostgreSQL and Redis.

mod cli;
mod generic;
mod helpers;
mod observability;
mod security;
mod shopify;
mod whatsapp;
mod woocommerce;
