//! The operators' queue board, served under `/ops` on an address of its own.
//!
//! - [`jobs`]: finding jobs in PostgreSQL, a job's attempts and payload, and what operators do
//!   to jobs (retry, cancel, requeue, in bulk).

#![forbid(unsafe_code)]

pub mod jobs;
