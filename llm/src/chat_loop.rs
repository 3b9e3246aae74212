//! The model loop: call the model, run the tools it asks for, give it their results, and stop at
//! an answer, a hand-over, a refusal, a failure, or `max_rounds` model calls.
//!
//! The customer's words and the model's answers are personal data: logs here carry only round
//! numbers, provider ids, tool names and outcome kinds.

use async_openai::types::chat::{
    ChatChoice, ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionToolChoiceOption, CreateChatCompletionRequest, FinishReason,
    ToolChoiceOptions,
};
use recete_knowledge::RetrievedChunk;
use serde_json::{Value, json};

use crate::citations;
use crate::model::ChatModel;
use crate::outcome::{AnswerOutcome, ToolRecord, ToolRecordOutcome};
use crate::prompt::{self, AnswerRequest};
use crate::tools::{self, Rejection, ToolCall, ToolHost, tool_definitions};

impl ChatModel {
    /// Answers `request.question` from `request.context`, running the model's tool calls through
    /// `tools`. Never fails outright: every way of not answering is an [`AnswerOutcome`] variant,
    /// so the caller can decide between a retry, a hand-over and a fallback answer.
    pub async fn answer<H: ToolHost>(&self, request: &AnswerRequest<'_>, tools: &H) -> AnswerOutcome {
        run(self, request, tools).await
    }
}

async fn run<H: ToolHost>(model: &ChatModel, request: &AnswerRequest<'_>, host: &H) -> AnswerOutcome {
    let mut chat = CreateChatCompletionRequest {
        model: model.model.clone(),
        messages: prompt::messages(request),
        tools: Some(tool_definitions()),
        temperature: Some(model.temperature),
        ..Default::default()
    };
    let mut records = Vec::new();
    for round in 1..=model.max_rounds {
        // After tool rounds, the last call asks for text so the results gathered are used; a model
        // that calls tools anyway still ends in the round-limit failure below.
        if round > 1 && round == model.max_rounds {
            chat.tool_choice = Some(ChatCompletionToolChoiceOption::Mode(ToolChoiceOptions::None));
        }
        let response = match model.transport.complete(&chat).await {
            Ok(response) => response,
            Err(failure) => {
                tracing::warn!(round, retryable = failure.retryable, reason = %failure.reason, "model call failed");
                return AnswerOutcome::Failed { reason: failure.reason, retryable: failure.retryable, tools: records };
            }
        };
        let Some(choice) = response.choices.into_iter().next() else {
            return failed(format!("the model's response {} has no choices", response.id), records);
        };
        tracing::debug!(round, response_id = %response.id, finish_reason = ?choice.finish_reason, "model responded");
        let tool_calls = match read_choice(choice, request.context, &mut records) {
            Step::Done(outcome) => {
                log_outcome(&outcome, round);
                return outcome;
            }
            Step::CallTools { assistant_text, calls } => {
                chat.messages.push(assistant_with_calls(assistant_text, calls.clone()));
                calls
            }
        };
        for call in &tool_calls {
            let (record, result, handoff) = run_tool(call, host, model).await;
            tracing::info!(round, tool = %record.name, outcome = record.outcome.kind(), "tool call");
            records.push(record);
            chat.messages.push(tool_result(call, result));
            if let Some(reason) = handoff {
                let outcome = AnswerOutcome::Handoff { reason, tools: records };
                log_outcome(&outcome, round);
                return outcome;
            }
        }
    }
    let outcome = failed(
        format!("the model was still calling tools after {} model calls (llm.max_rounds)", model.max_rounds),
        records,
    );
    log_outcome(&outcome, model.max_rounds);
    outcome
}

enum Step {
    Done(AnswerOutcome),
    CallTools { assistant_text: Option<String>, calls: Vec<ChatCompletionMessageToolCalls> },
}

/// A refusal, a tool round, or the final text; a finished outcome takes the tool records along.
fn read_choice(choice: ChatChoice, context: &[RetrievedChunk], records: &mut Vec<ToolRecord>) -> Step {
    let message = choice.message;
    if let Some(refusal) = message.refusal.filter(|refusal| !refusal.trim().is_empty()) {
        return Step::Done(AnswerOutcome::Refused { reason: refusal.trim().to_owned() });
    }
    if choice.finish_reason == Some(FinishReason::ContentFilter) {
        return Step::Done(AnswerOutcome::Refused {
            reason: "the model provider's content filter withheld the answer".to_owned(),
        });
    }
    let calls = message.tool_calls.unwrap_or_default();
    if !calls.is_empty() {
        return Step::CallTools { assistant_text: message.content, calls };
    }
    let records = std::mem::take(records);
    if choice.finish_reason == Some(FinishReason::Length) {
        return Step::Done(failed("the answer was cut off at the model's length limit".to_owned(), records));
    }
    Step::Done(final_answer(message.content.as_deref().unwrap_or_default(), context, records))
}

