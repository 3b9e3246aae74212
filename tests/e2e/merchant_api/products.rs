//! Products: the list page by page with its filters, one product in full, partial edits that
//! re-embed only when the text changes, deletion that keeps order lines, and other merchants'
//! products out of reach.

use std::collections::HashSet;

use recete_workers::Pool;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Tenant, assert_malformed_id, every_page, ids, json_with, misnamed_fields, tenant};
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

fn serum() -> Value {
    json!({
        "sku": "GLW-C-30",
        "title": "Glow Vitamin C Serum",
        "brand": "Glow",
        "description": "A light vitamin C serum that evens out skin tone.",
        "usage": "Apply four drops to clean, dry skin every morning.",
        "warnings": "Avoid contact with the eyes.",
        "faq": [{"question": "Can I use it with retinol?", "answer": "Yes, retinol at night, the serum in the morning."}]
    })
}

async fn create(app: &TestApp, tenant: &Tenant, body: &Value) -> Uuid {
    let saved = json_with(tenant.post(app, "/api/products", body).await, 201).await;
    saved["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("product id")
}

async fn embed_task_state(app: &TestApp, product: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT state FROM scheduled_tasks WHERE unique_key = $1")
        .bind(format!("embed:{product}"))
        .fetch_optional(&app.admin)
        .await
        .expect("embed task")
}

#[tokio::test]
async fn the_catalogue_pages_without_repeats_and_filters_by_text_state_and_time() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let mut created = Vec::new();
    for index in 0..7 {
        let title = if index % 2 == 0 { format!("Glow Serum no. {index}") } else { format!("Night Cream no. {index}") };
        created.push(create(&app, &shop, &json!({"sku": format!("GLW-{index}"), "title": title})).await);
    }
    created.push(create(&app, &shop, &json!({"sku": "OTHER-1", "title": "100% Cotton Pads"})).await);

    let listed = every_page(&app, &shop, "/api/products?", "products", 3).await;
    let listed_ids = ids(&listed);
    assert_eq!(listed_ids.len(), 8, "{listed_ids:?}");
    assert_eq!(listed_ids.iter().collect::<HashSet<_>>().len(), 8, "no product twice: {listed_ids:?}");
    let newest_first: Vec<String> = created.iter().rev().map(Uuid::to_string).collect();
    assert_eq!(listed_ids, newest_first);
    assert_eq!(listed[0]["scrape_state"], "none");
    assert_eq!(listed[0]["source"], "api");
    assert_eq!(listed[0]["chunk_count"], 0);

    let titled = shop.get_json(&app, "/api/products?q=serum").await;
    assert_eq!(titled["products"].as_array().map(Vec::len), Some(4), "title text, any case: {titled}");
    let by_sku = shop.get_json(&app, "/api/products?q=glw-").await;
    assert_eq!(by_sku["products"].as_array().map(Vec::len), Some(7), "sku prefix: {by_sku}");
    let literal = shop.get_json(&app, "/api/products?q=100%25").await;
    assert_eq!(ids(literal["products"].as_array().expect("list")), [created[7].to_string()], "`%` is literal");
    let nothing = shop.get_json(&app, "/api/products?q=%25").await;
    assert_eq!(nothing["products"].as_array().map(Vec::len), Some(1), "only the title with a `%`: {nothing}");

    sqlx::query("UPDATE products SET scrape_state = 'failed', scrape_error = 'robots.txt forbids it' WHERE id = $1")
        .bind(created[2])
        .execute(&app.admin)
        .await
        .expect("scrape state");
    let failed = shop.get_json(&app, "/api/products?scrape_state=failed").await;
    assert_eq!(ids(failed["products"].as_array().expect("list")), [created[2].to_string()]);

    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mark = chrono::Utc::now();
    json_with(shop.patch(&app, &format!("/api/products/{}", created[4]), &json!({"brand": "Glow"})).await, 200).await;
    let mark_param = mark.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let changed = shop.get_json(&app, &format!("/api/products?updated_from={mark_param}")).await;
    assert_eq!(ids(changed["products"].as_array().expect("list")), [created[4].to_string()]);
    let before = shop.get_json(&app, &format!("/api/products?updated_to={mark_param}&limit=200")).await;
    assert_eq!(before["products"].as_array().map(Vec::len), Some(7));

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("scrape_state=stuck", "scrape_state"),
        ("updated_from=yesterday", "updated_from"),
        ("updated_from=2026-02-01T00:00:00Z&updated_to=2026-01-01T00:00:00Z", "updated_from"),
        ("q=", "q"),
        ("colour=red", "colour"),
    ] {
        let problem = assert_problem(shop.get(&app, &format!("/api/products?{query}")).await, 422).await;
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
}

