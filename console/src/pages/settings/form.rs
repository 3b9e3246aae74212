//! The settings form as typed: parsed into the merchant's settings with the domain's own
//! validation (`MerchantSettings::validate`, `plan::time_of_day`, `canonical_timezone`), every
//! error keyed by the path of its field (`follow_up_plan[1].offset_hours`), which is also the
//! form field's name, so each error shows next to its field.

use std::collections::BTreeMap;

use recete_shared::followups::plan::{
    self, FollowUpStep, FrequencyCap, MAX_STEPS, QuietHours, TemplateCategory, TemplateParameter, TemplateSpec,
};
use recete_shared::languages::Language;
use recete_shared::merchants::{self, MerchantProfile, MerchantSettings};

use crate::text;

/// Errors by field path; `follow_up_plan` alone is the plan as a whole.
pub type FieldErrors = BTreeMap<String, String>;

/// One step as typed.
#[derive(Debug, Clone, Default)]
pub struct StepForm {
    pub key: String,
    pub offset_hours: String,
    pub template: String,
    pub language: String,
    pub category: String,
    pub parameters: String,
    pub window_text: String,
}

/// The whole form as typed.
#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    pub timezone: String,
    pub quiet_start: String,
    pub quiet_end: String,
    pub cap_max: String,
    pub cap_hours: String,
    pub attribution_days: String,
    /// The store's language code (`en`).
    pub language: String,
    pub steps: Vec<StepForm>,
}

/// What the owner asked for with the button they pressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Save,
    Add,
    Remove(usize),
    Up(usize),
    Down(usize),
}

impl Op {
    pub fn parse(value: &str) -> Option<Self> {
        let index = |rest: &str| rest.parse::<usize>().ok();
        match value.split_once('-') {
            None if value == "save" => Some(Self::Save),
            None if value == "add" => Some(Self::Add),
            Some(("remove", rest)) => index(rest).map(Self::Remove),
            Some(("up", rest)) => index(rest).map(Self::Up),
            Some(("down", rest)) => index(rest).map(Self::Down),
            _ => None,
        }
    }
}

pub fn parameter_name(parameter: TemplateParameter) -> &'static str {
    match parameter {
        TemplateParameter::CustomerFirstName => "customer_first_name",
        TemplateParameter::OrderNumber => "order_number",
        TemplateParameter::ProductTitle => "product_title",
    }
}

fn parse_parameter(name: &str) -> Option<TemplateParameter> {
    [TemplateParameter::CustomerFirstName, TemplateParameter::OrderNumber, TemplateParameter::ProductTitle]
        .into_iter()
        .find(|parameter| parameter_name(*parameter) == name)
}

pub fn category_name(category: TemplateCategory) -> &'static str {
    match category {
        TemplateCategory::Utility => text::CATEGORY_UTILITY,
        TemplateCategory::Marketing => text::CATEGORY_MARKETING,
    }
}

/// The path of a step's field, as the domain's validation names it and as the form posts it.
pub fn step_field(index: usize, name: &str) -> String {
    format!("follow_up_plan[{index}].{name}")
}

