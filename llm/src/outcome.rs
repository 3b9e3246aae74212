//! What one answer attempt produced, including every tool call the model made on the way, so the
//! caller can audit and the guardrails can check the answer against what the model saw.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AnswerOutcome {
    /// Text for the customer, citation markers removed; `cited_chunks` are the sources it cited.
    Answer { text: String, cited_chunks: Vec<Uuid>, tools: Vec<ToolRecord> },
    /// The model called `handoff_to_human`.
    Handoff { reason: String, tools: Vec<ToolRecord> },
    /// The model declined to answer (its refusal, or the provider's content filter).
    Refused { reason: String },
    /// No usable answer. `retryable` says whether trying the same question later may succeed
    /// (timeouts, rate limits, server errors) or not (rejected requests, malformed responses,
    /// the round limit).
    Failed { reason: String, retryable: bool, tools: Vec<ToolRecord> },
}

impl AnswerOutcome {
    /// A short label for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Answer { .. } => "answer",
            Self::Handoff { .. } => "handoff",
            Self::Refused { .. } => "refused",
            Self::Failed { .. } => "failed",
        }
    }
}

/// One tool call the model asked for, as it asked, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolRecord {
    pub name: String,
    /// The arguments as the model sent them; a string when they were not valid JSON.
    pub arguments: Value,
    pub outcome: ToolRecordOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum ToolRecordOutcome {
    /// The host ran the call and returned a result.
    Ran,
    /// Not run: the arguments failed parsing or validation.
    InvalidArguments(String),
    /// Not run: no tool has that name.
    UnknownTool,
    /// The host ran the call and it failed, or it did not finish in time.
    Failed(String),
}

impl ToolRecordOutcome {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ran => "ran",
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::UnknownTool => "unknown_tool",
            Self::Failed(_) => "failed",
        }
    }
}