#[tokio::test]
async fn a_product_is_shown_edited_in_part_and_deleted_keeping_its_order_lines() {
    let app = spawn_app().await;
    let shop = tenant(&app, "Glow Store").await;
    let id = create(&app, &shop, &serum()).await;
    let other = create(&app, &shop, &json!({"sku": "GLW-CREAM", "title": "Glow Night Cream"})).await;
    let path = format!("/api/products/{id}");

    let shown = shop.get_json(&app, &path).await;
    assert_eq!(shown["title"], "Glow Vitamin C Serum");
    let kinds: Vec<&str> =
        shown["sections"].as_array().expect("sections").iter().filter_map(|s| s["kind"].as_str()).collect();
    assert_eq!(kinds, ["usage", "warnings", "faq"]);
    assert_eq!(shown["scrape_state"], "none");
    assert_eq!(shown["scrape_error"], Value::Null);
    assert_eq!(shown["chunk_count"], 0);
    assert_eq!(shown["embedded_at"], Value::Null);
    assert_eq!(shown["embedding_pending"], true);

    // Nothing about the text changes: nothing is written, nothing is scheduled again.
    sqlx::query("UPDATE scheduled_tasks SET state = 'done', finished_at = now() WHERE unique_key = $1")
        .bind(format!("embed:{id}"))
        .execute(&app.admin)
        .await
        .expect("embedding done");
    let unchanged = json_with(shop.patch(&app, &path, &json!({"title": "Glow Vitamin C Serum"})).await, 200).await;
    assert_eq!(unchanged["updated_at"], shown["updated_at"]);
    assert_eq!(embed_task_state(&app, id).await.as_deref(), Some("done"));

    // A changed URL is not knowledge: written, not re-embedded.
    let moved = json_with(shop.patch(&app, &path, &json!({"url": "https://glow.example/serum"})).await, 200).await;
    assert_eq!(moved["url"], "https://glow.example/serum");
    assert_eq!(embed_task_state(&app, id).await.as_deref(), Some("done"));

    let edited = json_with(
        shop.patch(
            &app,
            &path,
            &json!({
                "title": "Glow Vitamin C Serum 30 ml",
                "brand": null,
                "usage": "Apply three drops at night.",
                "warnings": null,
                "faq": [],
                "url": null
            }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["title"], "Glow Vitamin C Serum 30 ml");
    assert_eq!(edited["brand"], Value::Null, "null clears");
    assert_eq!(edited["url"], Value::Null);
    assert_eq!(edited["sku"], "GLW-C-30", "left out, so unchanged");
    assert_eq!(edited["description"], shown["description"]);
    assert_eq!(edited["sections"], json!([{"kind": "usage", "heading": null, "text": "Apply three drops at night."}]));
    assert_eq!(edited["embedding_pending"], true);
    assert_eq!(embed_task_state(&app, id).await.as_deref(), Some("pending"), "the text changed: embedded again");

    // `sections` replaces them all, then a kind field sent beside it replaces its kind.
    let replaced = json_with(
        shop.patch(
            &app,
            &path,
            &json!({"sections": [{"kind": "details", "heading": "Shipping", "text": "Ships in 2 days."}],
                    "warnings": "Avoid contact with the eyes."}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        replaced["sections"],
        json!([{"kind": "details", "heading": "Shipping", "text": "Ships in 2 days."},
               {"kind": "warnings", "heading": null, "text": "Avoid contact with the eyes."}])
    );

    let taken = assert_problem(shop.patch(&app, &path, &json!({"sku": "GLW-CREAM"})).await, 409).await;
    assert!(taken["detail"].as_str().is_some_and(|d| d.contains("sku")), "{taken}");

    let wrong = misnamed_fields(
        &app,
        &shop,
        reqwest::Method::PATCH,
        &path,
        vec![
            (json!({"title": null}), "title"),
            (json!({"title": "  "}), "title"),
            (json!({"sku": ""}), "sku"),
            (json!({"url": "ftp://glow.example/serum"}), "url"),
            (json!({"description": "x".repeat(20_001)}), "description"),
            (
                json!({"sections": [{"kind": "usage", "text": "ok"}, {"kind": "usage", "text": " "}]}),
                "sections[1].text",
            ),
            (json!({"sections": [{"kind": "recipe", "text": "ok"}]}), "sections[0].kind"),
            (json!({"faq": [{"question": "Vegan?", "answer": ""}]}), "faq[0]"),
            (json!({"title": 7}), "title"),
            (json!({"colour": "orange"}), "colour"),
        ],
    )
    .await;
    assert!(wrong.is_empty(), "each invalid change is a 422 naming its field:\n{}", wrong.join("\n"));
    assert_eq!(
        shop.get_json(&app, &path).await["updated_at"],
        replaced["updated_at"],
        "refused changes change nothing"
    );

    let audit: Vec<Value> = sqlx::query_scalar(
        "SELECT after FROM audit_log WHERE action = 'product.updated' AND subject_id = $1 ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&app.admin)
    .await
    .expect("audit");
    assert_eq!(audit.len(), 3, "one record per effective change: {audit:?}");
    assert_eq!(audit[1]["fields"], json!(["title", "url", "brand", "sections"]));

    // An order line that names the product, and a chunk of its knowledge.
    let order_id = Uuid::now_v7();
    sqlx::query("INSERT INTO orders (id, merchant_id, external_order_id, status) VALUES ($1, $2, '1001', 'paid')")
        .bind(order_id)
        .bind(shop.merchant.as_uuid())
        .execute(&app.admin)
        .await
        .expect("order");
    sqlx::query(
        "INSERT INTO order_items (id, merchant_id, order_id, product_id, line_key, sku, title, quantity)
         VALUES ($1, $2, $3, $4, 'line-1', 'GLW-C-30', 'Glow Vitamin C Serum', 1)",
    )
    .bind(Uuid::now_v7())
    .bind(shop.merchant.as_uuid())
    .bind(order_id)
    .bind(id)
    .execute(&app.admin)
    .await
    .expect("order item");
    sqlx::query(
        "INSERT INTO knowledge_chunks (id, merchant_id, product_id, section, content, content_hash, model, embedding)
         VALUES ($1, $2, $3, 'details', 'Ships in 2 days.', '\\x00', 'test', array_fill(0.1, ARRAY[384])::vector)",
    )
    .bind(Uuid::now_v7())
    .bind(shop.merchant.as_uuid())
    .bind(id)
    .execute(&app.admin)
    .await
    .expect("chunk");
    assert_eq!(shop.get_json(&app, &path).await["chunk_count"], 1);

    let deleted = shop.delete(&app, &path).await;
    assert_eq!(deleted.status(), 204);
    assert_problem(shop.get(&app, &path).await, 404).await;
    assert_problem(shop.delete(&app, &path).await, 404).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM knowledge_chunks WHERE product_id = '{id}'")).await, 0);
    let line: (Option<Uuid>, Option<String>, String) =
        sqlx::query_as("SELECT product_id, sku, title FROM order_items WHERE order_id = $1")
            .bind(order_id)
            .fetch_one(&app.admin)
            .await
            .expect("order line kept");
    assert_eq!(line, (None, Some("GLW-C-30".to_owned()), "Glow Vitamin C Serum".to_owned()));
    assert_eq!(embed_task_state(&app, id).await.as_deref(), Some("cancelled"), "nothing left to embed");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'product.deleted' AND subject_id = '{id}'
               AND before ->> 'sku' = 'GLW-C-30' AND actor LIKE 'api-key:%'"
        ))
        .await,
        1
    );
    assert_eq!(shop.get_json(&app, &format!("/api/products/{other}")).await["title"], "Glow Night Cream");

    assert_malformed_id(shop.get(&app, "/api/products/not-a-uuid").await).await;
}

#[tokio::test]
async fn another_merchants_products_answer_404_and_stay_as_they_were() {
    let app = spawn_app().await;
    let owner = tenant(&app, "Glow Store").await;
    let stranger = tenant(&app, "Other Store").await;
    let id = create(&app, &owner, &serum()).await;
    let path = format!("/api/products/{id}");
    let before = owner.get_json(&app, &path).await;

    assert_problem(stranger.get(&app, &path).await, 404).await;
    assert_problem(stranger.patch(&app, &path, &json!({"title": "Stolen"})).await, 404).await;
    assert_problem(stranger.delete(&app, &path).await, 404).await;
    let scrape = json!({"url": "https://glow.example/serum", "product_id": id});
    assert_problem(stranger.post(&app, "/api/products/scrape", &scrape).await, 404).await;
    let missing = format!("/api/products/{}", Uuid::now_v7());
    let unknown = assert_problem(stranger.get(&app, &missing).await, 404).await;
    let foreign = assert_problem(stranger.get(&app, &path).await, 404).await;
    assert_eq!(foreign["title"], unknown["title"], "another merchant's product looks like no product at all");

    assert_eq!(stranger.get_json(&app, "/api/products?").await["products"], json!([]));
    assert_eq!(owner.get_json(&app, &path).await, before);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action LIKE 'product.%'").await, 0);
}

#[tokio::test]
async fn an_edited_text_is_embedded_again_by_the_knowledge_workers() {
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    let app = spawn_app_with(move |figment| figment.merge(("embedding.model_dir", model_dir))).await;
    let workers = app.start_pools(&[Pool::Knowledge]);
    let shop = tenant(&app, "Glow Store").await;
    let id = create(&app, &shop, &serum()).await;
    let embedded = format!("SELECT count(*) FROM products WHERE id = '{id}' AND embedded_at IS NOT NULL");
    app.wait_for_count(&embedded, 1, 60).await;
    let first = shop.get_json(&app, &format!("/api/products/{id}")).await;
    assert!(first["chunk_count"].as_i64().is_some_and(|count| count > 0), "{first}");
    assert_eq!(first["embedding_pending"], false);

    let usage = "Shake well, then apply three drops to damp skin at night.";
    json_with(shop.patch(&app, &format!("/api/products/{id}"), &json!({"usage": usage})).await, 200).await;
    app.wait_for_count(
        &format!("SELECT count(*) FROM knowledge_chunks WHERE product_id = '{id}' AND content LIKE '%Shake well%'"),
        1,
        60,
    )
    .await;
    app.wait_for_count(
        &format!("SELECT count(*) FROM knowledge_chunks WHERE product_id = '{id}' AND content LIKE '%four drops%'"),
        0,
        60,
    )
    .await;
    let second = shop.get_json(&app, &format!("/api/products/{id}")).await;
    assert!(second["embedded_at"].as_str() > first["embedded_at"].as_str(), "{first} {second}");
    workers.stop().await;
}
