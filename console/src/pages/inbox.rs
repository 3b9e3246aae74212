//! The inbox: `/console/inbox` lists conversations handed over to a person first (the one waiting
//! longest at the top, with how long and why), then the rest, newest activity first;
//! `/console/inbox/{id}` shows one conversation's whole thread (who wrote each message, its
//! status, what the agent quoted) with the reply box and the Take over and Resolve buttons.
//!
//! Replying, taking over and resolving need the `agent` role. A reply is free text while the
//! customer's 24-hour window is open, else one of the approved templates of the merchant's
//! follow-up plan; it goes through `conversations::replies::send` like the API's, written by
//! `user:<user id>` and audited as `user:<email>`. Each reply form carries a one-time key (the
//! API's idempotency keys), so a form sent twice sends once. Live updates come from
//! [`super::inbox_events`] and `assets/inbox.js`; without them the pages read the same.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use recete_platform::crypto::sha256;
use recete_shared::conversations::inbox::{self, InboxCursor, InboxEntry};
use recete_shared::conversations::replies::{
    self, MAX_PARAMETER_CHARS, MAX_TEXT_CHARS, NewReply, ReplyContent, TemplateReply,
};
use recete_shared::conversations::thread::{self, ConversationMessage};
use recete_shared::conversations::{ConversationError, ConversationState, author, store};
use recete_shared::followups::plan::TemplateParameter;
use recete_shared::idempotency::{self, Claim};
use recete_shared::merchants;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::{self, Role};
use crate::{ConsoleState, text};

/// Conversations per page of the inbox.
const PAGE_SIZE: i64 = 50;

impl From<ConversationError> for PageError {
    fn from(error: ConversationError) -> Self {
        match error {
            ConversationError::NotFound(_) => Self::NotFound(text::NO_SUCH_CONVERSATION.into()),
            ConversationError::Conflict(detail) => Self::Conflict(detail),
            ConversationError::WindowClosed { closed_at } => Self::Conflict(window_closed(closed_at)),
            ConversationError::Database(error) => error.into(),
            ConversationError::Body(error) => {
                tracing::error!(%error, "console: a message or contact field does not open");
                Self::Internal
            }
        }
    }
}

