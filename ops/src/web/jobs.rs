//! Jobs: the search page (a bookmarkable URL, keyset "next page" links, the count), one job with
//! its attempts and lazily loaded payload, and retry / cancel / requeue.

use std::collections::HashMap;

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use recete_jobs::QueueName;
use recete_jobs::admin::actions::UnknownAction;
use recete_jobs::admin::search::MAX_PAGE;
use recete_jobs::admin::{
    self as jobs, ActionError, Count, JobAction, JobDetail, JobFilter, JobPage, JobState, PayloadError, SearchError,
};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_shared::audit::{self, AuditEntry};
use serde::Deserialize;
use uuid::Uuid;

use super::BoardState;
use super::auth::Viewer;
use super::error::{JsonError, PageError};
use super::layout::{self, Section};
use crate::operators::Role;

const DEFAULT_PAGE: usize = 50;

/// `/ops/jobs?queue=…&state=…&after=…&limit=…`.
pub async fn list(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let given: HashMap<&str, &str> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let filter = match JobFilter::from_query(&raw) {
        Ok(filter) => filter,
        Err(error) => {
            let body = search_page(&viewer, &given, Err(&error.to_string()), None);
            return Ok((StatusCode::BAD_REQUEST, body).into_response());
        }
    };
    let limit = match given.get("limit").filter(|v| !v.is_empty()) {
        None => DEFAULT_PAGE,
        Some(value) => match value.parse::<usize>() {
            Ok(limit) if (1..=MAX_PAGE).contains(&limit) => limit,
            _ => {
                let problem = format!("limit: must be a number from 1 to {MAX_PAGE}, not `{value}`");
                return Ok((StatusCode::BAD_REQUEST, search_page(&viewer, &given, Err(&problem), None)).into_response());
            }
        },
    };
    let after = given.get("after").copied().filter(|v| !v.is_empty());
    // A submitted form sends every field, empty or not; the canonical URL keeps only the ones
    // set, in a fixed order, so a bookmark or a shared link reads the same.
    let canonical = with_page(&filter.to_query(), after, (limit != DEFAULT_PAGE).then_some(limit));
    if canonical != raw {
        return Ok(Redirect::to(&jobs_url(&canonical)).into_response());
    }
    match jobs::search(&state.pool, &filter, after, limit).await {
        Ok(page) => {
            let paging = Paging { limit, first: after.is_none() };
            Ok(search_page(&viewer, &given, Ok(&filter), Some((&page, paging))).into_response())
        }
        Err(SearchError::Database(error)) => Err(error.into()),
        Err(SearchError::Row(problem)) => {
            tracing::error!(%problem, "board: unreadable job row");
            Err(PageError::Internal)
        }
        Err(error) => {
            let body = search_page(&viewer, &given, Err(&error.to_string()), None);
            Ok((StatusCode::BAD_REQUEST, body).into_response())
        }
    }
}

fn jobs_url(query: &str) -> String {
    if query.is_empty() { "/ops/jobs".to_owned() } else { format!("/ops/jobs?{query}") }
}

fn with_page(filter_query: &str, after: Option<&str>, limit: Option<usize>) -> String {
    let mut query = form_urlencoded::Serializer::new(filter_query.to_owned());
    if let Some(limit) = limit {
        query.append_pair("limit", &limit.to_string());
    }
    if let Some(after) = after {
        query.append_pair("after", after);
    }
    query.finish()
}

/// Where a page of results stands: its size, and whether it is the first.
#[derive(Debug, Clone, Copy)]
struct Paging {
    limit: usize,
    first: bool,
}

impl Paging {
    /// The limit as the URL carries it: absent when it is the default.
    fn in_url(&self) -> Option<usize> {
        (self.limit != DEFAULT_PAGE).then_some(self.limit)
    }
}

