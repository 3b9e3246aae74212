//! The demo's story, told through the product's own paths: product pages scraped through the
//! merchant API, a Shopify order created and delivered by signed webhooks, its first follow-up
//! sent by the workers (to the local outbox without a Meta token), a customer's question answered
//! by the agent with citations, and a question the agent must not answer handed to a person.
//!
//! Every step is safe to repeat: pages already scraped are not asked for again, and webhooks
//! carry fixed delivery ids (Shopify's `X-Shopify-Webhook-Id`, Meta's `wamid`), which the API
//! stores once however often they arrive.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use recete_api::demo_pages::{DemoPage, PAGES};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::{DemoClient, ShopifyWebhook};
use super::shop::{DemoShop, SHOP_DOMAIN};

/// The store's id of the demo order, as its webhooks carry it.
pub const ORDER_ID: &str = "5550001001";
pub const ORDER_NUMBER: &str = "#1001";
/// The customer's phone as she typed it at checkout, in Turkey.
pub const CUSTOMER_PHONE_AS_TYPED: &str = "0532 123 45 67";
/// Her WhatsApp id: the same number in E.164, without the `+`.
pub const CUSTOMER_WA_ID: &str = "905321234567";
/// A second customer, who has no order and asks something the agent must not answer.
pub const SECOND_CUSTOMER_WA_ID: &str = "905427654321";
pub const QUESTION: &str = "Hi! How many drops of the vitamin C serum should I use, and when?";
pub const QUESTION_WAMID: &str = "wamid.RECETE-DEMO-1001-QUESTION";
pub const HANDOVER_QUESTION: &str =
    "My cheeks went red and itchy after the retinol night cream. Is it an allergic reaction?";
pub const HANDOVER_WAMID: &str = "wamid.RECETE-DEMO-HANDOVER-QUESTION";
/// The business account id in Meta's webhooks (any id: the phone number id picks the merchant).
const WABA_ID: &str = "102290129340398";
const DISPLAY_PHONE_NUMBER: &str = "908502550000";

/// How often the demo asks the API whether a step is done: gently, well inside the per-address
/// quota (`rate_limits.ip`, 100 a minute).
const POLL: Duration = Duration::from_secs(3);
/// Scraping four pages and embedding them; the first embedding of a process loads the model.
const PRODUCTS_WAIT: Duration = Duration::from_secs(240);
/// A webhook through the pipeline to a sent message, or a question to its answer.
const STEP_WAIT: Duration = Duration::from_secs(120);

/// What the story left behind, for the closing words and for tests.
#[derive(Debug)]
pub struct Told {
    /// Each product page's title and how many chunks of its text the agent can quote.
    pub products: Vec<(String, i64)>,
    /// The follow-up as `GET /api/messages?order_id=` lists it.
    pub follow_up: Value,
    pub answered_conversation: Uuid,
    pub handed_over_conversation: Uuid,
}

/// Tells the story on the API at `client`'s address, for the merchant of `shop`.
pub async fn tell(client: &DemoClient, shop: &DemoShop) -> anyhow::Result<Told> {
    let key = shop.merchant.api_key.as_str();
    let products = scrape_products(client, key).await?;
    tracing::info!(products = products.len(), "demo: the product pages are scraped and embedded");
    deliver_order(client, shop, Utc::now()).await?;
    let follow_up = wait_for_follow_up(client, key).await?;
    tracing::info!("demo: the first follow-up of order {ORDER_NUMBER} is sent");
    let app_secret = shop.whatsapp()?.secret.as_str();
    let phone_number_id = shop.phone_number_id()?;
    let now = Utc::now().timestamp();
    let question = inbound(phone_number_id, ("Elif Yilmaz", CUSTOMER_WA_ID), QUESTION, QUESTION_WAMID, now);
    client.whatsapp(app_secret, &question).await?;
    let handover =
        inbound(phone_number_id, ("Deniz Kaya", SECOND_CUSTOMER_WA_ID), HANDOVER_QUESTION, HANDOVER_WAMID, now);
    client.whatsapp(app_secret, &handover).await?;
    let answered_conversation = wait_for_conversation(client, key, QUESTION, Outcome::Answered).await?;
    let handed_over_conversation = wait_for_conversation(client, key, HANDOVER_QUESTION, Outcome::HandedOver).await?;
    tracing::info!("demo: the question is answered and the other conversation waits for a person");
    Ok(Told { products, follow_up, answered_conversation, handed_over_conversation })
}

/// The demo pages' URLs on the API's own address.
pub fn page_url(client: &DemoClient, page: &DemoPage) -> String {
    client.url(&page.path())
}