fn window_closed(closed_at: Option<DateTime<Utc>>) -> String {
    match closed_at {
        Some(at) => text::window_closed_at(&at.format("%Y-%m-%d %H:%M UTC").to_string()),
        None => text::WINDOW_NEVER_OPENED.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

/// `/console/inbox`.
pub async fn list(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let cursor = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => Some(cursor.parse::<InboxCursor>().map_err(|bad| PageError::BadRequest(bad.to_string()))?),
        None => None,
    };
    let mut tx = user.transaction(&state.pool).await?;
    let page = inbox::page(&mut tx, &state.keyring, user.merchant_id, cursor, PAGE_SIZE).await?;
    commit(tx).await?;
    let now = Utc::now();
    let (waiting, rest): (Vec<&InboxEntry>, Vec<&InboxEntry>) =
        page.entries.iter().partition(|entry| entry.state == ConversationState::HandedOver);
    Ok(layout::page(
        text::INBOX,
        &user,
        Nav::Inbox,
        html! {
            p.muted { (text::INBOX_INTRO) }
            div #inbox-live data-live="inbox" {
                @if page.entries.is_empty() {
                    p { (text::NO_CONVERSATIONS) }
                }
                @if !waiting.is_empty() {
                    section aria-labelledby="waiting" {
                        h2 #waiting { (text::WAITING_FOR_A_PERSON) " " span.badge.count { (waiting.len()) } }
                        table.inbox {
                            thead { tr {
                                th scope="col" { (text::CUSTOMER) } th scope="col" { (text::WAITING) }
                                th scope="col" { (text::REASON) } th scope="col" { (text::LAST_ACTIVITY) }
                            } }
                            tbody {
                                @for entry in &waiting {
                                    @let since = entry.handed_over_at.unwrap_or(entry.created_at);
                                    tr.waiting {
                                        td data-label=(text::CUSTOMER) { (customer_link(entry)) }
                                        td data-label=(text::WAITING) {
                                            strong { (text::waited((now - since).num_seconds())) }
                                            br; span.muted { (layout::time(since)) }
                                        }
                                        td data-label=(text::REASON) { (entry.handover_reason.as_deref().unwrap_or("")) }
                                        td data-label=(text::LAST_ACTIVITY) { (layout::time(entry.active_at())) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !rest.is_empty() {
                    section aria-labelledby="others" {
                        h2 #others { (text::OTHER_CONVERSATIONS) }
                        table.inbox {
                            thead { tr {
                                th scope="col" { (text::CUSTOMER) } th scope="col" { (text::STATE) }
                                th scope="col" { (text::LAST_ACTIVITY) }
                            } }
                            tbody {
                                @for entry in &rest {
                                    tr {
                                        td data-label=(text::CUSTOMER) { (customer_link(entry)) }
                                        td data-label=(text::STATE) { (text::conversation_state(entry.state.as_str())) }
                                        td data-label=(text::LAST_ACTIVITY) { (layout::time(entry.active_at())) }
                                    }
                                }
                            }
                        }
                    }
                }
                nav.pages aria-label=(text::PAGES) {
                    @if cursor.is_some() { a href="/console/inbox" { (text::FIRST_PAGE) } " " }
                    @if let Some(next) = page.next {
                        a rel="next" href=(format!("/console/inbox?cursor={next}")) { (text::NEXT_PAGE) }
                    }
                }
            }
            script src="/console/assets/inbox.js" defer {}
        },
    ))
}

fn customer_name(entry: &InboxEntry) -> &str {
    match (&entry.customer_name, &entry.customer_phone) {
        (Some(name), _) => name,
        (None, Some(_)) => text::UNKNOWN_CUSTOMER,
        (None, None) => text::ERASED_CUSTOMER,
    }
}

fn customer_link(entry: &InboxEntry) -> Markup {
    html! {
        a href=(format!("/console/inbox/{}", entry.id)) { (customer_name(entry)) }
        @if let Some(phone) = &entry.customer_phone { br; span.muted.phone { (phone) } }
    }
}

/// An id in a path; one that is not a UUID names no conversation.
fn conversation_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_CONVERSATION.into()))
}

#[derive(Debug, Deserialize)]
pub struct ThreadQuery {
    done: Option<String>,
}

/// `/console/inbox/{id}`.
pub async fn thread(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(query): Query<ThreadQuery>,
) -> Result<Markup, PageError> {
    let id = conversation_id(&id)?;
    let flash = match query.done.as_deref() {
        Some("replied") => Some((text::REPLIED.to_owned(), true)),
        Some("repeated") => Some((text::REPLY_REPEATED.to_owned(), true)),
        Some("taken_over") => Some((text::TAKEN_OVER.to_owned(), true)),
        Some("resolved") => Some((text::RESOLVED.to_owned(), true)),
        _ => None,
    };
    render_thread(&state, &user, id, flash).await
}

/// An approved template of the follow-up plan, as the reply box offers it.
struct PlanTemplate {
    name: String,
    language: String,
    parameters: Vec<&'static str>,
}

impl PlanTemplate {
    fn value(&self) -> String {
        format!("{}|{}", self.name, self.language)
    }
}

fn parameter_name(parameter: TemplateParameter) -> &'static str {
    match parameter {
        TemplateParameter::CustomerFirstName => "customer_first_name",
        TemplateParameter::OrderNumber => "order_number",
        TemplateParameter::ProductTitle => "product_title",
    }
}

/// The distinct templates of the merchant's follow-up plan.
fn plan_templates(settings: &merchants::MerchantSettings) -> Vec<PlanTemplate> {
    let mut templates: Vec<PlanTemplate> = Vec::new();
    for step in &settings.follow_up_plan {
        let spec = &step.template;
        if templates.iter().any(|t| t.name == spec.name && t.language == spec.language) {
            continue;
        }
        templates.push(PlanTemplate {
            name: spec.name.clone(),
            language: spec.language.clone(),
            parameters: spec.parameters.iter().copied().map(parameter_name).collect(),
        });
    }
    templates
}

struct Thread {
    entry: InboxEntry,
    messages: Vec<ConversationMessage>,
    people: HashMap<Uuid, String>,
    templates: Vec<PlanTemplate>,
}

async fn load_thread(state: &ConsoleState, user: &ConsoleUser, id: Uuid) -> Result<Thread, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let entry = inbox::entry(&mut tx, &state.keyring, user.merchant_id, id).await?;
    let messages = thread::messages(&mut tx, &state.keyring, user.merchant_id, id).await?;
    let people = users::list(&mut tx, user.merchant_id).await?.into_iter().map(|u| (u.id, u.email)).collect();
    let settings = merchants::settings(&mut tx, user.merchant_id).await?;
    commit(tx).await?;
    Ok(Thread { entry, messages, people, templates: plan_templates(&settings) })
}

async fn render_thread(
    state: &ConsoleState,
    user: &ConsoleUser,
    id: Uuid,
    flash: Option<(String, bool)>,
) -> Result<Markup, PageError> {
    let Thread { entry, messages, people, templates } = load_thread(state, user, id).await?;
    let now = Utc::now();
    let base = format!("/console/inbox/{id}");
    let title = format!("{} · {}", customer_name(&entry), text::CONVERSATION);
    Ok(layout::page(
        &title,
        user,
        Nav::Inbox,
        html! {
            p { a href="/console/inbox" { (text::BACK_TO_INBOX) } }
            @if let Some((message, ok)) = &flash { (layout::flash(message, *ok)) }
            div #thread-live data-live="thread" data-conversation=(id) {
                dl.facts {
                    dt { (text::CUSTOMER) } dd { (customer_name(&entry)) }
                    @if let Some(phone) = &entry.customer_phone { dt { (text::PHONE) } dd.phone { (phone) } }
                    dt { (text::STATE) } dd.state { (text::conversation_state(entry.state.as_str())) }
                    @if entry.state == ConversationState::HandedOver {
                        @let since = entry.handed_over_at.unwrap_or(entry.created_at);
                        dt { (text::HANDED_OVER_SINCE) }
                        dd { (layout::time(since)) " (" (text::waited((now - since).num_seconds())) ")" }
                        dt { (text::REASON) } dd { (entry.handover_reason.as_deref().unwrap_or("")) }
                    }
                    dt { (text::WINDOW) }
                    dd.window {
                        @match entry.window_expires_at {
                            Some(at) if at > now => { (text::window_open_until(&at.format("%Y-%m-%d %H:%M UTC").to_string())) }
                            closed_at => { (window_closed(closed_at)) }
                        }
                    }
                }
                @if user.may(Role::Agent) {
                    div.actions {
                        @if entry.state == ConversationState::Open {
                            (layout::post_button(user, &format!("{base}/take-over"), text::TAKE_OVER, "primary"))
                            span.hint { (text::TAKE_OVER_HELP) }
                        }
                        @if entry.state == ConversationState::HandedOver {
                            (layout::post_button(user, &format!("{base}/resolve"), text::RESOLVE, "primary"))
                            span.hint { (text::RESOLVE_HELP) }
                        }
                    }
                }
                section aria-labelledby="messages" {
                    h2 #messages { (text::MESSAGES) }
                    @if messages.is_empty() {
                        p { (text::NO_MESSAGES) }
                    } @else {
                        ol.thread {
                            @for message in &messages { (message_item(message, &people)) }
                        }
                    }
                }
            }
            section aria-labelledby="reply" {
                h2 #reply { (text::REPLY) }
                (reply_box(user, &entry, &templates, now))
            }
            script src="/console/assets/inbox.js" defer {}
        },
    ))
}

fn message_item(message: &ConversationMessage, people: &HashMap<Uuid, String>) -> Markup {
    let person = author::user_id(&message.author).and_then(|id| people.get(&id)).map(String::as_str);
    let citations: Vec<(String, String)> = message
        .agent
        .as_ref()
        .and_then(|agent| agent.get("citations"))
        .and_then(Value::as_array)
        .map(|cited| {
            cited
                .iter()
                .map(|c| {
                    let field = |name: &str| c.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
                    (field("product_title"), field("section"))
                })
                .collect()
        })
        .unwrap_or_default();
    let guardrail = message
        .agent
        .as_ref()
        .and_then(|agent| agent.get("guardrail"))
        .and_then(|g| g.get("rule"))
        .and_then(Value::as_str);
    html! {
        li.message.(message.direction) id=(format!("message-{}", message.id)) {
            p.meta {
                strong.author { (text::author(&message.author, person)) }
                " · " (layout::time(message.created_at))
                @if message.kind != "text" { " · " span.kind { (text::message_kind(&message.kind)) } }
                @if let Some(name) = &message.template_name { " " code { (name) } }
            }
            @if let Some(body) = &message.text { p.body { (body) } }
            @if !citations.is_empty() {
                p.citations {
                    (text::QUOTED) ": "
                    @for (index, (product, section)) in citations.iter().enumerate() {
                        @if index > 0 { "; " }
                        span.citation { (product) " — " (section) }
                    }
                }
            }
            @if let Some(rule) = guardrail { p.hint { (text::BLOCKED_BY) " " code { (rule) } } }
            p.status data-status=(message.status) {
                (text::message_status(&message.status))
                @if let Some(reason) = &message.error_reason {
                    ": " (text::failed_because(reason, message.error_code.as_deref()))
                }
            }
        }
    }
}

fn reply_box(user: &ConsoleUser, entry: &InboxEntry, templates: &[PlanTemplate], now: DateTime<Utc>) -> Markup {
    let action = format!("/console/inbox/{}/reply", entry.id);
    // One key per rendering of the form: sending it twice sends once.
    let key = Uuid::new_v4().simple().to_string();
    html! {
        @if !user.may(Role::Agent) {
            p.hint { (text::ONLY_AGENTS_REPLY) }
        } @else if entry.state == ConversationState::Closed {
            p.hint { (text::CONVERSATION_CLOSED) }
        } @else if entry.window_open(now) {
            form.stack method="post" action=(action) {
                (layout::csrf_field(user))
                input type="hidden" name="key" value=(key);
                label for="reply-text" { (text::REPLY_TEXT) }
                textarea #reply-text name="text" rows="4" maxlength=(MAX_TEXT_CHARS) required {}
                button.primary type="submit" { (text::SEND) }
            }
        } @else {
            p.flash.error.window-closed role="status" { (window_closed(entry.window_expires_at)) " " (text::WINDOW_CLOSED_OFFER) }
            @if templates.is_empty() { p { (text::NO_TEMPLATES) } }
            @for (index, template) in templates.iter().enumerate() {
                form.stack.template method="post" action=(action) {
                    (layout::csrf_field(user))
                    input type="hidden" name="key" value=(format!("{key}-{index}"));
                    input type="hidden" name="template" value=(template.value());
                    h3 { (text::template_label(&template.name, &template.language)) }
                    @for (n, parameter) in template.parameters.iter().enumerate() {
                        @let field = format!("template-{index}-p{n}");
                        label for=(field) { (text::parameter_label(parameter)) }
                        input id=(field) type="text" name=(format!("p{n}")) maxlength=(MAX_PARAMETER_CHARS) required;
                    }
                    button.primary type="submit" { (text::SEND_TEMPLATE) }
                }
            }
        }
    }
}

/// What the reply form sent, as pairs: `key`, then `text` or `template` with `p0`, `p1`...
fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn reply_content(form: &[(String, String)], templates: &[PlanTemplate]) -> Result<ReplyContent, PageError> {
    if let Some(chosen) = field(form, "template") {
        let template = templates
            .iter()
            .find(|t| t.value() == chosen)
            .ok_or_else(|| PageError::BadRequest(text::UNKNOWN_TEMPLATE.into()))?;
        let mut parameters = Vec::with_capacity(template.parameters.len());
        for (n, parameter) in template.parameters.iter().enumerate() {
            let value = field(form, &format!("p{n}")).map(str::trim).unwrap_or_default();
            if value.is_empty() || value.chars().count() > MAX_PARAMETER_CHARS {
                return Err(PageError::BadRequest(text::parameter_missing(text::parameter_label(parameter))));
            }
            parameters.push(value.to_owned());
        }
        return Ok(ReplyContent::Template(TemplateReply {
            name: template.name.clone(),
            language: template.language.clone(),
            parameters,
        }));
    }
    let body = field(form, "text").unwrap_or_default();
    if body.trim().is_empty() {
        return Err(PageError::BadRequest(text::REPLY_EMPTY.into()));
    }
    if body.chars().count() > MAX_TEXT_CHARS {
        return Err(PageError::BadRequest(text::reply_too_long(MAX_TEXT_CHARS)));
    }
    // Browsers send textarea line breaks as CRLF; WhatsApp shows LF.
    Ok(ReplyContent::Text(body.replace("\r\n", "\n")))
}

/// The thread again, with what went wrong above it, as a 409: the reply box offers what may be
/// sent instead.
async fn refused(
    state: &ConsoleState,
    user: &ConsoleUser,
    id: Uuid,
    error: ConversationError,
) -> Result<Response, PageError> {
    let message = match error {
        ConversationError::WindowClosed { closed_at } => {
            format!("{} {}", window_closed(closed_at), text::WINDOW_CLOSED_OFFER)
        }
        ConversationError::Conflict(detail) => detail,
        other => return Err(other.into()),
    };
    let page = render_thread(state, user, id, Some((message, false))).await?;
    Ok((StatusCode::CONFLICT, page).into_response())
}

/// `POST /console/inbox/{id}/reply`.
pub async fn reply(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    user.require(Role::Agent, text::ACTION_REPLY)?;
    let id = conversation_id(&id)?;
    let key = field(&form, "key").filter(|key| idempotency::is_valid_key(key));
    let key = key.ok_or_else(|| PageError::BadRequest(text::REPLY_FORM_STALE.into()))?.to_owned();
    let mut tx = user.transaction(&state.pool).await?;
    let settings = merchants::settings(&mut tx, user.merchant_id).await?;
    let content = reply_content(&form, &plan_templates(&settings))?;
    let request = match &content {
        ReplyContent::Text(body) => json!({ "text": body }),
        ReplyContent::Template(template) => json!({ "template": template }),
    };
    let route = format!("POST /console/inbox/{id}/reply");
    let hash = sha256(request.to_string().as_bytes());
    let thread_url = format!("/console/inbox/{id}");
    match idempotency::claim(&mut tx, user.merchant_id, &route, &key, &hash).await? {
        Claim::New => {}
        Claim::Replay { .. } => {
            commit(tx).await?;
            return Ok(Redirect::to(&format!("{thread_url}?done=repeated")).into_response());
        }
        Claim::Mismatch => return Err(PageError::Conflict(text::REPLY_KEY_REUSED.into())),
    }
    let writer = author::user(user.user_id);
    let actor = user.actor();
    let new =
        NewReply { merchant: user.merchant_id, conversation_id: id, author: &writer, actor: &actor, content: &content };
    let queued = match replies::send(&mut tx, &state.keyring, &new).await {
        Ok(queued) => queued,
        Err(error @ (ConversationError::WindowClosed { .. } | ConversationError::Conflict(_))) => {
            drop(tx);
            return refused(&state, &user, id, error).await;
        }
        Err(error) => return Err(error.into()),
    };
    let answer = json!({ "message_id": queued.id });
    idempotency::record(&mut tx, user.merchant_id, &route, &key, StatusCode::SEE_OTHER.as_u16(), &answer).await?;
    commit(tx).await?;
    Ok(Redirect::to(&format!("{thread_url}?done=replied#message-{}", queued.id)).into_response())
}

/// `POST /console/inbox/{id}/take-over`.
pub async fn take_over(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Agent, text::ACTION_TAKE_OVER)?;
    let id = conversation_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    match store::take_over(&mut tx, user.merchant_id, id, &user.actor()).await {
        Ok(_) => {
            commit(tx).await?;
            Ok(Redirect::to(&format!("/console/inbox/{id}?done=taken_over")).into_response())
        }
        Err(error @ ConversationError::Conflict(_)) => {
            drop(tx);
            refused(&state, &user, id, error).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /console/inbox/{id}/resolve`.
pub async fn resolve(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Agent, text::ACTION_RESOLVE)?;
    let id = conversation_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    match store::resolve(&mut tx, user.merchant_id, id, &user.actor()).await {
        Ok(_) => {
            commit(tx).await?;
            Ok(Redirect::to(&format!("/console/inbox/{id}?done=resolved")).into_response())
        }
        Err(error @ ConversationError::Conflict(_)) => {
            drop(tx);
            refused(&state, &user, id, error).await
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn a_reply_is_a_text_or_a_template_of_the_plan_with_every_parameter() {
        let templates = plan_templates(&merchants::MerchantSettings::default());
        assert!(!templates.is_empty());
        let first = &templates[0];
        assert_eq!(
            reply_content(&pairs(&[("text", "On its way\r\ntoday")]), &templates).ok(),
            Some(ReplyContent::Text("On its way\ntoday".into()))
        );
        assert!(matches!(reply_content(&pairs(&[("text", "  ")]), &templates), Err(PageError::BadRequest(_))));
        let unknown = pairs(&[("template", "nope|en")]);
        assert!(
            matches!(reply_content(&unknown, &templates), Err(PageError::BadRequest(m)) if m == text::UNKNOWN_TEMPLATE)
        );
        let mut chosen = vec![("template".to_owned(), first.value())];
        chosen.extend((0..first.parameters.len()).map(|n| (format!("p{n}"), format!("value {n}"))));
        match reply_content(&chosen, &templates) {
            Ok(ReplyContent::Template(t)) => {
                assert_eq!((t.name.as_str(), t.parameters.len()), (first.name.as_str(), first.parameters.len()))
            }
            other => panic!("expected a template, got {other:?}"),
        }
        if !first.parameters.is_empty() {
            chosen.pop();
            assert!(matches!(reply_content(&chosen, &templates), Err(PageError::BadRequest(_))));
        }
    }
}