fn search_page(
    viewer: &Viewer,
    given: &HashMap<&str, &str>,
    filter: Result<&JobFilter, &str>,
    page: Option<(&JobPage, Paging)>,
) -> Markup {
    let value = |key: &str| given.get(key).copied().unwrap_or_default().to_owned();
    let body = html! {
        h1 { "Jobs" }
        form.filters method="get" action="/ops/jobs" {
            label { "Job id" input type="text" name="id" value=(value("id")) placeholder="UUID"; }
            label {
                "Queue"
                select name="queue" {
                    option value="" { "any" }
                    @for queue in QueueName::ALL { option value=(queue.as_str()) selected[value("queue") == queue.as_str()] { (queue.as_str()) } }
                }
            }
            label {
                "State"
                select name="state" {
                    option value="" { "any" }
                    @for each in JobState::ALL { option value=(each.as_str()) selected[value("state") == each.as_str()] { (each.as_str()) } }
                }
            }
            label { "Kind" input type="text" name="kind" value=(value("kind")) placeholder="order.paid, follow_up…"; }
            label { "Merchant" input type="text" name="merchant" value=(value("merchant")) placeholder="UUID"; }
            label { "Order" input type="text" name="order" value=(value("order")) placeholder="store's or our id"; }
            label { "External id" input type="text" name="external_id" value=(value("external_id")); }
            label { "Created from (UTC)" input type="text" name="from" value=(value("from")) placeholder="2026-11-23T10:00"; }
            label { "Created before (UTC)" input type="text" name="to" value=(value("to")) placeholder="2026-11-24"; }
            div.buttons {
                button.primary type="submit" { "Search" }
                a.button href="/ops/jobs" { "Clear" }
            }
        }
        @match filter {
            Err(problem) => p.flash.error #filter-error { (problem) }
            Ok(filter) => @if let Some((page, paging)) = page { (results(viewer, filter, page, paging)) }
        }
    };
    layout::page(viewer, Section::Jobs, "Jobs", body)
}

