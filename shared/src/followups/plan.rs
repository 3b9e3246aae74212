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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TemplateCategory {
    Utility,
    Marketing,
}

/// Where a template parameter's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// How a time of day is written in settings: `HH:MM`, exactly.
pub const TIME_OF_DAY_FORMAT: &str = "%H:%M";
/// What is wrong with a time of day that [`time_of_day`] refuses.
pub const TIME_OF_DAY_RULE: &str = "must be a time of day as HH:MM, for example 21:00";

/// A time of day written as `HH:MM` (`21:00`, `08:30`); `None` for any other shape.
pub fn time_of_day(text: &str) -> Option<NaiveTime> {
    (text.len() == 5).then(|| NaiveTime::parse_from_str(text, TIME_OF_DAY_FORMAT).ok()).flatten()
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

/// At most this many follow-up steps per order.
pub const MAX_STEPS: usize = 10;
/// The latest a step may go out: a year after delivery.
pub const MAX_OFFSET_HOURS: u32 = 24 * 365;
/// WhatsApp's limit for one text message.
pub const MAX_WINDOW_TEXT: usize = 4096;

/// A plan that cannot be run, with the path of the field at fault (`[1].offset_hours`,
/// relative to the plan).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct InvalidStep {
    pub field: String,
    pub detail: String,
}

/// Checks a plan the way Meta and the planner will read it: step keys are unique (they name
/// one task per order), offsets lie between one hour and a year, template names and language
/// codes have Meta's shapes, window texts fit in one message.
pub fn validate_plan(steps: &[FollowUpStep]) -> Result<(), InvalidStep> {
    let invalid = |field: String, detail: &str| Err(InvalidStep { field, detail: detail.to_owned() });
    if steps.len() > MAX_STEPS {
        return invalid(String::new(), &format!("at most {MAX_STEPS} steps"));
    }
    for (index, step) in steps.iter().enumerate() {
        let field = |name: &str| format!("[{index}].{name}");
        let key_ok = (1..=40).contains(&step.key.len())
            && step.key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !key_ok {
            return invalid(field("key"), "must be 1 to 40 lowercase letters, digits, `_` or `-`");
        }
        if steps[..index].iter().any(|earlier| earlier.key == step.key) {
            return invalid(field("key"), "is used by an earlier step; each step needs its own key");
        }
        if !(1..=MAX_OFFSET_HOURS).contains(&step.offset_hours) {
            return invalid(field("offset_hours"), &format!("must be between 1 and {MAX_OFFSET_HOURS} hours"));
        }
        let name = &step.template.name;
        if !(1..=512).contains(&name.len())
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return invalid(
                field("template.name"),
                "must be a WhatsApp template name: lowercase letters, digits and `_`",
            );
        }
        if !is_language_code(&step.template.language) {
            return invalid(
                field("template.language"),
                "must be a WhatsApp language code such as `en`, `tr` or `pt_BR`",
            );
        }
        if step.template.parameters.len() > 10 {
            return invalid(field("template.parameters"), "at most 10 parameters");
        }
        if let Some(text) = &step.window_text
            && (text.trim().is_empty() || text.chars().count() > MAX_WINDOW_TEXT || text.contains('\0'))
        {
            return invalid(
                field("window_text"),
                &format!("must be 1 to {MAX_WINDOW_TEXT} characters of text, or null"),
            );
        }
    }
    Ok(())
}

/// `en`, `fil`, `en_US`, `zh_CN`: the shapes of Meta's template language codes.
fn is_language_code(code: &str) -> bool {
    let (language, region) = code.split_once('_').map_or((code, None), |(l, r)| (l, Some(r)));
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_hours_and_minutes_only() {
        assert_eq!(time_of_day("21:00"), NaiveTime::from_hms_opt(21, 0, 0));
        assert_eq!(time_of_day("08:30"), NaiveTime::from_hms_opt(8, 30, 0));
        for wrong in ["8:30", "24:00", "21:00:00", "21h00", ""] {
            assert!(time_of_day(wrong).is_none(), "{wrong}");
        }
    }

    #[test]
    fn the_default_plan_is_valid() {
        assert_eq!(validate_plan(&default_plan()), Ok(()));
    }

    #[test]
    fn invalid_steps_are_named_by_their_path() {
        type Spoil = fn(&mut Vec<FollowUpStep>);
        let cases: [(Spoil, &str); 6] = [
            (|plan| plan[1].offset_hours = 0, "[1].offset_hours"),
            (|plan| plan[1].key = plan[0].key.clone(), "[1].key"),
            (|plan| plan[0].key = "T 3".into(), "[0].key"),
            (|plan| plan[0].template.name = "How To Use".into(), "[0].template.name"),
            (|plan| plan[1].template.language = "english".into(), "[1].template.language"),
            (|plan| plan[0].window_text = Some("  ".into()), "[0].window_text"),
        ];
        for (spoil, field) in cases {
            let mut plan = default_plan();
            spoil(&mut plan);
            assert_eq!(validate_plan(&plan).map_err(|e| e.field), Err(field.to_owned()));
        }
        assert!(is_language_code("pt_BR") && is_language_code("fil") && !is_language_code("pt-BR"));
    }
}
