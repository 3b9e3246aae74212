//! Whole scrapes of realistic product pages.

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use recete_scrape::{Scraper, Section, SectionKind};

use crate::support::{USER_AGENT, serve, settings};

const WITH_JSON_LD: &str = include_str!("../fixtures/product_with_json_ld.html");
const WITH_OPENGRAPH: &str = include_str!("../fixtures/product_with_opengraph.html");

fn section(kind: SectionKind, heading: Option<&str>, text: &str) -> Section {
    Section { kind, heading: heading.map(str::to_owned), text: text.to_owned() }
}

#[tokio::test]
async fn a_page_with_json_ld_gives_its_structured_fields_and_sections() {
    let router = Router::new().route(
        "/products/vitamin-c-serum",
        get(|| async { ([(CONTENT_TYPE, "text/html; charset=utf-8")], WITH_JSON_LD) }),
    );
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let product = scraper.scrape(&server.url("/products/vitamin-c-serum")).await.expect("the page scrapes");

    assert_eq!(product.url.as_str(), server.url("/products/vitamin-c-serum"));
    assert_eq!(product.title.as_deref(), Some("Vitamin C Brightening Serum"));
    assert_eq!(product.description.as_deref(), Some("A lightweight serum with 15% vitamin C that evens skin tone."));
    assert_eq!(product.brand.as_deref(), Some("Lumen"));
    assert_eq!(product.sku.as_deref(), Some("LUM-VC-30"));
    assert_eq!(product.image.as_deref(), Some(server.url("/cdn/products/serum-front.jpg").as_str()));
    assert_eq!(product.price.as_deref(), Some("249.90"));
    assert_eq!(product.currency.as_deref(), Some("TRY"));
    let node = product.json_ld.expect("the Product node is kept");
    assert_eq!(node["@type"], "Product");
    assert_eq!(node["offers"][0]["availability"], "https://schema.org/InStock");
    assert_eq!(
        product.sections,
        vec![
            section(
                SectionKind::Overview,
                None,
                "Our best-selling serum for dull, tired skin.\nSuitable for all skin types."
            ),
            section(
                SectionKind::Usage,
                Some("How to use"),
                "Apply 3 drops to clean, dry skin.\nFollow with moisturiser and SPF in the morning."
            ),
            section(SectionKind::Ingredients, Some("Ingredients"), "Aqua, Ascorbic Acid, Glycerin, Ferulic Acid."),
            section(
                SectionKind::Warnings,
                Some("Precautions"),
                "Avoid contact with eyes.\nDiscontinue use if irritation occurs."
            ),
            section(SectionKind::Details, Some("Shipping & returns"), "Free shipping over 500 TRY."),
        ]
    );
    let page_requests: Vec<_> =
        server.requests().into_iter().filter(|seen| seen.path == "/products/vitamin-c-serum").collect();
    assert_eq!(page_requests.len(), 1);
    assert_eq!(page_requests[0].user_agent.as_deref(), Some(USER_AGENT), "the configured user agent is sent");
}

#[tokio::test]
async fn a_page_without_json_ld_is_read_from_opengraph_and_headings() {
    let router =
        Router::new().route("/toner", get(|| async { ([(CONTENT_TYPE, "application/xhtml+xml")], WITH_OPENGRAPH) }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let product = scraper.scrape(&server.url("/toner")).await.expect("the page scrapes");

    assert_eq!(product.title.as_deref(), Some("Rose Water Toner"));
    assert_eq!(product.description.as_deref(), Some("Alcohol-free toner with Isparta rose water."));
    assert_eq!(product.image.as_deref(), Some("http://cdn.bahar.example/toner.jpg"));
    assert_eq!((product.price.as_deref(), product.currency.as_deref()), (Some("189.00"), Some("TRY")));
    assert!(product.json_ld.is_none() && product.brand.is_none() && product.sku.is_none());
    assert_eq!(
        product.sections,
        vec![
            // The page has no text before its first heading, so the description stands in.
            section(SectionKind::Overview, None, "Alcohol-free toner with Isparta rose water."),
            section(SectionKind::Usage, Some("Usage"), "Apply with a cotton pad\nmorning and evening."),
            section(
                SectionKind::Faq,
                Some("Is it suitable for sensitive skin?"),
                "Yes, it is fragrance-free apart from the rose water."
            ),
            section(SectionKind::Details, Some("Delivery"), "Ships within 2 business days."),
        ]
    );
}
