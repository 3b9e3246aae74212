//! The inbox over real HTTP, with the real workers, the local model and the fake WhatsApp Graph
//! API: hand-overs first (the oldest at the top), the thread with statuses and what the agent
//! quoted, replies (free text inside the window, templates after it, sent once however often
//! the form is posted), take over and resolve, roles, tenant isolation, CSRF, and the live
//! stream the pages listen to.

use std::time::Duration;

use chrono::Utc;
use recete_console::users::Role;
use recete_shared::merchants;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use uuid::Uuid;
use wiremock::MockServer;

use super::{ConsoleApp, Session, location};
use crate::event_stream::EventStream;
use crate::followups::sent_bodies;
use crate::knowledge::{
    CUSTOMER_WA_ID, SECOND_CUSTOMER_WA_ID, Shop, WAIT_SECS, ask, embedded_serum, inbound, reply_to,
};
use crate::replies::{handed_over, spawn_replies_app, texts_sent, wait_for_status};

const THIRD_CUSTOMER_WA_ID: &str = "905559876543";
const AGENT: &str = "agent@glow.example";
const VIEWER: &str = "viewer@glow.example";
const ANSWER: &str = "A person here: your parcel left our warehouse this morning.";

async fn spawn(graph: &MockServer) -> (ConsoleApp, Shop) {
    let (app, shop) = spawn_replies_app(graph).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    (ConsoleApp { app, client }, shop)
}

/// A customer other than the first writes `text` now.
async fn write_as(console: &ConsoleApp, shop: &Shop, wa_id: &str, text: &str, wamid: &str) {
    let body = inbound(wa_id, text, wamid, Utc::now().timestamp());
    assert_eq!(console.app.post_whatsapp(&shop.whatsapp.secret, &body).await.status(), 200);
}

async fn state_of(console: &ConsoleApp, conversation: Uuid) -> String {
    sqlx::query_scalar("SELECT state FROM conversations WHERE id = $1")
        .bind(conversation)
        .fetch_one(&console.app.admin)
        .await
        .expect("conversation")
}

async fn outbound_count(console: &ConsoleApp) -> i64 {
    console.app.count("SELECT count(*) FROM messages WHERE direction = 'outbound'").await
}

/// The one-time key of the first reply form on a thread page.
fn reply_key(page: &str) -> String {
    let marker = r#"name="key" value=""#;
    let start = page.find(marker).expect("a reply form with its key") + marker.len();
    page[start..].split('"').next().expect("closing quote").to_owned()
}

fn position(page: &str, needle: &str) -> usize {
    page.find(needle).unwrap_or_else(|| panic!("{needle} on the page"))
}

