//! What several benchmarks share: latency tables and the processes they start.
//!
//! # Layout
//! - [`catalogue`]: real-looking product text and customers' questions about it.
//! - [`hnsw_sweep`]: the HNSW index's settings swept for recall@10 and latency.
//! - [`latency`]: percentiles of millisecond samples, printed as one table row.
//! - [`set_based_orders`]: the order pipeline's rows written by set-based SQL, its baseline.
//! - [`processes`]: stopping a started `recete` process, waiting until one answers.
//! - [`store`]: a fresh database and Redis prefix with a merchant, and the fleet serving it.
#![forbid(unsafe_code)]

pub mod catalogue;
pub mod hnsw_sweep;
pub mod latency;
pub mod processes;
pub mod set_based_orders;
pub mod store;