fn final_answer(content: &str, context: &[RetrievedChunk], records: Vec<ToolRecord>) -> AnswerOutcome {
    let found = citations::extract(content, context.len());
    if found.out_of_range > 0 {
        tracing::debug!(markers = found.out_of_range, sources = context.len(), "answer cited sources it was not given");
    }
    if found.text.is_empty() {
        return failed("the model returned an empty answer".to_owned(), records);
    }
    let cited_chunks = found.cited.iter().filter_map(|number| context.get(number - 1)).map(|chunk| chunk.id).collect();
    AnswerOutcome::Answer { text: found.text, cited_chunks, tools: records }
}

/// The parts of a call the loop needs, whatever its kind.
struct CallParts<'a> {
    id: &'a str,
    name: &'a str,
    arguments: &'a str,
    /// Only function tools are declared; any other kind names a tool that does not exist.
    is_function: bool,
}

fn parts(call: &ChatCompletionMessageToolCalls) -> CallParts<'_> {
    match call {
        ChatCompletionMessageToolCalls::Function(call) => CallParts {
            id: &call.id,
            name: &call.function.name,
            arguments: &call.function.arguments,
            is_function: true,
        },
        ChatCompletionMessageToolCalls::Custom(call) => CallParts {
            id: &call.id,
            name: &call.custom_tool.name,
            arguments: &call.custom_tool.input,
            is_function: false,
        },
    }
}

/// Validates and runs one call. Returns its record, the result the model reads, and the reason
/// when the call was a hand-over.
async fn run_tool<H: ToolHost>(
    call: &ChatCompletionMessageToolCalls,
    host: &H,
    model: &ChatModel,
) -> (ToolRecord, Value, Option<String>) {
    let call = parts(call);
    let mut record = ToolRecord {
        name: call.name.to_owned(),
        arguments: recorded_arguments(call.arguments),
        outcome: ToolRecordOutcome::Ran,
    };
    let parsed = if call.is_function {
        tools::parse_call(call.name, call.arguments)
    } else {
        Err(Rejection::UnknownTool(call.name.to_owned()))
    };
    let typed = match parsed {
        Ok(typed) => typed,
        Err(rejection) => {
            record.outcome = match &rejection {
                Rejection::UnknownTool(_) => ToolRecordOutcome::UnknownTool,
                Rejection::InvalidArguments(problem) => ToolRecordOutcome::InvalidArguments(problem.clone()),
            };
            return (record, json!({ "error": rejection.message_for_model() }), None);
        }
    };
    let budget = model.transport.budget();
    let result = match tokio::time::timeout(budget, host.run(&typed)).await {
        Ok(Ok(value)) => value,
        Ok(Err(failure)) => {
            record.outcome = ToolRecordOutcome::Failed(failure.message.clone());
            json!({ "error": failure.message })
        }
        Err(_elapsed) => {
            let message = format!("the tool did not finish within {} ms", budget.as_millis());
            record.outcome = ToolRecordOutcome::Failed(message.clone());
            json!({ "error": message })
        }
    };
    let handoff = match typed {
        ToolCall::HandoffToHuman(args) => Some(args.reason),
        ToolCall::OrderStatus(_) | ToolCall::ProductInfo(_) => None,
    };
    (record, result, handoff)
}

/// The arguments as JSON when they parse, otherwise the raw text, so the record shows what the
/// model actually sent.
fn recorded_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

fn assistant_with_calls(
    text: Option<String>,
    calls: Vec<ChatCompletionMessageToolCalls>,
) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
        content: text.filter(|text| !text.trim().is_empty()).map(ChatCompletionRequestAssistantMessageContent::Text),
        tool_calls: Some(calls),
        ..Default::default()
    })
}

fn tool_result(call: &ChatCompletionMessageToolCalls, result: Value) -> ChatCompletionRequestMessage {
    ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
        content: ChatCompletionRequestToolMessageContent::Text(result.to_string()),
        tool_call_id: parts(call).id.to_owned(),
    })
}

fn failed(reason: String, tools: Vec<ToolRecord>) -> AnswerOutcome {
    AnswerOutcome::Failed { reason, retryable: false, tools }
}

fn log_outcome(outcome: &AnswerOutcome, rounds: usize) {
    match outcome {
        AnswerOutcome::Answer { cited_chunks, tools, .. } => {
            tracing::info!(rounds, outcome = outcome.kind(), cited = ?cited_chunks, tool_calls = tools.len(), "answer ready");
        }
        AnswerOutcome::Handoff { tools, .. } => {
            tracing::info!(rounds, outcome = outcome.kind(), tool_calls = tools.len(), "model handed over");
        }
        AnswerOutcome::Refused { .. } => tracing::info!(rounds, outcome = outcome.kind(), "model refused"),
        AnswerOutcome::Failed { retryable, tools, .. } => {
            tracing::warn!(rounds, outcome = outcome.kind(), retryable, tool_calls = tools.len(), "no answer");
        }
    }
}
