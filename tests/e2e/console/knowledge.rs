//! The knowledge page: products with their chunk counts, scrape state and source; a product's
//! sections and the chunks the real local embedder stored for it; another merchant's product is
//! not found.

use recete_console::users::Role;
use recete_knowledge::products::{self, ProductInput, Source};
use recete_knowledge::{Section, SectionKind};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use recete_shared::tasks;
use recete_workers::Pool;
use reqwest::StatusCode;
use uuid::Uuid;

use super::{ConsoleApp, spawn_console};

/// A product with usage and warnings, queued for embedding as the API's create does.
async fn seed_product(console: &ConsoleApp, merchant: MerchantId) -> Uuid {
    let input = ProductInput {
        sku: Some("SERUM-30".into()),
        external_id: None,
        title: "Vitamin C Serum".into(),
        url: Some("https://shop.example/serum".into()),
        brand: Some("Glow".into()),
        description: Some("A brightening serum with 15% vitamin C.".into()),
        sections: vec![
            Section {
                kind: SectionKind::Usage,
                heading: Some("How to use".into()),
                text: "Apply three drops to clean skin every morning before sunscreen.".into(),
            },
            Section {
                kind: SectionKind::Warnings,
                heading: None,
                text: "Stop using it if your skin stings or turns red.".into(),
            },
        ],
    };
    let mut tx = db::tenant_tx(&console.app.pool, merchant).await.expect("tenant transaction");
    let saved = products::upsert(&mut tx, merchant, &input, Source::Api).await.expect("product saved");
    tasks::schedule_embedding(&mut tx, merchant, saved.id).await.expect("embedding scheduled");
    tx.commit().await.expect("committed");
    saved.id
}

#[tokio::test]
async fn products_show_their_chunk_counts_sections_and_chunks_and_stay_with_their_merchant() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let viewer = console.user(merchant, "viewer@shop.example", Role::Viewer).await;
    let product = seed_product(&console, merchant).await;

    let _workers = console.app.start_pools(&[Pool::Knowledge]);
    console
        .app
        .wait_for_count(
            &format!("SELECT count(*) FROM products WHERE id = '{product}' AND embedded_at IS NOT NULL"),
            1,
            120,
        )
        .await;
    let chunks =
        console.app.count(&format!("SELECT count(*) FROM knowledge_chunks WHERE product_id = '{product}'")).await;
    assert!(chunks > 0, "the embedder stored chunks");

    let list = console.get_html(&viewer, "/console/knowledge").await;
    assert!(list.contains("Vitamin C Serum") && list.contains("SERUM-30"), "{list}");
    assert!(list.contains(&format!("<td data-label=\"Chunks\">{chunks}</td>")), "the chunk count: {list}");
    assert!(list.contains("not asked for") && list.contains("the API"), "scrape state and source: {list}");
    assert!(list.contains(&format!("/console/knowledge/products/{product}")));
    let searched = console.get_html(&viewer, "/console/knowledge?q=sunscreen").await;
    assert!(!searched.contains("SERUM-30"), "the search matches titles and SKUs only");
    let by_sku = console.get_html(&viewer, "/console/knowledge?q=serum-3").await;
    assert!(by_sku.contains("Vitamin C Serum"));
    assert_eq!(console.get(&viewer, "/console/knowledge?scrape_state=lost").await.status(), StatusCode::BAD_REQUEST);

    let page = console.get_html(&viewer, &format!("/console/knowledge/products/{product}")).await;
    for expected in [
        "How to use",
        "Apply three drops to clean skin every morning before sunscreen.",
        "Warnings",
        "Stop using it if your skin stings or turns red.",
        "<td data-label=\"Section\">Usage</td>",
        "<td data-label=\"Cited as\">https://shop.example/serum</td>",
    ] {
        assert!(page.contains(expected), "the product page shows {expected:?}: {page}");
    }

    let other = console.app.merchant().await;
    let stranger = console.user(other, "owner@other.example", Role::Owner).await;
    let response = console.get(&stranger, &format!("/console/knowledge/products/{product}")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!console.get_html(&stranger, "/console/knowledge").await.contains("Vitamin C Serum"));
    assert_eq!(console.get(&stranger, "/console/knowledge/products/not-an-id").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_owner_edits_sections_which_is_audited_and_embedded_again_and_others_may_not() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;
    let agent = console.user(merchant, "agent@shop.example", Role::Agent).await;
    let product = seed_product(&console, merchant).await;
    let _workers = console.app.start_pools(&[Pool::Knowledge]);
    let embedded = format!("SELECT count(*) FROM products WHERE id = '{product}' AND embedded_at IS NOT NULL");
    console.app.wait_for_count(&embedded, 1, 120).await;
    let path = format!("/console/knowledge/products/{product}/sections");
    let page = console.get_html(&owner, &format!("/console/knowledge/products/{product}")).await;
    assert!(page.contains(&format!("action=\"{path}\"")), "owners get the editor");
    assert!(!console.get_html(&agent, &format!("/console/knowledge/products/{product}")).await.contains(&path));

    let fields = [
        ("usage", "Apply two drops at night only."),
        ("ingredients", "Ascorbic acid, water, glycerin."),
        ("warnings", "Stop using it if your skin stings or turns red."),
        ("faq", ""),
    ];
    let refused = console.post(&agent, &path, &fields).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let text = refused.text().await.expect("page");
    assert!(text.contains("edit a product's text") && text.contains("agent"), "{text}");
    let no_token = console
        .client
        .post(console.url(&path))
        .header(reqwest::header::COOKIE, &owner.cookie)
        .form(&fields)
        .send()
        .await
        .expect("sent");
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    assert!(console.audited("product.updated").await.is_empty(), "nothing changed");

    let saved = console.post(&owner, &path, &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let audited = console.audited("product.updated").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "user:owner@shop.example");
    assert_eq!(audited[0].1.map(|id| id.to_string()), Some(merchant.to_string()));
    console
        .app
        .wait_for_count(
            &format!(
                "SELECT count(*) FROM knowledge_chunks WHERE product_id = '{product}' AND content LIKE '%two drops at night%'"
            ),
            1,
            120,
        )
        .await;
    let page = console.get_html(&owner, &format!("/console/knowledge/products/{product}")).await;
    assert!(page.contains("Ascorbic acid, water, glycerin.") && !page.contains("three drops"), "{page}");

    let other = console.app.merchant().await;
    let stranger = console.user(other, "owner@other.example", Role::Owner).await;
    assert_eq!(console.post(&stranger, &path, &fields).await.status(), StatusCode::NOT_FOUND);
}

