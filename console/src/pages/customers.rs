//! Customers: the list (filtered by consent, email or phone as people type them; newest first, a
//! page at a time) with the phone masked, the consent with its source and time, and order
//! figures; one customer with their orders and latest conversation; and the customer's privacy
//! rights, for owners: **Export** downloads the document the API's export gives (recorded and
//! audited), **Erase** first shows exactly what would be erased (the erasure's own counts), then
//! erases on a confirmed POST, audited as `user:<email>`. The whole phone number is never shown.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use recete_platform::ids::CustomerId;
use recete_shared::customers::lookup::{self, LookupError};
use recete_shared::customers::read::{self as customers, ConsentState, Customer, CustomerFilter};
use recete_shared::orders::read::{self as orders, Order, OrderFilter};
use recete_shared::privacy::customer_requests::{self, ExportOutcome};
use recete_shared::privacy::subject::{self, Subject, SubjectError};
use recete_shared::privacy::{Channel, Counts, PrivacyError};
use serde::Deserialize;
use uuid::Uuid;

use super::list_cursor::{self, PAGE_SIZE};
use super::records::{conversation_href, customer_href, display_name, money, order_href};
use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

/// Orders shown on a customer's page, newest first.
const ORDERS_SHOWN: i64 = 50;

fn consent_name(state: ConsentState) -> &'static str {
    match state {
        ConsentState::Granted => text::consent_state("granted"),
        ConsentState::Revoked => text::consent_state("revoked"),
        ConsentState::Unknown => text::consent_state("unknown"),
    }
}

