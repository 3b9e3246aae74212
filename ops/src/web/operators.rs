//! Operators on the board (admins only): who may sign in, adding one (its token is shown once)
//! and disabling one (their sessions end at once).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::{Markup, html};
use serde::Deserialize;

use super::BoardState;
use super::auth::Viewer;
use super::error::PageError;
use super::layout::{self, Section};
use crate::operators::{self as store, AddedOperator, OperatorError, Role};

pub async fn page(State(state): State<BoardState>, Extension(viewer): Extension<Viewer>) -> Result<Markup, PageError> {
    viewer.require(Role::Admin, "Managing operators")?;
    render(&state, &viewer, None, None).await
}

async fn render(
    state: &BoardState,
    viewer: &Viewer,
    added: Option<&AddedOperator>,
    problem: Option<&str>,
) -> Result<Markup, PageError> {
    let operators = store::list(&state.pool).await?;
    let body = html! {
        h1 { "Operators" }
        @if let Some(added) = added {
            div.flash.ok {
                "Added " strong { (added.name) } " as " (added.role) ". Their token, shown this once: "
                code #new-token { (added.token) }
            }
        }
        @if let Some(problem) = problem { p.flash.error { (problem) } }
        table.grid {
            thead { tr { th { "Name" } th { "Role" } th { "Added" } th { "State" } th {} } }
            tbody {
                @for operator in &operators {
                    tr {
                        td { strong { (operator.name) } }
                        td { (operator.role.as_str()) }
                        td { (layout::time(operator.created_at)) }
                        td {
                            @match operator.disabled_at {
                                Some(at) => { span.pill.state-cancelled { "disabled" } " " span.muted { (at.format("%Y-%m-%d")) } }
                                None => span.pill.state-done { "active" },
                            }
                        }
                        td {
                            @if operator.disabled_at.is_none() && operator.name != viewer.operator.name {
                                (layout::post_button(
                                    viewer,
                                    &format!("/ops/operators/{}/disable", operator.name),
                                    "Disable",
                                    "small danger",
                                    Some(&format!("Disable {}? Their sessions end now.", operator.name)),
                                ))
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add an operator" }
        form.filters method="post" action="/ops/operators" {
            (layout::csrf_field(viewer))
            label { "Name" input type="text" name="name" required pattern="[A-Za-z0-9._-]{1,64}" placeholder="ada"; }
            label {
                "Role"
                select name="role" {
                    @for role in Role::ALL { option value=(role.as_str()) selected[role == Role::ReadOnly] { (role.as_str()) } }
                }
            }
            div.buttons { button.primary type="submit" { "Add" } }
        }
    };
    Ok(layout::page(viewer, Section::Operators, "Operators", body))
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    name: String,
    role: String,
}

pub async fn add(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Form(form): Form<AddForm>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin, "Adding an operator")?;
    let role: Role = form.role.parse().map_err(|e: store::UnknownRole| PageError::BadRequest(e.to_string()))?;
    match store::add(&state.pool, form.name.trim(), role, &viewer.actor()).await {
        Ok(added) => Ok(render(&state, &viewer, Some(&added), None).await?.into_response()),
        Err(OperatorError::Database(error)) => Err(error.into()),
        Err(problem) => {
            let page = render(&state, &viewer, None, Some(&problem.to_string())).await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
    }
}

pub async fn disable(
    State(state): State<BoardState>,
    Extension(viewer): Extension<Viewer>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    viewer.require(Role::Admin, "Disabling an operator")?;
    if name == viewer.operator.name {
        return Err(PageError::Conflict("you cannot disable yourself; ask another admin".into()));
    }
    match store::disable(&state.pool, &name, &viewer.actor(), false).await {
        Ok(_) => Ok(Redirect::to("/ops/operators").into_response()),
        Err(OperatorError::NotFound(name)) => Err(PageError::NotFound(format!("no operator is named `{name}`"))),
        Err(OperatorError::Database(error)) => Err(error.into()),
        Err(problem) => Err(PageError::Conflict(problem.to_string())),
    }
}
