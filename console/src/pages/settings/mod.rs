//! Settings: the time zone, quiet hours, frequency cap and follow-up plan (an editable list of
//! steps that works without JavaScript: add, remove and reorder are buttons of the form, and
//! nothing is saved until "Save settings"), the store integrations with their webhook URLs, the
//! API keys and the webhook endpoints. Everyone reads it; owners change it, each change audited as `user:<email>`.
//! Another merchant's integration or key is not found (row-level security).

mod api_keys;
mod form;
mod integrations;
mod webhook_endpoints;

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use recete_shared::api_keys as keys;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::integrations as store_integrations;
use recete_shared::languages::Language;
use recete_shared::merchants::{self, MerchantProfile, MerchantSettings};
use serde_json::{Value, json};

pub use self::api_keys::{create as create_api_key, revoke as revoke_api_key};
use self::form::{FieldErrors, Op, SettingsForm, StepForm, step_field};
pub use self::integrations::{create as create_integration, disable as disable_integration, rotate as rotate_secret};
pub use self::webhook_endpoints::{
    create as create_endpoint, detail as endpoint, disable as disable_endpoint, rotate as rotate_endpoint_secret,
};
use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

/// How many integrations and keys the page lists (newest first).
const LIST_LIMIT: i64 = 100;

/// What a POST did, shown above the page.
pub(crate) enum Notice {
    Done(String),
    /// A secret or key shown this once, with what it is.
    Secret {
        message: String,
        secret: String,
    },
    Problem(String),
}

/// The page as one POST or GET leaves it.
#[derive(Default)]
pub(crate) struct View {
    form: Option<SettingsForm>,
    errors: FieldErrors,
    notice: Option<Notice>,
    status: Option<StatusCode>,
}

impl View {
    pub(crate) fn notice(notice: Notice) -> Self {
        Self { notice: Some(notice), ..Self::default() }
    }

    pub(crate) fn refused(status: StatusCode, message: String) -> Self {
        Self { notice: Some(Notice::Problem(message)), status: Some(status), ..Self::default() }
    }
}

pub async fn page(State(state): State<ConsoleState>, user: ConsoleUser) -> Result<Response, PageError> {
    render(&state, &user, View::default()).await
}

/// The profile as seen in `tx`; a merchant the transaction cannot see is not found.
async fn profile(
    tx: &mut recete_platform::db::Tx,
    user: &ConsoleUser,
    lock: bool,
) -> Result<MerchantProfile, PageError> {
    merchants::profile(tx, user.merchant_id, lock).await?.ok_or_else(|| PageError::NotFound(text::SESSION_ENDED.into()))
}

pub(crate) async fn render(state: &ConsoleState, user: &ConsoleUser, view: View) -> Result<Response, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let profile = profile(&mut tx, user, false).await?;
    let integrations =
        store_integrations::list(&mut tx, user.merchant_id, &store_integrations::ListFilter::default(), LIST_LIMIT)
            .await?;
    let api_keys = keys::list(&mut tx, user.merchant_id, &keys::ListFilter::default(), LIST_LIMIT).await?;
    let endpoints = recete_shared::webhooks::endpoints::list(&mut tx).await?;
    commit(tx).await?;
    let form = view.form.unwrap_or_else(|| SettingsForm::from_profile(&profile));
    let owner = user.may(Role::Owner);
    let markup = layout::page(
        text::SETTINGS,
        user,
        Nav::Settings,
        html! {
            @match &view.notice {
                Some(Notice::Done(message)) => { (layout::flash(message, true)) }
                Some(Notice::Problem(message)) => { (layout::flash(message, false)) }
                Some(Notice::Secret { message, secret }) => {
                    section.flash.ok role="status" {
                        p { strong { (message) } }
                        p { (text::SECRET_ONCE) }
                        (copyable("shown-secret", secret))
                    }
                }
                None => {}
            }
            @if !view.errors.is_empty() {
                (layout::flash(&text::settings_not_saved(view.errors.len()), false))
            }
            p.muted { (text::SETTINGS_INTRO) }
            p { a href="/console/settings/users" { (text::MANAGE_USERS) } }
            @if !owner { p.hint { (text::ONLY_OWNERS_CHANGE_SETTINGS) } }
            (settings_form(user, &form, &view.errors, owner))
            (integrations::section(user, state, &integrations, owner))
            (api_keys::section(user, state, &api_keys, owner))
            (webhook_endpoints::section(user, &endpoints, owner))
            script src="/console/assets/copy.js" defer {}
        },
    );
    Ok((view.status.unwrap_or(StatusCode::OK), markup).into_response())
}