fn consent(customer: &Customer) -> Markup {
    html! {
        (consent_name(customer.consent))
        @if let Some(source) = &customer.consent_source { br; small { (text::consent_from(source)) } }
        @if let Some(at) = customer.consent_updated_at { br; small { (layout::time(at)) } }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CustomersQuery {
    #[serde(default)]
    consent: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    cursor: Option<String>,
}

fn lookup_message(error: LookupError) -> Result<String, PageError> {
    match error {
        LookupError::Database(error) => Err(error.into()),
        other => Ok(text::bad_search(other.field().unwrap_or("customer"), &other.to_string())),
    }
}

struct Listed {
    customers: Vec<Customer>,
    next: Option<String>,
}

pub async fn list(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Query(query): Query<CustomersQuery>,
) -> Result<Response, PageError> {
    let after = list_cursor::decode(query.cursor.as_deref())?;
    let mut tx = user.transaction(&state.pool).await?;
    let outcome = find_customers(&mut tx, &state, &user, &query, after).await?;
    commit(tx).await?;
    let status = if outcome.is_err() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((status, render_list(&user, &query, outcome)).into_response())
}

async fn find_customers(
    tx: &mut recete_platform::db::Tx,
    state: &ConsoleState,
    user: &ConsoleUser,
    query: &CustomersQuery,
    after: Option<(chrono::DateTime<chrono::Utc>, Uuid)>,
) -> Result<Result<Listed, String>, PageError> {
    let consent = match query.consent.trim() {
        "" => None,
        "granted" => Some(ConsentState::Granted),
        "revoked" => Some(ConsentState::Revoked),
        "unknown" => Some(ConsentState::Unknown),
        other => return Ok(Err(text::bad_consent(other))),
    };
    let email_lookups = match query.email.trim() {
        "" => None,
        raw => match lookup::email_lookups(&state.keyring, raw) {
            Ok(hashes) => Some(hashes),
            Err(error) => return lookup_message(error).map(Err),
        },
    };
    let phone_lookups = match query.phone.trim() {
        "" => None,
        raw => match lookup::phone_lookups(tx, &state.keyring, user.merchant_id, raw).await {
            Ok(hashes) => Some(hashes),
            Err(error) => return lookup_message(error).map(Err),
        },
    };
    let filter = CustomerFilter { consent, phone_lookups, email_lookups, ..CustomerFilter::default() };
    let mut found = customers::list(tx, &state.keyring, user.merchant_id, &filter, after, PAGE_SIZE + 1).await?;
    let next = list_cursor::finish(&mut found, PAGE_SIZE, Customer::sort_key);
    Ok(Ok(Listed { customers: found, next }))
}

fn consent_select(selected: &str) -> Markup {
    html! {
        select #consent name="consent" {
            option value="" selected[selected.is_empty()] { (text::ANY) }
            @for state in ["granted", "revoked", "unknown"] {
                option value=(state) selected[selected == state] { (text::consent_state(state)) }
            }
        }
    }
}

fn render_list(user: &ConsoleUser, query: &CustomersQuery, outcome: Result<Listed, String>) -> Markup {
    let filters =
        [("consent", query.consent.as_str()), ("email", query.email.as_str()), ("phone", query.phone.as_str())];
    layout::page(
        text::CUSTOMERS,
        user,
        Nav::Customers,
        html! {
            p.muted { (text::CUSTOMERS_INTRO) }
            form.stack.filters method="get" action="/console/customers" role="search" {
                label for="consent" { (text::CONSENT) }
                (consent_select(query.consent.trim()))
                label for="email" { (text::EMAIL) }
                input #email type="search" name="email" value=(query.email) autocomplete="off";
                label for="phone" { (text::PHONE) }
                input #phone type="search" name="phone" value=(query.phone) autocomplete="off";
                button.primary type="submit" { (text::SEARCH) }
                a href="/console/customers" { (text::CLEAR) }
            }
            @match outcome {
                Err(message) => { (layout::flash(&message, false)) }
                Ok(listed) => {
                    @if listed.customers.is_empty() {
                        p role="status" { (text::NO_CUSTOMERS) }
                    } @else {
                        table {
                            thead { tr {
                                th scope="col" { (text::NAME) }
                                th scope="col" { (text::PHONE) }
                                th scope="col" { (text::CONSENT) }
                                th scope="col" { (text::ORDER_COUNT) }
                                th scope="col" { (text::LAST_ORDER) }
                            } }
                            tbody {
                                @for customer in &listed.customers {
                                    tr {
                                        td data-label=(text::NAME) { a href=(customer_href(customer.id)) { (display_name(customer)) } }
                                        td data-label=(text::PHONE) { (customer.phone.as_deref().unwrap_or(text::NONE_GIVEN)) }
                                        td data-label=(text::CONSENT) { (consent(customer)) }
                                        td data-label=(text::ORDER_COUNT) { (customer.order_count) }
                                        td data-label=(text::LAST_ORDER) {
                                            @match customer.last_order_at { Some(at) => { (layout::time(at)) } None => { (text::NONE_GIVEN) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    nav.pages aria-label=(text::NEXT_PAGE) {
                        @if query.cursor.as_deref().is_some_and(|c| !c.trim().is_empty()) {
                            a href=(list_cursor::next_href("/console/customers", &filters, "")) { (text::LIST_FIRST_PAGE) }
                            " "
                        }
                        @if let Some(next) = &listed.next {
                            a rel="next" href=(list_cursor::next_href("/console/customers", &filters, next)) { (text::NEXT_PAGE) }
                        }
                    }
                }
            }
        },
    )
}

/// An id in a path; one that is not a UUID names no customer.
fn customer_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| PageError::NotFound(text::NO_SUCH_CUSTOMER.into()))
}

fn not_found() -> PageError {
    PageError::NotFound(text::NO_SUCH_CUSTOMER.into())
}

pub async fn detail(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = customer_id(&id)?;
    render_detail(&state, &user, id, None).await
}

async fn render_detail(
    state: &ConsoleState,
    user: &ConsoleUser,
    id: Uuid,
    flash: Option<(String, bool)>,
) -> Result<Markup, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let customer = customers::find(&mut tx, &state.keyring, user.merchant_id, id).await?.ok_or_else(not_found)?;
    let filter = OrderFilter { customer_id: Some(id), ..OrderFilter::default() };
    let their_orders = orders::list(&mut tx, user.merchant_id, &filter, None, ORDERS_SHOWN).await?;
    commit(tx).await?;
    let base = customer_href(id);
    Ok(layout::page(
        display_name(&customer),
        user,
        Nav::Customers,
        html! {
            @if let Some((message, ok)) = &flash { (layout::flash(message, *ok)) }
            p { a href="/console/customers" { (text::BACK_TO_CUSTOMERS) } }
            @if customer.erased_at.is_some() { p.hint { (text::ERASED_NOTE) } }
            dl {
                dt { (text::EMAIL) } dd { (customer.email.as_deref().unwrap_or(text::NONE_GIVEN)) }
                dt { (text::PHONE) } dd { (customer.phone.as_deref().unwrap_or(text::NONE_GIVEN)) }
                dt { (text::CONSENT) } dd { (consent(&customer)) }
                dt { (text::COUNTRY) } dd { (customer.country_code.as_deref().unwrap_or(text::NONE_GIVEN)) }
                dt { (text::TIME_ZONE) } dd { (customer.timezone.as_deref().unwrap_or(text::NONE_GIVEN)) }
                dt { (text::STORE_CUSTOMER_ID) } dd { (customer.external_id.as_deref().unwrap_or(text::NONE_GIVEN)) }
                dt { (text::CUSTOMER_SINCE) } dd { (layout::time(customer.created_at)) }
                @if let Some(at) = customer.erased_at { dt { (text::ERASED_ON) } dd { (layout::time(at)) } }
                dt { (text::CONVERSATION) }
                dd {
                    @match &customer.conversation {
                        Some(conversation) => { a href=(conversation_href(conversation.id)) { (text::OPEN_CONVERSATION) } }
                        None => { (text::NO_CONVERSATION) }
                    }
                }
            }
            section aria-labelledby="orders" {
                h2 #orders { (text::ORDERS) }
                (orders_table(&their_orders))
            }
            section aria-labelledby="privacy" {
                h2 #privacy { (text::PRIVACY) }
                @if user.may(Role::Owner) {
                    @if customer.erased_at.is_none() {
                        p.hint { (text::EXPORT_HELP) }
                        (layout::post_button(user, &format!("{base}/export"), text::EXPORT, "primary"))
                    }
                    p.hint { (text::ERASE_HELP) }
                    p { a.button.danger href=(format!("{base}/erase")) { (text::ERASE) } }
                } @else {
                    p.hint { (text::ONLY_OWNERS_PRIVACY) }
                }
            }
        },
    ))
}

fn orders_table(their_orders: &[Order]) -> Markup {
    html! {
        @if their_orders.is_empty() {
            p { (text::NO_ORDERS) }
        } @else {
            table {
                thead { tr {
                    th scope="col" { (text::ORDER_NUMBER) }
                    th scope="col" { (text::STATUS) }
                    th scope="col" { (text::TOTAL) }
                    th scope="col" { (text::PLACED) }
                } }
                tbody {
                    @for order in their_orders {
                        tr {
                            td data-label=(text::ORDER_NUMBER) {
                                a href=(order_href(order.id)) { (order.order_number.as_deref().unwrap_or(&order.external_order_id)) }
                            }
                            td data-label=(text::STATUS) { (order.status.as_str()) }
                            td data-label=(text::TOTAL) { (money(order.total_minor, order.currency.as_deref())) }
                            td data-label=(text::PLACED) { (layout::time(order.placed_at.unwrap_or(order.created_at))) }
                        }
                    }
                }
            }
        }
    }
}

fn privacy_error(error: PrivacyError) -> PageError {
    match error {
        PrivacyError::Database(error) => error.into(),
        other => {
            tracing::error!(error = %other, "console: a privacy request failed");
            PageError::Internal
        }
    }
}

fn subject_error(error: SubjectError) -> PageError {
    match error {
        SubjectError::Database(error) => error.into(),
        SubjectError::Phone(_) | SubjectError::Email => not_found(),
    }
}

fn channel(user: &ConsoleUser) -> Channel {
    Channel::Console { actor: user.actor() }
}

/// Downloads everything held about the customer as one JSON document (the API's export),
/// recorded as a privacy request of the console and audited as the user.
pub async fn export(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_EXPORT)?;
    let id = customer_id(&id)?;
    let mut tx = user.transaction(&state.pool).await?;
    let matched = subject::find(&mut tx, &state.keyring, user.merchant_id, &Subject::Id(CustomerId::from_uuid(id)))
        .await
        .map_err(subject_error)?;
    if matched.is_empty() {
        return Err(not_found());
    }
    let outcome = customer_requests::export(&mut tx, &state.keyring, user.merchant_id, &channel(&user), &matched)
        .await
        .map_err(privacy_error)?;
    let document = match outcome {
        ExportOutcome::Exported { document, .. } => document,
        ExportOutcome::Erased { .. } => return Err(PageError::Conflict(text::ERASED_NOTE.into())),
    };
    commit(tx).await?;
    let body = serde_json::to_vec_pretty(&document).map_err(|error| {
        tracing::error!(%error, "console: the export document does not serialize");
        PageError::Internal
    })?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"customer-{id}.json\""))
        .map_err(|_| PageError::Internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// What erasing the customer would clear, in words, from the erasure's own counts.
fn erasure_lines(counts: &Counts) -> Vec<String> {
    let mut lines = vec![
        text::erase_customer_row(counts.customers),
        text::erase_orders(counts.orders),
        text::erase_conversations(counts.conversations),
        text::erase_messages(counts.messages),
        text::erase_follow_ups(counts.follow_ups),
        text::erase_events(counts.events),
    ];
    if counts.import_errors > 0 {
        lines.push(text::erase_import_errors(counts.import_errors));
    }
    if counts.documents > 0 {
        lines.push(text::erase_documents(counts.documents));
    }
    lines
}

/// The confirmation page: exactly what the erasure would clear, and the form that erases.
pub async fn confirm_erase(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_ERASE)?;
    let id = customer_id(&id)?;
    Ok(confirmation(&state, &user, id, None).await?.into_response())
}

async fn confirmation(
    state: &ConsoleState,
    user: &ConsoleUser,
    id: Uuid,
    problem: Option<&str>,
) -> Result<Markup, PageError> {
    let mut tx = user.transaction(&state.pool).await?;
    let customer = customers::find(&mut tx, &state.keyring, user.merchant_id, id).await?.ok_or_else(not_found)?;
    commit(tx).await?;
    let counts = customer_requests::preview_erasure(
        &state.pool,
        &state.keyring,
        user.merchant_id,
        &channel(user),
        CustomerId::from_uuid(id),
    )
    .await
    .map_err(privacy_error)?
    .ok_or_else(not_found)?;
    let base = customer_href(id);
    Ok(layout::page(
        &text::erase_title(display_name(&customer)),
        user,
        Nav::Customers,
        html! {
            @if let Some(problem) = problem { (layout::flash(problem, false)) }
            p { (text::ERASE_INTRO) }
            section aria-labelledby="will" {
                h2 #will { (text::ERASE_WILL) }
                ul.erasure { @for line in erasure_lines(&counts) { li { (line) } } }
            }
            form.stack method="post" action=(format!("{base}/erase")) {
                (layout::csrf_field(user))
                label for="confirm" { (text::ERASE_CONFIRM_FIELD) }
                input #confirm type="text" name="confirm" autocomplete="off" required pattern=(text::ERASE_CONFIRM_WORD);
                button.danger type="submit" { (text::ERASE_CONFIRM) }
                a href=(base) { (text::ERASE_CANCEL) }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    confirm: String,
}

/// Erases the customer once the owner typed the confirmation; audited as the user.
pub async fn erase(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(input): Form<EraseForm>,
) -> Result<Response, PageError> {
    user.require(Role::Owner, text::ACTION_ERASE)?;
    let id = customer_id(&id)?;
    if input.confirm.trim() != text::ERASE_CONFIRM_WORD {
        let page = confirmation(&state, &user, id, Some(text::ERASE_NOT_CONFIRMED)).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let mut tx = user.transaction(&state.pool).await?;
    let matched = subject::find(&mut tx, &state.keyring, user.merchant_id, &Subject::Id(CustomerId::from_uuid(id)))
        .await
        .map_err(subject_error)?;
    if matched.is_empty() {
        return Err(not_found());
    }
    let erased = customer_requests::erase(&mut tx, &state.keyring, user.merchant_id, &channel(&user), &matched)
        .await
        .map_err(privacy_error)?;
    commit(tx).await?;
    let message = if erased.already_erased {
        text::ALREADY_ERASED.to_owned()
    } else {
        text::erased(&erasure_lines(&erased.counts).join("; "))
    };
    Ok(render_detail(&state, &user, id, Some((message, true))).await?.into_response())
}
