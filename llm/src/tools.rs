//! The tools the model may call, their typed arguments, and the checks every call passes before
//! it reaches the [`ToolHost`].
//!
//! The model's arguments are untrusted text: a call is parsed into its typed struct (unknown
//! fields rejected) and validated here, so the host only ever sees well-formed requests.

use std::future::Future;

use async_openai::types::chat::{ChatCompletionTool, ChatCompletionTools, FunctionObject};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const ORDER_STATUS: &str = "order_status";
pub const PRODUCT_INFO: &str = "product_info";
pub const HANDOFF_TO_HUMAN: &str = "handoff_to_human";

const ORDER_NUMBER_MAX_CHARS: usize = 64;
const PRODUCT_MAX_CHARS: usize = 200;
const HANDOFF_REASON_MAX_CHARS: usize = 500;

/// A validated tool call, ready for the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "tool", content = "arguments", rename_all = "snake_case")]
pub enum ToolCall {
    OrderStatus(OrderStatusArgs),
    ProductInfo(ProductInfoArgs),
    HandoffToHuman(HandoffArgs),
}

impl ToolCall {
    /// The name the model uses for this tool.
    pub fn name(&self) -> &'static str {
        match self {
            Self::OrderStatus(_) => ORDER_STATUS,
            Self::ProductInfo(_) => PRODUCT_INFO,
            Self::HandoffToHuman(_) => HANDOFF_TO_HUMAN,
        }
    }
}

/// Status of the customer's own orders; the host decides which orders belong to the customer,
/// so a number the model invents can never reveal someone else's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderStatusArgs {
    /// A specific order; `None` asks for the customer's recent orders.
    pub order_number: Option<String>,
}

/// Knowledge about a product the retrieved sources did not cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInfoArgs {
    /// The product's name or SKU as the customer or the sources wrote it.
    pub product: String,
}

/// The model gives the conversation to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoffArgs {
    /// Why, in a sentence the merchant's staff will read.
    pub reason: String,
}

/// Why a tool could not give a result; the model reads `message` as the tool's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ToolFailure {
    pub message: String,
}

impl ToolFailure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// Runs validated tool calls against the merchant's data on behalf of one customer. A run is
/// bounded by `llm.request_timeout_ms`; one that takes longer reaches the model as a failure.
pub trait ToolHost: Send + Sync {
    fn run(&self, call: &ToolCall) -> impl Future<Output = Result<Value, ToolFailure>> + Send;
}

/// Why a call from the model was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    UnknownTool(String),
    InvalidArguments(String),
}

impl Rejection {
    /// The error the model reads as the call's result, so it can correct itself.
    pub(crate) fn message_for_model(&self) -> String {
        match self {
            Self::UnknownTool(name) => format!(
                "there is no tool named `{name}`; the tools are {ORDER_STATUS}, {PRODUCT_INFO} and {HANDOFF_TO_HUMAN}"
            ),
            Self::InvalidArguments(problem) => format!("invalid arguments: {problem}"),
        }
    }
}

/// Parses the model's raw `arguments` for tool `name` and validates them.
pub(crate) fn parse_call(name: &str, arguments: &str) -> Result<ToolCall, Rejection> {
    // Models often send an empty string for a call without arguments.
    let arguments = if arguments.trim().is_empty() { "{}" } else { arguments };
    match name {
        ORDER_STATUS => {
            parse_args::<OrderStatusArgs>(arguments).and_then(validate_order_status).map(ToolCall::OrderStatus)
        }
        PRODUCT_INFO => {
            parse_args::<ProductInfoArgs>(arguments).and_then(validate_product_info).map(ToolCall::ProductInfo)
        }
        HANDOFF_TO_HUMAN => {
            parse_args::<HandoffArgs>(arguments).and_then(validate_handoff).map(ToolCall::HandoffToHuman)
        }
        other => Err(Rejection::UnknownTool(other.to_owned())),
    }
}

fn parse_args<T: for<'de> Deserialize<'de>>(arguments: &str) -> Result<T, Rejection> {
    serde_json::from_str(arguments).map_err(|error| Rejection::InvalidArguments(error.to_string()))
}

