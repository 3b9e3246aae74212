//! The queue list (`/ops`): depth by state, the oldest ready job, recent throughput and failure
//! share, live workers and busy slots, and pausing. The page polls `/ops/queues.json` and says
//! when it last read the queues; a failed read shows the error instead of going quiet.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use recete_jobs::QueueName;
use recete_jobs::control;
use recete_jobs::stats::{self, QueueOverview};
use recete_platform::db;
use recete_shared::audit::{self, AuditEntry};
use serde::Deserialize;

use super::BoardState;
use super::auth::Viewer;
use super::error::{JsonError, PageError};
use super::layout::{self, Section};
use crate::operators::Role;

/// Throughput and failure share are counted over this window.
const RECENT_WINDOW: Duration = Duration::from_secs(300);

#[derive(Debug, Deserialize)]
pub struct Notice {
    paused: Option<String>,
    resumed: Option<String>,
}

pub async fn page(
    State(state): State<BoardState>,
    viewer: axum::Extension<Viewer>,
    Query(notice): Query<Notice>,
) -> Response {
    let read = read(&state).await;
    let status = if read.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let notice = notice
        .paused
        .map(|queue| format!("{queue} is paused: its jobs stay in PostgreSQL until it is resumed."))
        .or(notice.resumed.map(|queue| format!("{queue} is resumed.")));
    let body = html! {
        div.titlebar {
            h1 { "Queues" }
            p.muted #read-status data-poll="/ops/queues.json" {
                @match &read {
                    Ok(_) => { "Read at " span #read-at { (Utc::now().format("%H:%M:%S")) } " UTC · refreshes every 5 s" }
                    Err(_) => { "Not read" }
                }
            }
        }
        @if let Some(notice) = notice { p.flash.ok { (notice) } }
        p.flash.error #read-error hidden[read.is_ok()] {
            @if let Err(error) = &read { "Could not read the queues: " (error) }
        }
        table.grid.queues {
            thead {
                tr {
                    th { "Queue" }
                    th.num { "Pending" } th.num { "Running" } th.num { "Retrying" } th.num { "Scheduled" } th.num { "Dead" }
                    th.num title="Age of the oldest job that is due and not yet taken" { "Oldest ready" }
                    th.num title="Jobs finished in the last 5 minutes, per minute" { "Done / min" }
                    th.num title="Share of attempts that failed in the last 5 minutes" { "Failed" }
                    th.num { "Workers" } th.num { "Busy slots" }
                    th { "State" }
                }
            }
            tbody #queue-rows {
                @if let Ok(queues) = &read { (rows(&viewer, &state, queues)) }
            }
        }
    };
    (status, layout::page(&viewer, Section::Queues, "Queues", body)).into_response()
}

/// What the page polls: the rendered rows and when they were read, or the error.
pub async fn poll(
    State(state): State<BoardState>,
    viewer: axum::Extension<Viewer>,
) -> Result<Json<serde_json::Value>, JsonError> {
    let queues = read(&state).await.map_err(JsonError)?;
    Ok(Json(serde_json::json!({
        "read_at": Utc::now(),
        "rows_html": rows(&viewer, &state, &queues).into_string(),
        "queues": queues.iter().map(queue_json).collect::<Vec<_>>(),
    })))
}

fn queue_json(queue: &QueueOverview) -> serde_json::Value {
    serde_json::json!({
        "queue": queue.queue.as_str(),
        "pending": queue.pending,
        "running": queue.running,
        "retrying": queue.retrying,
        "scheduled": queue.scheduled,
        "dead": queue.dead,
        "oldest_ready_age_secs": queue.oldest_ready_age_secs,
        "succeeded_recently": queue.succeeded_recently,
        "failed_recently": queue.failed_recently,
        "live_workers": queue.live_workers,
        "slots": queue.slots,
        "busy_slots": queue.busy_slots,
        "paused": queue.paused,
    })
}

async fn read(state: &BoardState) -> Result<Vec<QueueOverview>, PageError> {
    Ok(stats::overview(&state.pool, RECENT_WINDOW, state.heartbeat).await?)
}

/// Why a queue needs a look, if it does: work and nobody to do it, or work waiting too long.
fn warning(queue: &QueueOverview, oldest_job_warning_secs: u64) -> Option<String> {
    let has_work = queue.pending + queue.running + queue.retrying > 0;
    if has_work && queue.live_workers == 0 {
        return Some("work waiting and no live worker".to_owned());
    }
    match queue.oldest_ready_age_secs {
        Some(age) if age > oldest_job_warning_secs as f64 => {
            Some(format!("oldest ready job waited {}", layout::age(age)))
        }
        _ => None,
    }
}

