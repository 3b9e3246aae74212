//! The operators' queue board, served under `/ops` on an address of its own.
//!
//! - [`jobs`]: finding jobs in PostgreSQL, a job's attempts and payload, and what operators do
//!   to jobs (retry, cancel, requeue, in bulk).
//! - [`operators`]: who may sign in, with which role, and their sessions.
//! - [`web`]: the pages, sign-in, roles and CSRF checks, served by [`Board`].

#![forbid(unsafe_code)]

pub mod jobs;
pub mod operators;
pub mod web;

pub use web::Board;
