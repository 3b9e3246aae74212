//! Checks on every question and every answer, whether the answer was quoted from the product
//! text or written by a language model.
//!
//! The merchant's product text is the only authority: an answer must rest on it sentence by
//! sentence, and may not diagnose, dose, promise prices or link beyond it, nor reveal anyone's
//! contact data. A blocked answer becomes a hand-over; its [`Rule`] and detail are shown to the
//! merchant, so a detail always quotes the sentence or token at fault.
//!
//! # Layout
//! - [`question`]: flags on the customer's question.
//! - [`answer`]: the verdict on an answer, rule by rule.
//! - `support`: the word-level comparison of an answer with the product text.

pub mod answer;
pub mod question;
mod support;

use regex::Regex;
use serde::{Deserialize, Serialize};

pub use answer::{AnswerCheck, check_answer};
pub use question::check_question;

/// Something in a question that changes how it may be answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum InputFlag {
    /// The question tries to change the agent's instructions; `pattern` is the text that gave it away.
    PromptInjection {
        pattern: String,
    },
    /// The question asks what a symptom or a skin or health condition is.
    MedicalDiagnosis,
    /// The question is about doses, medication, pregnancy, breastfeeding or babies.
    DosageOrMedication,
    DiscountRequest,
    /// The question asks about someone else's order or contact details.
    OtherCustomerData,
}

impl InputFlag {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PromptInjection { .. } => "prompt_injection",
            Self::MedicalDiagnosis => "medical_diagnosis",
            Self::DosageOrMedication => "dosage_or_medication",
            Self::DiscountRequest => "discount_request",
            Self::OtherCustomerData => "other_customer_data",
        }
    }

    pub fn is_medical(&self) -> bool {
        matches!(self, Self::MedicalDiagnosis | Self::DosageOrMedication)
    }
}

/// Why an answer was blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A sentence the product text does not say.
    Unsupported,
    /// A diagnosis, a dose, or anything but label text for a medical question.
    MedicalAdvice,
    /// A price, discount, refund or guarantee the product text does not state.
    PricePromise,
    /// A link, domain or email address the product text does not contain.
    UnknownLink,
    /// Contact data or an address that is not the customer's own, or a question about another person.
    OtherCustomer,
    /// The question tried to change the agent's instructions, or the answer talks about them.
    PromptInjection,
}

impl Rule {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unsupported => "unsupported",
            Self::MedicalAdvice => "medical_advice",
            Self::PricePromise => "price_promise",
            Self::UnknownLink => "unknown_link",
            Self::OtherCustomer => "other_customer",
            Self::PromptInjection => "prompt_injection",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// `detail` names the offending sentence or token, short enough to show in a list.
    Block {
        rule: Rule,
        detail: String,
    },
}

impl Verdict {
    pub fn is_pass(&self) -> bool {
        matches!(self, Self::Pass)
    }
}

/// Longest quotation of the customer's or the answer's text in a detail.
const QUOTE_CHARS: usize = 100;

/// `text` in quotes, cut to [`QUOTE_CHARS`] so a detail stays readable (about 120 characters).
fn quote(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= QUOTE_CHARS {
        format!("\"{text}\"")
    } else {
        let cut: String = text.chars().take(QUOTE_CHARS - 1).collect();
        format!("\"{}…\"", cut.trim_end())
    }
}

/// One case-insensitive pattern matching any of `alternatives`, tried in order.
fn any_of(alternatives: &[&str]) -> Regex {
    Regex::new(&format!("(?i)(?:{})", alternatives.join(")|(?:"))).expect("built-in guardrail patterns are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_cut_to_a_readable_length() {
        assert_eq!(quote("Apply  four\ndrops."), "\"Apply four drops.\"");
        let long = quote(&"word ".repeat(60));
        assert!(long.chars().count() <= QUOTE_CHARS + 2);
        assert!(long.ends_with("…\""));
    }

    #[test]
    fn rules_and_verdicts_serialise_in_snake_case() {
        let verdict = Verdict::Block { rule: Rule::PricePromise, detail: "\"20% off\"".into() };
        let json = serde_json::to_value(&verdict).expect("a verdict serialises");
        assert_eq!(json["verdict"], "block");
        assert_eq!(json["rule"], Rule::PricePromise.as_str());
        let flag = InputFlag::PromptInjection { pattern: "system prompt".into() };
        assert_eq!(serde_json::to_value(&flag).expect("a flag serialises")["flag"], flag.as_str());
    }
}
