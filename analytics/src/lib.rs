//! Analytics: what the follow-ups did, and what they brought back. This crate owns
//! `analytics_daily`; the figures are counted over `recete-shared`'s tables.
//!
//! Every report covers a [`DayRange`] of days in the merchant's own time zone and is read in the
//! merchant's tenant transaction, so the API and the web console call the same functions and
//! neither holds SQL.
//!
//! # Layout
//! - [`rollup`]: figures per merchant and day in `analytics_daily`, recomputed by a periodic job.
//! - [`daily`]: those stored figures for a range, every day present.
//! - [`range`]: the range of days a report covers, validated the same way for every report.
//! - [`attribution`]: orders and revenue placed after a delivered follow-up, per currency and day.
//! - [`repeat`]: the share of customers who ordered again, with and without a delivered follow-up.
//! - [`steps`]: sent, delivered, read, replied, opt-outs and hand-overs per follow-up step.
#![forbid(unsafe_code)]

pub mod attribution;
pub mod daily;
pub mod range;
pub mod repeat;
pub mod rollup;
pub mod steps;

pub use range::{DayRange, InvalidRange, MerchantCalendar};
pub use rollup::{JOB, RollupReport, recompute, run_periodic};
