//! Product knowledge: what a merchant's products say, cut into chunks, embedded and searched.
//!
//! # Layout
//! - [`document`]: a product's knowledge as titled sections (usage, ingredients, warnings, FAQ).
//! - [`embedder`]: the one trait every embedder implements, and its errors.
//! - [`sentences`]: splitting product text into sentences.
//! - [`chunking`]: cutting a document into section-bound chunks with content hashes.
//! - [`store`]: keeping a product's chunks in line with its document, embedding only new text.
//! - [`retrieval`]: merchant-scoped cosine search over `knowledge_chunks`.
//! - [`products`]: products from the merchant API and scrapes, and their documents.
//! - [`catalogue`]: reading products, their sections and their chunks.

pub mod catalogue;
pub mod chunking;
pub mod document;
pub mod embedder;
pub mod products;
pub mod retrieval;
pub mod sentences;
pub mod store;

pub use document::{ProductDocument, Section, SectionKind};
pub use embedder::{DIMENSIONS, EmbedError, Embedder};
pub use retrieval::{RetrievedChunk, StoredSentence};
