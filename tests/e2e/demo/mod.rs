//! `recete all --demo`: the demo story told against a running API and workers, checked row by row
//! (products embedded, the follow-up in the local outbox, an answer with citations, a hand-over),
//! told a second time without adding anything; and the demo store's pages served in development
//! only.

use std::collections::BTreeMap;

use recete::demo::{self, story};
use recete_api::demo_pages::PAGES;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_with};
use crate::production::{LOOKUP_KEY, SEALING_KEY, recete};

/// A development app as `make run` starts it, on a random port, whose replies are not spaced out.
async fn spawn_development_app() -> TestApp {
    let model_dir = format!("{}/models/all-MiniLM-L6-v2", env!("CARGO_MANIFEST_DIR"));
    spawn_app_with(move |figment| {
        figment
            .merge(("app.environment", "development"))
            .merge(("scrape.allow_loopback", true))
            .merge(("embedding.model_dir", model_dir))
            .merge(("whatsapp.customer_gap_secs", 0))
    })
    .await
}

/// A scratch path for the demo file, removed when dropped.
struct DemoFile(std::path::PathBuf);

impl DemoFile {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("recete-demo-{}.json", Uuid::new_v4().simple())))
    }
}

impl Drop for DemoFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Rows in every table the story writes to.
async fn row_counts(app: &TestApp) -> BTreeMap<&'static str, i64> {
    let mut counts = BTreeMap::new();
    for table in [
        "merchants",
        "api_keys",
        "integrations",
        "products",
        "knowledge_chunks",
        "external_events",
        "customers",
        "orders",
        "order_items",
        "scheduled_tasks",
        "conversations",
        "messages",
        "merchant_users",
        // Each run gives the demo owner a new sign-in link, and audits that.
        "audit_log WHERE action <> 'user.sign_in_link_issued'",
    ] {
        counts.insert(table, app.count(&format!("SELECT count(*) FROM {table}")).await);
    }
    counts
}

#[tokio::test]
async fn the_demo_story_is_told_through_the_api_once_however_often_it_runs() {
    let app = spawn_development_app().await;
    let _workers = app.start_workers();
    let file = DemoFile::new();

    let seeded = demo::seed(&app.settings, &app.address, &file.0).await.expect("the demo story is told");
    let merchant = seeded.shop.merchant.merchant_id;

    // The demo file keeps the key and secrets, for its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file.0).expect("the demo file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Every demo page became a product through the scrape route, with its chunks embedded.
    let products: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT p.url, p.sku, p.scrape_state, (SELECT count(*) FROM knowledge_chunks c WHERE c.product_id = p.id)
         FROM products p WHERE p.merchant_id = $1 ORDER BY p.url",
    )
    .bind(merchant)
    .fetch_all(&app.admin)
    .await
    .expect("products");
    assert_eq!(products.len(), PAGES.len(), "{products:?}");
    for page in PAGES {
        let url = format!("{}{}", app.address, page.path());
        let (_, sku, state, chunks) =
            products.iter().find(|(u, ..)| *u == url).unwrap_or_else(|| panic!("a product for {url}: {products:?}"));
        assert_eq!((sku.as_deref(), state.as_str()), (Some(page.sku), "done"), "{url}");
        assert!(*chunks > 0, "{url} has no chunks");
    }
    assert_eq!(seeded.told.products.len(), PAGES.len());

    // The delivered order's first follow-up went to the local outbox, to the customer whose phone
    // was typed `0532 123 45 67` in Turkey.
    let (order_id, customer_id, status): (Uuid, Option<Uuid>, String) =
        sqlx::query_as("SELECT id, customer_id, status FROM orders WHERE merchant_id = $1 AND external_order_id = $2")
            .bind(merchant)
            .bind(story::ORDER_ID)
            .fetch_one(&app.admin)
            .await
            .expect("the demo order");
    assert_eq!(status, "delivered");
    let customer_id = customer_id.expect("the order names its customer");
    let follow_ups: Vec<(String, Option<String>, Option<Uuid>)> = sqlx::query_as(
        "SELECT m.status, m.wa_message_id, m.customer_id
         FROM messages m JOIN scheduled_tasks t ON m.idempotency_key = 'task:' || t.id::text
         WHERE t.order_id = $1 AND t.kind = 'follow_up' AND m.direction = 'outbound'",
    )
    .bind(order_id)
    .fetch_all(&app.admin)
    .await
    .expect("follow-up messages");
    assert_eq!(follow_ups.len(), 1, "only the first step is due: {follow_ups:?}");
    let (status, wa_message_id, to) = &follow_ups[0];
    assert_eq!(status, "sent");
    assert!(wa_message_id.as_deref().is_some_and(|id| id.starts_with("outbox-")), "{wa_message_id:?}");
    assert_eq!(*to, Some(customer_id));
    assert_eq!(seeded.told.follow_up["message_status"], "sent");

    // Her question got the agent's answer, quoting the serum's page, with citations.
    let (answer_conversation, answer_customer, agent): (Option<Uuid>, Option<Uuid>, serde_json::Value) =
        sqlx::query_as(
            "SELECT o.conversation_id, o.customer_id, o.metadata->'agent'
             FROM messages o JOIN messages i ON o.metadata->>'in_reply_to' = i.id::text
             WHERE i.wa_message_id = $1 AND o.direction = 'outbound' AND o.status = 'sent'",
        )
        .bind(story::QUESTION_WAMID)
        .fetch_one(&app.admin)
        .await
        .expect("the answer to the question");
    assert_eq!(answer_customer, Some(customer_id), "the customer of the order asked");
    assert_eq!(answer_conversation, Some(seeded.told.answered_conversation));
    assert_eq!(agent["handoff"], serde_json::Value::Null, "{agent}");
    let citations = agent["citations"].as_array().expect("citations");
    assert!(!citations.is_empty(), "{agent}");

    // The other customer's question waits for a person.
    let handed_over: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT id, handover_reason FROM conversations WHERE state = 'handed_over'")
            .fetch_all(&app.admin)
            .await
            .expect("handed-over conversations");
    assert_eq!(handed_over.len(), 1, "{handed_over:?}");
    assert_eq!(handed_over[0].0, seeded.told.handed_over_conversation);
    let asked_there: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE conversation_id = $1 AND wa_message_id = $2 AND direction = 'inbound'",
    )
    .bind(handed_over[0].0)
    .bind(story::HANDOVER_WAMID)
    .fetch_one(&app.admin)
    .await
    .expect("the handed-over question");
    assert_eq!(asked_there, 1);

    // The printed link signs the demo owner in to the console, once.
    let prefix = format!("{}/console/sign-in/link/", app.settings.app.public_url.trim_end_matches('/'));
    let token = seeded.sign_in_link.strip_prefix(&prefix).expect("a console sign-in link").to_owned();
    let link = app.url(&format!("/console/sign-in/link/{token}"));
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    assert_eq!(browser.get(&link).send().await.expect("sent").status(), 200);
    let password = "demo passphrase 2026";
    let signed_in =
        browser.post(&link).form(&[("password", password), ("repeat", password)]).send().await.expect("sent");
    assert_eq!(signed_in.status(), 303, "the link sets a password and signs in");
    let owner: (String, Uuid) = sqlx::query_as("SELECT role, merchant_id FROM merchant_users WHERE email = $1")
        .bind(demo::owner::OWNER_EMAIL)
        .fetch_one(&app.admin)
        .await
        .expect("the demo owner");
    assert_eq!(owner, ("owner".to_owned(), merchant));

    // Told again (as `make run` a second time): the same merchant, and not one row more.
    let before = row_counts(&app).await;
    let again = demo::seed(&app.settings, &app.address, &file.0).await.expect("the story is told again");
    assert_eq!(again.shop.merchant.merchant_id, merchant);
    assert_eq!(again.told.answered_conversation, seeded.told.answered_conversation);
    assert_eq!(again.told.handed_over_conversation, seeded.told.handed_over_conversation);
    assert_ne!(again.sign_in_link, seeded.sign_in_link, "a new sign-in link each run");
    // Give a duplicate that slipped through time to be processed before counting.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(row_counts(&app).await, before);
}