/// A value to copy: selectable text, with a copy button that the page's script shows.
pub(crate) fn copyable(id: &str, value: &str) -> Markup {
    html! {
        div.copyable {
            code.secret id=(id) { (value) }
            button.copy type="button" data-copy=(id) hidden { (text::COPY) }
        }
    }
}

/// The id of the input of field `path` (`follow_up_plan[1].key` → `follow_up_plan-1-key`).
fn field_id(path: &str) -> String {
    path.replace("].", "-").replace(['[', '.'], "-")
}

/// A labelled text input for field `path`, with its hint and its error beside it.
fn field(path: &str, label: &str, value: &str, hint: Option<&str>, errors: &FieldErrors, kind: &str) -> Markup {
    let id = field_id(path);
    let error = errors.get(path);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described: Vec<&str> =
        [hint.map(|_| hint_id.as_str()), error.map(|_| error_id.as_str())].into_iter().flatten().collect();
    html! {
        div.field {
            label for=(id) { (label) }
            @if let Some(hint) = hint { p.hint id=(hint_id) { (hint) } }
            @if kind == "textarea" {
                textarea id=(id) name=(path) rows="2" aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[(!described.is_empty()).then(|| described.join(" "))] { (value) }
            } @else {
                input id=(id) type=(kind) name=(path) value=(value) aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
            }
            @if let Some(error) = error { p.field-error id=(error_id) role="alert" { (error) } }
        }
    }
}

/// The store's language: a choice among those the fixed phrases exist in.
fn language_field(chosen: &str, errors: &FieldErrors) -> Markup {
    let error = errors.get("language");
    html! {
        div.field {
            label for="language" { (text::STORE_LANGUAGE) }
            p.hint id="language-hint" { (text::STORE_LANGUAGE_HINT) }
            select #language name="language" aria-invalid=[error.map(|_| "true")]
                aria-describedby=(if error.is_some() { "language-hint language-error" } else { "language-hint" }) {
                @for language in Language::ALL {
                    option value=(language.code()) selected[chosen == language.code()] { (language.name()) }
                }
            }
            @if let Some(error) = error { p.field-error id="language-error" role="alert" { (error) } }
        }
    }
}

fn settings_form(user: &ConsoleUser, form: &SettingsForm, errors: &FieldErrors, owner: bool) -> Markup {
    html! {
        form.settings method="post" action="/console/settings" {
            (layout::csrf_field(user))
            fieldset disabled[!owner] {
                legend { h2 { (text::GENERAL) } }
                (field("timezone", text::TIMEZONE, &form.timezone, Some(text::TIMEZONE_HINT), errors, "text"))
                p.hint { strong { (text::QUIET_HOURS) } " — " (text::QUIET_HOURS_HINT) }
                (field("quiet_hours.start", text::QUIET_START, &form.quiet_start, None, errors, "text"))
                (field("quiet_hours.end", text::QUIET_END, &form.quiet_end, None, errors, "text"))
                p.hint { strong { (text::FREQUENCY_CAP) } }
                (field("frequency_cap.max_messages", text::CAP_MAX, &form.cap_max, Some(text::CAP_MAX_HINT), errors, "number"))
                (field("frequency_cap.per_hours", text::CAP_HOURS, &form.cap_hours, None, errors, "number"))
                (field("attribution_window_days", text::ATTRIBUTION_WINDOW, &form.attribution_days, Some(text::ATTRIBUTION_WINDOW_HINT), errors, "number"))
                (language_field(&form.language, errors))
                @if owner { button.primary type="submit" name="op" value="save" { (text::SAVE_SETTINGS) } }
            }
            fieldset disabled[!owner] {
                legend { h2 { (text::PLAN) } }
                p.hint { (text::PLAN_HINT) }
                @if let Some(error) = errors.get("follow_up_plan") { p.field-error role="alert" { (error) } }
                @if form.steps.is_empty() { p { (text::NO_STEPS) } }
                ol.steps {
                    @for (index, step) in form.steps.iter().enumerate() {
                        li { (step_fields(index, step, form.steps.len(), errors, owner)) }
                    }
                }
                @if owner {
                    button type="submit" name="op" value="add" { (text::ADD_STEP) }
                    button.primary type="submit" name="op" value="save" { (text::SAVE_SETTINGS) }
                }
            }
        }
    }
}

