//! `POST /api/products`: validation, create then update by SKU, and embedding only what changed.

use chrono::{DateTime, Utc};
use recete_workers::Pool;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{USAGE, WAIT_SECS, serum, shop, spawn_knowledge_app};
use crate::helpers::assert_problem;

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Chunk {
    id: Uuid,
    section: String,
    model: String,
    content: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

async fn chunks(app: &crate::helpers::TestApp, product: Uuid) -> Vec<Chunk> {
    sqlx::query_as(
        "SELECT id, section, model, content, created_at, updated_at FROM knowledge_chunks
         WHERE product_id = $1 ORDER BY position",
    )
    .bind(product)
    .fetch_all(&app.admin)
    .await
    .expect("chunks")
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct EmbedTask {
    state: String,
    attempts: i32,
    status_reason: Option<String>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

async fn embed_tasks(app: &crate::helpers::TestApp) -> Vec<EmbedTask> {
    sqlx::query_as(
        "SELECT state, attempts, status_reason, finished_at, updated_at FROM scheduled_tasks WHERE kind = 'embed'",
    )
    .fetch_all(&app.admin)
    .await
    .expect("embed tasks")
}

#[tokio::test]
async fn invalid_products_are_refused_with_the_field_named() {
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;

    let anonymous = app.client.post(app.url("/api/products")).json(&serum(USAGE)).send().await.expect("sent");
    assert_problem(anonymous, 401).await;

    let mut bad_url = serum(USAGE);
    bad_url["url"] = json!("ftp://shop.example/serum");
    let mut empty_answer = serum(USAGE);
    empty_answer["faq"] = json!([{"question": "Is it vegan?", "answer": "  "}]);
    let mut unknown = serum(USAGE);
    unknown["colour"] = json!("orange");
    let mut blank_title = serum(USAGE);
    blank_title["title"] = json!("   ");
    let mut wrong = Vec::new();
    for (body, field) in [(blank_title, "title"), (bad_url, "url"), (empty_answer, "faq[0]"), (unknown, "colour")] {
        let response = shop.post(&app, "/api/products", &body).await;
        let status = response.status().as_u16();
        let problem: Value = response.json().await.expect("a problem body");
        if status != 422 || problem["field"] != field {
            wrong.push(format!("{field}: {status} {problem}"));
        }
    }
    assert!(wrong.is_empty(), "each invalid body is a 422 problem naming its field:\n{}", wrong.join("\n"));
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks").await, 0);
}

#[tokio::test]
async fn a_body_without_a_title_is_refused_naming_the_title() {
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;
    let mut no_title = serum(USAGE);
    no_title.as_object_mut().expect("object").remove("title");

    let problem = assert_problem(shop.post(&app, "/api/products", &no_title).await, 422).await;
    assert_eq!(problem["field"], "title", "{problem}");
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
}

#[tokio::test]
async fn a_product_is_embedded_once_and_only_its_changed_text_again() {
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;
    let _workers = app.start_pools(&[Pool::Knowledge]);

    let created = shop.post(&app, "/api/products", &serum(USAGE)).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("JSON body");
    assert_eq!((created["created"].as_bool(), created["embedding_scheduled"].as_bool()), (Some(true), Some(true)));
    let product = created["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()).expect("product id");
    app.wait_for_count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'embed' AND state = 'done'", 1, WAIT_SECS)
        .await;

    let first = chunks(&app, product).await;
    let sections: Vec<&str> = first.iter().map(|chunk| chunk.section.as_str()).collect();
    for wanted in ["overview", "usage", "warnings", "faq"] {
        assert!(sections.contains(&wanted), "a {wanted} chunk: {sections:?}");
    }
    assert!(first.iter().all(|chunk| chunk.model == "all-MiniLM-L6-v2"), "{first:?}");
    let dimensions: Vec<i32> =
        sqlx::query_scalar("SELECT vector_dims(embedding) FROM knowledge_chunks WHERE product_id = $1")
            .bind(product)
            .fetch_all(&app.admin)
            .await
            .expect("dimensions");
    assert!(dimensions.iter().all(|d| *d == 384), "{dimensions:?}");
    let usage = first.iter().find(|chunk| chunk.section == "usage").expect("usage chunk");
    assert_eq!(usage.content, USAGE);
    let (source, embedded): (String, bool) =
        sqlx::query_as("SELECT source, embedded_at IS NOT NULL FROM products WHERE id = $1")
            .bind(product)
            .fetch_one(&app.admin)
            .await
            .expect("product");
    assert_eq!((source.as_str(), embedded), ("api", true));
    let tasks_before = embed_tasks(&app).await;
    assert_eq!(
        tasks_before[0].status_reason.as_deref(),
        Some(format!("{} chunks embedded, 0 unchanged, 0 removed", first.len()).as_str())
    );

    // The same product again: nothing scheduled, nothing embedded.
    let unchanged = shop.post(&app, "/api/products", &serum(USAGE)).await;
    assert_eq!(unchanged.status(), 200);
    let unchanged: Value = unchanged.json().await.expect("JSON body");
    assert_eq!(unchanged["id"], created["id"]);
    assert_eq!(
        (unchanged["created"].as_bool(), unchanged["embedding_scheduled"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(embed_tasks(&app).await, tasks_before, "the embedding task was not armed again");
    assert_eq!(chunks(&app, product).await, first, "the same chunks, not written again");
    assert_eq!(app.count("SELECT count(*) FROM products").await, 1);

    // Only the usage text changes: only the usage chunk is replaced.
    let new_usage = "Apply three drops to clean skin every evening.";
    let changed = shop.post(&app, "/api/products", &serum(new_usage)).await;
    assert_eq!(changed.status(), 200);
    let changed: Value = changed.json().await.expect("JSON body");
    assert_eq!(changed["embedding_scheduled"].as_bool(), Some(true));
    let reason = format!("1 chunks embedded, {} unchanged, 1 removed", first.len() - 1);
    app.wait_for_count(
        &format!("SELECT count(*) FROM scheduled_tasks WHERE kind = 'embed' AND state = 'done' AND status_reason = '{reason}'"),
        1,
        WAIT_SECS,
    )
    .await;
    let second = chunks(&app, product).await;
    assert_eq!(second.len(), first.len());
    let new_chunk = second.iter().find(|chunk| chunk.section == "usage").expect("usage chunk");
    assert_eq!(new_chunk.content, new_usage);
    assert_ne!(new_chunk.id, usage.id);
    let kept: Vec<&Chunk> = second.iter().filter(|chunk| chunk.section != "usage").collect();
    let before: Vec<&Chunk> = first.iter().filter(|chunk| chunk.section != "usage").collect();
    assert_eq!(kept, before, "every other chunk kept as it was");
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks").await, 1, "one embedding task per product");
}