fn results(viewer: &Viewer, filter: &JobFilter, page: &JobPage, paging: Paging) -> Markup {
    let query = filter.to_query();
    html! {
        div.summary {
            div #job-count {
                @match page.estimated_total {
                    Count::Exact(n) => { strong { (n) } " matching " (if n == 1 { "job" } else { "jobs" }) }
                    Count::Estimated(n) => { "about " strong { (n) } " matching jobs " span.muted { "(the planner's estimate)" } }
                }
            }
            @if viewer.may(Role::Operator) && !filter.is_empty() {
                div.actions {
                    a.button href=(format!("/ops/bulk/confirm?action=retry&{query}")) { "Retry all matching…" }
                    a.button href=(format!("/ops/bulk/confirm?action=cancel&{query}")) { "Cancel all matching…" }
                }
            }
        }
        @if page.jobs.is_empty() {
            p.muted { "No job matches." }
        } @else {
            table.grid.jobs {
                thead { tr {
                    th { "Job" } th { "Queue" } th { "Kind" } th { "State" } th { "Merchant" }
                    th.num { "Attempts" } th { "Created" } th { "Due" } th { "Last error" }
                } }
                tbody {
                    @for job in &page.jobs {
                        tr data-job-id=(job.id) {
                            td.mono { a href=(format!("/ops/jobs/{}", job.id)) title=(job.id) { (short(job.id)) } }
                            td { (job.queue) }
                            td { (job.kind) }
                            td { (layout::state_pill(job.state.as_str())) }
                            td.mono { a href=(jobs_url(&JobFilter { merchant: Some(job.merchant_id), ..JobFilter::default() }.to_query())) title=(job.merchant_id) { (short(job.merchant_id)) } }
                            td.num { (job.attempts) }
                            td { (layout::time(job.created_at)) }
                            td { (layout::time(job.due_at)) }
                            td.error-text { (job.last_error.as_deref().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
        div.pager {
            @if !paging.first { a.button href=(jobs_url(&with_page(&query, None, paging.in_url()))) { "« First page" } }
            @if let Some(next) = &page.next {
                a.button #next-page href=(jobs_url(&with_page(&query, Some(next), paging.in_url()))) { "Next page »" }
            }
        }
    }
}

/// The random tail of an id: time-ordered ids made in the same second share their head.
fn short(id: Uuid) -> String {
    let simple = id.simple().to_string();
    format!("…{}", &simple[simple.len() - 10..])
}

fn parse_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| {
        PageError::BadRequest(format!("id: `{}` is not a job id (a UUID)", id.chars().take(40).collect::<String>()))
    })
}

#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// `/ops/jobs/{id}`.
pub async fn detail(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Markup, PageError> {
    let id = parse_id(&id)?;
    let job =
        jobs::detail(&state.pool, id).await?.ok_or_else(|| PageError::NotFound(format!("no job has the id {id}")))?;
    let notice = done
        .done
        .and_then(|action| action.parse::<JobAction>().ok())
        .map(|action| format!("Done: {action} — the job is {} now.", job.summary.state));
    Ok(layout::page(
        &viewer,
        Section::Jobs,
        &format!("Job {}", short(id)),
        detail_body(&viewer, &job, notice.as_deref()),
    ))
}

fn detail_body(viewer: &Viewer, job: &JobDetail, notice: Option<&str>) -> Markup {
    let summary = &job.summary;
    let actions: Vec<JobAction> =
        JobAction::ALL.iter().copied().filter(|action| action.applies_to().contains(&summary.state)).collect();
    html! {
        div.titlebar {
            h1 { "Job " span.mono { (summary.id) } }
            a href=(format!("/ops/jobs?queue={}", summary.queue)) { "All " (summary.queue) " jobs" }
        }
        @if let Some(notice) = notice { p.flash.ok { (notice) } }
        div.actions {
            (layout::state_pill(summary.state.as_str()))
            @if viewer.may(Role::Operator) {
                @for action in &actions {
                    (layout::post_button(
                        viewer,
                        &format!("/ops/jobs/{}/{}", summary.id, action.as_str()),
                        &action_label(*action),
                        match action { JobAction::Retry => "primary", JobAction::Cancel => "danger", JobAction::Requeue => "" },
                        (*action == JobAction::Cancel).then_some("Cancel this job? It will not run again unless requeued."),
                    ))
                }
                @if actions.is_empty() { span.muted { "No action applies to a " (summary.state) " job." } }
            } @else {
                span.muted { "Read-only: retrying, cancelling and requeueing need the operator role." }
            }
        }
        div.columns {
            div {
                dl.facts {
                    dt { "Queue" } dd { (summary.queue) }
                    dt { "Kind" } dd { (summary.kind) }
                    dt { "Table" } dd.mono { (summary.table.as_str()) }
                    dt { "Merchant" } dd.mono { (summary.merchant_id) }
                    @if let Some(source) = &job.source { dt { "Source" } dd { (source) } }
                    @if let Some(topic) = &job.topic { dt { "Topic" } dd { (topic) } }
                    @if let Some(subject) = &job.subject_id { dt { "Subject" } dd.mono { (subject) } }
                    @if let Some(order) = job.order_id { dt { "Order" } dd.mono { (order) } }
                    @if let Some(customer) = job.customer_id { dt { "Customer" } dd.mono { (customer) } }
                    @if let Some(external) = &job.external_id { dt { "External id" } dd.mono { (external) } }
                    @if let Some(step) = &job.step { dt { "Step" } dd { (step) } }
                    @if let Some(request) = &job.request_id { dt { "Request id" } dd.mono { (request) } }
                    dt { "Attempts" } dd { (summary.attempts) }
                    dt { "Created" } dd { (layout::time(summary.created_at)) }
                    @if let Some(at) = job.occurred_at { dt { "Occurred" } dd { (layout::time(at)) } }
                    dt { "Due" } dd { (layout::time(summary.due_at)) }
                    dt { "Updated" } dd { (layout::time(summary.updated_at)) }
                    @if let Some(at) = job.finished_at { dt { "Finished" } dd { (layout::time(at)) } }
                    dt { "Handed to Redis" } dd { (layout::optional_time(job.enqueued_at)) " · " (job.enqueue_count) " times" }
                    @if let Some(reason) = &job.status_reason { dt { "Status" } dd { (reason) } }
                    @if let Some(reason) = &job.cancel_reason { dt { "Cancelled" } dd { (reason) } }
                    @if let Some(at) = job.erased_at { dt { "Erased" } dd { "customer erased " (layout::time(at)) } }
                    @if let Some(error) = &job.last_error { dt { "Last error" } dd.error-text { (error) } }
                }
            }
            div.payload #payload data-src=(format!("/ops/jobs/{}/payload", summary.id)) {
                header {
                    strong { "Payload" }
                    span.payload-note { (job.payload_bytes) " bytes stored" }
                    @if viewer.may(Role::Admin) {
                        button.small #reveal-payload type="button" data-url=(format!("/ops/jobs/{}/payload/reveal", summary.id)) { "Reveal" }
                    }
                }
                pre { "Loading…" }
            }
        }
        h2 { "Attempts" }
        @if job.earlier_attempts > 0 { p.muted { (job.earlier_attempts) " earlier attempts are not shown." } }
        @if job.attempts.is_empty() {
            p.muted { "No attempt recorded yet." }
        } @else {
            table.grid.attempts {
                thead { tr {
                    th.num { "#" } th { "Outcome" } th { "Worker" } th { "Due" } th { "Started" }
                    th.num { "Waited" } th.num { "Took" } th { "Error" }
                } }
                tbody {
                    @for attempt in &job.attempts {
                        tr {
                            td.num { (attempt.attempt) }
                            td { (layout::state_pill(&attempt.outcome)) }
                            td.mono { (attempt.worker) }
                            td { (layout::time(attempt.due_at)) }
                            td { (layout::time(attempt.started_at)) }
                            td.num { (span_of(attempt.waited_secs())) }
                            td.num { (span_of(attempt.duration_secs())) }
                            td.error-text { (attempt.error.as_deref().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

/// Milliseconds under a second, tenths under a minute, then the age format.
fn span_of(secs: f64) -> String {
    match secs {
        s if s < 1.0 => format!("{:.0} ms", s.max(0.0) * 1000.0),
        s if s < 60.0 => format!("{s:.1} s"),
        s => layout::age(s),
    }
}

fn action_label(action: JobAction) -> String {
    match action {
        JobAction::Retry => "Retry now",
        JobAction::Cancel => "Cancel",
        JobAction::Requeue => "Requeue",
    }
    .to_owned()
}

/// `/ops/jobs/{id}/payload`: redacted, cut at `ops.payload_preview_bytes`.
pub async fn payload(
    State(state): State<BoardState>,
    Path(id): Path<String>,
) -> Result<Json<jobs::PayloadView>, JsonError> {
    let id = parse_id(&id)?;
    Ok(Json(read_payload(&state, id, false).await?))
}

/// `/ops/jobs/{id}/payload/reveal` (admins): unredacted, and recorded in the audit log first.
pub async fn reveal(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Result<Json<jobs::PayloadView>, JsonError> {
    viewer.require(Role::Admin, "Revealing a payload")?;
    let id = parse_id(&id)?;
    let job =
        jobs::detail(&state.pool, id).await?.ok_or_else(|| PageError::NotFound(format!("no job has the id {id}")))?;
    let mut tx = db::system_tx(&state.pool).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(MerchantId::from_uuid(job.summary.merchant_id)),
            actor: &viewer.actor(),
            action: "job.payload_revealed",
            subject_type: job.summary.table.as_str(),
            subject_id: id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "max_bytes": state.payload_preview_bytes })),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(operator = %viewer.operator.name, job = %id, "board: payload revealed");
    Ok(Json(read_payload(&state, id, true).await?))
}

async fn read_payload(state: &BoardState, id: Uuid, reveal: bool) -> Result<jobs::PayloadView, PageError> {
    match jobs::payload(&state.pool, &state.keyring, id, reveal, state.payload_preview_bytes.max(1)).await {
        Ok(Some(view)) => Ok(view),
        Ok(None) => Err(PageError::NotFound(format!("no job has the id {id}"))),
        Err(PayloadError::Database(error)) => Err(error.into()),
        Err(error) => Err(PageError::Failed(error.to_string())),
    }
}

/// `POST /ops/jobs/{id}/{retry|cancel|requeue}`.
pub async fn act(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let action: JobAction = action.parse().map_err(|e: UnknownAction| PageError::NotFound(e.to_string()))?;
    viewer.require(
        Role::Operator,
        match action {
            JobAction::Retry => "Retrying a job",
            JobAction::Cancel => "Cancelling a job",
            JobAction::Requeue => "Requeueing a job",
        },
    )?;
    let id = parse_id(&id)?;
    match jobs::apply(&state.pool, id, action, &viewer.actor()).await {
        Ok(outcome) => {
            tracing::info!(operator = %viewer.operator.name, job = %id, action = %action, before = %outcome.before, "board: job changed");
            Ok(Redirect::to(&format!("/ops/jobs/{id}?done={action}")).into_response())
        }
        Err(ActionError::NotFound(id)) => Err(PageError::NotFound(format!("no job has the id {id}"))),
        Err(error @ (ActionError::NotApplicable { .. } | ActionError::Busy(_))) => {
            Err(PageError::Conflict(error.to_string()))
        }
        Err(ActionError::Database(error)) => Err(error.into()),
        Err(ActionError::NoActor) => Err(PageError::Internal),
    }
}
