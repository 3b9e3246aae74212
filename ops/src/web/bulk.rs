//! Bulk actions: "retry all matching" or "cancel all matching" on a filtered job list, a
//! confirmation page with the exact count the operator must confirm, the work done on the
//! server in batches, and a progress page that polls.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use maud::{Markup, html};
use recete_jobs::admin::bulk::{self, BulkError, BulkId, BulkProgress, BulkState};
use recete_jobs::admin::{JobAction, JobFilter};
use serde::Deserialize;
use uuid::Uuid;

use super::BoardState;
use super::auth::Viewer;
use super::error::{JsonError, PageError};
use super::layout::{self, Section};
use crate::operators::Role;

/// The actions offered in bulk; requeueing everything finished is too blunt to offer.
const BULK_ACTIONS: [JobAction; 2] = [JobAction::Retry, JobAction::Cancel];

/// Continues, in the background, every bulk action an earlier process left running.
pub fn resume_unfinished(state: &BoardState) {
    let (pool, batch, stop) = (state.pool.clone(), state.bulk_batch_size, state.stopping.clone());
    tokio::spawn(async move {
        match bulk::resume_unfinished_until(&pool, batch, &stop).await {
            Ok(resumed) if !resumed.is_empty() => tracing::info!(count = resumed.len(), "board: bulk actions resumed"),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "board: unfinished bulk actions could not be resumed; next start tries again")
            }
        }
    });
}

fn spawn_run(state: &BoardState, id: BulkId) {
    let (pool, batch, stop) = (state.pool.clone(), state.bulk_batch_size, state.stopping.clone());
    tokio::spawn(async move {
        match bulk::run_until(&pool, id, batch, &stop).await {
            Ok(progress) => {
                tracing::info!(bulk = %id, state = progress.state.as_str(), changed = progress.changed, "board: bulk action ran")
            }
            Err(error) => tracing::warn!(bulk = %id, %error, "board: bulk action stopped"),
        }
    });
}

fn parse_action(name: Option<&str>) -> Result<JobAction, PageError> {
    let name = name.unwrap_or_default();
    BULK_ACTIONS
        .into_iter()
        .find(|action| action.as_str() == name)
        .ok_or_else(|| PageError::BadRequest(format!("action: `{name}` is not a bulk action (retry or cancel)")))
}

fn verb(action: JobAction) -> &'static str {
    match action {
        JobAction::Retry => "Retry",
        JobAction::Cancel => "Cancel",
        JobAction::Requeue => "Requeue",
    }
}

fn bulk_error(error: BulkError) -> PageError {
    match error {
        BulkError::Database(error) => error.into(),
        BulkError::NotFound(id) => PageError::NotFound(format!("no bulk action has the id {id}")),
        error @ (BulkError::CountChanged { .. } | BulkError::NothingToDo { .. }) => {
            PageError::Conflict(error.to_string())
        }
        error @ BulkError::Filter(_) => PageError::BadRequest(error.to_string()),
        error => {
            tracing::error!(%error, "board: bulk action error");
            PageError::Failed(error.to_string())
        }
    }
}

/// The filter of a bulk request: every pair but `action`, which must not be empty.
fn filter_of(query: &str) -> Result<JobFilter, PageError> {
    let pairs = form_urlencoded::parse(query.as_bytes()).filter(|(key, _)| key != "action");
    let filter = JobFilter::from_pairs(pairs).map_err(|e| PageError::BadRequest(e.to_string()))?;
    if filter.is_empty() {
        return Err(PageError::BadRequest("a bulk action needs at least one filter; search for the jobs first".into()));
    }
    Ok(filter)
}

fn describe(filter: &JobFilter) -> Markup {
    html! {
        ul.muted {
            @for (key, value) in form_urlencoded::parse(filter.to_query().as_bytes()) {
                li { (key) " = " code { (value) } }
            }
        }
    }
}

