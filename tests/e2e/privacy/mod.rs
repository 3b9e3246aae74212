//! Customers' privacy requests end to end: a customer built through the real pipeline (store
//! webhooks, WhatsApp messages, follow-ups, an agent reply) is exported, then erased; a database
//! dump afterwards holds nothing that identifies them, and every sealed value left, opened, names
//! no one erased. Shopify's privacy webhooks do the same through the event pipeline.

mod api;
mod shopify;

use chrono::{Duration, Utc};
use recete_platform::ids::{ImportId, IntegrationId, MerchantId};
use recete_privacy::requests;
use recete_shared::customers::{EMAIL_LOOKUP_DOMAIN, PHONE_LOOKUP_DOMAIN, field_context};
use recete_shared::events::store::{open_payload, payload_context};
use recete_shared::integrations::{CreatedIntegration, IntegrationKind};
use recete_shared::{imports, merchants, message_bodies};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{PHONE_NUMBER_ID, TestApp, spawn_app_with};

/// Generous: the first answer of a process also sets up the agent.
pub const WAIT_SECS: u64 = 30;

/// Someone the tests build a history for, with every identifier a store or Meta sends.
pub struct Person {
    pub store_id: &'static str,
    /// E.164.
    pub phone: &'static str,
    /// As the store sends it (mixed case).
    pub email: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub street: &'static str,
    pub tracking_number: &'static str,
    pub order_id: &'static str,
    /// What they write on WhatsApp.
    pub question: &'static str,
}

pub const ADALET: Person = Person {
    store_id: "7123456789012345678",
    phone: "+905551234567",
    email: "Adalet.Yilmazoglu@Example.com",
    first_name: "Adalet",
    last_name: "Yilmazoglu",
    street: "Bagdat Caddesi 417",
    tracking_number: "TRK55501ADALET",
    order_id: "5550001",
    question: "Where is my order? I wait for it since Monday",
};

pub const BERKAY: Person = Person {
    store_id: "7123456789012349999",
    phone: "+905557654321",
    email: "berkay.demirtas@example.org",
    first_name: "Berkay",
    last_name: "Demirtas",
    street: "Moda Sokak 12",
    tracking_number: "TRK55502BERKAY",
    order_id: "5550002",
    question: "Has my order shipped yet? Berkay asking",
};

impl Person {
    pub fn wa_id(&self) -> &str {
        self.phone.trim_start_matches('+')
    }

    pub fn email_lower(&self) -> String {
        self.email.to_lowercase()
    }

    /// Every form of their identifiers a dump could hold, lower-cased: as typed, as digits, the
    /// national number, hex of each (how a dump prints bytes), and the keyed lookup hashes.
    pub fn traces(&self, app: &TestApp, extra: &[String]) -> Vec<String> {
        let national = self.phone.trim_start_matches("+90");
        let spaced = format!("{} {} {} {}", &national[..3], &national[3..6], &national[6..8], &national[8..]);
        let mut forms: Vec<String> = [
            self.store_id,
            self.phone,
            self.wa_id(),
            national,
            &spaced,
            self.email,
            self.first_name,
            self.last_name,
            self.street,
            self.tracking_number,
            self.question,
        ]
        .iter()
        .map(|form| form.to_string())
        .chain(extra.iter().cloned())
        .collect();
        forms.extend(forms.clone().iter().map(|form| to_hex(form.as_bytes())));
        forms.push(to_hex(&app.keyring.lookup_hash(PHONE_LOOKUP_DOMAIN, self.phone)));
        forms.push(to_hex(&app.keyring.lookup_hash(EMAIL_LOOKUP_DOMAIN, &self.email_lower())));
        forms.iter().map(|form| form.to_lowercase()).collect()
    }
}

/// A WhatsApp message id carrying the sender's number, as Meta's ids do.
pub fn wamid_for(person: &Person, serial: u8) -> String {
    format!("wamid.HBgM{}FQIAEhgU{serial:02}", person.wa_id())
}