fn rows(viewer: &Viewer, state: &BoardState, queues: &[QueueOverview]) -> Markup {
    html! {
        @for queue in queues {
            @let warning = warning(queue, state.oldest_job_warning_secs);
            @let attempts = queue.succeeded_recently + queue.failed_recently;
            tr class=[warning.as_ref().map(|_| "warn")] {
                td {
                    a href=(format!("/ops/jobs?queue={}", queue.queue)) { strong { (queue.queue) } }
                    @if let Some(warning) = &warning { div.warning { "⚠ " (warning) } }
                }
                td.num { (count_link(queue.queue.as_str(), "pending", queue.pending)) }
                td.num { (plain_count(queue.running)) }
                td.num { (count_link(queue.queue.as_str(), "retrying", queue.retrying)) }
                td.num { (count_link(queue.queue.as_str(), "scheduled", queue.scheduled)) }
                td.num.bad[queue.dead > 0] { (count_link(queue.queue.as_str(), "dead", queue.dead)) }
                td.num { @match queue.oldest_ready_age_secs { Some(age) => (layout::age(age)), None => span.muted { "—" } } }
                td.num { (format!("{:.1}", queue.succeeded_recently as f64 / (RECENT_WINDOW.as_secs_f64() / 60.0))) }
                td.num.bad[queue.failed_recently > 0] {
                    @if attempts == 0 { span.muted { "—" } }
                    @else { (format!("{:.0} %", 100.0 * queue.failed_recently as f64 / attempts as f64)) }
                }
                td.num { (plain_count(queue.live_workers)) }
                td.num { (queue.busy_slots) " / " (queue.slots) }
                td {
                    @match &queue.paused {
                        Some(pause) => {
                            span.pill.state-paused title=(format!("by {} at {}", pause.paused_by, pause.paused_at.format("%Y-%m-%d %H:%M:%S"))) { "paused" }
                            @if viewer.may(Role::Operator) {
                                " " (layout::post_button(viewer, &format!("/ops/queues/{}/resume", queue.queue), "Resume", "small", None))
                            }
                        }
                        None => {
                            span.pill.state-done { "active" }
                            @if viewer.may(Role::Operator) {
                                " " (layout::post_button(
                                    viewer,
                                    &format!("/ops/queues/{}/pause", queue.queue),
                                    "Pause",
                                    "small",
                                    Some(&format!("Pause {}? Its jobs stay in PostgreSQL until it is resumed.", queue.queue)),
                                ))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn plain_count(count: i64) -> Markup {
    html! { @if count == 0 { span.muted { "0" } } @else { (count) } }
}

fn count_link(queue: &str, state: &str, count: i64) -> Markup {
    html! {
        @if count == 0 { span.muted { "0" } }
        @else { a href=(format!("/ops/jobs?queue={queue}&state={state}")) { (count) } }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum PauseChange {
    Pause,
    Resume,
}

pub async fn pause(
    state: State<BoardState>,
    viewer: axum::Extension<Viewer>,
    queue: Path<String>,
) -> Result<Response, PageError> {
    change(state, viewer, queue, PauseChange::Pause).await
}

pub async fn resume(
    state: State<BoardState>,
    viewer: axum::Extension<Viewer>,
    queue: Path<String>,
) -> Result<Response, PageError> {
    change(state, viewer, queue, PauseChange::Resume).await
}

async fn change(
    State(state): State<BoardState>,
    axum::Extension(viewer): axum::Extension<Viewer>,
    Path(queue): Path<String>,
    change: PauseChange,
) -> Result<Response, PageError> {
    let (action, verb) = match change {
        PauseChange::Pause => ("Pausing a queue", "paused"),
        PauseChange::Resume => ("Resuming a queue", "resumed"),
    };
    viewer.require(Role::Operator, action)?;
    let queue: QueueName = queue.parse().map_err(|e: control::UnknownQueue| PageError::NotFound(e.to_string()))?;
    let actor = viewer.actor();
    let mut tx = db::system_tx(&state.pool).await?;
    let changed = match change {
        PauseChange::Pause => control::pause(&mut tx, queue, &actor, None).await?,
        PauseChange::Resume => control::resume(&mut tx, queue).await?,
    };
    if changed {
        audit::record(
            &mut tx,
            AuditEntry {
                merchant_id: None,
                actor: &actor,
                action: if matches!(change, PauseChange::Pause) { "queue.paused" } else { "queue.resumed" },
                subject_type: "queue",
                subject_id: queue.as_str().to_owned(),
                event_id: None,
                before: Some(serde_json::json!({ "paused": matches!(change, PauseChange::Resume) })),
                after: Some(serde_json::json!({ "paused": matches!(change, PauseChange::Pause) })),
            },
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(operator = %viewer.operator.name, queue = %queue, verb, changed, "board: queue {verb}");
    Ok(Redirect::to(&format!("/ops?{verb}={}", queue.as_str())).into_response())
}
