//! What Meta actually sends beside typed text: a customer turning marketing messages off (or back
//! on) in WhatsApp's settings, the "Stop promotions" button of marketing templates, quick-reply
//! and list replies, and shapes the agent does not answer (images, kept as images; reactions,
//! unsupported messages, priced statuses, template status updates). Bodies are the fixtures under
//! `tests/fixtures/whatsapp/`, written from Meta's webhook reference, signed like Meta signs.

use chrono::Utc;
use wiremock::MockServer;

use super::{CUSTOMER_WA_ID, SENT, Shop, deliver, graph_accepts, sent_bodies, shop, spawn_messaging_app};
use crate::helpers::{PHONE_NUMBER_ID, RunningWorkers, TestApp, fixture};

const PENDING_FOLLOW_UPS: &str =
    "SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up' AND state IN ('pending', 'failed')";
const STOPPED_EVENTS: &str = "SELECT count(*) FROM external_events WHERE state IN ('failed', 'dead')";

/// A fixture for our number and `wa_id`, stamped `at` (unix seconds).
fn meta(name: &str, wa_id: &str, at: i64) -> Vec<u8> {
    String::from_utf8(fixture(&format!("whatsapp/{name}")))
        .expect("utf8")
        .replace("PHONE_NUMBER_ID", PHONE_NUMBER_ID)
        .replace("WA_ID", wa_id)
        .replace("TIMESTAMP", &at.to_string())
        .into_bytes()
}

/// A text message from `wa_id`, sent now.
fn text(wa_id: &str, wamid: &str, body: &str) -> Vec<u8> {
    crate::knowledge::inbound(wa_id, body, wamid, Utc::now().timestamp())
}

async fn consent(app: &TestApp) -> (String, Option<String>) {
    sqlx::query_as("SELECT whatsapp_consent, consent_source FROM customers")
        .fetch_one(&app.admin)
        .await
        .expect("one customer")
}

/// A delivered order whose first follow-up went out and whose second is pending.
async fn delivered_with_a_pending_follow_up(graph: &MockServer) -> (TestApp, Shop, RunningWorkers) {
    graph_accepts(graph).await;
    let app = spawn_messaging_app(graph).await;
    let shop = shop(&app).await;
    let workers = app.start_workers();
    deliver(&app, &shop, "7007").await;
    app.wait_for_count(SENT, 1, 20).await;
    assert_eq!(app.count(PENDING_FOLLOW_UPS).await, 1, "the second step waits for its hour");
    (app, shop, workers)
}

#[tokio::test]
async fn marketing_stopped_in_whatsapp_settings_opts_out_cancels_follow_ups_and_resume_opts_back_in() {
    let graph = MockServer::start().await;
    let (app, shop, _workers) = delivered_with_a_pending_follow_up(&graph).await;
    let now = Utc::now().timestamp();

    let stop = meta("user_preferences_stop.json", CUSTOMER_WA_ID, now);
    for copy in 0..2 {
        let response = app.post_whatsapp(&shop.whatsapp.secret, &stop).await;
        assert_eq!(response.status(), 200, "copy {copy}");
    }
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'", 1, 20).await;
    assert_eq!(consent(&app).await, ("revoked".into(), Some("whatsapp:user_preferences".into())));
    app.wait_for_count(PENDING_FOLLOW_UPS, 0, 20).await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up' AND cancel_reason = 'customer opted out'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'customer.consent_changed'
               AND after->>'source' = 'whatsapp:user_preferences' AND after->>'whatsapp_consent' = 'revoked'"
        )
        .await,
        1,
        "one opt-out in the consent history, the repeat stored nothing"
    );
    assert_eq!(app.count("SELECT count(*) FROM external_events WHERE kind = 'marketing_preference'").await, 1);
    assert_eq!(sent_bodies(&graph).await.len(), 1, "the customer wrote nothing: no confirmation is sent");

    let resume = meta("user_preferences_resume.json", CUSTOMER_WA_ID, now + 60);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &resume).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'granted'", 1, 20).await;
    assert_eq!(consent(&app).await, ("granted".into(), Some("whatsapp:user_preferences".into())));

    // A stop from before the resume, delivered late, changes nothing.
    let late_stop = meta("user_preferences_stop.json", CUSTOMER_WA_ID, now - 600);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &late_stop).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 4, 20).await;
    assert_eq!(consent(&app).await, ("granted".into(), Some("whatsapp:user_preferences".into())));
    assert_eq!(app.count(STOPPED_EVENTS).await, 0);
}

