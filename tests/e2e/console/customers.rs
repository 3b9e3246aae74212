//! The customers pages: customers made by the real pipeline from signed store webhooks, listed
//! with masked phones and filtered; one customer with their orders; export and erasure with
//! confirmation, roles, CSRF, the audit trail and tenant isolation.

use recete_console::users::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE};
use serde_json::Value;

use super::orders::numbers_shown;
use super::{ConsoleApp, spawn_console};
use crate::merchant_api_reads::{BUYERS, Shop, seed_orders, shop};

/// Every customer's phone as the store sent it, and without its `+`: never on a page.
fn assert_no_whole_phone(page: &str) {
    for buyer in BUYERS {
        let digits = buyer.phone.trim_start_matches('+');
        assert!(!page.contains(digits), "{} appears whole", buyer.name);
        assert!(!page.contains(&digits[2..]), "{}'s national number appears", buyer.name);
    }
}

async fn customer_id(console: &ConsoleApp, shop: &Shop, external: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM customers WHERE merchant_id = $1 AND external_id = $2")
        .bind(shop.merchant.as_uuid())
        .bind(external)
        .fetch_one(&console.app.admin)
        .await
        .expect("customer")
}

async fn erased_at(console: &ConsoleApp, id: uuid::Uuid) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT erased_at FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(&console.app.admin)
        .await
        .expect("customer row")
}

