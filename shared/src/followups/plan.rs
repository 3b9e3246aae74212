use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

/// One step of the plan: a message `offset_hours` after delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUpStep {
    /// Stable name of the step (`t3`, `t14`); one task per (order, step).
    pub key: String,
    pub offset_hours: u32,
    pub template: TemplateSpec,
    /// Sent as plain text instead of the template while the 24-hour service window is open.
    #[serde(default)]
    pub window_text: Option<String>,
}

/// An approved WhatsApp template and how its body parameters are filled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateSpec {
    pub name: String,
    /// Template language code, for example `en` or `tr`.
    pub language: String,
    pub category: TemplateCategory,
    /// Body parameters in order, each filled from the order.
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TemplateCategory {
    Utility,
    Marketing,
}

/// Where a template parameter's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateParameter {
    CustomerFirstName,
    OrderNumber,
    ProductTitle,
}

/// Hours in which no proactive message is sent, in the customer's own time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(21, 0, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
        }
    }
}

/// At most `max_messages` proactive messages per customer in any `per_hours` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrequencyCap {
    pub max_messages: u32,
    pub per_hours: u32,
}

impl Default for FrequencyCap {
    fn default() -> Self {
        Self { max_messages: 1, per_hours: 24 }
    }
}

pub fn default_plan() -> Vec<FollowUpStep> {
    let step = |key: &str, days: u32, template: &str, text: &str| FollowUpStep {
        key: key.to_owned(),
        offset_hours: days * 24,
        template: TemplateSpec {
            name: template.to_owned(),
            language: "en".to_owned(),
            category: TemplateCategory::Utility,
            parameters: vec![TemplateParameter::CustomerFirstName, TemplateParameter::ProductTitle],
        },
        window_text: Some(text.to_owned()),
    };
    vec![
        step("t3", 3, "recete_how_to_use", "How is your order going? Reply here with any question about using it."),
        step("t14", 14, "recete_check_in", "Two weeks in: how do you like it? Reply if you need help or a refill."),
    ]
}