#[tokio::test]
async fn a_resume_grants_nothing_a_customer_never_gave() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    let resume = meta("user_preferences_resume.json", "905557654321", Utc::now().timestamp());
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &resume).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 1, 20).await;
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'granted'").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'customer.consent_changed'").await, 0);
}

#[tokio::test]
async fn the_stop_promotions_button_opts_out_cancels_follow_ups_and_is_confirmed() {
    let graph = MockServer::start().await;
    let (app, shop, _workers) = delivered_with_a_pending_follow_up(&graph).await;

    let tapped = meta("button_stop_promotions.json", CUSTOMER_WA_ID, Utc::now().timestamp());
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &tapped).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'", 1, 20).await;
    assert_eq!(consent(&app).await, ("revoked".into(), Some("whatsapp:button".into())));
    app.wait_for_count(PENDING_FOLLOW_UPS, 0, 20).await;
    app.wait_for_count(SENT, 2, 20).await;
    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 2, "the follow-up and one confirmation");
    assert!(bodies[1]["text"]["body"].as_str().is_some_and(|b| b.contains("START")), "{}", bodies[1]);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE action = 'customer.consent_changed' AND after->>'source' = 'whatsapp:button'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer'").await, 0, "not a question");
}

#[tokio::test]
async fn quick_reply_and_list_replies_are_the_customers_words() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    let now = Utc::now().timestamp();
    for name in ["button_quick_reply.json", "interactive_button_reply.json", "interactive_list_reply.json"] {
        assert_eq!(
            app.post_whatsapp(&shop.whatsapp.secret, &meta(name, CUSTOMER_WA_ID, now)).await.status(),
            200,
            "{name}"
        );
    }
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 3, 20).await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND kind = 'text' AND body_sealed IS NOT NULL"
        )
        .await,
        3
    );
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer'").await,
        3,
        "each one is answered"
    );
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'").await, 0);
    assert_eq!(app.count(STOPPED_EVENTS).await, 0);
}

#[tokio::test]
async fn shapes_we_do_not_act_on_are_acknowledged_and_the_next_message_still_goes_through() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    let now = Utc::now().timestamp();
    let shapes = [
        "image.json",
        "reaction.json",
        "unsupported.json",
        "statuses_pricing.json",
        "message_template_status_update.json",
    ];
    for (index, name) in shapes.iter().enumerate() {
        let response = app.post_whatsapp(&shop.whatsapp.secret, &meta(name, CUSTOMER_WA_ID, now)).await;
        assert_eq!(response.status(), 200, "{name}");
        let next = text(CUSTOMER_WA_ID, &format!("wamid.NEXT{index}"), "Is it fine for sensitive skin?");
        assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &next).await.status(), 200, "the text after {name}");
        app.wait_for_count(
            "SELECT count(*) FROM messages WHERE direction = 'inbound' AND kind = 'text'",
            index as i64 + 1,
            20,
        )
        .await;
    }
    // The image is kept as an image, reaction and unsupported messages as `other`; all open the
    // window. The priced status and the template update change nothing.
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 9, 20).await;
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE direction = 'inbound' AND kind = 'other'").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM messages WHERE direction = 'inbound' AND kind = 'image'").await, 1);
    assert_eq!(app.count(STOPPED_EVENTS).await, 0);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer'").await, 5, "only the texts");
}