fn validate_order_status(args: OrderStatusArgs) -> Result<OrderStatusArgs, Rejection> {
    let Some(order_number) = args.order_number else {
        return Ok(OrderStatusArgs { order_number: None });
    };
    let order_number = order_number.trim();
    if order_number.is_empty() {
        return Ok(OrderStatusArgs { order_number: None });
    }
    check_length("order_number", order_number, ORDER_NUMBER_MAX_CHARS)?;
    if let Some(bad) = order_number.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '#' | '_' | '-'))) {
        return Err(Rejection::InvalidArguments(format!(
            "order_number may contain only letters, digits, '#', '_' and '-', found {bad:?}"
        )));
    }
    Ok(OrderStatusArgs { order_number: Some(order_number.to_owned()) })
}

fn validate_product_info(args: ProductInfoArgs) -> Result<ProductInfoArgs, Rejection> {
    let product = required_text("product", &args.product, PRODUCT_MAX_CHARS)?;
    Ok(ProductInfoArgs { product })
}

fn validate_handoff(args: HandoffArgs) -> Result<HandoffArgs, Rejection> {
    let reason = required_text("reason", &args.reason, HANDOFF_REASON_MAX_CHARS)?;
    Ok(HandoffArgs { reason })
}

/// Trimmed, non-empty, within `max_chars`, and free of control characters other than newlines.
fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String, Rejection> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Rejection::InvalidArguments(format!("{field} must not be empty")));
    }
    check_length(field, value, max_chars)?;
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Rejection::InvalidArguments(format!("{field} must not contain control characters")));
    }
    Ok(value.to_owned())
}

fn check_length(field: &str, value: &str, max_chars: usize) -> Result<(), Rejection> {
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(Rejection::InvalidArguments(format!(
            "{field} has {chars} characters; at most {max_chars} allowed"
        )));
    }
    Ok(())
}

/// The three tools as the chat API declares them. The schemas mirror the validation above, so a
/// model that follows them is never rejected.
pub fn tool_definitions() -> Vec<ChatCompletionTools> {
    vec![
        function(
            ORDER_STATUS,
            "Look up the status, shipping and delivery of the customer's own orders. \
             Omit order_number to get the customer's recent orders.",
            json!({
                "type": "object",
                "properties": {
                    "order_number": {
                        "type": "string",
                        "description": "The order number the customer gave, e.g. #1042.",
                        "maxLength": ORDER_NUMBER_MAX_CHARS,
                        "pattern": "^[A-Za-z0-9#_-]+$"
                    }
                },
                "required": [],
                "additionalProperties": false
            }),
        ),
        function(
            PRODUCT_INFO,
            "Fetch the merchant's knowledge about a product the sources do not cover.",
            json!({
                "type": "object",
                "properties": {
                    "product": {
                        "type": "string",
                        "description": "The product's name or SKU.",
                        "minLength": 1,
                        "maxLength": PRODUCT_MAX_CHARS
                    }
                },
                "required": ["product"],
                "additionalProperties": false
            }),
        ),
        function(
            HANDOFF_TO_HUMAN,
            "Give the conversation to the shop's staff: when the sources and tools do not answer the \
             question, when unsure, or when the customer asks for a person.",
            json!({
                "type": "object",
                "properties": {
                    "reason": {
                        "type": "string",
                        "description": "Why a person should take over, for the staff.",
                        "minLength": 1,
                        "maxLength": HANDOFF_REASON_MAX_CHARS
                    }
                },
                "required": ["reason"],
                "additionalProperties": false
            }),
        ),
    ]
}