fn step_fields(index: usize, step: &StepForm, count: usize, errors: &FieldErrors, owner: bool) -> Markup {
    let path = |name: &str| step_field(index, name);
    let category_path = path("template.category");
    let category_id = field_id(&category_path);
    html! {
        fieldset.step {
            legend { h3 { (text::step_heading(index + 1)) } }
            (field(&path("key"), text::STEP_KEY, &step.key, Some(text::STEP_KEY_HINT), errors, "text"))
            (field(&path("offset_hours"), text::STEP_OFFSET, &step.offset_hours, None, errors, "number"))
            (field(&path("template.name"), text::STEP_TEMPLATE, &step.template, None, errors, "text"))
            (field(&path("template.language"), text::STEP_LANGUAGE, &step.language, None, errors, "text"))
            div.field {
                label for=(category_id) { (text::STEP_CATEGORY) }
                select id=(category_id) name=(category_path) {
                    @for name in [text::CATEGORY_UTILITY, text::CATEGORY_MARKETING] {
                        option value=(name) selected[step.category == name] { (name) }
                    }
                }
                @if let Some(error) = errors.get(&category_path) { p.field-error role="alert" { (error) } }
            }
            (field(&path("template.parameters"), text::STEP_PARAMETERS, &step.parameters, Some(text::STEP_PARAMETERS_HINT), errors, "text"))
            (field(&path("window_text"), text::STEP_WINDOW_TEXT, &step.window_text, Some(text::STEP_WINDOW_TEXT_HINT), errors, "textarea"))
            @if owner {
                div.step-actions {
                    @if index > 0 { button type="submit" name="op" value=(format!("up-{index}")) { (text::MOVE_UP) } }
                    @if index + 1 < count { button type="submit" name="op" value=(format!("down-{index}")) { (text::MOVE_DOWN) } }
                    button.danger type="submit" name="op" value=(format!("remove-{index}")) { (text::REMOVE_STEP) }
                }
            }
        }
    }
}

/// The settings as the audit trail records them.
fn audited(timezone: &str, settings: &MerchantSettings) -> Value {
    let mut document = serde_json::to_value(settings).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut document {
        map.insert("timezone".into(), json!(timezone));
    }
    document
}

/// `POST /console/settings`: a plan edit (re-shown, not saved) or a save of the whole form.
pub async fn save(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_CHANGE_SETTINGS)?;
    let (mut form, op) = SettingsForm::from_fields(&fields);
    let op = op.unwrap_or(Op::Save);
    if op != Op::Save {
        form.edit(op);
        let view = View { form: Some(form), notice: Some(Notice::Done(text::PLAN_EDITED.into())), ..View::default() };
        return render(&state, &user, view).await;
    }
    let mut tx = user.transaction(&state.pool).await?;
    let before = profile(&mut tx, &user, true).await?;
    let (timezone, settings) = match form.parse(&before.settings) {
        Ok(parsed) => parsed,
        Err(errors) => {
            drop(tx);
            let view = View { form: Some(form), errors, status: Some(StatusCode::BAD_REQUEST), ..View::default() };
            return render(&state, &user, view).await;
        }
    };
    let (was, now) = audit::changed_fields(audited(&before.timezone, &before.settings), audited(&timezone, &settings));
    if now.is_empty() {
        drop(tx);
        return render(&state, &user, View::notice(Notice::Done(text::SETTINGS_UNCHANGED.into()))).await;
    }
    if timezone != before.timezone {
        merchants::set_timezone(&mut tx, user.merchant_id, &timezone).await?;
    }
    if settings != before.settings {
        merchants::save_settings(&mut tx, user.merchant_id, &settings).await?;
    }
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action: "merchant.settings_changed",
            subject_type: "merchant",
            subject_id: user.merchant_id.to_string(),
            event_id: None,
            before: Some(Value::Object(was)),
            after: Some(Value::Object(now)),
        },
    )
    .await?;
    commit(tx).await?;
    render(&state, &user, View::notice(Notice::Done(text::SETTINGS_SAVED.into()))).await
}

/// Shared by the integrations and API keys lists: `never` for an absent time.
fn maybe_time(at: Option<chrono::DateTime<chrono::Utc>>) -> Markup {
    match at {
        Some(at) => layout::time(at),
        None => html! { (text::NEVER) },
    }
}
