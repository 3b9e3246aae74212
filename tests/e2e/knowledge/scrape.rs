//! `POST /api/products/scrape`: a product page fetched, read and embedded, and the address guard
//! refusing a page on the fleet's own network.

use recete_workers::Pool;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{WAIT_SECS, shop, spawn_knowledge_app};

const PAGE_PATH: &str = "/products/glow-serum";

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Glow Vitamin C Serum | Glow Store</title>
  <script type="application/ld+json">
    {"@context": "https://schema.org", "@type": "Product", "name": "Glow Vitamin C Serum",
     "description": "A light vitamin C serum that evens out skin tone.",
     "brand": {"@type": "Brand", "name": "Glow"}, "sku": "GLOW-C-30",
     "offers": {"@type": "Offer", "price": "249.90", "priceCurrency": "TRY"}}
  </script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/cart">Cart</a></nav>
  <main>
    <h1>Glow Vitamin C Serum</h1>
    <p>Our brightest serum for dull, tired skin.</p>
    <h2>How to use</h2>
    <p>Apply four drops to clean, dry skin every morning.</p>
    <p>Follow with moisturiser and sunscreen.</p>
    <h2>Ingredients</h2>
    <p>Aqua, Ascorbic Acid, Glycerin.</p>
    <h2>Precautions</h2>
    <p>Avoid contact with the eyes.</p>
  </main>
</body>
</html>"#;

async fn product_page() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(PAGE_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "text/html; charset=utf-8"))
        .mount(&server)
        .await;
    server
}

#[derive(sqlx::FromRow)]
struct ScrapedRow {
    title: String,
    brand: Option<String>,
    sku: Option<String>,
    url: Option<String>,
    source: String,
    scrape_state: String,
    scrape_error: Option<String>,
    sections: Value,
    attributes: Value,
}

async fn product_row(app: &crate::helpers::TestApp, id: Uuid) -> ScrapedRow {
    sqlx::query_as(
        "SELECT title, brand, sku, url, source, scrape_state, scrape_error, sections, attributes
         FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.admin)
    .await
    .expect("product")
}

async fn schedule(app: &crate::helpers::TestApp, shop: &super::Shop, url: &str) -> Uuid {
    let response = shop.post(app, "/api/products/scrape", &json!({ "url": url })).await;
    assert_eq!(response.status(), 202);
    let scheduled: Value = response.json().await.expect("JSON body");
    assert_eq!(scheduled["status"], "queued");
    scheduled["product_id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("product id")
}

#[tokio::test]
async fn a_scraped_page_becomes_a_titled_product_with_embedded_sections() {
    let page = product_page().await;
    let app = spawn_knowledge_app(|figment| figment.merge(("scrape.allow_loopback", true))).await;
    let shop = shop(&app).await;
    let _workers = app.start_pools(&[Pool::Knowledge]);
    let url = format!("{}{PAGE_PATH}", page.uri());

    let product = schedule(&app, &shop, &url).await;
    assert_eq!(product_row(&app, product).await.scrape_state, "pending");
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'scrape' AND state = 'done' AND status_reason = 'scraped'",
        1,
        WAIT_SECS,
    )
    .await;
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'embed' AND state = 'done'", 1, WAIT_SECS)
        .await;

    let row = product_row(&app, product).await;
    assert_eq!(row.title, "Glow Vitamin C Serum", "the page's title replaces the placeholder");
    assert_eq!((row.brand.as_deref(), row.sku.as_deref()), (Some("Glow"), Some("GLOW-C-30")));
    assert_eq!(row.url.as_deref(), Some(url.as_str()));
    assert_eq!((row.source.as_str(), row.scrape_state.as_str()), ("scrape", "done"));
    assert_eq!(row.scrape_error, None);
    assert_eq!(row.attributes["price"], "249.90");
    let sections = row.sections.as_array().expect("sections");
    let section = |kind: &str| {
        sections.iter().find(|s| s["kind"] == kind).unwrap_or_else(|| panic!("a {kind} section: {sections:?}"))
    };
    assert_eq!(section("usage")["heading"], "How to use");
    assert!(section("usage")["text"].as_str().is_some_and(|t| t.contains("Apply four drops")), "{sections:?}");
    assert_eq!(section("ingredients")["text"], "Aqua, Ascorbic Acid, Glycerin.");
    assert_eq!(section("warnings")["heading"], "Precautions");

    let embedded: Vec<(String, String)> =
        sqlx::query_as("SELECT section, model FROM knowledge_chunks WHERE product_id = $1 ORDER BY position")
            .bind(product)
            .fetch_all(&app.admin)
            .await
            .expect("chunks");
    let kinds: Vec<&str> = embedded.iter().map(|(section, _)| section.as_str()).collect();
    for wanted in ["usage", "ingredients", "warnings"] {
        assert!(kinds.contains(&wanted), "a {wanted} chunk: {kinds:?}");
    }
    assert!(embedded.iter().all(|(_, model)| model == "all-MiniLM-L6-v2"));
    let page_requests = page.received_requests().await.unwrap_or_default();
    assert_eq!(page_requests.iter().filter(|request| request.url.path() == PAGE_PATH).count(), 1);
}

#[tokio::test]
async fn a_page_on_a_loopback_address_is_refused_without_a_request_and_the_merchant_sees_no_address() {
    let page = product_page().await;
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;
    let _workers = app.start_pools(&[Pool::Knowledge]);

    // A name that resolves to the fleet's own loopback, and a literal private address.
    let port = page.address().port();
    let by_name = schedule(&app, &shop, &format!("http://localhost:{port}{PAGE_PATH}")).await;
    let literal = schedule(&app, &shop, "http://10.0.0.5/products/internal").await;
    app.wait_for_count(
        "SELECT count(*) FROM scheduled_tasks WHERE kind = 'scrape' AND state = 'cancelled'",
        2,
        WAIT_SECS,
    )
    .await;

    let reasons: Vec<String> = sqlx::query_scalar("SELECT cancel_reason FROM scheduled_tasks WHERE kind = 'scrape'")
        .fetch_all(&app.admin)
        .await
        .expect("reasons");
    for (product, host) in [(by_name, "localhost"), (literal, "10.0.0.5")] {
        let shown = shop.get_json(&app, &format!("/api/products/{product}")).await;
        assert_eq!(shown["scrape_state"], "failed", "{shown}");
        let error = shown["scrape_error"].as_str().expect("a scrape error").to_owned();
        assert!(error.contains(host) && error.contains("not public"), "{error}");
        for leak in ["127.0.0.1", "::1", "loopback", "private"] {
            assert!(!error.contains(leak), "the merchant's message names {leak}: {error}");
            assert!(reasons.iter().all(|reason| !reason.contains(leak)), "{reasons:?}");
        }
        let row = product_row(&app, product).await;
        assert_eq!(row.title, "(untitled)");
    }
    assert!(reasons.iter().all(|reason| reason.starts_with("not scraped: ")), "{reasons:?}");
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'embed'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM knowledge_chunks").await, 0);
    assert!(page.received_requests().await.unwrap_or_default().is_empty(), "the page server saw no request");
}
