//! Knowledge: the products the answering agent knows, with how many chunks of their text it can
//! quote, where their scrape stands and where their text came from; a product's page shows its
//! sections and each stored chunk with the section it came from. Read through
//! `recete_knowledge::catalogue`, as the API's product routes are. Another merchant's product is
//! not found (row-level security).

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use recete_knowledge::SectionKind;
use recete_knowledge::catalogue::{self, ProductFilter, ProductSummary};
use recete_knowledge::products;
use recete_shared::audit::{self, AuditEntry};
use recete_shared::merchants;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::commit;
use crate::error::PageError;
use crate::layout::{self, Nav};
use crate::signed_in::ConsoleUser;
use crate::users::Role;
use crate::{ConsoleState, text};

/// Products listed per page.
const PAGE_SIZE: i64 = 25;
/// The longest search text.
const MAX_QUERY: usize = 200;
/// The longest section text, as the API takes it.
const MAX_SECTION: usize = 20_000;
/// The sections owners edit here, with their form fields.
const EDITABLE: [(SectionKind, &str); 4] = [
    (SectionKind::Usage, "usage"),
    (SectionKind::Ingredients, "ingredients"),
    (SectionKind::Warnings, "warnings"),
    (SectionKind::Faq, "faq"),
];

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/knowledge", get(list))
        .route("/console/knowledge/products/{id}", get(product))
        .route("/console/knowledge/products/{id}/sections", post(edit_sections))
        .route("/console/knowledge/scrape", post(scrape))
        .route("/console/knowledge/ask", post(ask))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    scrape_state: Option<String>,
    /// The last product of the previous page: `<created_at RFC 3339>,<id>`.
    before: Option<String>,
}

const SCRAPE_STATES: [&str; 4] = ["none", "pending", "done", "failed"];

fn parse_before(cursor: &str) -> Result<(DateTime<Utc>, Uuid), PageError> {
    let bad = || PageError::BadRequest(text::BAD_PAGE_LINK.into());
    let (at, id) = cursor.split_once(',').ok_or_else(bad)?;
    let at = DateTime::parse_from_rfc3339(at).map_err(|_| bad())?.with_timezone(&Utc);
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// `q` as a LIKE pattern matching itself literally.
fn search_pattern(q: &str) -> Result<String, PageError> {
    if q.chars().count() > MAX_QUERY || q.contains('\0') {
        return Err(PageError::BadRequest(text::search_too_long(MAX_QUERY)));
    }
    Ok(q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// The catalogue with chunk counts, scrape states and sources, newest first.
pub async fn list(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Query(query): Query<ListQuery>,
) -> Result<Markup, PageError> {
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let scrape_state = match query.scrape_state.as_deref().filter(|s| !s.is_empty()) {
        Some(name) if SCRAPE_STATES.contains(&name) => Some(name.to_owned()),
        Some(name) => return Err(PageError::BadRequest(text::unknown_scrape_state(name))),
        None => None,
    };
    let filter = ProductFilter {
        pattern: q.map(search_pattern).transpose()?,
        scrape_state: scrape_state.clone(),
        updated_from: None,
        updated_to: None,
        before: query.before.as_deref().map(parse_before).transpose()?,
    };
    let mut tx = user.transaction(&state.pool).await?;
    let mut products = catalogue::list(&mut tx, user.merchant_id, &filter, PAGE_SIZE + 1).await?;
    commit(tx).await?;
    let more = products.len() as i64 > PAGE_SIZE;
    products.truncate(PAGE_SIZE as usize);
    let next =
        more.then(|| products.last().map(|last| format!("{},{}", last.created_at.to_rfc3339(), last.id))).flatten();
    Ok(layout::page(
        text::KNOWLEDGE,
        &user,
        Nav::Knowledge,
        html! {
            p.muted { (text::KNOWLEDGE_INTRO) }
            @if user.may(Role::Owner) {
                section aria-labelledby="scrape" {
                    h2 #scrape { (text::SCRAPE_A_URL) }
                    form.stack method="post" action="/console/knowledge/scrape" {
                        (layout::csrf_field(&user))
                        label for="url" { (text::PRODUCT_PAGE_URL) }
                        input #url type="url" name="url" required maxlength="2048" aria-describedby="url_hint";
                        p.hint #url_hint { (text::SCRAPE_HINT) }
                        button.primary type="submit" { (text::SCRAPE_BUTTON) }
                    }
                }
            }
            (ask_form(&user, ""))
            form.filters method="get" action="/console/knowledge" {
                label for="q" { (text::SEARCH_PRODUCTS) }
                input #q type="text" name="q" value=[q] maxlength=(MAX_QUERY);
                label for="scrape_state" { (text::SCRAPE_STATE) }
                select #scrape_state name="scrape_state" {
                    option value="" { (text::FILTER_ANY) }
                    @for name in SCRAPE_STATES {
                        option value=(name) selected[scrape_state.as_deref() == Some(name)] { (text::scrape_state(name)) }
                    }
                }
                button type="submit" { (text::FILTER) }
            }
            @if products.is_empty() {
                p { (text::NO_PRODUCTS) }
            } @else {
                (products_table(&products))
            }
            @if let Some(before) = next {
                p { a href=(next_href(q, scrape_state.as_deref(), &before)) { (text::OLDER_PRODUCTS) } }
            }
        },
    ))
}

fn next_href(q: Option<&str>, scrape_state: Option<&str>, before: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(q) = q {
        query.append_pair("q", q);
    }
    if let Some(state) = scrape_state {
        query.append_pair("scrape_state", state);
    }
    query.append_pair("before", before);
    format!("/console/knowledge?{}", query.finish())
}

fn products_table(products: &[ProductSummary]) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (text::PRODUCT_TITLE) } th scope="col" { (text::SKU) } th scope="col" { (text::CHUNKS) }
                th scope="col" { (text::SCRAPE_STATE) } th scope="col" { (text::SOURCE) } th scope="col" { (text::EMBEDDED) }
            } }
            tbody {
                @for product in products {
                    tr {
                        td data-label=(text::PRODUCT_TITLE) { a href=(format!("/console/knowledge/products/{}", product.id)) { (product.title) } }
                        td data-label=(text::SKU) { (product.sku.as_deref().unwrap_or("")) }
                        td data-label=(text::CHUNKS) { (product.chunk_count) }
                        td data-label=(text::SCRAPE_STATE) { (text::scrape_state(&product.scrape_state)) }
                        td data-label=(text::SOURCE) { (text::product_source(&product.source)) }
                        td data-label=(text::EMBEDDED) {
                            @if let Some(at) = product.embedded_at { (layout::time(at)) } @else { (text::NOT_YET) }
                        }
                    }
                }
            }
        }
    }
}

