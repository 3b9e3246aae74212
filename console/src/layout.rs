//! The page shell every console page uses: the header with the store's navigation, the
//! signed-in user and sign-out, and small shared pieces (forms that POST with the CSRF token,
//! flash messages). Pages read without JavaScript; forms are plain POSTs.
//!
//! A new page adds a [`Nav`] variant and an entry to [`NAV`]; the navigation then lists it for
//! the roles that may open it, and `/console` leads to the first entry the user may see.

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::signed_in::{CSRF_FIELD, ConsoleUser};
use crate::text;
use crate::users::Role;

/// The page a view belongs to, highlighted in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Inbox,
    Orders,
    Customers,
    Analytics,
    Settings,
    Imports,
    Knowledge,
    Users,
    Account,
}

/// One entry of the navigation.
#[derive(Debug, Clone, Copy)]
pub struct NavEntry {
    pub nav: Nav,
    pub href: &'static str,
    pub label: &'static str,
    /// The least role that sees the entry.
    pub needs: Role,
}

/// The navigation, in order. `/console` opens the first entry the user's role may see.
pub const NAV: &[NavEntry] = &[
    NavEntry { nav: Nav::Inbox, href: "/console/inbox", label: text::NAV_INBOX, needs: Role::Viewer },
    NavEntry { nav: Nav::Orders, href: "/console/orders", label: text::NAV_ORDERS, needs: Role::Viewer },
    NavEntry { nav: Nav::Customers, href: "/console/customers", label: text::NAV_CUSTOMERS, needs: Role::Viewer },
    NavEntry { nav: Nav::Analytics, href: "/console/analytics", label: text::NAV_ANALYTICS, needs: Role::Viewer },
    NavEntry { nav: Nav::Settings, href: "/console/settings", label: text::NAV_SETTINGS, needs: Role::Viewer },
    NavEntry { nav: Nav::Imports, href: "/console/imports", label: text::NAV_IMPORTS, needs: Role::Viewer },
    NavEntry { nav: Nav::Knowledge, href: "/console/knowledge", label: text::NAV_KNOWLEDGE, needs: Role::Viewer },
    NavEntry { nav: Nav::Users, href: "/console/settings/users", label: text::NAV_USERS, needs: Role::Viewer },
    NavEntry { nav: Nav::Account, href: "/console/account", label: text::NAV_ACCOUNT, needs: Role::Viewer },
];

/// The first page `user` may open: where `/console` leads.
pub fn home(user: &ConsoleUser) -> &'static str {
    NAV.iter().find(|entry| user.may(entry.needs)).map(|entry| entry.href).unwrap_or("/console/account")
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            title { (title) " · " (text::PRODUCT) " " (text::CONSOLE) }
            link rel="icon" type="image/svg+xml" href="/console/assets/favicon.svg";
            link rel="stylesheet" href="/console/assets/console.css";
        }
    }
}

fn brand() -> Markup {
    html! { a.brand href="/console" { span.logo aria-hidden="true" { "R" } (text::PRODUCT) } }
}

/// A page for a signed-in user: `title` is the heading and the window's title.
pub fn page(title: &str, user: &ConsoleUser, nav: Nav, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(text::LANGUAGE) {
            (head(title))
            body {
                a.skip href="#content" { (text::SKIP_TO_CONTENT) }
                header.topbar {
                    (brand())
                    nav aria-label=(text::MAIN_NAVIGATION) {
                        ul {
                            @for entry in NAV {
                                @if user.may(entry.needs) {
                                    li {
                                        a href=(entry.href) aria-current=[(entry.nav == nav).then_some("page")] {
                                            (entry.label)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        span { (user.email) }
                        span.badge { (text::role(user.role)) }
                        form method="post" action="/console/sign-out" {
                            (csrf_field(user))
                            button.link type="submit" { (text::SIGN_OUT) }
                        }
                    }
                }
                main #content {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page with no navigation: sign-in, the one-time link, errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(text::LANGUAGE) {
            (head(title))
            body {
                header.topbar { (brand()) }
                main #content.narrow { (body) }
            }
        }
    }
}

/// The hidden CSRF field every form of a signed-in page carries.
pub fn csrf_field(user: &ConsoleUser) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(user.csrf); }
}

/// A one-button form that POSTs to `action` with the CSRF token.
pub fn post_button(user: &ConsoleUser, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(user))
            button type="submit" class=(class) { (label) }
        }
    }
}

/// A message at the top of a page: `ok` for done, otherwise a problem (announced to screen readers).
pub fn flash(message: &str, ok: bool) -> Markup {
    html! {
        @if ok { p.flash.ok role="status" { (message) } } @else { p.flash.error role="alert" { (message) } }
    }
}

/// `2026-11-23 10:00` in UTC, with the exact instant for machines.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M UTC")) } }
}
