//! The other events, each raised by the flow that causes it: Meta failing a message, a customer's
//! data exported, a CSV import finished. Each reaches a subscribed endpoint, verified by the
//! official library; an endpoint not subscribed to a type gets nothing of it.

use recete_workers::Pool;
use serde_json::{Value, json};

use super::{CUSTOMER_WA_ID, Receiver, opt_out, register, shop, spawn_webhook_app};
use crate::helpers::PHONE_NUMBER_ID;
use crate::merchant_api::json_with;

fn failed_status(wamid: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": wamid, "status": "failed", "timestamp": chrono::Utc::now().timestamp().to_string(),
                          "recipient_id": CUSTOMER_WA_ID,
                          "errors": [{"code": 131026, "title": "Message undeliverable",
                                      "error_data": {"details": "The number is not on WhatsApp"}}]}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

fn by_type<'a>(received: &'a [Value], kind: &str) -> &'a Value {
    received
        .iter()
        .find(|request| request["body"]["type"] == kind)
        .unwrap_or_else(|| panic!("no `{kind}` received: {received:#?}"))
}

#[tokio::test]
async fn failed_messages_exports_and_imports_reach_the_endpoints_subscribed_to_them() {
    let app = spawn_webhook_app().await;
    let shop = shop(&app, "Serum Shop").await;
    let receiver = Receiver::start();
    let (_, secret) = register(
        &app,
        &shop.tenant,
        &receiver.url("/ok"),
        &["message.failed", "privacy_request.completed", "import.completed"],
    )
    .await;
    let opt_outs = Receiver::start();
    let (_, opt_out_secret) = register(&app, &shop.tenant, &opt_outs.url("/ok"), &["customer.opted_out"]).await;
    receiver.trust(&[&secret]);
    opt_outs.trust(&[&opt_out_secret]);
    let _workers = app.start_pools(&[Pool::WhatsAppEvents, Pool::Webhooks, Pool::Imports]);

    // The customer exists once they wrote (here: STOP, for the opt-out endpoint only).
    opt_out(&app, &shop, "wamid.STOP1").await;
    let opted_out = opt_outs.wait_for(1, 30).await;
    assert_eq!(opted_out[0]["body"]["type"], "customer.opted_out");
    assert_eq!(opted_out[0]["verified_with"], json!([0]), "signed with that endpoint's own secret");

    // Meta accepted a message of ours (`sent`), then reports it failed for good.
    let (customer, conversation): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT customer_id, id FROM conversations").fetch_one(&app.admin).await.expect("conversation");
    let message = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO messages (id, merchant_id, conversation_id, customer_id, direction, kind, wa_message_id, status, status_at)
         VALUES ($1, $2, $3, $4, 'outbound', 'template', 'wamid.OUT1', 'sent', now())",
    )
    .bind(message)
    .bind(shop.tenant.merchant.as_uuid())
    .bind(conversation)
    .bind(customer)
    .execute(&app.admin)
    .await
    .expect("an outbound message");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &failed_status("wamid.OUT1")).await.status(), 200);

    // The merchant exports the customer's data.
    let exported =
        json_with(shop.tenant.post(&app, "/api/customers/export", &json!({"phone": "+905551234567"})).await, 200).await;
    let request_id = exported["request_id"].as_str().expect("request id").to_owned();

    // And imports two products.
    let csv = "sku,title,description\nSERUM-30,Vitamin C Serum,Brightening\nCREAM-50,Night Cream,Rich\n";
    let uploaded = app
        .client
        .post(app.url("/api/imports/products"))
        .bearer_auth(&shop.tenant.key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("upload sent");
    let import_id = json_with(uploaded, 202).await["import_id"].as_str().expect("import id").to_owned();

    let received = receiver.wait_for(3, 30).await;
    for request in &received {
        assert_eq!(
            (request["verified_with"].clone(), request["answered"].clone()),
            (json!([0]), json!(204)),
            "{request:#}"
        );
    }
    let failed = &by_type(&received, "message.failed")["body"]["data"];
    assert_eq!(failed["message_id"], message.to_string());
    assert_eq!(failed["code"], "131026");
    assert_eq!(failed["reason"], "Message undeliverable: The number is not on WhatsApp");
    assert_eq!(failed["customer"]["phone"], "+90 ****67");

    let privacy = &by_type(&received, "privacy_request.completed")["body"]["data"];
    assert_eq!(privacy["privacy_request_id"], request_id.as_str());
    assert_eq!((privacy["kind"].clone(), privacy["status"].clone()), (json!("export"), json!("completed")));
    assert_eq!((privacy["scope"].clone(), privacy["channel"].clone()), (json!("customer"), json!("api")));

    let import = &by_type(&received, "import.completed")["body"]["data"];
    assert_eq!(import["import_id"], import_id.as_str());
    assert_eq!((import["status"].clone(), import["imported"].clone()), (json!("completed"), json!(2)));
    assert_eq!(import["kind"], "products");

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 3, "each event once, only where subscribed");
    assert_eq!(opt_outs.received().len(), 1, "each event once, only where subscribed");
}

#[tokio::test]
async fn a_message_meta_keeps_refusing_is_announced_once_when_it_is_given_up() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let graph = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500).set_body_string("oops")).mount(&graph).await;
    let app = crate::followups::spawn_messaging_app_on(
        &graph,
        recete_testkit::TestDatabase::create().await.expect("test database"),
        recete_testkit::TestRedis::new(),
        |figment| {
            figment
                .merge(("webhooks.allow_loopback", true))
                .merge(("pools.webhooks.backoff_base_ms", 300))
                .merge(("pools.messages.max_attempts", 2))
                .merge(("pools.messages.backoff_base_ms", 100))
        },
    )
    .await;
    let shop = crate::followups::shop(&app).await;
    let receiver = Receiver::start();
    let mut tx = recete_platform::db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
    let new = recete_shared::webhooks::endpoints::NewEndpoint {
        url: &receiver.url("/ok"),
        description: None,
        event_types: &[recete_shared::merchant_events::EventType::MessageFailed],
    };
    let (_, secret) =
        recete_shared::webhooks::endpoints::create(&mut tx, &app.keyring, shop.merchant, &new).await.expect("endpoint");
    tx.commit().await.expect("commit");
    receiver.trust(&[&secret.expose()]);
    let _workers = app.start_pools(&[Pool::OrderEvents, Pool::Messages, Pool::Webhooks]);

    crate::followups::deliver(&app, &shop, "1001").await;
    let received = receiver.wait_for(1, 60).await;
    let request = &received[0];
    assert_eq!(request["verified_with"], json!([0]), "{request:#}");
    let data = &request["body"]["data"];
    assert_eq!(request["body"]["type"], "message.failed");
    assert!(data["reason"].as_str().is_some_and(|reason| reason.contains("500")), "{data}");
    assert_eq!(data["customer"]["phone"], "+90 ****67");
    // The delivered order may have more than one step due; the event names one of the messages
    // given up on, whichever failed first.
    let failed: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM messages WHERE direction = 'outbound' AND status = 'failed'")
            .fetch_all(&app.admin)
            .await
            .expect("the failed messages");
    let named = data["message_id"].as_str().unwrap_or_default();
    assert!(failed.iter().any(|id| id == named), "{named} is not among the failed messages {failed:?}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM merchant_events WHERE type = 'message.failed'").await,
        app.count("SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'failed'").await,
        "one event per message given up on"
    );
}