/// `GET /ops/bulk/confirm?action=retry&<filter>`: the exact count, to confirm.
pub async fn confirm(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(raw): RawQuery,
) -> Result<Markup, PageError> {
    viewer.require(Role::Operator, "Acting on jobs in bulk")?;
    let raw = raw.unwrap_or_default();
    let action =
        parse_action(form_urlencoded::parse(raw.as_bytes()).find(|(k, _)| k == "action").map(|(_, v)| v).as_deref())?;
    let filter = filter_of(&raw)?;
    let count = bulk::count_matching(&state.pool, &filter, action).await.map_err(bulk_error)?;
    let query = filter.to_query();
    let body = html! {
        h1 { (verb(action)) " all matching jobs" }
        div.confirm-box {
            @if count == 0 {
                p { "No job matching this search can be " (action.leads_to()) " by " (action) " now: nothing to do." }
                p { a href=(format!("/ops/jobs?{query}")) { "Back to the jobs" } }
            } @else {
                p { "This will " strong { (action) } " exactly" }
                p.count #bulk-count { (count) " " (if count == 1 { "job" } else { "jobs" }) }
                p { "that match:" }
                (describe(&filter))
                p.muted {
                    "Only jobs in a state " (action) " applies to are counted ("
                    (action.applies_to().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
                    "). They are changed in batches of " (state.bulk_batch_size) "; jobs created from now on are left alone."
                }
                form.actions method="post" action="/ops/bulk" {
                    (layout::csrf_field(&viewer))
                    input type="hidden" name="action" value=(action.as_str());
                    input type="hidden" name="filter" value=(query);
                    input type="hidden" name="count" value=(count);
                    button.primary #confirm-bulk type="submit" { (verb(action)) " " (count) " jobs" }
                    a.button href=(format!("/ops/jobs?{query}")) { "Back" }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Section::Bulk, "Confirm bulk action", body))
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    action: String,
    filter: String,
    count: String,
}

/// `POST /ops/bulk`: starts the confirmed action and shows its progress.
pub async fn start(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Form(form): Form<StartForm>,
) -> Result<Response, PageError> {
    viewer.require(Role::Operator, "Acting on jobs in bulk")?;
    let action = parse_action(Some(&form.action))?;
    let filter = filter_of(&form.filter)?;
    let confirmed: i64 = form
        .count
        .trim()
        .parse()
        .map_err(|_| PageError::BadRequest(format!("count: `{}` is not a number of jobs", form.count)))?;
    let id = match bulk::start(&state.pool, &filter, action, &viewer.actor(), confirmed).await {
        Ok(id) => id,
        Err(error @ BulkError::CountChanged { .. }) => {
            let query = filter.to_query();
            let body = html! {
                h1 { "The count changed" }
                p.flash.warn { (error) }
                p { a.button.primary href=(format!("/ops/bulk/confirm?action={}&{query}", action.as_str())) { "See the new count" } }
            };
            return Ok(
                (StatusCode::CONFLICT, layout::page(&viewer, Section::Bulk, "The count changed", body)).into_response()
            );
        }
        Err(error) => return Err(bulk_error(error)),
    };
    tracing::info!(operator = %viewer.operator.name, bulk = %id, action = %action, count = confirmed, "board: bulk action started");
    spawn_run(&state, id);
    Ok(Redirect::to(&format!("/ops/bulk/{id}")).into_response())
}

fn operator_name(actor: &str) -> &str {
    actor.strip_prefix("operator:").unwrap_or(actor)
}

fn parse_bulk_id(id: &str) -> Result<Uuid, PageError> {
    id.parse().map_err(|_| {
        PageError::BadRequest(format!(
            "id: `{}` is not a bulk action id (a UUID)",
            id.chars().take(40).collect::<String>()
        ))
    })
}

async fn find(state: &BoardState, id: &str) -> Result<BulkProgress, PageError> {
    let id = parse_bulk_id(id)?;
    bulk::progress(&state.pool, id)
        .await
        .map_err(bulk_error)?
        .ok_or_else(|| PageError::NotFound(format!("no bulk action has the id {id}")))
}

/// `GET /ops/bulk/{id}`: progress, refreshed by the page while it runs.
pub async fn page(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let bulk = find(&state, &id).await?;
    let running = bulk.state == BulkState::Running;
    let body = html! {
        h1 { (verb(bulk.action)) " in bulk" }
        div.progress #bulk-progress data-poll=(format!("/ops/bulk/{}/progress", bulk.id)) data-running=(running) {
            div {
                span class=(format!("progress-state pill state-{}", bulk.state.as_str())) {
                    (bulk.state.as_str()) @if let Some(error) = &bulk.error { ": " (error) }
                }
            }
            progress max=(bulk.expected_count.max(1)) value=(bulk.processed) {}
            div.progress-text { (bulk.processed) " of " (bulk.expected_count) " processed, " (bulk.changed) " changed" }
            div.muted { "Requested by " (operator_name(&bulk.requested_by)) " at " (layout::time(bulk.created_at)) }
            (describe(&bulk.filter))
            div.actions {
                a.button href=(format!("/ops/jobs?{}", bulk.filter.to_query())) { "See the jobs" }
                @if running && viewer.may(Role::Operator) {
                    span #bulk-stop {
                        (layout::post_button(
                            &viewer,
                            &format!("/ops/bulk/{}/cancel", bulk.id),
                            "Stop",
                            "danger",
                            Some("Stop this bulk action? Jobs already changed stay changed."),
                        ))
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Section::Bulk, "Bulk action", body))
}

/// `GET /ops/bulk/{id}/progress`, for the page's polling and for scripts.
pub async fn progress(
    State(state): State<BoardState>,
    Path(id): Path<String>,
) -> Result<Json<BulkProgress>, JsonError> {
    Ok(Json(find(&state, &id).await?))
}

/// `POST /ops/bulk/{id}/cancel`: stops between batches; what changed stays changed.
pub async fn cancel(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    viewer.require(Role::Operator, "Stopping a bulk action")?;
    let id = parse_bulk_id(&id)?;
    bulk::cancel(&state.pool, id, &viewer.actor()).await.map_err(bulk_error)?;
    Ok(Redirect::to(&format!("/ops/bulk/{id}")).into_response())
}

/// `GET /ops/bulk`: the latest bulk actions.
pub async fn list(State(state): State<BoardState>, Extension(viewer): Extension<Viewer>) -> Result<Markup, PageError> {
    let recent = bulk::recent(&state.pool, 50).await.map_err(bulk_error)?;
    let body = html! {
        h1 { "Bulk actions" }
        p.muted { "Start one from a filtered " a href="/ops/jobs" { "job search" } " with “Retry all matching” or “Cancel all matching”." }
        @if recent.is_empty() {
            p.muted { "None yet." }
        } @else {
            table.grid {
                thead { tr { th { "Started" } th { "Action" } th { "Filter" } th { "By" } th { "State" } th.num { "Processed" } th.num { "Changed" } } }
                tbody {
                    @for bulk in &recent {
                        tr {
                            td { a href=(format!("/ops/bulk/{}", bulk.id)) { (layout::time(bulk.created_at)) } }
                            td { (bulk.action) }
                            td.mono { (bulk.filter.to_query()) }
                            td { (operator_name(&bulk.requested_by)) }
                            td { (layout::state_pill(bulk.state.as_str())) }
                            td.num { (bulk.processed) " / " (bulk.expected_count) }
                            td.num { (bulk.changed) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Section::Bulk, "Bulk actions", body))
}