#[tokio::test]
async fn a_number_in_a_range_the_metadata_does_not_know_reaches_the_conversation() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();

    // Turkish mobile, 59x: possible (the right length) but in no range the bundled metadata lists.
    let new_range = text("905951112233", "wamid.NEW-RANGE", "Hello, is my order on its way?");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &new_range).await.status(), 200);
    app.wait_for_count(
        "SELECT count(*) FROM messages WHERE direction = 'inbound' AND wa_message_id = 'wamid.NEW-RANGE'",
        1,
        20,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM conversations WHERE window_expires_at > now()").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE phone_lookup IS NOT NULL").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer'").await, 1);

    // Not even possible: nobody to answer, and the message leaves a trace the merchant sees.
    let impossible = text("9055", "wamid.IMPOSSIBLE", "hello");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &impossible).await.status(), 200);
    app.wait_for_count(
        "SELECT count(*) FROM audit_log WHERE action = 'whatsapp.message_unanswerable' AND after->>'wa_message_id' = 'wamid.IMPOSSIBLE'",
        1,
        20,
    )
    .await;
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 2, 20).await;
    assert_eq!(app.count(STOPPED_EVENTS).await, 0);
}

const FOLLOW_UPS: &str = "SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up'";
const RESUMED: &str = "SELECT count(*) FROM audit_log WHERE action = 'follow_ups.resumed'";

#[tokio::test]
async fn a_resume_gives_back_the_follow_ups_the_stop_cancelled_once() {
    let graph = MockServer::start().await;
    let (app, shop, _workers) = delivered_with_a_pending_follow_up(&graph).await;
    let now = Utc::now().timestamp();

    let stop = meta("user_preferences_stop.json", CUSTOMER_WA_ID, now);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &stop).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'", 1, 20).await;
    app.wait_for_count(PENDING_FOLLOW_UPS, 0, 20).await;

    let resume = meta("user_preferences_resume.json", CUSTOMER_WA_ID, now + 60);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &resume).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'granted'", 1, 20).await;
    app.wait_for_count(PENDING_FOLLOW_UPS, 1, 20).await;
    assert_eq!(app.count(FOLLOW_UPS).await, 2, "the cancelled step is put back, not planned a second time");
    assert_eq!(
        app.count("SELECT count(*) FROM scheduled_tasks WHERE kind = 'follow_up' AND state = 'done'").await,
        1,
        "the step sent before the stop stays sent"
    );

    // A second resume (a later one, then the first again as Meta retries it) changes nothing.
    let again = meta("user_preferences_resume.json", CUSTOMER_WA_ID, now + 120);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &again).await.status(), 200);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &resume).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 4, 20).await;
    assert_eq!(app.count(PENDING_FOLLOW_UPS).await, 1);
    assert_eq!(app.count(FOLLOW_UPS).await, 2);
    assert_eq!(app.count(RESUMED).await, 1, "re-planned once");
    assert_eq!(sent_bodies(&graph).await.len(), 1, "the frequency cap still holds the step back");
    assert_eq!(app.count(STOPPED_EVENTS).await, 0);
}

#[tokio::test]
async fn start_after_the_stop_promotions_button_gives_back_the_cancelled_follow_ups() {
    let graph = MockServer::start().await;
    let (app, shop, _workers) = delivered_with_a_pending_follow_up(&graph).await;

    let tapped = meta("button_stop_promotions.json", CUSTOMER_WA_ID, Utc::now().timestamp());
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &tapped).await.status(), 200);
    app.wait_for_count(PENDING_FOLLOW_UPS, 0, 20).await;

    for (wamid, body) in [("wamid.START-1", "START"), ("wamid.START-2", "start")] {
        assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &text(CUSTOMER_WA_ID, wamid, body)).await.status(), 200);
    }
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 4, 20).await;
    assert_eq!(consent(&app).await, ("granted".into(), Some("whatsapp:START".into())));
    assert_eq!(app.count(PENDING_FOLLOW_UPS).await, 1);
    assert_eq!(app.count(FOLLOW_UPS).await, 2);
    assert_eq!(app.count(RESUMED).await, 1, "the second START changed nothing");
}

