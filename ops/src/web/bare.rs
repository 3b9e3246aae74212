//! What every page of the board has before anyone signs in: the document head, and the bare
//! page (no navigation) of sign-in and errors. Errors render here, so they need nothing of the
//! signed-in shell in [`super::layout`].

use maud::{DOCTYPE, Markup, html};

pub(super) fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="same-origin";
            @if let Some(token) = csrf { meta name="csrf-token" content=(token); }
            title { (title) " · Recete queue board" }
            link rel="icon" type="image/svg+xml" href="/ops/assets/favicon.svg";
            link rel="stylesheet" href="/ops/assets/board.css";
            script src="/ops/assets/board.js" defer {}
        }
    }
}

/// A page with no navigation: sign-in and errors.
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body {
                header.topbar { a.brand href="/ops" { span.logo { "R" } "Recete " span.muted { "queue board" } } }
                (body)
            }
        }
    }
}
