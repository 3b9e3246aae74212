//! The answering agent: a customer's WhatsApp question becomes a grounded answer from the
//! merchant's own product knowledge, or an honest hand-over to a person.
//!
//! # Layout
//! - [`respond`]: the decision for one message: intent, retrieval, answer, guardrails, hand-over.
//! - [`intent`]: what the customer wants (keyword rules in every language, then nearest
//!   examples).
//! - [`glossary`]: the English words a question in another language asks with, for retrieval.
//! - [`extractive`]: answers quoted from the product text when no language model is configured.
//! - [`guardrails`]: checks on every question and every answer, with the reason for a block.
//! - [`orders`]: the customer's own orders, in words.
//! - [`tools`]: the language model's tools, run against the database.
//! - [`evaluation`]: recall, MRR and refusal figures on a labelled question set.

pub mod evaluation;
pub mod extractive;
pub mod glossary;
pub mod guardrails;
pub mod intent;
pub mod orders;
pub mod respond;
pub mod tools;

pub use respond::{Agent, AnswerMode, Citation, GuardrailRecord, Inquiry, Reply, Understanding};