/// A production app: its own keys, nothing of development.
async fn spawn_production_app() -> TestApp {
    spawn_app_with(|figment| {
        figment
            .merge(("app.environment", "production"))
            .merge(("crypto.active_key_id", "prod-2026"))
            .merge(("crypto.keys", BTreeMap::from([("prod-2026", SEALING_KEY)])))
            .merge(("crypto.active_lookup_key_id", "lookup-2026"))
            .merge(("crypto.lookup_keys", BTreeMap::from([("lookup-2026", LOOKUP_KEY)])))
    })
    .await
}

#[tokio::test]
async fn the_demo_store_pages_are_served_in_development_only() {
    let page = PAGES[0].path();
    let development = spawn_development_app().await;
    let served = development.client.get(development.url(&page)).send().await.expect("request sent");
    assert_eq!(served.status(), 200);
    assert!(
        served.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"))
    );
    assert!(served.text().await.expect("the page").contains(PAGES[0].sku));
    let missing = development.client.get(development.url("/demo/products/no-such-page")).send().await.expect("sent");
    assert_eq!(missing.status(), 404);

    let production = spawn_production_app().await;
    assert_eq!(production.settings.app.environment, recete_platform::config::Environment::Production);
    for path in [page.as_str(), "/demo/products"] {
        let response = production.client.get(production.url(path)).send().await.expect("request sent");
        assert_eq!(response.status(), 404, "{path} in production");
    }
    // Tests run in `test`: no demo pages there either.
    let test = crate::helpers::spawn_app().await;
    assert_eq!(test.client.get(test.url(&page)).send().await.expect("request sent").status(), 404);
}

#[test]
fn the_demo_is_refused_outside_development_before_anything_starts() {
    let file = DemoFile::new();
    let demo_file = file.0.to_string_lossy().into_owned();
    let refused = |environment: &str, keys: &[(&str, &str)]| {
        let mut command = recete();
        command
            .args(["all", "--listen", "127.0.0.1:0", "--demo", &demo_file])
            .env("RECETE__APP__ENVIRONMENT", environment)
            .env("RECETE__LOG__FILTER", "warn");
        for (name, value) in keys {
            command.env(name, value);
        }
        let output = command.output().expect("recete runs");
        assert!(!output.status.success(), "{environment}: started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let production_keys = [
        ("RECETE__CRYPTO__ACTIVE_KEY_ID", "prod-2026"),
        ("RECETE__CRYPTO__KEYS__PROD-2026", SEALING_KEY),
        ("RECETE__CRYPTO__ACTIVE_LOOKUP_KEY_ID", "lookup-2026"),
        ("RECETE__CRYPTO__LOOKUP_KEYS__LOOKUP-2026", LOOKUP_KEY),
    ];
    for (environment, keys) in [("production", &production_keys[..]), ("test", &[][..])] {
        let stderr = refused(environment, keys);
        assert!(
            stderr.contains(&format!("needs app.environment = \"development\"; this one is \"{environment}\"")),
            "{environment}: {stderr}"
        );
    }
    assert!(!file.0.exists(), "no demo file was written");
}
