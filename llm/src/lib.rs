//! The answering agent's model loop: an OpenAI-compatible chat model answers a customer's
//! question from numbered product-knowledge sources, may call typed and validated tools, and ends
//! in an answer with citations, a hand-over, a refusal or a failure that says whether to retry.
//!
//! # Layout
//! - [`settings`]: the `[llm]` section of the configuration file, [`LlmSettings`].
//! - [`model`]: [`ChatModel`], built once from the `[llm]` settings.
//! - [`prompt`]: what the model is told: instructions, sources, history, question.
//! - [`tools`]: the tools, their typed arguments, validation and JSON schemas, and [`ToolHost`].
//! - [`outcome`]: how an answer attempt ended, with a record of every tool call.
//! - `chat_loop`: model calls and tool rounds, bounded by `max_rounds`.
//! - `transport`: one model call over HTTP within `request_timeout_ms`.
//! - `citations`: `[n]` markers read from the answer and removed from it.

mod chat_loop;
mod citations;
pub mod error;
pub mod model;
pub mod outcome;
pub mod prompt;
pub mod settings;
pub mod tools;
mod transport;

pub use error::LlmError;
pub use model::ChatModel;
pub use outcome::{AnswerOutcome, ToolRecord, ToolRecordOutcome};
pub use prompt::{AnswerRequest, HistoryTurn};
pub use settings::LlmSettings;
pub use tools::{HandoffArgs, OrderStatusArgs, ProductInfoArgs, ToolCall, ToolFailure, ToolHost, tool_definitions};
pub use transport::ATTEMPTS_PER_MODEL_CALL;