/// How a dump prints bytes.
fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// An app whose messages go to a fake Graph API and whose agent has an embedder it never needs
/// (the questions asked are answered by rules), so no model is loaded.
pub async fn spawn_privacy_app(graph: &MockServer) -> TestApp {
    let uri = graph.uri();
    spawn_app_with(move |figment| {
        figment
            .merge(("whatsapp.graph_base_url", uri.clone()))
            .merge(("whatsapp.access_token", "test-token"))
            .merge(("whatsapp.request_timeout_ms", 2000))
            .merge(("whatsapp.customer_gap_secs", 0))
            .merge(("embedding.provider", "openai"))
            .merge(("embedding.base_url", format!("{uri}/embeddings-v1")))
    })
    .await
}

/// Meta accepting every message, each under its own wamid.
pub async fn graph_accepts(graph: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PHONE_NUMBER_ID}/messages")))
        .respond_with(|_: &wiremock::Request| {
            let id = format!("wamid.OUT{}", Uuid::new_v4().simple());
            ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": id}]}))
        })
        .mount(graph)
        .await;
}

pub struct Shop {
    pub merchant: MerchantId,
    pub api_key: String,
    pub shopify: CreatedIntegration,
    pub whatsapp: Option<CreatedIntegration>,
}

/// A merchant in Turkey with a Shopify store, optionally a WhatsApp number, and a two-step plan:
/// one follow-up at delivery, one two days later.
pub async fn shop(app: &TestApp, name: &str, with_whatsapp: bool) -> Shop {
    let created = merchants::create(&app.pool, name, "Europe/Istanbul").await.expect("merchant");
    let shopify = app.integration(created.merchant_id, IntegrationKind::Shopify).await;
    let whatsapp =
        if with_whatsapp { Some(app.integration(created.merchant_id, IntegrationKind::WhatsApp).await) } else { None };
    let settings = json!({
        "default_phone_country": "TR",
        "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
        "follow_up_plan": [
            {"key": "t0", "offset_hours": 0,
             "template": {"name": "recete_how_to_use", "language": "en", "category": "utility", "parameters": ["product_title"]}},
            {"key": "t1", "offset_hours": 48,
             "template": {"name": "recete_check_in", "language": "en", "category": "utility", "parameters": ["order_number"]}}
        ]
    });
    sqlx::query("UPDATE merchants SET settings = $2 WHERE id = $1")
        .bind(created.merchant_id.as_uuid())
        .bind(settings)
        .execute(&app.admin)
        .await
        .expect("settings");
    Shop { merchant: created.merchant_id, api_key: created.api_key, shopify, whatsapp }
}

impl Shop {
    pub async fn post(&self, app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
        app.client.post(app.url(path)).bearer_auth(&self.api_key).json(body).send().await.expect("request sent")
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        app.client.get(app.url(path)).bearer_auth(&self.api_key).send().await.expect("request sent")
    }