#[tokio::test]
async fn opt_outs_from_whatsapp_settings_and_the_button_are_in_the_consent_history_and_counted() {
    let graph = MockServer::start().await;
    graph_accepts(&graph).await;
    let app = spawn_messaging_app(&graph).await;
    let shop = shop(&app).await;
    let workers = app.start_workers();
    let api_key = {
        let mut tx = recete_platform::db::tenant_tx(&app.pool, shop.merchant).await.expect("tx");
        let (_, key) = recete_shared::api_keys::insert(&mut tx, shop.merchant, "test", None).await.expect("key");
        tx.commit().await.expect("commit");
        key
    };
    let api = |path: &str| app.client.get(app.url(path)).bearer_auth(&api_key);
    const ADA: &str = "905551234567";
    const BORA: &str = "905557654321";

    let now = Utc::now().timestamp();
    let stop = meta("user_preferences_stop.json", ADA, now);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &stop).await.status(), 200);
    let tapped = meta("button_stop_promotions.json", BORA, now);
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &tapped).await.status(), 200);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'", 2, 20).await;
    app.wait_for_count("SELECT count(*) FROM external_events WHERE state = 'processed'", 2, 20).await;
    workers.stop().await;

    // The customers list says where each opt-out came from.
    let listed: serde_json::Value =
        api("/api/customers?consent=revoked").send().await.expect("sent").json().await.expect("JSON");
    let mut sources: Vec<&str> = listed["customers"]
        .as_array()
        .expect("customers")
        .iter()
        .filter_map(|customer| customer["consent_source"].as_str())
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, ["whatsapp:button", "whatsapp:user_preferences"], "{listed}");

    // Each customer's export carries the opt-out in their consent history.
    for (wa_id, source) in [(ADA, "whatsapp:user_preferences"), (BORA, "whatsapp:button")] {
        let response = app
            .client
            .post(app.url("/api/customers/export"))
            .bearer_auth(&api_key)
            .json(&serde_json::json!({"phone": format!("+{wa_id}")}))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "export of {wa_id}");
        let exported: serde_json::Value = response.json().await.expect("JSON");
        let history = exported["document"]["consent_history"].as_array().expect("history").clone();
        assert_eq!(history.len(), 1, "{exported}");
        assert_eq!(history[0]["after"]["whatsapp_consent"], "revoked", "{wa_id}");
        assert_eq!(history[0]["after"]["source"], source, "{wa_id}");
    }

    // The day's figures count both as opt-outs.
    let later = Utc::now() + chrono::Duration::seconds(60);
    let ran = recete_analytics::run_periodic(
        &app.pool,
        later,
        std::time::Duration::from_secs(60),
        std::time::Duration::from_secs(600),
    )
    .await
    .expect("rollup");
    assert!(matches!(ran, recete_shared::periodic::Run::Done(_)), "the rollup ran");
    let summary: serde_json::Value =
        api("/api/analytics/summary").send().await.expect("sent").json().await.expect("JSON");
    assert_eq!(summary["totals"]["opt_outs"], 2, "{summary}");
}

#[tokio::test]
async fn consent_the_store_reports_after_a_stop_gives_back_the_cancelled_follow_ups() {
    let graph = MockServer::start().await;
    let (app, shop, _workers) = delivered_with_a_pending_follow_up(&graph).await;

    let stop = text(CUSTOMER_WA_ID, "wamid.STOP", "STOP");
    assert_eq!(app.post_whatsapp(&shop.whatsapp.secret, &stop).await.status(), 200);
    app.wait_for_count(PENDING_FOLLOW_UPS, 0, 20).await;

    // The store reports the customer's WhatsApp consent again, given after the STOP.
    let given_at = (Utc::now() + chrono::Duration::seconds(30)).to_rfc3339();
    let body = serde_json::json!({
        "id": "consent-again", "type": "order.delivered", "occurred_at": given_at,
        "order": {"id": "7007", "customer": {"phone": super::CUSTOMER_PHONE, "whatsapp_consent": true,
                                             "consent_at": given_at}}
    });
    let response = app.post_generic(&shop.generic, Utc::now().timestamp(), body.to_string().as_bytes()).await;
    assert_eq!(response.status(), 202);
    app.wait_for_count("SELECT count(*) FROM customers WHERE whatsapp_consent = 'granted'", 1, 20).await;
    app.wait_for_count(PENDING_FOLLOW_UPS, 1, 20).await;
    assert_eq!(app.count(FOLLOW_UPS).await, 2);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_log WHERE action = 'follow_ups.resumed'
               AND after->>'consent_source' = 'generic:whatsapp_consent'"
        )
        .await,
        1
    );
}