/// What is still being done to a product that the page waits for: its page read, then its text
/// embedded (a product that was never read and has no text has nothing outstanding).
fn outstanding_work(product: &catalogue::ProductDetail) -> Option<&'static str> {
    if product.scrape_state == "pending" {
        Some(text::SCRAPE_PENDING)
    } else if product.scrape_state == "done" && (product.embedded_at.is_none() || product.embedding_pending) {
        Some(text::EMBEDDING_IN_PROGRESS)
    } else {
        None
    }
}

/// One product: its facts, sections and chunks.
pub async fn product(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let not_found = || PageError::NotFound(text::NO_SUCH_PRODUCT.into());
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let mut tx = user.transaction(&state.pool).await?;
    let product = catalogue::detail(&mut tx, id).await?.ok_or_else(not_found)?;
    let chunks = catalogue::chunks(&mut tx, id).await?;
    commit(tx).await?;
    Ok(layout::page(
        &product.title,
        &user,
        Nav::Knowledge,
        html! {
            script src="/console/assets/knowledge.js" defer {}
            p { a href="/console/knowledge" { (text::BACK_TO_KNOWLEDGE) } }
            @if let Some(work) = outstanding_work(&product) {
                p.hint #scrape-pending data-refresh-ms="2000" role="status" { (work) " " a href=(format!("/console/knowledge/products/{}", product.id)) { (text::REFRESH) } }
            }
            dl {
                @if let Some(sku) = &product.sku { dt { (text::SKU) } dd { (sku) } }
                @if let Some(brand) = &product.brand { dt { (text::BRAND) } dd { (brand) } }
                @if let Some(url) = &product.url { dt { (text::PAGE) } dd { a href=(url) rel="noreferrer noopener" { (url) } } }
                dt { (text::SOURCE) } dd { (text::product_source(&product.source)) }
                dt { (text::SCRAPE_STATE) } dd #scrape-state { (text::scrape_state(&product.scrape_state)) }
                @if let Some(error) = &product.scrape_error { dt { (text::SCRAPE_ERROR) } dd { (error) } }
                @if let Some(at) = product.scraped_at { dt { (text::SCRAPED) } dd { (layout::time(at)) } }
                dt { (text::CHUNKS) } dd { (product.chunk_count) }
                dt { (text::EMBEDDED) } dd {
                    @if let Some(at) = product.embedded_at { (layout::time(at)) } @else { (text::NOT_YET) }
                    @if product.embedding_pending { " " span.badge { (text::EMBEDDING_PENDING) } }
                }
            }
            section aria-labelledby="sections" {
                h2 #sections { (text::SECTIONS) }
                @if let Some(description) = &product.description {
                    h3 { (text::DESCRIPTION) }
                    p { (description) }
                }
                @if product.sections.is_empty() && product.description.is_none() {
                    p { (text::NO_SECTIONS) }
                }
                @for section in &product.sections {
                    h3 { (section.heading.as_deref().unwrap_or(text::section_kind(section.kind.as_str()))) }
                    p.muted { (text::section_kind(section.kind.as_str())) }
                    p { (section.text) }
                }
            }
            @if user.may(Role::Owner) {
                section aria-labelledby="edit-sections" {
                    h2 #edit-sections { (text::EDIT_SECTIONS) }
                    p.muted { (text::EDIT_SECTIONS_INTRO) }
                    form.stack method="post" action=(format!("/console/knowledge/products/{}/sections", product.id)) {
                        (layout::csrf_field(&user))
                        @for (kind, field) in EDITABLE {
                            label for=(field) { (text::section_kind(kind.as_str())) }
                            textarea id=(field) name=(field) rows="5" maxlength=(MAX_SECTION) {
                                (product.sections.iter().find(|s| s.kind == kind).map(|s| s.text.as_str()).unwrap_or(""))
                            }
                        }
                        button.primary type="submit" { (text::SAVE_SECTIONS) }
                    }
                }
            }
            section aria-labelledby="chunks" {
                h2 #chunks { (text::CHUNKS_HEADING) }
                p.muted { (text::CHUNKS_INTRO) }
                @if chunks.is_empty() {
                    p { (text::NO_CHUNKS) }
                } @else {
                    table {
                        thead { tr { th scope="col" { (text::SECTION) } th scope="col" { (text::CHUNK_TEXT) } th scope="col" { (text::FROM_PAGE) } } }
                        tbody {
                            @for chunk in &chunks {
                                tr {
                                    td data-label=(text::SECTION) { (text::section_kind(&chunk.section)) }
                                    td data-label=(text::CHUNK_TEXT) { (chunk.content) }
                                    td data-label=(text::FROM_PAGE) { (product.url.as_deref().unwrap_or(text::NO_PAGE)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct SectionsForm {
    #[serde(default)]
    usage: String,
    #[serde(default)]
    ingredients: String,
    #[serde(default)]
    warnings: String,
    #[serde(default)]
    faq: String,
}

/// Replaces the usage, ingredients, warnings and FAQ sections (an empty one is removed); when
/// the text changed, the product is embedded again, as the API's product update does.
pub async fn edit_sections(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Form(form): Form<SectionsForm>,
) -> Result<Redirect, PageError> {
    user.require(Role::Owner, text::ACTION_EDIT_SECTIONS)?;
    let not_found = || PageError::NotFound(text::NO_SUCH_PRODUCT.into());
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let texts = [&form.usage, &form.ingredients, &form.warnings, &form.faq];
    for ((kind, _), text) in EDITABLE.iter().zip(texts) {
        if text.chars().count() > MAX_SECTION {
            return Err(PageError::BadRequest(text::section_too_long(text::section_kind(kind.as_str()), MAX_SECTION)));
        }
    }
    let mut tx = user.transaction(&state.pool).await?;
    let before = products::lock_for_edit(&mut tx, id).await?.ok_or_else(not_found)?;
    let mut after = before.clone();
    for ((kind, _), text) in EDITABLE.iter().zip(texts) {
        after = products::with_section(&after, *kind, text);
    }
    products::save_edit(&mut tx, user.merchant_id, id, &before, &after, &user.actor()).await?;
    commit(tx).await?;
    Ok(Redirect::to(&format!("/console/knowledge/products/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct ScrapeForm {
    url: String,
}

/// Queues a fetch of a product page (the product with this URL, created if none has it), as the
/// API's scrape does, and opens the product, whose page follows the scrape until it is done.
pub async fn scrape(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(form): Form<ScrapeForm>,
) -> Result<Redirect, PageError> {
    user.require(Role::Owner, text::ACTION_SCRAPE)?;
    let url = form.url.trim();
    if let Some(problem) = products::url_problem(url) {
        return Err(PageError::BadRequest(text::bad_product_url(problem)));
    }
    let mut tx = user.transaction(&state.pool).await?;
    let (product_id, task_id) = products::request_scrape(&mut tx, user.merchant_id, url, None)
        .await?
        .ok_or_else(|| PageError::NotFound(text::NO_SUCH_PRODUCT.into()))?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action: "product.scrape_requested",
            subject_type: "product",
            subject_id: product_id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "task_id": task_id.as_uuid() })),
        },
    )
    .await?;
    commit(tx).await?;
    Ok(Redirect::to(&format!("/console/knowledge/products/{product_id}")))
}

fn ask_form(user: &ConsoleUser, question: &str) -> Markup {
    html! {
        section aria-labelledby="ask" {
            h2 #ask { (text::ASK_TEST_QUESTION) }
            p.muted { (text::ASK_INTRO) }
            form.stack method="post" action="/console/knowledge/ask" {
                (layout::csrf_field(user))
                label for="question" { (text::QUESTION) }
                textarea #question name="question" rows="3" maxlength=(MAX_QUESTION) required { (question) }
                button.primary type="submit" { (text::ASK_BUTTON) }
            }
        }
    }
}

/// The longest test question.
const MAX_QUESTION: usize = 2000;

#[derive(Debug, Deserialize)]
pub struct AskForm {
    question: String,
}

/// The agent, loaded on first use from the settings the workers use.
async fn agent(state: &ConsoleState) -> Result<Arc<recete_agent::Agent>, PageError> {
    let settings = state.settings.clone();
    state
        .agent
        .get_or_try_init(|| async move {
            let embedding = settings.embedding.clone();
            let embedder = tokio::task::spawn_blocking(move || recete_embed::from_settings(&embedding))
                .await
                .map_err(|error| {
                    tracing::error!(%error, "console: loading the embedder stopped");
                    PageError::Internal
                })?
                .map_err(|error| {
                    tracing::error!(%error, "console: cannot load the embedder");
                    PageError::Unavailable
                })?;
            Ok(Arc::new(recete_agent::Agent::new(embedder, None, settings.agent.clone())))
        })
        .await
        .cloned()
}

/// The answer the agent would give to `question`, its citations and the guardrails' verdict,
/// computed with the real agent in a transaction that is rolled back: nobody is messaged and
/// no conversation is written.
pub async fn ask(
    State(state): State<ConsoleState>,
    user: ConsoleUser,
    Form(form): Form<AskForm>,
) -> Result<Markup, PageError> {
    let question = form.question.trim();
    if question.is_empty() || question.chars().count() > MAX_QUESTION {
        return Err(PageError::BadRequest(text::question_length(MAX_QUESTION)));
    }
    let agent = agent(&state).await?;
    let mut tx = user.transaction(&state.pool).await?;
    let store_language =
        merchants::voice(&mut tx, user.merchant_id).await?.map(|(_, language)| language).unwrap_or_default();
    let inquiry = recete_agent::Inquiry {
        merchant: user.merchant_id,
        merchant_name: text::TEST_STORE_NAME,
        store_language,
        customer: recete_platform::ids::CustomerId::generate(),
        text: question,
        history: &[],
    };
    let reply = agent.respond(&mut tx, &inquiry).await.map_err(|error| {
        tracing::error!(error = %format!("{error:#}"), "console: the test question failed");
        PageError::Internal
    })?;
    // Nothing the agent did is kept.
    tx.rollback().await?;
    Ok(layout::page(
        text::ASK_TEST_QUESTION,
        &user,
        Nav::Knowledge,
        html! {
            p { a href="/console/knowledge" { (text::BACK_TO_KNOWLEDGE) } }
            section aria-labelledby="answer" #test-answer {
                h2 #answer { (text::THE_ANSWER) }
                blockquote { (reply.text) }
                dl {
                    dt { (text::INTENT) } dd { (reply.intent.as_str()) }
                    dt { (text::ANSWERED_BY) } dd { (format!("{:?}", reply.mode).to_lowercase()) }
                    dt { (text::GUARDRAILS) } dd #guardrail {
                        @match &reply.guardrail {
                            Some(record) => { (text::guardrail_blocked(&record.rule, &record.detail)) }
                            None => { (text::GUARDRAILS_PASSED) }
                        }
                    }
                    @if let Some(reason) = &reply.handoff { dt { (text::HANDED_OVER) } dd { (reason) } }
                }
                h3 { (text::CITATIONS) }
                @if reply.citations.is_empty() {
                    p #no-citations { (text::NO_CITATIONS) }
                } @else {
                    table #citations {
                        thead { tr { th scope="col" { (text::PRODUCT_TITLE) } th scope="col" { (text::SECTION) } th scope="col" { (text::SIMILARITY) } } }
                        tbody {
                            @for citation in &reply.citations {
                                tr {
                                    td data-label=(text::PRODUCT_TITLE) { (citation.product_title) }
                                    td data-label=(text::SECTION) { (text::section_kind(&citation.section)) }
                                    td data-label=(text::SIMILARITY) { (format!("{:.2}", citation.similarity)) }
                                }
                            }
                        }
                    }
                }
            }
            (ask_form(&user, question))
        },
    ))
}