fn function(name: &str, description: &str, parameters: Value) -> ChatCompletionTools {
    ChatCompletionTools::Function(ChatCompletionTool {
        function: FunctionObject {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            parameters: Some(parameters),
            strict: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(name: &str, arguments: &str) -> String {
        match parse_call(name, arguments) {
            Err(Rejection::InvalidArguments(problem)) => problem,
            other => panic!("expected invalid arguments for {arguments}, got {other:?}"),
        }
    }

    #[test]
    fn order_status_accepts_a_plain_order_number_and_no_number() {
        assert_eq!(
            parse_call(ORDER_STATUS, r##"{"order_number": " #A-1042_b "}"##),
            Ok(ToolCall::OrderStatus(OrderStatusArgs { order_number: Some("#A-1042_b".into()) }))
        );
        for no_number in ["", "{}", r#"{"order_number": null}"#, r#"{"order_number": "  "}"#] {
            assert_eq!(
                parse_call(ORDER_STATUS, no_number),
                Ok(ToolCall::OrderStatus(OrderStatusArgs { order_number: None })),
                "{no_number}"
            );
        }
    }

    #[test]
    fn order_status_rejects_foreign_characters_long_numbers_and_unknown_fields() {
        assert!(invalid(ORDER_STATUS, r#"{"order_number": "1042; drop"}"#).contains("';'"));
        let too_long = format!(r#"{{"order_number": "{}"}}"#, "9".repeat(ORDER_NUMBER_MAX_CHARS + 1));
        assert!(invalid(ORDER_STATUS, &too_long).contains("at most 64"));
        let at_limit = format!(r#"{{"order_number": "{}"}}"#, "9".repeat(ORDER_NUMBER_MAX_CHARS));
        assert!(parse_call(ORDER_STATUS, &at_limit).is_ok());
        assert!(
            invalid(ORDER_STATUS, r#"{"order_number": "1", "customer": "x"}"#).contains("unknown field `customer`")
        );
    }

    #[test]
    fn product_info_requires_a_bounded_product() {
        assert_eq!(
            parse_call(PRODUCT_INFO, r#"{"product": "Vitamin C Serum"}"#),
            Ok(ToolCall::ProductInfo(ProductInfoArgs { product: "Vitamin C Serum".into() }))
        );
        assert!(invalid(PRODUCT_INFO, "{}").contains("missing field `product`"));
        assert!(invalid(PRODUCT_INFO, r#"{"product": " "}"#).contains("must not be empty"));
        let long = format!(r#"{{"product": "{}"}}"#, "é".repeat(PRODUCT_MAX_CHARS + 1));
        assert!(invalid(PRODUCT_INFO, &long).contains("201 characters"));
        assert!(invalid(PRODUCT_INFO, "{\"product\": \"a\\u0000b\"}").contains("control characters"));
    }

    #[test]
    fn handoff_requires_a_bounded_reason() {
        assert_eq!(
            parse_call(HANDOFF_TO_HUMAN, r#"{"reason": "wants a refund"}"#),
            Ok(ToolCall::HandoffToHuman(HandoffArgs { reason: "wants a refund".into() }))
        );
        let long = format!(r#"{{"reason": "{}"}}"#, "x".repeat(HANDOFF_REASON_MAX_CHARS + 1));
        assert!(invalid(HANDOFF_TO_HUMAN, &long).contains("at most 500"));
    }

    #[test]
    fn broken_json_and_unknown_tools_are_rejected_with_a_reason() {
        assert!(invalid(PRODUCT_INFO, r#"{"product": "#).contains("EOF"));
        assert_eq!(parse_call("delete_orders", "{}"), Err(Rejection::UnknownTool("delete_orders".into())));
        assert!(Rejection::UnknownTool("delete_orders".into()).message_for_model().contains("`delete_orders`"));
    }

    #[test]
    fn definitions_declare_closed_schemas_for_every_tool() {
        let definitions = serde_json::to_value(tool_definitions()).expect("definitions serialise");
        let names: Vec<&str> =
            definitions.as_array().expect("array").iter().filter_map(|t| t["function"]["name"].as_str()).collect();
        assert_eq!(names, [ORDER_STATUS, PRODUCT_INFO, HANDOFF_TO_HUMAN]);
        for tool in definitions.as_array().expect("array") {
            assert_eq!(tool["type"], "function");
            assert_eq!(tool["function"]["parameters"]["additionalProperties"], false);
        }
        assert_eq!(definitions[1]["function"]["parameters"]["required"], json!(["product"]));
        assert_eq!(definitions[0]["function"]["parameters"]["properties"]["order_number"]["maxLength"], 64);
    }
}