    /// `POST path` expecting 200 and a JSON body.
    pub async fn post_json(&self, app: &TestApp, path: &str, body: &Value) -> Value {
        let response = self.post(app, path, body).await;
        assert_eq!(response.status(), 200, "POST {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn get_json(&self, app: &TestApp, path: &str) -> Value {
        let response = self.get(app, path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }
}

/// Shopify's `orders/create` for `person`, with SMS consent, placed two hours ago.
pub fn shopify_order(person: &Person) -> Vec<u8> {
    let placed = (Utc::now() - Duration::hours(2)).to_rfc3339();
    let address = json!({
        "first_name": person.first_name, "last_name": person.last_name, "address1": person.street,
        "city": "Istanbul", "zip": "34728", "phone": person.phone, "country": "Turkey", "country_code": "TR"
    });
    json!({
        "id": person.order_id.parse::<u64>().expect("numeric order id"),
        "name": format!("#{}", person.order_id),
        "email": person.email,
        "phone": person.phone,
        "created_at": placed, "updated_at": placed,
        "currency": "TRY", "total_price": "749.90", "financial_status": "paid",
        "customer": {
            "id": person.store_id.parse::<u64>().expect("numeric customer id"),
            "email": person.email, "phone": person.phone,
            "first_name": person.first_name, "last_name": person.last_name,
            "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in", "consent_updated_at": placed}
        },
        "shipping_address": address, "billing_address": address,
        "line_items": [{"id": 9001, "product_id": 4001, "sku": "GLOW-C-30", "title": "Glow Vitamin C Serum",
                        "name": "Glow Vitamin C Serum", "quantity": 1, "price": "749.90"}],
        "fulfillments": []
    })
    .to_string()
    .into_bytes()
}

/// Shopify's `fulfillments/update` saying `person`'s order was delivered an hour ago.
pub fn shopify_delivered(person: &Person) -> Vec<u8> {
    let delivered = (Utc::now() - Duration::hours(1)).to_rfc3339();
    json!({
        "id": 880001, "order_id": person.order_id.parse::<u64>().expect("numeric order id"), "status": "success",
        "created_at": delivered, "updated_at": delivered, "shipment_status": "delivered",
        "tracking_company": "Yurtici", "tracking_number": person.tracking_number,
        "tracking_numbers": [person.tracking_number]
    })
    .to_string()
    .into_bytes()
}

/// A WhatsApp text from `person`, sent now.
pub fn inbound(person: &Person, wamid: &str) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": person.first_name}, "wa_id": person.wa_id()}],
            "messages": [{"from": person.wa_id(), "id": wamid, "timestamp": Utc::now().timestamp().to_string(),
                          "type": "text", "text": {"body": person.question}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// Meta's delivery status for a message we sent `person`.
pub fn delivered_status(person: &Person, wamid: &str, our_id: Uuid) -> Vec<u8> {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": wamid, "status": "delivered", "timestamp": Utc::now().timestamp().to_string(),
                          "recipient_id": person.wa_id(), "biz_opaque_callback_data": our_id.to_string()}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// Uploads an orders CSV whose row for each of `people` fails (a quantity in words), and waits
/// for the import to end; the failed rows keep the raw fields, sealed.
pub async fn failed_csv_rows(app: &TestApp, shop: &Shop, people: &[&Person]) {
    let mut csv = String::from("order_id,email,phone,name,country,created_at,status,sku,product_title,quantity\n");
    for person in people {
        csv.push_str(&format!(
            "9{},{},{},{} {},TR,2026-11-20 10:00,paid,GLOW-C-30,Glow Vitamin C Serum,two\n",
            person.order_id, person.email, person.phone, person.first_name, person.last_name
        ));
    }
    let response = app
        .client
        .post(app.url("/api/imports/orders"))
        .bearer_auth(&shop.api_key)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .expect("upload sent");
    assert_eq!(response.status(), 202);
    let accepted: Value = response.json().await.expect("JSON body");
    let import = accepted["import_id"].as_str().expect("import id").to_owned();
    app.wait_for_count(
        &format!(
            "SELECT count(*) FROM imports WHERE id = '{import}' AND status = 'completed' AND failed = {}",
            people.len()
        ),
        1,
        WAIT_SECS,
    )
    .await;
}

/// The whole database as `pg_dump` writes it, as the superuser, lower-cased.
pub async fn dump(app: &TestApp) -> String {
    let admin =
        std::env::var("RECETE_TEST_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (server, _) = admin.rsplit_once('/').expect("the admin URL names a database");
    let url = format!("{server}/{}", app.db.name());
    let output =
        tokio::task::spawn_blocking(move || std::process::Command::new("pg_dump").arg("--dbname").arg(url).output())
            .await
            .expect("pg_dump joins")
            .expect("pg_dump runs");
    assert!(output.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).to_lowercase()
}

/// Asserts that nothing in `dump` matches any of `traces`.
pub fn assert_absent(dump: &str, traces: &[String]) {
    for trace in traces {
        assert!(!dump.contains(trace.as_str()), "the dump still holds `{trace}`");
    }
}

/// The binary columns of the schema and what they hold: sealed values this test opens, or hashes
/// and keys that hold nothing to open. A new binary column fails here until it is accounted for.
const BINARY_COLUMNS: &[(&str, &str, &str)] = &[
    ("customers", "phone_sealed", "sealed"),
    ("customers", "email_sealed", "sealed"),
    ("customers", "name_sealed", "sealed"),
    ("customers", "phone_lookup", "hash"),
    ("customers", "email_lookup", "hash"),
    ("messages", "body_sealed", "sealed"),
    ("external_events", "payload_sealed", "sealed"),
    ("external_events", "normalized_sealed", "sealed"),
    ("privacy_requests", "document_sealed", "sealed"),
    ("import_errors", "row_sealed", "sealed"),
    ("import_errors", "subject_lookups", "hash"),
    ("import_chunks", "data_sealed", "sealed"),
    ("imports", "sha256", "hash"),
    ("integrations", "secret_sealed", "a store's signing secret"),
    ("integrations", "previous_secret_sealed", "a store's signing secret"),
    ("webhook_endpoints", "secret_sealed", "a webhook endpoint's signing secret"),
    ("webhook_endpoints", "previous_secret_sealed", "a webhook endpoint's signing secret"),
    ("integrations", "verify_token_hash", "hash"),
    ("api_keys", "key_hash", "hash"),
    ("idempotency_keys", "request_hash", "hash"),
    ("knowledge_chunks", "content_hash", "hash"),
    ("operators", "token_hash", "hash"),
    ("operator_sessions", "id_hash", "hash"),
    ("merchant_user_sessions", "id_hash", "hash"),
    ("merchant_user_sign_in_links", "token_hash", "hash"),
    ("console_sign_in_failures", "subject_hash", "hash"),
    ("_sqlx_migrations", "checksum", "hash"),
];

#[derive(sqlx::FromRow)]
struct SealedEvent {
    integration_id: IntegrationId,
    dedup_key: String,
    key_id: String,
    payload_sealed: Vec<u8>,
    normalized_sealed: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct SealedChunk {
    merchant_id: MerchantId,
    import_id: ImportId,
    seq: i32,
    key_id: String,
    data_sealed: Vec<u8>,
}

/// Every sealed value in the database, opened: where it lives, and its text.
pub async fn opened_values(app: &TestApp) -> Vec<(String, String)> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns
         WHERE table_schema = 'public' AND (data_type = 'bytea' OR udt_name = '_bytea')",
    )
    .fetch_all(&app.admin)
    .await
    .expect("columns");
    for (table, column) in &columns {
        assert!(
            BINARY_COLUMNS.iter().any(|(t, c, _)| t == table && c == column),
            "{table}.{column} is binary and this test does not know what it holds"
        );
    }
    let mut opened = Vec::new();
    let fields: Vec<(MerchantId, Option<String>, String, Vec<u8>)> = sqlx::query_as(
        "SELECT merchant_id, pii_key_id, field, sealed FROM customers,
             LATERAL (VALUES ('phone', phone_sealed), ('email', email_sealed), ('name', name_sealed)) AS f(field, sealed)
         WHERE sealed IS NOT NULL",
    )
    .fetch_all(&app.admin)
    .await
    .expect("customers");
    for (merchant, key_id, field, sealed) in fields {
        let key_id = key_id.as_deref().expect("a sealed field has a key id");
        let plain = app.keyring.open(key_id, &sealed, &field_context(merchant, &field)).expect("customer field opens");
        opened.push((format!("customers.{field}"), String::from_utf8_lossy(&plain).into_owned()));
    }
    let bodies: Vec<(MerchantId, Option<String>, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT merchant_id, pii_key_id, body_sealed FROM messages WHERE body_sealed IS NOT NULL")
            .fetch_all(&app.admin)
            .await
            .expect("messages");
    for (merchant, key_id, sealed) in bodies {
        let text =
            message_bodies::open(&app.keyring, merchant, key_id.as_deref(), sealed.as_deref()).expect("body opens");
        opened.push(("messages.body".into(), text.unwrap_or_default()));
    }
    let events: Vec<SealedEvent> = sqlx::query_as(
        "SELECT integration_id, dedup_key, key_id, payload_sealed, normalized_sealed FROM external_events",
    )
    .fetch_all(&app.admin)
    .await
    .expect("events");
    for event in events {
        for (column, sealed) in [("payload", &event.payload_sealed), ("normalized", &event.normalized_sealed)] {
            let context = payload_context(event.integration_id, &event.dedup_key, column);
            let plain = open_payload(&app.keyring, &event.key_id, sealed, &context).expect("event payload opens");
            opened.push((format!("external_events.{column}"), String::from_utf8_lossy(&plain).into_owned()));
        }
    }
    let replies: Vec<(MerchantId, Value)> = sqlx::query_as(
        "SELECT merchant_id, payload -> 'text_sealed' FROM scheduled_tasks WHERE payload ? 'text_sealed'",
    )
    .fetch_all(&app.admin)
    .await
    .expect("tasks");
    for (merchant, sealed) in replies {
        let text = message_bodies::open_from_payload(&app.keyring, merchant, &sealed).expect("reply text opens");
        opened.push(("scheduled_tasks.payload.text_sealed".into(), text));
    }
    let documents: Vec<(MerchantId, Uuid, String, Vec<u8>)> = sqlx::query_as(
        "SELECT merchant_id, id, document_key_id, document_sealed FROM privacy_requests WHERE document_sealed IS NOT NULL",
    )
    .fetch_all(&app.admin)
    .await
    .expect("documents");
    for (merchant, id, key_id, sealed) in documents {
        let document = requests::open_document(&app.keyring, merchant, id, &key_id, &sealed).expect("document opens");
        opened.push(("privacy_requests.document".into(), serde_json::to_string(&document).expect("serializes")));
    }
    let failed_rows: Vec<(MerchantId, ImportId, String, Vec<u8>)> = sqlx::query_as(
        "SELECT merchant_id, import_id, pii_key_id, row_sealed FROM import_errors WHERE row_sealed IS NOT NULL",
    )
    .fetch_all(&app.admin)
    .await
    .expect("failed rows");
    for (merchant, import, key_id, sealed) in failed_rows {
        let fields = imports::open_error_row(&app.keyring, merchant, import, &key_id, &sealed).expect("row opens");
        opened.push(("import_errors.row".into(), fields.join(",")));
    }
    let chunks: Vec<SealedChunk> =
        sqlx::query_as("SELECT merchant_id, import_id, seq, key_id, data_sealed FROM import_chunks")
            .fetch_all(&app.admin)
            .await
            .expect("chunks");
    for chunk in chunks {
        let context = imports::chunk_context(chunk.merchant_id, chunk.import_id, chunk.seq);
        let plain = app.keyring.open(&chunk.key_id, &chunk.data_sealed, &context).expect("chunk opens");
        opened.push(("import_chunks.data".into(), String::from_utf8_lossy(&plain).into_owned()));
    }
    opened
}

/// Asserts that no opened value holds any of `traces`; returns how many values were opened.
pub async fn assert_no_sealed_trace(app: &TestApp, traces: &[String]) -> usize {
    let opened = opened_values(app).await;
    for (place, text) in &opened {
        let text = text.to_lowercase();
        for trace in traces {
            assert!(!text.contains(trace.as_str()), "{place} still holds `{trace}` once opened");
        }
    }
    opened.len()
}

/// Messages per direction, status and day, and messages sent per day: what aggregate figures read.
pub async fn message_figures(app: &TestApp) -> Vec<(String, String, String, i64)> {
    sqlx::query_as(
        "SELECT direction, status, to_char(created_at, 'YYYY-MM-DD'), count(*) FROM messages GROUP BY 1, 2, 3
         UNION ALL
         SELECT 'sent', '', to_char(sent_at, 'YYYY-MM-DD'), count(*) FROM messages WHERE sent_at IS NOT NULL GROUP BY 3
         ORDER BY 1, 2, 3",
    )
    .fetch_all(&app.admin)
    .await
    .expect("figures")
}

/// A document without the time it was made, for comparing two exports.
pub fn without_generated_at(mut document: Value) -> Value {
    if let Some(object) = document.as_object_mut() {
        object.remove("generated_at");
    }
    document
}
