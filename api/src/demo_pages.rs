//! The demo store's product pages, compiled into the binary and served under `/demo/products/`
//! only when `app.environment` is `development`, so `recete all --demo` can scrape a shop with no
//! store anywhere. In `test` and `production` the routes do not exist (404 like any unknown path).

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

/// One product page of the demo store.
#[derive(Debug, Clone, Copy)]
pub struct DemoPage {
    /// The last part of its path: `/demo/products/{slug}`.
    pub slug: &'static str,
    /// The SKU its JSON-LD gives, which the demo order's line items name.
    pub sku: &'static str,
    pub title: &'static str,
    /// The price its JSON-LD gives, in Turkish lira.
    pub price: &'static str,
    html: &'static str,
}

impl DemoPage {
    /// The page's path on the API's own address.
    pub fn path(&self) -> String {
        format!("{PREFIX}/{}", self.slug)
    }
}

const PREFIX: &str = "/demo/products";

/// The demo store's catalogue: skin care and a supplement, each page with usage, ingredients,
/// warnings and questions the way shops write them.
pub const PAGES: &[DemoPage] = &[
    DemoPage {
        slug: "glow-vitamin-c-serum",
        sku: "GLOW-C-30",
        title: "Glow Vitamin C Serum",
        price: "449.90",
        html: include_str!("demo_pages/glow-vitamin-c-serum.html"),
    },
    DemoPage {
        slug: "calm-retinol-night-cream",
        sku: "CALM-RET-50",
        title: "Calm Retinol Night Cream",
        price: "529.00",
        html: include_str!("demo_pages/calm-retinol-night-cream.html"),
    },
    DemoPage {
        slug: "daily-mineral-sunscreen-spf50",
        sku: "GLOW-SPF50-50",
        title: "Daily Mineral Sunscreen SPF 50",
        price: "389.50",
        html: include_str!("demo_pages/daily-mineral-sunscreen-spf50.html"),
    },
    DemoPage {
        slug: "marine-collagen-capsules",
        sku: "VITA-COLL-60",
        title: "Marine Collagen + Vitamin C Capsules",
        price: "619.00",
        html: include_str!("demo_pages/marine-collagen-capsules.html"),
    },
];

/// The pages' routes; the caller mounts them in development only.
pub fn routes() -> Router<AppState> {
    Router::new().route(PREFIX, get(index)).route(&format!("{PREFIX}/{{slug}}"), get(page))
}

async fn index() -> Html<String> {
    let items: String = PAGES
        .iter()
        .map(|page| format!("<li><a href=\"{}\">{}</a> ({} TRY)</li>", page.path(), page.title, page.price))
        .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Recete Demo Store</title></head>\
         <body><main><h1>Recete Demo Store</h1><ul>{items}</ul></main></body></html>"
    ))
}

async fn page(Path(slug): Path<String>) -> Result<Response, ApiError> {
    let page = PAGES
        .iter()
        .find(|page| page.slug == slug)
        .ok_or_else(|| ApiError::NotFound(format!("the demo store has no product page `{slug}`")))?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page.html).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_names_its_own_sku_and_title() {
        for page in PAGES {
            assert!(page.html.contains(&format!("\"sku\": \"{}\"", page.sku)), "{}", page.slug);
            assert!(page.html.contains(&format!("\"name\": \"{}\"", page.title)), "{}", page.slug);
            assert!(page.html.contains(&format!("\"price\": \"{}\"", page.price)), "{}", page.slug);
        }
    }
}
