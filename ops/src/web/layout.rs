//! The page shell: header, navigation, the signed-in operator, and small shared pieces (forms
//! that POST with the CSRF token, times and ages written for people).

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::auth::{CSRF_FIELD, Viewer};
use super::bare::head;
use crate::operators::Role;

/// The section of the board a page belongs to, highlighted in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Queues,
    Jobs,
    Bulk,
    Schedules,
    Operators,
}

const SECTIONS: [(Section, &str, &str, Role); 5] = [
    (Section::Queues, "/ops", "Queues", Role::ReadOnly),
    (Section::Jobs, "/ops/jobs", "Jobs", Role::ReadOnly),
    (Section::Bulk, "/ops/bulk", "Bulk actions", Role::ReadOnly),
    (Section::Schedules, "/ops/schedules", "Schedules", Role::ReadOnly),
    (Section::Operators, "/ops/operators", "Operators", Role::Admin),
];

/// A page of the board for a signed-in operator.
pub fn page(viewer: &Viewer, section: Section, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, Some(viewer.csrf_token())))
            body {
                header.topbar {
                    a.brand href="/ops" { span.logo { "R" } "Recete " span.muted { "queue board" } }
                    nav {
                        @for (each, href, label, needs) in SECTIONS {
                            @if viewer.may(needs) {
                                a href=(href) class=[(each == section).then_some("active")] { (label) }
                            }
                        }
                    }
                    div.who {
                        span { (viewer.operator.name) }
                        span.badge.role { (viewer.operator.role.as_str().replace('_', " ")) }
                        form method="post" action="/ops/sign-out" {
                            (csrf_field(viewer))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf_token()); }
}

/// A button that POSTs to `action` with the CSRF token; `confirm` asks first (board.js).
pub fn post_button(viewer: &Viewer, action: &str, label: &str, class: &str, confirm: Option<&str>) -> Markup {
    html! {
        form.inline method="post" action=(action) data-confirm=[confirm] {
            (csrf_field(viewer))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// `2026-11-23 10:00:01` in UTC, with the exact instant as a tooltip.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) title=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S")) } }
}

pub fn optional_time(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => time(at),
        None => html! { span.muted { "—" } },
    }
}

/// An age for people: `42 s`, `7 min`, `3 h 05 min`, `2 d 4 h`.
pub fn age(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    match secs {
        0..60 => format!("{secs} s"),
        60..3_600 => format!("{} min", secs / 60),
        3_600..86_400 => format!("{} h {:02} min", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

/// A state as a coloured pill.
pub fn state_pill(state: &str) -> Markup {
    html! { span class=(format!("pill state-{state}")) { (state) } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(0.4), "0 s");
        assert_eq!(age(59.0), "59 s");
        assert_eq!(age(420.0), "7 min");
        assert_eq!(age(3.0 * 3600.0 + 300.0), "3 h 05 min");
        assert_eq!(age(2.0 * 86_400.0 + 4.0 * 3600.0), "2 d 4 h");
        assert_eq!(age(-5.0), "0 s");
    }
}