impl SettingsForm {
    /// The form filled with what is stored.
    pub fn from_profile(profile: &MerchantProfile) -> Self {
        let settings = &profile.settings;
        Self {
            timezone: profile.timezone.clone(),
            quiet_start: settings.quiet_hours.start.format(plan::TIME_OF_DAY_FORMAT).to_string(),
            quiet_end: settings.quiet_hours.end.format(plan::TIME_OF_DAY_FORMAT).to_string(),
            cap_max: settings.frequency_cap.max_messages.to_string(),
            cap_hours: settings.frequency_cap.per_hours.to_string(),
            attribution_days: settings.attribution_window_days.to_string(),
            language: settings.language.code().to_owned(),
            steps: settings
                .follow_up_plan
                .iter()
                .map(|step| StepForm {
                    key: step.key.clone(),
                    offset_hours: step.offset_hours.to_string(),
                    template: step.template.name.clone(),
                    language: step.template.language.clone(),
                    category: category_name(step.template.category).to_owned(),
                    parameters: step
                        .template
                        .parameters
                        .iter()
                        .map(|parameter| parameter_name(*parameter))
                        .collect::<Vec<_>>()
                        .join(", "),
                    window_text: step.window_text.clone().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// The form as posted, and the button pressed. Steps come as `follow_up_plan[i].<field>`;
    /// indexes past a bound are ignored (the plan allows fewer steps anyway).
    pub fn from_fields(fields: &[(String, String)]) -> (Self, Option<Op>) {
        let mut form = Self::default();
        let mut op = None;
        for (name, value) in fields {
            match name.as_str() {
                "timezone" => form.timezone = value.clone(),
                "quiet_hours.start" => form.quiet_start = value.clone(),
                "quiet_hours.end" => form.quiet_end = value.clone(),
                "frequency_cap.max_messages" => form.cap_max = value.clone(),
                "frequency_cap.per_hours" => form.cap_hours = value.clone(),
                "attribution_window_days" => form.attribution_days = value.clone(),
                "language" => form.language = value.clone(),
                "op" => op = Op::parse(value),
                other => {
                    let Some((index, field)) = other
                        .strip_prefix("follow_up_plan[")
                        .and_then(|rest| rest.split_once("]."))
                        .and_then(|(index, field)| index.parse::<usize>().ok().map(|index| (index, field)))
                    else {
                        continue;
                    };
                    if index > MAX_STEPS * 2 {
                        continue;
                    }
                    if form.steps.len() <= index {
                        form.steps.resize_with(index + 1, StepForm::default);
                    }
                    let step = &mut form.steps[index];
                    let slot = match field {
                        "key" => &mut step.key,
                        "offset_hours" => &mut step.offset_hours,
                        "template.name" => &mut step.template,
                        "template.language" => &mut step.language,
                        "template.category" => &mut step.category,
                        "template.parameters" => &mut step.parameters,
                        "window_text" => &mut step.window_text,
                        _ => continue,
                    };
                    slot.clone_from(value);
                }
            }
        }
        (form, op)
    }

    /// Applies an editing button to the plan (nothing is saved).
    pub fn edit(&mut self, op: Op) {
        let len = self.steps.len();
        match op {
            Op::Save => {}
            Op::Add => {
                let last_offset = self.steps.last().and_then(|step| step.offset_hours.parse::<u32>().ok());
                self.steps.push(StepForm {
                    key: format!("step{}", len + 1),
                    offset_hours: last_offset.map_or(72, |hours| hours.saturating_add(24 * 7)).to_string(),
                    language: "en".to_owned(),
                    category: text::CATEGORY_UTILITY.to_owned(),
                    ..StepForm::default()
                });
            }
            Op::Remove(index) if index < len => {
                self.steps.remove(index);
            }
            Op::Up(index) if index > 0 && index < len => self.steps.swap(index - 1, index),
            Op::Down(index) if index + 1 < len => self.steps.swap(index, index + 1),
            Op::Remove(_) | Op::Up(_) | Op::Down(_) => {}
        }
    }

    /// The time zone and settings this form asks for, on top of `current`; every field error
    /// when it cannot be saved (the domain's validation names at most one, after parsing).
    pub fn parse(&self, current: &MerchantSettings) -> Result<(String, MerchantSettings), FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut fail = |field: String, label: &str, detail: &str| {
            errors.entry(field).or_insert_with(|| text::field_error(label, detail));
        };
        let timezone = merchants::canonical_timezone(self.timezone.trim());
        if timezone.is_none() {
            fail("timezone".into(), text::TIMEZONE, text::NOT_A_TIMEZONE);
        }
        let quiet_start = plan::time_of_day(self.quiet_start.trim());
        if quiet_start.is_none() {
            fail("quiet_hours.start".into(), text::QUIET_START, plan::TIME_OF_DAY_RULE);
        }
        let quiet_end = plan::time_of_day(self.quiet_end.trim());
        if quiet_end.is_none() {
            fail("quiet_hours.end".into(), text::QUIET_END, plan::TIME_OF_DAY_RULE);
        }
        let cap_max = self.cap_max.trim().parse::<u32>().ok();
        if cap_max.is_none() {
            fail("frequency_cap.max_messages".into(), text::CAP_MAX, text::NOT_A_WHOLE_NUMBER);
        }
        let cap_hours = self.cap_hours.trim().parse::<u32>().ok();
        if cap_hours.is_none() {
            fail("frequency_cap.per_hours".into(), text::CAP_HOURS, text::NOT_A_WHOLE_NUMBER);
        }
        let attribution_days = self.attribution_days.trim().parse::<u32>().ok();
        if attribution_days.is_none() {
            fail("attribution_window_days".into(), text::ATTRIBUTION_WINDOW, text::NOT_A_WHOLE_NUMBER);
        }
        // A form from before the field existed keeps the stored language.
        let language =
            if self.language.trim().is_empty() { Some(current.language) } else { Language::from_code(&self.language) };
        if language.is_none() {
            fail("language".into(), text::STORE_LANGUAGE, &text::language_rule());
        }
        let mut steps = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let offset_hours = step.offset_hours.trim().parse::<u32>().ok();
            if offset_hours.is_none() {
                fail(step_field(index, "offset_hours"), text::STEP_OFFSET, text::NOT_A_WHOLE_NUMBER);
            }
            let category = match step.category.trim() {
                name if name == text::CATEGORY_UTILITY => Some(TemplateCategory::Utility),
                name if name == text::CATEGORY_MARKETING => Some(TemplateCategory::Marketing),
                other => {
                    fail(step_field(index, "template.category"), text::STEP_CATEGORY, &text::unknown_category(other));
                    None
                }
            };
            let mut parameters = Vec::new();
            for name in step.parameters.split(',').map(str::trim).filter(|name| !name.is_empty()) {
                match parse_parameter(name) {
                    Some(parameter) => parameters.push(parameter),
                    None => fail(
                        step_field(index, "template.parameters"),
                        text::STEP_PARAMETERS,
                        &text::unknown_parameter(name),
                    ),
                }
            }
            let window_text = Some(step.window_text.trim()).filter(|text| !text.is_empty()).map(str::to_owned);
            if let (Some(offset_hours), Some(category)) = (offset_hours, category) {
                steps.push(FollowUpStep {
                    key: step.key.trim().to_owned(),
                    offset_hours,
                    template: TemplateSpec {
                        name: step.template.trim().to_owned(),
                        language: step.language.trim().to_owned(),
                        category,
                        parameters,
                    },
                    window_text,
                });
            }
        }
        let (
            Some(timezone),
            Some(start),
            Some(end),
            Some(max_messages),
            Some(per_hours),
            Some(attribution_window_days),
        ) = (timezone, quiet_start, quiet_end, cap_max, cap_hours, attribution_days)
        else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let settings = MerchantSettings {
            quiet_hours: QuietHours { start, end },
            frequency_cap: FrequencyCap { max_messages, per_hours },
            follow_up_plan: steps,
            attribution_window_days,
            language: language.unwrap_or(current.language),
            ..current.clone()
        };
        if let Err(invalid) = settings.validate() {
            let label = label_of(&invalid.field);
            errors.insert(invalid.field, text::field_error(label, &invalid.detail));
            return Err(errors);
        }
        Ok((timezone.to_owned(), settings))
    }
}

/// The label of the field a domain error names.
fn label_of(field: &str) -> &'static str {
    let tail = field.rsplit_once(']').map_or(field, |(_, tail)| tail.trim_start_matches('.'));
    match (field, tail) {
        ("frequency_cap.max_messages", _) => text::CAP_MAX,
        ("frequency_cap.per_hours", _) => text::CAP_HOURS,
        ("attribution_window_days", _) => text::ATTRIBUTION_WINDOW,
        (_, "key") => text::STEP_KEY,
        (_, "offset_hours") => text::STEP_OFFSET,
        (_, "template.name") => text::STEP_TEMPLATE,
        (_, "template.language") => text::STEP_LANGUAGE,
        (_, "template.parameters") => text::STEP_PARAMETERS,
        (_, "window_text") => text::STEP_WINDOW_TEXT,
        _ if field.starts_with("follow_up_plan") => text::PLAN,
        _ => text::SETTINGS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn stored() -> SettingsForm {
        let profile = MerchantProfile {
            timezone: "Europe/Istanbul".into(),
            settings: MerchantSettings::default(),
            updated_at: chrono::Utc::now(),
        };
        SettingsForm::from_profile(&profile)
    }

    #[test]
    fn the_stored_settings_parse_back_unchanged() {
        let (timezone, settings) = stored().parse(&MerchantSettings::default()).expect("valid");
        assert_eq!(timezone, "Europe/Istanbul");
        assert_eq!(settings, MerchantSettings::default());
    }

    #[test]
    fn each_error_is_keyed_by_its_field() {
        let mut form = stored();
        form.quiet_start = "25:00".into();
        form.steps[1].parameters = "customer_first_name, shoe_size".into();
        let errors = form.parse(&MerchantSettings::default()).expect_err("invalid");
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["follow_up_plan[1].template.parameters", "quiet_hours.start"]);
        let mut form = stored();
        form.steps[1].offset_hours = "0".into();
        let errors = form.parse(&MerchantSettings::default()).expect_err("invalid");
        assert!(errors["follow_up_plan[1].offset_hours"].starts_with("Hours after delivery must be between 1"));
    }

    #[test]
    fn steps_are_added_removed_and_reordered() {
        let (mut form, op) = SettingsForm::from_fields(&fields(&[
            ("follow_up_plan[0].key", "a"),
            ("follow_up_plan[1].key", "b"),
            ("op", "down-0"),
        ]));
        assert_eq!(op, Some(Op::Down(0)));
        form.edit(Op::Down(0));
        assert_eq!(form.steps.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        form.edit(Op::Add);
        form.edit(Op::Remove(0));
        assert_eq!(form.steps.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(), ["a", "step3"]);
        assert_eq!(Op::parse("up-x"), None);
    }
}
