//! The operators' queue board, served under `/ops` on an address of its own.
//!
//! What the board finds and does to jobs (search, detail, payloads, retry, cancel, requeue, bulk
//! actions, schedules, paused queues) is `recete_jobs::admin` and `recete_jobs::control`: this
//! crate holds the pages and the operators, and no SQL over jobs.
//!
//! - [`operators`]: who may sign in, with which role, and their sessions.
//! - [`web`]: the pages, sign-in, roles and CSRF checks, served by [`Board`].

#![forbid(unsafe_code)]

pub mod operators;
pub mod web;

pub use web::Board;
