//! Export and erasure through the merchant API, for a customer with every kind of history.

use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::MockServer;

use super::{
    ADALET, BERKAY, Person, Shop, WAIT_SECS, assert_absent, assert_no_sealed_trace, delivered_status, dump,
    failed_csv_rows, graph_accepts, inbound, message_figures, shop, shopify_delivered, shopify_order,
    spawn_privacy_app, wamid_for, without_generated_at,
};
use crate::helpers::{TestApp, assert_problem};

const PROCESSED: &str = "SELECT count(*) FROM external_events WHERE state <> 'processed'";

/// Builds `person`'s history through the real pipeline: a Shopify order with SMS consent,
/// delivered (a follow-up goes out at once and Meta reports it delivered; the second step waits
/// two days), then a WhatsApp question the agent answers. Returns the WhatsApp ids of their messages.
async fn build_history(app: &TestApp, shop: &Shop, person: &Person, serial: u8) -> Vec<String> {
    let whatsapp = shop.whatsapp.as_ref().expect("a WhatsApp number");
    let outbound = |status: &str| {
        format!(
            "SELECT count(*) FROM messages m JOIN customers c ON c.id = m.customer_id
             WHERE m.direction = 'outbound' AND m.status = '{status}' AND c.external_id = '{}'",
            person.store_id
        )
    };
    let order = app
        .post_shopify(&shop.shopify, "orders/create", &format!("create-{}", person.order_id), &shopify_order(person))
        .await;
    assert_eq!(order.status(), 202);
    // The order first, so the delivery finds its customer and plans the follow-ups.
    app.wait_for_count(PROCESSED, 0, WAIT_SECS).await;
    let delivered = app
        .post_shopify(
            &shop.shopify,
            "fulfillments/update",
            &format!("fulfil-{}", person.order_id),
            &shopify_delivered(person),
        )
        .await;
    assert_eq!(delivered.status(), 202);
    app.wait_for_count(&outbound("sent"), 1, WAIT_SECS).await;

    let (follow_up, follow_up_wamid): (Uuid, String) = sqlx::query_as(
        "SELECT m.id, m.wa_message_id FROM messages m JOIN customers c ON c.id = m.customer_id
         WHERE m.direction = 'outbound' AND c.external_id = $1",
    )
    .bind(person.store_id)
    .fetch_one(&app.admin)
    .await
    .expect("the follow-up");
    let status = delivered_status(person, &follow_up_wamid, follow_up);
    assert_eq!(app.post_whatsapp(&whatsapp.secret, &status).await.status(), 200);
    app.wait_for_count(&outbound("delivered"), 1, WAIT_SECS).await;

    let question = wamid_for(person, serial);
    assert_eq!(app.post_whatsapp(&whatsapp.secret, &inbound(person, &question)).await.status(), 200);
    app.wait_for_count(&outbound("sent"), 1, WAIT_SECS).await;
    app.wait_for_count(
        &format!(
            "SELECT count(*) FROM messages m JOIN customers c ON c.id = m.customer_id
             WHERE m.direction = 'outbound' AND c.external_id = '{}' AND m.metadata ? 'agent'",
            person.store_id
        ),
        1,
        WAIT_SECS,
    )
    .await;
    app.wait_for_count(PROCESSED, 0, WAIT_SECS).await;
    sqlx::query_scalar(
        "SELECT m.wa_message_id FROM messages m JOIN customers c ON c.id = m.customer_id
         WHERE c.external_id = $1 AND m.wa_message_id IS NOT NULL",
    )
    .bind(person.store_id)
    .fetch_all(&app.admin)
    .await
    .expect("WhatsApp ids")
}

fn texts<'a>(messages: &'a Value, direction: &str) -> Vec<&'a str> {
    messages
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["direction"] == direction)
        .filter_map(|m| m["text"].as_str())
        .collect()
}