/// Asks for every demo page not yet scraped, then waits until each is scraped and embedded.
async fn scrape_products(client: &DemoClient, key: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let known = list_products(client, key).await?;
    for page in PAGES {
        let url = page_url(client, page);
        let state = known.iter().find(|product| product["url"] == url.as_str()).map(|product| &product["scrape_state"]);
        if matches!(state.and_then(Value::as_str), Some("done" | "pending")) {
            continue;
        }
        client
            .expect(key, Method::POST, "/api/products/scrape", Some(&json!({ "url": url })), StatusCode::ACCEPTED)
            .await?;
    }
    let deadline = Instant::now() + PRODUCTS_WAIT;
    loop {
        let products = list_products(client, key).await?;
        let mut ready = Vec::new();
        for page in PAGES {
            let url = page_url(client, page);
            let Some(product) = products.iter().find(|product| product["url"] == url.as_str()) else {
                bail!("the product for {url} is gone from GET /api/products");
            };
            if product["scrape_state"] == "failed" {
                let id = product["id"].as_str().unwrap_or_default();
                let detail =
                    client.expect(key, Method::GET, &format!("/api/products/{id}"), None, StatusCode::OK).await?;
                bail!("scraping {url} failed: {}", detail["scrape_error"].as_str().unwrap_or("no reason given"));
            }
            let chunks = product["chunk_count"].as_i64().unwrap_or(0);
            if product["scrape_state"] == "done" && chunks > 0 && !product["embedded_at"].is_null() {
                ready.push((product["title"].as_str().unwrap_or(page.title).to_owned(), chunks));
            }
        }
        if ready.len() == PAGES.len() {
            return Ok(ready);
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {} demo product pages were scraped and embedded within {} s (is the knowledge pool running, \
                 and scrape.allow_loopback on?)",
                ready.len(),
                PAGES.len(),
                PRODUCTS_WAIT.as_secs()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn list_products(client: &DemoClient, key: &str) -> anyhow::Result<Vec<Value>> {
    let page = client.expect(key, Method::GET, "/api/products?limit=200", None, StatusCode::OK).await?;
    Ok(page["products"].as_array().cloned().unwrap_or_default())
}

/// Shopify's `orders/create`, then a fulfillment reported delivered three days and an hour before
/// `now`: the default plan's first step (three days after delivery) is due at once.
async fn deliver_order(client: &DemoClient, shop: &DemoShop, now: DateTime<Utc>) -> anyhow::Result<()> {
    let shopify = shop.shopify()?;
    let webhook = |topic, webhook_id| ShopifyWebhook {
        path: &shopify.webhook_path,
        secret: &shopify.secret,
        shop_domain: SHOP_DOMAIN,
        topic,
        webhook_id,
    };
    let placed_at = now - chrono::Duration::days(5);
    let shipped_at = now - chrono::Duration::days(4);
    let delivered_at = now - chrono::Duration::hours(73);
    client.shopify(webhook("orders/create", "recete-demo-1001-orders-create"), &order(placed_at)).await?;
    let fulfillment = json!({
        "id": 4_440_001_001_u64, "order_id": ORDER_ID.parse::<u64>()?, "status": "success", "service": "manual",
        "created_at": shipped_at.to_rfc3339(), "updated_at": delivered_at.to_rfc3339(),
        "tracking_company": "Yurtiçi Kargo", "shipment_status": "delivered", "tracking_number": "YK1001DEMO",
        "tracking_numbers": ["YK1001DEMO"], "name": "#1001.1", "line_items": []
    });
    client.shopify(webhook("fulfillments/update", "recete-demo-1001-fulfillments-update"), &fulfillment).await
}

/// The order as Shopify's `orders/create` sends it: a customer with WhatsApp (SMS marketing)
/// consent and her phone as she typed it, two of the demo products.
fn order(placed_at: DateTime<Utc>) -> Value {
    let line = |index: usize, id: u64, quantity: u32| {
        let page = &PAGES[index];
        json!({
            "id": id, "product_id": 8_800_000_000_u64 + index as u64, "variant_id": 4_400_000_000_u64 + index as u64,
            "sku": page.sku, "title": page.title, "name": page.title, "quantity": quantity, "price": page.price,
            "fulfillable_quantity": 0, "fulfillment_status": "fulfilled", "requires_shipping": true, "taxable": true,
            "gift_card": false, "total_discount": "0.00", "vendor": "Recete Demo Store"
        })
    };
    let address = json!({
        "first_name": "Elif", "last_name": "Yilmaz", "address1": "Moda Caddesi 12", "city": "Istanbul",
        "zip": "34710", "country": "Turkey", "country_code": "TR", "phone": CUSTOMER_PHONE_AS_TYPED,
        "name": "Elif Yilmaz"
    });
    let placed = placed_at.to_rfc3339();
    json!({
        "id": ORDER_ID.parse::<u64>().unwrap_or_default(), "name": ORDER_NUMBER, "order_number": 1001,
        "email": "elif.yilmaz@example.com", "phone": null, "currency": "TRY", "presentment_currency": "TRY",
        "created_at": placed, "processed_at": placed, "updated_at": placed, "cancelled_at": null,
        "financial_status": "paid", "fulfillment_status": null, "total_price": "839.40", "subtotal_price": "839.40",
        "total_tax": "0.00", "buyer_accepts_marketing": true, "customer_locale": "tr-TR",
        "customer": {
            "id": 7_700_000_001_u64, "email": "elif.yilmaz@example.com", "first_name": "Elif", "last_name": "Yilmaz",
            "phone": CUSTOMER_PHONE_AS_TYPED, "state": "enabled", "verified_email": true, "currency": "TRY",
            "email_marketing_consent": {"state": "not_subscribed", "opt_in_level": null, "consent_updated_at": null},
            "sms_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in",
                                      "consent_updated_at": placed, "consent_collected_from": "SHOPIFY"}
        },
        "billing_address": address.clone(),
        "shipping_address": address,
        "line_items": [line(0, 9_900_000_001, 1), line(2, 9_900_000_002, 1)],
        "fulfillments": []
    })
}

/// Waits until the order's first follow-up is sent (to the outbox or to Meta).
async fn wait_for_follow_up(client: &DemoClient, key: &str) -> anyhow::Result<Value> {
    let deadline = Instant::now() + STEP_WAIT;
    let path = format!("/api/messages?order_id={ORDER_ID}");
    loop {
        // 404 until the order's first webhook is applied.
        let (status, listed) = client.call(key, Method::GET, &path, None).await?;
        if status != StatusCode::OK && status != StatusCode::NOT_FOUND {
            bail!("GET {path} answered {status}: {listed}");
        }
        let messages = listed["messages"].as_array().cloned().unwrap_or_default();
        let first = messages.iter().filter(|m| m["kind"] == "follow_up").min_by_key(|m| m["planned_at"].to_string());
        if let Some(first) = first {
            let status = first["message_status"].as_str().unwrap_or_default();
            if matches!(status, "sent" | "delivered" | "read") {
                return Ok(first.clone());
            }
            if matches!(first["state"].as_str(), Some("cancelled" | "dead")) || status == "failed" {
                bail!("the demo order's first follow-up did not go out: {first}");
            }
        }
        if Instant::now() > deadline {
            bail!("the demo order's first follow-up was not sent within {} s: {listed}", STEP_WAIT.as_secs());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What the agent does with a question.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// An answer quoting the product text, with its citations.
    Answered,
    /// A holding reply, and the conversation waits for a person.
    HandedOver,
}

/// Waits for the conversation holding the customer's `text` to reach `outcome`; returns its id.
async fn wait_for_conversation(client: &DemoClient, key: &str, text: &str, outcome: Outcome) -> anyhow::Result<Uuid> {
    let deadline = Instant::now() + STEP_WAIT;
    loop {
        let listed = client.expect(key, Method::GET, "/api/conversations?limit=200", None, StatusCode::OK).await?;
        for conversation in listed["conversations"].as_array().into_iter().flatten() {
            let id = conversation["id"].as_str().context("a conversation without an id")?;
            let path = format!("/api/conversations/{id}/messages");
            let thread = client.expect(key, Method::GET, &path, None, StatusCode::OK).await?;
            let messages = thread["messages"].as_array().cloned().unwrap_or_default();
            let Some(asked) = messages.iter().position(|m| m["direction"] == "inbound" && m["text"] == text) else {
                continue;
            };
            let sent = |m: &&Value| matches!(m["status"].as_str(), Some("sent" | "delivered" | "read"));
            let reply = messages[asked..].iter().filter(sent).find(|m| m["author"] == "agent");
            let done = match outcome {
                Outcome::Answered => reply.is_some_and(|reply| {
                    reply["agent"]["citations"].as_array().is_some_and(|citations| !citations.is_empty())
                }),
                Outcome::HandedOver => reply.is_some() && thread["conversation"]["state"] == "handed_over",
            };
            if done {
                return Uuid::parse_str(id).context("a conversation id that is not a UUID");
            }
        }
        if Instant::now() > deadline {
            bail!("the customer's message \"{text}\" was not answered as expected within {} s", STEP_WAIT.as_secs());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A text message as Meta's webhook reference shows it, from `(name, wa_id)`, sent at `at`.
fn inbound(phone_number_id: &str, (name, wa_id): (&str, &str), text: &str, wamid: &str, at: i64) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": WABA_ID,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": DISPLAY_PHONE_NUMBER, "phone_number_id": phone_number_id},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": wamid, "timestamp": at.to_string(), "type": "text",
                                  "text": {"body": text}}]
                },
                "field": "messages"
            }]
        }]
    })
}
