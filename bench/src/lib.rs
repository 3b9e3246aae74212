//! What several benchmarks share: latency tables and the processes they start.
//!
//! # Layout
//! - [`latency`]: percentiles of millisecond samples, printed as one table row.
//! - [`processes`]: stopping a started `recete` process, waiting until one answers.
//! - [`store`]: a fresh database and Redis prefix with a merchant, and the fleet serving it.
#![forbid(unsafe_code)]

pub mod latency;
pub mod processes;
pub mod store;