#[tokio::test]
async fn an_export_holds_everything_and_after_erasure_a_dump_holds_nothing_that_identifies_the_customer() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_privacy_app(&graph).await;
    let shop = shop(&app, "Glow Store", true).await;
    let _workers = app.start_workers();
    let adalet_wamids = build_history(&app, &shop, &ADALET, 1).await;
    build_history(&app, &shop, &BERKAY, 2).await;
    assert_eq!(adalet_wamids.len(), 3, "the follow-up, the question and the answer");
    failed_csv_rows(&app, &shop, &[&ADALET, &BERKAY]).await;

    // The export, asked by phone as the merchant would type it.
    let exported = shop.post_json(&app, "/api/customers/export", &json!({"phone": "0555 123 45 67"})).await;
    let document = &exported["document"];
    let customer = &document["customers"][0];
    assert_eq!(document["customers"].as_array().map(Vec::len), Some(1));
    assert_eq!(customer["phone"], ADALET.phone);
    assert_eq!(customer["email"], ADALET.email_lower());
    assert_eq!(customer["name"], format!("{} {}", ADALET.first_name, ADALET.last_name));
    assert_eq!(customer["external_id"], ADALET.store_id);
    assert_eq!(customer["whatsapp_consent"], "granted");
    let consent = &document["consent_history"][0];
    assert_eq!(
        (&consent["after"]["whatsapp_consent"], &consent["after"]["source"]),
        (&json!("granted"), &json!("shopify:sms_marketing_consent"))
    );
    let order = &document["orders"][0];
    assert_eq!((&order["external_order_id"], &order["status"]), (&json!(ADALET.order_id), &json!("delivered")));
    assert_eq!(order["items"][0]["title"], "Glow Vitamin C Serum");
    let conversation = &document["conversations"][0];
    assert_eq!(texts(&conversation["messages"], "inbound"), vec![ADALET.question]);
    let answers = texts(&conversation["messages"], "outbound");
    assert_eq!(answers.len(), 1, "{conversation}");
    let answer = conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["direction"] == "outbound")
        .expect("answer");
    assert_eq!(answer["metadata"]["agent"]["intent"], "order_status");
    let follow_up = &document["other_messages"][0];
    assert_eq!((&follow_up["template_name"], &follow_up["status"]), (&json!("recete_how_to_use"), &json!("delivered")));
    assert!(follow_up["wa_message_id"].is_string());
    let scheduled = document["scheduled_messages"].as_array().expect("scheduled");
    assert!(
        scheduled.iter().any(|t| t["kind"] == "follow_up" && t["step"] == "t1" && t["state"] == "pending"),
        "{scheduled:?}"
    );
    assert!(scheduled.iter().any(|t| t["kind"] == "reply" && t["reply_text"] == answers[0]), "{scheduled:?}");
    let events = document["events"].as_array().expect("events");
    let topics: Vec<&str> = events.iter().filter_map(|e| e["topic"].as_str()).collect();
    for topic in ["orders/create", "fulfillments/update", "status.delivered", "message.text"] {
        assert!(topics.contains(&topic), "{topic} in {topics:?}");
    }
    let created = events.iter().find(|e| e["topic"] == "orders/create").expect("the order webhook");
    assert_eq!(created["payload"]["customer"]["email"], ADALET.email);
    assert_eq!(created["payload"]["shipping_address"]["address1"], ADALET.street);
    let fulfilled = events.iter().find(|e| e["topic"] == "fulfillments/update").expect("the delivery webhook");
    assert_eq!(fulfilled["payload"]["tracking_number"], ADALET.tracking_number);
    let asked = events.iter().find(|e| e["topic"] == "message.text").expect("the question");
    assert_eq!(asked["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]["text"]["body"], ADALET.question);
    let failed_row = &document["import_errors"][0];
    assert_eq!(document["import_errors"].as_array().map(Vec::len), Some(1), "{document}");
    assert_eq!(failed_row["fields"][1], ADALET.email);
    assert_eq!(failed_row["fields"][3], format!("{} {}", ADALET.first_name, ADALET.last_name));
    assert_eq!(exported["counts"]["messages"], 3);
    assert_eq!(exported["counts"]["events"], json!(events.len()));

    let berkay_before = shop.post_json(&app, "/api/customers/export", &json!({"email": BERKAY.email})).await;
    let figures_before = message_figures(&app).await;
    let mut traces = ADALET.traces(&app, &adalet_wamids);
    traces.push(answers[0].to_lowercase());
    let before = dump(&app).await;
    for visible in [ADALET.store_id.to_owned(), adalet_wamids[0].to_lowercase()] {
        assert!(before.contains(&visible), "before erasure the dump shows `{visible}`: the check can see");
    }

    let customer_id = customer["id"].as_str().expect("customer id").to_owned();
    let erased = shop.post_json(&app, "/api/customers/erase", &json!({"customer_id": customer_id})).await;
    assert_eq!(erased["outcome"], "erased");
    assert_eq!(erased["customer_ids"], json!([customer_id]));
    assert_eq!(erased["counts"]["customers"], 1);
    assert_eq!(erased["counts"]["messages"], 3);
    assert_eq!(erased["counts"]["follow_ups"], 1, "the pending second step");
    assert_eq!(erased["counts"]["events"], json!(events.len()));
    assert_eq!(erased["counts"]["import_errors"], 1);

    assert_absent(&dump(&app).await, &traces);
    let opened = assert_no_sealed_trace(&app, &traces).await;
    assert!(opened > 10, "Berkay's sealed values are still there to open ({opened})");

    let berkay_after = shop.post_json(&app, "/api/customers/export", &json!({"email": BERKAY.email})).await;
    assert_eq!(
        without_generated_at(berkay_after["document"].clone()),
        without_generated_at(berkay_before["document"].clone())
    );
    assert_eq!(message_figures(&app).await, figures_before, "aggregate figures are unchanged");

    let (state, reason): (String, Option<String>) =
        sqlx::query_as("SELECT state, cancel_reason FROM scheduled_tasks WHERE step = 't1' AND customer_id = $1::uuid")
            .bind(&customer_id)
            .fetch_one(&app.admin)
            .await
            .expect("the second step");
    assert_eq!((state.as_str(), reason.as_deref()), ("cancelled", Some("erased")));
    let audit: Value = sqlx::query_scalar(
        "SELECT jsonb_build_object('actor', actor, 'after', after) FROM audit_log
         WHERE action = 'customer.erased' AND subject_id = $1",
    )
    .bind(&customer_id)
    .fetch_one(&app.admin)
    .await
    .expect("one audit row");
    assert!(audit["actor"].as_str().is_some_and(|a| a.starts_with("api-key:")), "{audit}");
    assert_eq!((&audit["after"]["channel"], &audit["after"]["counts"]), (&json!("api"), &erased["counts"]));

    // Asked again: a clear answer, and nothing found by the phone any more.
    let again = shop.post_json(&app, "/api/customers/erase", &json!({"customer_id": customer_id})).await;
    assert_eq!(again["outcome"], "already_erased");
    assert_problem(shop.post(&app, "/api/customers/export", &json!({"customer_id": customer_id})).await, 404).await;
    assert_problem(shop.post(&app, "/api/customers/erase", &json!({"phone": ADALET.phone})).await, 404).await;

    let listed = shop.get_json(&app, "/api/privacy-requests?kind=erase").await;
    let requests = listed["privacy_requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 2, "{listed}");
    assert_eq!(requests[1]["id"], erased["request_id"], "newest first");
    assert_eq!((&requests[1]["channel"], &requests[1]["status"]), (&json!("api"), &json!("completed")));
    let detail =
        shop.get_json(&app, &format!("/api/privacy-requests/{}", exported["request_id"].as_str().expect("id"))).await;
    assert_eq!((&detail["kind"], &detail["document"]), (&json!("export"), &Value::Null), "an API export is not kept");
}

#[tokio::test]
async fn bad_requests_are_named_and_another_merchants_customer_is_not_found() {
    let graph = MockServer::start().await;
    let app = spawn_privacy_app(&graph).await;
    let shop = shop(&app, "Glow Store", false).await;
    let other = super::shop(&app, "Other Store", false).await;
    assert_eq!(
        app.post_shopify(&shop.shopify, "orders/create", "create-1", &shopify_order(&ADALET)).await.status(),
        202
    );
    let _workers = app.start_pools(&[recete_workers::Pool::OrderEvents]);
    app.wait_for_count(PROCESSED, 0, WAIT_SECS).await;
    let customer: Uuid = sqlx::query_scalar("SELECT id FROM customers").fetch_one(&app.admin).await.expect("customer");

    let cases = [
        (json!({}), "customer_id"),
        (json!({"customer_id": customer, "phone": ADALET.phone}), "phone"),
        (json!({"phone": ADALET.phone, "email": ADALET.email}), "email"),
        (json!({"phone": ""}), "phone"),
        (json!({"phone": "1".repeat(40)}), "phone"),
        (json!({"email": "a".repeat(255)}), "email"),
        (json!({"customer_id": "not-a-uuid"}), "customer_id"),
    ];
    for (body, field) in cases {
        for path in ["/api/customers/export", "/api/customers/erase"] {
            let problem = assert_problem(shop.post(&app, path, &body).await, 422).await;
            assert_eq!(problem["field"], field, "{path} {body}: {problem}");
            assert!(!problem.to_string().contains(ADALET.phone), "a problem never repeats a phone number: {problem}");
        }
    }
    let unknown = assert_problem(shop.post(&app, "/api/customers/export", &json!({"name": "Adalet"})).await, 422).await;
    assert_eq!(unknown["field"], "name");
    assert_problem(shop.post(&app, "/api/customers/erase", &json!({"email": "someone@example.com"})).await, 404).await;
    // What cannot be a phone or an email matches no one; the answer says why without repeating it.
    for (body, reason) in [
        (json!({"phone": "call me maybe"}), "(not a phone number)"),
        (json!({"phone": "+90 555"}), "(not a valid number for its country)"),
        (json!({"email": "nobody"}), "(it is not shaped like one)"),
    ] {
        let problem = assert_problem(shop.post(&app, "/api/customers/export", &body).await, 404).await;
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.ends_with(reason), "{detail}");
        assert!(!detail.contains("call me") && !detail.contains("555") && !detail.contains("nobody"), "{detail}");
    }

    // Another merchant's customer answers exactly like a missing one, and stays as it was.
    for path in ["/api/customers/export", "/api/customers/erase"] {
        let problem = assert_problem(other.post(&app, path, &json!({"customer_id": customer})).await, 404).await;
        assert_eq!(problem["detail"], format!("no customer {customer}"));
    }
    let by_email = other.post(&app, "/api/customers/export", &json!({"email": ADALET.email})).await;
    assert_problem(by_email, 404).await;
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE erased_at IS NULL").await, 1);
    assert_problem(shop.get(&app, &format!("/api/privacy-requests/{}", Uuid::now_v7())).await, 404).await;
    let bad_cursor = assert_problem(shop.get(&app, "/api/privacy-requests?cursor=nonsense").await, 422).await;
    assert_eq!(bad_cursor["field"], "cursor");
}
