//! Messages and WhatsApp: the `messages` rows the workers store, send and move by Meta's
//! statuses, and the Graph API client that sends them. It stands on `recete-platform`
//! (transactions, typed ids, the `[whatsapp]` settings) and sits above the domain
//! (`recete-shared`), which never depends on it; the job handlers that decide what to send and
//! read Meta's webhooks are in `recete-workers`.
//!
//! # Layout
//! - [`messages`]: the `messages` rows: an inbound message stored once, an outbound one recorded
//!   before it is sent and moved by each send and each status Meta reports, and what the agent
//!   reads of a conversation. Bodies are sealed by `recete_shared::message_bodies`.
//! - [`whatsapp`]: the Cloud API client, the local outbox that stands in for it without
//!   credentials, which failures to retry and which end a message, and throughput limits per
//!   phone number and per customer, shared by the fleet in Redis.
//!
//! # Tables
//! - `messages`: its row types and the SQL of sending and of Meta's statuses. The domain below
//!   still touches the table where its own rows are written with it: a person's reply is queued
//!   with its task (`recete_shared::conversations::replies`), an erasure clears bodies, and
//!   threads, the inbox, analytics and exports read it.
#![forbid(unsafe_code)]

pub mod messages;
pub mod whatsapp;