#[tokio::test]
async fn hand_overs_come_first_the_thread_shows_citations_and_statuses_and_agents_reply_once() {
    let graph = MockServer::start().await;
    let (console, shop) = spawn(&graph).await;
    let _workers = console.app.start_workers();
    embedded_serum(&console.app, &shop).await;
    let agent = console.user(shop.merchant, AGENT, Role::Agent).await;
    let viewer = console.user(shop.merchant, VIEWER, Role::Viewer).await;

    // The first customer asks for a person: handed over by the agent.
    let first = handed_over(&console.app, &shop).await;
    // The second asks about the serum: answered, quoting the product.
    write_as(&console, &shop, SECOND_CUSTOMER_WA_ID, "how many drops of the serum should i use?", "wamid.DROPS").await;
    let answer = reply_to(&console.app, &shop, "wamid.DROPS").await;
    let answered = answer.conversation_id.expect("a conversation");
    // The third says hello, and an agent takes the conversation over from the console.
    write_as(&console, &shop, THIRD_CUSTOMER_WA_ID, "hello there", "wamid.HELLO").await;
    reply_to(&console.app, &shop, "wamid.HELLO").await;
    let taken =
        sqlx::query_scalar::<_, Uuid>("SELECT conversation_id FROM messages WHERE wa_message_id = 'wamid.HELLO'")
            .fetch_one(&console.app.admin)
            .await
            .expect("the third conversation");
    let response = console.post(&agent, &format!("/console/inbox/{taken}/take-over"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/console/inbox/{taken}?done=taken_over"));
    assert_eq!(state_of(&console, taken).await, "handed_over");
    let audited = console.audited("conversation.taken_over").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].0, format!("user:{AGENT}"));

    // The inbox: the two hand-overs, the older first, then the open conversation.
    let page = console.get_html(&viewer, "/console/inbox").await;
    let (a, b, c) = (
        position(&page, &format!("/console/inbox/{first}\"")),
        position(&page, &format!("/console/inbox/{taken}\"")),
        position(&page, &format!("/console/inbox/{answered}\"")),
    );
    assert!(a < b && b < c, "hand-overs oldest first, then the rest: {a} {b} {c}");
    assert!(position(&page, "Waiting for a person") < a);
    assert!(b < position(&page, "Other conversations") && position(&page, "Other conversations") < c);
    assert!(page.contains("taken over by the merchant"), "the hand-over reason is shown");
    assert!(page.contains("+90 ****67") && page.contains("+90 ****21") && page.contains("+90 ****43"), "masked phones");
    assert!(!page.contains(CUSTOMER_WA_ID), "never the whole number");
    assert!(page.contains("less than a minute") || page.contains("minute"), "how long each has waited");
    assert!(page.contains(r#"src="/console/assets/inbox.js""#));

    // The answered thread: who wrote what, the status, and what the agent quoted.
    let thread = console.get_html(&viewer, &format!("/console/inbox/{answered}")).await;
    assert!(thread.contains("how many drops of the serum should i use?"));
    assert!(thread.contains("Quoted") && thread.contains("Glow Vitamin C Serum — usage"), "citations shown");
    assert!(thread.contains(r#"data-status="sent""#) && thread.contains(r#"data-status="received""#));
    assert!(thread.contains("Agents and owners reply"), "a viewer gets no reply box");

    // An agent replies inside the window; a double-submitted form sends once.
    let thread = console.get_html(&agent, &format!("/console/inbox/{first}")).await;
    assert!(thread.contains("Open until"), "the window is open");
    assert!(thread.contains(r#"<textarea id="reply-text" name="text""#));
    let key = reply_key(&thread);
    let path = format!("/console/inbox/{first}/reply");
    let sent = console.post(&agent, &path, &[("key", &key), ("text", ANSWER)]).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    assert!(location(&sent).contains("done=replied"));
    let again = console.post(&agent, &path, &[("key", &key), ("text", ANSWER)]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(location(&again).contains("done=repeated"), "{}", location(&again));
    assert_eq!(console.app.count("SELECT count(*) FROM messages WHERE author LIKE 'user:%'").await, 1, "one reply");
    let (reply_id, author): (Uuid, String) =
        sqlx::query_as("SELECT id, author FROM messages WHERE author LIKE 'user:%'")
            .fetch_one(&console.app.admin)
            .await
            .expect("the reply by a person");
    assert_eq!(author, format!("user:{}", console.user_id(AGENT).await));
    wait_for_status(&console.app, &reply_id.to_string(), "sent").await;
    assert_eq!(texts_sent(&graph).await.iter().filter(|text| *text == ANSWER).count(), 1, "sent once");
    let replied = console.audited("conversation.replied").await;
    assert_eq!(replied.len(), 1);
    assert_eq!(replied[0].0, format!("user:{AGENT}"));
    let thread = console.get_html(&agent, &format!("/console/inbox/{first}")).await;
    assert!(thread.contains(ANSWER) && thread.contains(AGENT), "the reply, written by the agent's address");

    // A viewer may not change anything.
    let outbound = outbound_count(&console).await;
    for (action, fields) in
        [("reply", vec![("key", "viewer-key"), ("text", "hi")]), ("take-over", vec![]), ("resolve", vec![])]
    {
        let response = console.post(&viewer, &format!("/console/inbox/{first}/{action}"), &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
        let body = response.text().await.expect("page");
        assert!(body.contains("needs the agent role; you are signed in as viewer"), "{action}: {body}");
    }
    assert_eq!(outbound_count(&console).await, outbound);
    assert_eq!(state_of(&console, first).await, "handed_over");

    // Without the CSRF token nothing happens either.
    let response = console
        .client
        .post(console.url(&format!("/console/inbox/{first}/resolve")))
        .header(COOKIE, &agent.cookie)
        .form(&[("x", "y")])
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(state_of(&console, first).await, "handed_over");

    // Resolve hands it back to the agent; a second resolve is refused with the reason.
    let response = console.post(&agent, &format!("/console/inbox/{first}/resolve"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(state_of(&console, first).await, "open");
    assert_eq!(console.audited("conversation.handover_resolved").await[0].0, format!("user:{AGENT}"));
    let response = console.post(&agent, &format!("/console/inbox/{first}/resolve"), &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.expect("page").contains("not handed over"));

    // Another store's user finds none of it.
    let other = merchants::create(&console.app.pool, "Other Store", "Europe/Berlin").await.expect("merchant");
    let stranger = console.user(other.merchant_id, "owner@other.example", Role::Owner).await;
    assert_eq!(console.get(&stranger, &format!("/console/inbox/{first}")).await.status(), StatusCode::NOT_FOUND);
    let response = console.post(&stranger, &format!("/console/inbox/{answered}/take-over"), &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(state_of(&console, answered).await, "open");
    let theirs = console.get_html(&stranger, "/console/inbox").await;
    assert!(!theirs.contains(&first.to_string()) && theirs.contains("No conversations yet"));
    assert_eq!(sent_bodies(&graph).await.iter().filter(|b| b["text"]["body"] == ANSWER).count(), 1);
}

#[tokio::test]
async fn after_the_window_closed_free_text_is_refused_and_the_plans_templates_are_offered() {
    let graph = MockServer::start().await;
    let (console, shop) = spawn(&graph).await;
    let _workers = console.app.start_workers();
    let owner = console.user(shop.merchant, "owner@glow.example", Role::Owner).await;

    // The customer last wrote 25 hours ago: the window closed an hour ago, unanswered.
    let wrote_at = Utc::now().timestamp() - 25 * 3600;
    let old = inbound(CUSTOMER_WA_ID, "is my order on its way?", "wamid.OLD", wrote_at);
    assert_eq!(console.app.post_whatsapp(&shop.whatsapp.secret, &old).await.status(), 200);
    console
        .app
        .wait_for_count(
            "SELECT count(*) FROM scheduled_tasks WHERE kind = 'answer' AND state = 'cancelled'",
            1,
            WAIT_SECS,
        )
        .await;
    let conversation: Uuid =
        sqlx::query_scalar("SELECT id FROM conversations").fetch_one(&console.app.admin).await.expect("one");

    let thread = console.get_html(&owner, &format!("/console/inbox/{conversation}")).await;
    assert!(thread.contains("Closed at"), "the page says the window is closed");
    assert!(thread.contains("Send one of your approved templates instead"));
    assert!(!thread.contains("<textarea"), "no free-text box");
    assert!(thread.contains("Template recete_how_to_use (en)") && thread.contains("first name"));

    // A text posted anyway (an old page) is refused, saying why, with the templates offered.
    let key = reply_key(&thread);
    let path = format!("/console/inbox/{conversation}/reply");
    let refused = console.post(&owner, &path, &[("key", "stale-form"), ("text", "It ships today.")]).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let page = refused.text().await.expect("page");
    assert!(page.contains("Closed at") && page.contains("only approved templates"), "{page}");
    assert!(page.contains("Template recete_check_in (en)"));
    assert_eq!(outbound_count(&console).await, 0);

    // The template goes out, with the parameters typed in.
    let fields = [("key", key.as_str()), ("template", "recete_how_to_use|en"), ("p0", "Ada"), ("p1", "Glow Serum")];
    let sent = console.post(&owner, &path, &fields).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER, "{:?}", sent.text().await);
    let id: Uuid = sqlx::query_scalar("SELECT id FROM messages WHERE direction = 'outbound'")
        .fetch_one(&console.app.admin)
        .await
        .expect("the template reply");
    wait_for_status(&console.app, &id.to_string(), "sent").await;
    let bodies = sent_bodies(&graph).await;
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert_eq!(bodies[0]["template"]["name"], "recete_how_to_use");
    let parameters: Vec<&str> = bodies[0]["template"]["components"][0]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(parameters, ["Ada", "Glow Serum"]);
    assert_eq!(console.audited("conversation.replied").await[0].0, "user:owner@glow.example");
}

#[tokio::test]
async fn the_live_stream_brings_a_signed_in_session_the_customers_new_message_and_refuses_strangers() {
    let graph = MockServer::start().await;
    let (console, shop) = spawn(&graph).await;
    let _workers = console.app.start_workers();
    let viewer: Session = console.user(shop.merchant, VIEWER, Role::Viewer).await;
    let conversation = handed_over(&console.app, &shop).await;

    // The pages' script is our own file, served beside the stylesheet.
    let script = console.client.get(console.url("/console/assets/inbox.js")).send().await.expect("sent");
    assert_eq!(script.status(), StatusCode::OK);
    let kind = script.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(kind.as_deref(), Some("text/javascript; charset=utf-8"));
    assert!(script.text().await.expect("script").contains("new EventSource(\"/console/inbox/events\")"));

    let anonymous = console.client.get(console.url("/console/inbox/events")).send().await.expect("sent");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(location(&anonymous).starts_with("/console/sign-in"));

    let streaming = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().expect("client");
    let response =
        streaming.get(console.url("/console/inbox/events")).header(COOKIE, &viewer.cookie).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = EventStream::from(response);
    // Opened fresh, the stream starts now: the earlier hand-over is not repeated.
    ask(&console.app, &shop, "any news about my parcel?", "wamid.NEWS").await;
    let event = stream.next_event(WAIT_SECS).await;
    assert_eq!(event.event.as_deref(), Some("conversation.message_received"), "{event:?}");
    let body = event.json();
    assert_eq!(body["data"]["conversation_id"], conversation.to_string());
    assert_eq!(body["data"]["text"], "any news about my parcel?");
    assert!(event.id.is_some(), "an id to resume from");
}