/// A product page as a shop serves it, with the sections the reader recognises.
pub(super) const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Night Repair Cream | Glow</title></head>
<body><main>
<h1>Night Repair Cream</h1>
<p>A rich cream that repairs dry skin overnight.</p>
<h2>How to use</h2>
<p>Warm a pea-sized amount between your fingers and press it into clean skin every evening.</p>
<h2>Warnings</h2>
<p>For external use only. Keep away from the eyes.</p>
</main></body></html>"#;

#[tokio::test]
async fn an_owner_has_a_local_page_read_and_its_chunks_show() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/products/night-cream"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PAGE, "text/html; charset=utf-8"))
        .mount(&server)
        .await;
    let console = super::spawn_console_with(|figment| figment.merge(("scrape.allow_loopback", true))).await;
    let merchant = console.app.merchant().await;
    let owner = console.user(merchant, "owner@shop.example", Role::Owner).await;
    let viewer = console.user(merchant, "viewer@shop.example", Role::Viewer).await;
    let url = format!("{}/products/night-cream", server.uri());

    let refused = console.post(&viewer, "/console/knowledge/scrape", &[("url", &url)]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.expect("page").contains("viewer"));
    let bad = console.post(&owner, "/console/knowledge/scrape", &[("url", "ftp://shop.example/x")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(console.app.count("SELECT count(*) FROM products").await, 0, "nothing changed");

    let asked = console.post(&owner, "/console/knowledge/scrape", &[("url", &url)]).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let product_path = super::location(&asked);
    let pending = console.get_html(&owner, &product_path).await;
    assert!(pending.contains("id=\"scrape-pending\"") && pending.contains("/console/assets/knowledge.js"), "{pending}");
    let audited = console.audited("product.scrape_requested").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, "user:owner@shop.example");

    let _workers = console.app.start_pools(&[Pool::Knowledge]);
    console.app.wait_for_count("SELECT count(*) FROM products WHERE scrape_state <> 'pending'", 1, 60).await;
    let (state, error): (String, Option<String>) = sqlx::query_as("SELECT scrape_state, scrape_error FROM products")
        .fetch_one(&console.app.admin)
        .await
        .expect("product");
    assert_eq!(state, "done", "{error:?}");
    console.app.wait_for_count("SELECT count(*) FROM products WHERE embedded_at IS NOT NULL", 1, 120).await;
    let page = console.get_html(&owner, &product_path).await;
    assert!(!page.contains("id=\"scrape-pending\""), "done: no more refreshing");
    assert!(page.contains("Night Repair Cream"), "{page}");
    assert!(page.contains("press it into clean skin every evening"), "a chunk of the page: {page}");
    assert!(page.contains(&format!("<td data-label=\"Cited as\">{url}</td>")), "{page}");
}

#[tokio::test]
async fn a_test_question_gets_the_agents_cited_answer_or_a_refusal_and_writes_nothing() {
    let console = spawn_console().await;
    let merchant = console.app.merchant().await;
    let viewer = console.user(merchant, "viewer@shop.example", Role::Viewer).await;
    let product = seed_product(&console, merchant).await;
    let _workers = console.app.start_pools(&[Pool::Knowledge]);
    console
        .app
        .wait_for_count(
            &format!("SELECT count(*) FROM products WHERE id = '{product}' AND embedded_at IS NOT NULL"),
            1,
            120,
        )
        .await;

    let answered =
        console.post(&viewer, "/console/knowledge/ask", &[("question", "How do I apply the vitamin C serum?")]).await;
    assert_eq!(answered.status(), StatusCode::OK);
    let page = answered.text().await.expect("page");
    assert!(page.contains("three drops"), "the answer quotes the usage: {page}");
    assert!(page.contains("id=\"citations\"") && page.contains("Vitamin C Serum"), "cited: {page}");
    assert!(page.contains("<dd id=\"guardrail\">passed</dd>"), "{page}");

    let refused =
        console.post(&viewer, "/console/knowledge/ask", &[("question", "What is the capital of Australia?")]).await;
    assert_eq!(refused.status(), StatusCode::OK);
    let page = refused.text().await.expect("page");
    assert!(page.contains("id=\"no-citations\""), "nothing cited: {page}");
    assert!(!page.contains("three drops") && !page.contains("Canberra"), "{page}");

    let empty = console.post(&viewer, "/console/knowledge/ask", &[("question", "  ")]).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let no_token = console
        .client
        .post(console.url("/console/knowledge/ask"))
        .header(reqwest::header::COOKIE, &viewer.cookie)
        .form(&[("question", "How do I apply it?")])
        .send()
        .await
        .expect("sent");
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);

    for table in ["messages", "conversations", "customers"] {
        assert_eq!(console.app.count(&format!("SELECT count(*) FROM {table}")).await, 0, "{table}");
    }
}
