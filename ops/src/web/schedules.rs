//! `/ops/schedules`: the fleet's periodic jobs, when each last ran and succeeded, when the next
//! run is due and how late it is.

use axum::Extension;
use axum::extract::State;
use maud::{Markup, html};
use recete_jobs::admin::schedules;

use super::BoardState;
use super::auth::Viewer;
use super::error::PageError;
use super::layout::{self, Section};

pub async fn page(State(state): State<BoardState>, Extension(viewer): Extension<Viewer>) -> Result<Markup, PageError> {
    let views = schedules::schedules_with_tick(&state.pool, state.housekeeping_tick).await?;
    let tick_secs = state.housekeeping_tick.as_secs_f64();
    let body = html! {
        h1 { "Schedules" }
        p.muted { "Each periodic job runs once per period across the whole fleet. A job that runs at each housekeeping tick may be up to one tick (" (layout::age(tick_secs)) ") late without harm." }
        table.grid.schedules {
            thead { tr {
                th { "Job" } th { "Runs" } th { "Last run" } th { "Last success" } th { "Next run" } th.num { "Late by" }
                th { "Last state" } th.num { "Attempts" } th { "Last error" }
            } }
            tbody {
                @for view in &views {
                    @let late = view.lateness_secs.filter(|secs| *secs > tick_secs);
                    tr class=[late.map(|_| "warn")] {
                        td { strong { (view.job) } }
                        td { (view.every) }
                        td { (layout::optional_time(view.last_run_at)) }
                        td { (layout::optional_time(view.last_success_at)) }
                        td { (layout::optional_time(view.next_run_at)) }
                        td.num { @match view.lateness_secs { Some(secs) if secs > 0.0 => (layout::age(secs)), _ => span.muted { "—" } } }
                        td { @match &view.last_state { Some(state) => (layout::state_pill(state)), None => span.muted { "never ran" } } }
                        td.num { @if let Some(attempts) = view.attempts { (attempts) " / " (view.max_attempts) } }
                        td.error-text { (view.last_error.as_deref().unwrap_or_default()) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&viewer, Section::Schedules, "Schedules", body))
}