/// The customer names on a list page, in the order shown.
fn names_shown(page: &str) -> Vec<String> {
    page.split("href=\"/console/customers/")
        .skip(1)
        .filter_map(|rest| rest.split('>').nth(1)?.split('<').next().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn customers_are_listed_with_masked_phones_consent_and_orders_and_filtered() {
    let console = spawn_console().await;
    let glow = shop(&console.app, "Glow Store", "Europe/Istanbul").await;
    seed_orders(&console.app, &glow).await;
    let viewer = console.user(glow.merchant, "viewer@glow.example", Role::Viewer).await;

    let page = console.get_html(&viewer, "/console/customers").await;
    let newest_first: Vec<String> = sqlx::query_scalar(
        "SELECT external_id FROM customers WHERE merchant_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(glow.merchant.as_uuid())
    .fetch_all(&console.app.admin)
    .await
    .expect("customers");
    let expected: Vec<&str> = newest_first
        .iter()
        .map(|external| BUYERS.iter().find(|b| b.external_id == external).expect("a buyer").name)
        .collect();
    assert_eq!(names_shown(&page), expected, "newest first");
    assert_no_whole_phone(&page);
    assert!(page.contains("+90 ****33") && page.contains("+90 ****44"), "phones are masked: {page}");
    for words in [">granted", ">revoked", ">unknown", "from "] {
        assert!(page.contains(words), "consent shows {words}");
    }
    assert!(page.contains(r#"href="/console/customers" aria-current="page""#));

    let cases = [
        ("consent=revoked", vec!["Bora Kaya"]),
        ("consent=granted", expected.iter().copied().filter(|n| ["Deniz Ak", "Ada Yilmaz"].contains(n)).collect()),
        ("consent=unknown", expected.iter().copied().filter(|n| ["Ece Sari", "Cem Demir"].contains(n)).collect()),
        ("email=+CEM%40Example.com+", vec!["Cem Demir"]),
        ("phone=0555+444+55+66", vec!["Deniz Ak"]),
        ("phone=%2B905551112233&consent=revoked", vec![]),
    ];
    for (query, expected) in cases {
        let page = console.get_html(&viewer, &format!("/console/customers?{query}")).await;
        assert_eq!(names_shown(&page), expected, "{query}");
    }
    for (query, words) in
        [("consent=maybe", "No consent state is named `maybe`"), ("email=ada", "not an email address")]
    {
        let response = console.get(&viewer, &format!("/console/customers?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.text().await.expect("page").contains(words), "{query}");
    }

    // One customer: details, their orders, the phone still masked; a viewer gets no privacy buttons.
    let ada = customer_id(&console, &glow, "c-1").await;
    let page = console.get_html(&viewer, &format!("/console/customers/{ada}")).await;
    assert!(page.contains("Ada Yilmaz") && page.contains("ada@example.com") && page.contains("+90 ****33"));
    assert_eq!(numbers_shown(&page), ["#1006", "#1001"]);
    assert_no_whole_phone(&page);
    assert!(page.contains("Only owners export or erase") && !page.contains("/export\""), "{page}");

    let other = shop(&console.app, "Other Store", "UTC").await;
    let stranger = console.user(other.merchant, "owner@other.example", Role::Owner).await;
    assert!(names_shown(&console.get_html(&stranger, "/console/customers").await).is_empty());
    let response = console.get(&stranger, &format!("/console/customers/{ada}")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn owners_export_a_customer_and_erase_them_after_confirming_exactly_what_goes() {
    let console = spawn_console().await;
    let glow = shop(&console.app, "Glow Store", "Europe/Istanbul").await;
    seed_orders(&console.app, &glow).await;
    let owner = console.user(glow.merchant, "owner@glow.example", Role::Owner).await;
    let agent = console.user(glow.merchant, "agent@glow.example", Role::Agent).await;
    let ada = customer_id(&console, &glow, "c-1").await;
    let base = format!("/console/customers/{ada}");

    // An agent may neither export nor erase: 403 naming the role, nothing erased or recorded.
    for response in [
        console.post(&agent, &format!("{base}/export"), &[]).await,
        console.get(&agent, &format!("{base}/erase")).await,
        console.post(&agent, &format!("{base}/erase"), &[("confirm", "ERASE")]).await,
    ] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let text = response.text().await.expect("page");
        assert!(text.contains("needs the owner role; you are signed in as agent"), "{text}");
    }
    assert!(erased_at(&console, ada).await.is_none());
    assert!(console.audited("customer.exported").await.is_empty());

    // Export: the API's document, as a download, recorded as the console's and audited as the user.
    let response = console.post(&owner, &format!("{base}/export"), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let disposition = response.headers()[CONTENT_DISPOSITION].to_str().expect("ascii").to_owned();
    assert_eq!(disposition, format!("attachment; filename=\"customer-{ada}.json\""));
    let document: Value = response.json().await.expect("JSON document");
    assert_eq!(document["customers"].as_array().map(Vec::len), Some(1), "{document}");
    assert_eq!(document["customers"][0]["name"], "Ada Yilmaz");
    assert_eq!(document["orders"].as_array().map(Vec::len), Some(2));
    assert!(document["events"].as_array().is_some_and(|events| !events.is_empty()), "the webhooks that named her");
    let exported = console.audited("customer.exported").await;
    assert_eq!(exported, [("user:owner@glow.example".to_owned(), Some(glow.merchant.as_uuid()))]);
    let (channel, actor): (String, String) =
        sqlx::query_as("SELECT channel, actor FROM privacy_requests WHERE kind = 'export'")
            .fetch_one(&console.app.admin)
            .await
            .expect("request");
    assert_eq!((channel.as_str(), actor.as_str()), ("console", "user:owner@glow.example"));

    // The confirmation names what goes, from the erasure's own counts; nothing is erased yet.
    let confirm = console.get_html(&owner, &format!("{base}/erase")).await;
    assert!(confirm.contains("Erase Ada Yilmaz?"), "{confirm}");
    for words in
        ["1 customer record", "2 orders lose every link", "0 messages", "stored webhooks that named this person"]
    {
        assert!(confirm.contains(words), "the confirmation says {words}: {confirm}");
    }
    assert!(erased_at(&console, ada).await.is_none(), "showing the confirmation erases nothing");
    assert!(console.audited("customer.erased").await.is_empty());

    // Without the typed confirmation, or without the CSRF token, nothing is erased.
    let unconfirmed = console.post(&owner, &format!("{base}/erase"), &[("confirm", "yes")]).await;
    assert_eq!(unconfirmed.status(), StatusCode::BAD_REQUEST);
    assert!(unconfirmed.text().await.expect("page").contains("type ERASE"));
    let no_csrf = console
        .client
        .post(console.url(&format!("{base}/erase")))
        .header(COOKIE, &owner.cookie)
        .form(&[("confirm", "ERASE")])
        .send()
        .await
        .expect("sent");
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let export_no_csrf = console
        .client
        .post(console.url(&format!("{base}/export")))
        .header(COOKIE, &owner.cookie)
        .send()
        .await
        .expect("sent");
    assert_eq!(export_no_csrf.status(), StatusCode::FORBIDDEN);
    assert!(erased_at(&console, ada).await.is_none());

    // Confirmed by an owner: erased, audited as the user, the page says what went.
    let done = console.post(&owner, &format!("{base}/erase"), &[("confirm", "ERASE")]).await;
    assert_eq!(done.status(), StatusCode::OK);
    let page = done.text().await.expect("page");
    assert!(
        page.contains("The customer&#39;s data is erased") || page.contains("The customer's data is erased"),
        "{page}"
    );
    assert!(page.contains("2 orders lose every link"));
    assert!(erased_at(&console, ada).await.is_some());
    assert_eq!(
        console.audited("customer.erased").await,
        [("user:owner@glow.example".to_owned(), Some(glow.merchant.as_uuid()))]
    );
    let page = console.get_html(&owner, &base).await;
    assert!(!page.contains("Ada Yilmaz") && !page.contains("ada@example.com") && page.contains("(erased)"));

    // Another merchant's owner: every privacy route is not found, and nothing happens.
    let other = shop(&console.app, "Other Store", "UTC").await;
    let stranger = console.user(other.merchant, "owner@other.example", Role::Owner).await;
    let bora = customer_id(&console, &glow, "c-2").await;
    let theirs = format!("/console/customers/{bora}");
    assert_eq!(console.post(&stranger, &format!("{theirs}/export"), &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(console.get(&stranger, &format!("{theirs}/erase")).await.status(), StatusCode::NOT_FOUND);
    let erase = console.post(&stranger, &format!("{theirs}/erase"), &[("confirm", "ERASE")]).await;
    assert_eq!(erase.status(), StatusCode::NOT_FOUND);
    assert!(erased_at(&console, bora).await.is_none());
    assert_eq!(console.audited("customer.exported").await.len(), 1);
}
