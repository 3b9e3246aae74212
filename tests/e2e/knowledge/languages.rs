//! The customer's language: opt-out and opt-in words of every language, each confirmed in the
//! language of the word; fixed phrases in the language a message is written in; the store's
//! language (a setting) for messages that do not say which, refused when it is not one of ours;
//! a complaint in Turkish handed to the team in Turkish, an Arabic opt-out honoured in Arabic.

use recete_shared::languages::Language;
use serde_json::json;

use super::{CUSTOMER_WA_ID, MERCHANT_NAME, SECOND_CUSTOMER_WA_ID, inbound, reply_to, shop, spawn_knowledge_app};
use crate::helpers::assert_problem;

const THIRD_CUSTOMER_WA_ID: &str = "905553334455";
const ARABIC_CUSTOMER_WA_ID: &str = "966501234567";
const TURKISH_CUSTOMER_WA_ID: &str = "905559998877";

#[tokio::test]
async fn customers_are_answered_in_their_language_or_the_stores() {
    let app = spawn_knowledge_app(|figment| figment).await;
    let shop = shop(&app).await;
    let _workers = app.start_workers();
    let write = |wa_id: &'static str, text: &'static str, wamid: &'static str| {
        let body = inbound(wa_id, text, wamid, chrono::Utc::now().timestamp());
        let app = &app;
        let secret = shop.whatsapp.secret.clone();
        async move { assert_eq!(app.post_whatsapp(&secret, &body).await.status(), 200) }
    };

    // A Turkish opt-out word to an English store: confirmed in Turkish, and the consent is gone.
    write(CUSTOMER_WA_ID, "DUR", "wamid.DUR").await;
    let confirmation = reply_to(&app, &shop, "wamid.DUR").await;
    assert_eq!(
        confirmation.text,
        format!("{MERCHANT_NAME} artık size mesaj göndermeyecek. Yeniden almak için BAŞLAT yazın.")
    );
    write(CUSTOMER_WA_ID, "Başlat", "wamid.BASLAT").await;
    let back = reply_to(&app, &shop, "wamid.BASLAT").await;
    assert!(back.text.contains("size yeniden mesaj gönderecek"), "{}", back.text);
    // German.
    write(SECOND_CUSTOMER_WA_ID, "STOPP", "wamid.STOPP").await;
    let german = reply_to(&app, &shop, "wamid.STOPP").await;
    assert!(german.text.starts_with("Sie erhalten keine Nachrichten mehr von"), "{}", german.text);
    let consent: Vec<String> = sqlx::query_scalar("SELECT whatsapp_consent FROM customers ORDER BY created_at")
        .fetch_all(&app.admin)
        .await
        .expect("customers");
    assert_eq!(consent, ["granted", "revoked"], "DUR then BAŞLAT; STOPP");

    // A greeting the store's language answers: English, then Turkish once the store says so.
    write(THIRD_CUSTOMER_WA_ID, "hello", "wamid.HELLO-EN").await;
    let english = reply_to(&app, &shop, "wamid.HELLO-EN").await;
    assert!(english.text.starts_with("Hi! This is"), "{}", english.text);
    let refused = app
        .client
        .patch(app.url("/api/settings"))
        .bearer_auth(&shop.api_key)
        .json(&json!({"language": "fr"}))
        .send()
        .await
        .expect("sent");
    let problem = assert_problem(refused, 422).await;
    assert!(
        problem.to_string().contains("language") && problem.to_string().contains("en, tr, de, es, ar"),
        "{problem}"
    );
    let changed = app
        .client
        .patch(app.url("/api/settings"))
        .bearer_auth(&shop.api_key)
        .json(&json!({"language": "tr"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(changed.status(), 200);
    let settings: serde_json::Value = changed.json().await.expect("settings");
    assert_eq!(settings["language"], "tr");
    write(THIRD_CUSTOMER_WA_ID, "hello", "wamid.HELLO-TR").await;
    let turkish = reply_to(&app, &shop, "wamid.HELLO-TR").await;
    assert_eq!(
        turkish.text,
        format!("Merhaba! Burası {MERCHANT_NAME}. Ürünlerimiz ya da siparişiniz hakkında her şeyi sorabilirsiniz.")
    );
    // A message that says its language is answered in it, whatever the store's: with no product
    // text to quote, one of the German fixed phrases.
    write(THIRD_CUSTOMER_WA_ID, "Wie lange hält die Creme, wenn sie einmal geöffnet ist?", "wamid.DE").await;
    let german = reply_to(&app, &shop, "wamid.DE").await;
    let phrases = Language::German.phrases();
    assert!(
        [phrases.dont_know, phrases.order_not_found, phrases.person_will_reply, phrases.complaint_passed_on]
            .contains(&german.text.as_str()),
        "a German phrase: {} ({})",
        german.text,
        german.agent
    );

    // A Turkish complaint, typed without its accents, to a store that now speaks Turkish anyway:
    // the Turkish hand-over phrase, and the conversation goes to the team.
    write(TURKISH_CUSTOMER_WA_ID, "urun kirik geldi, iade istiyorum", "wamid.TR-COMPLAINT").await;
    let complaint = reply_to(&app, &shop, "wamid.TR-COMPLAINT").await;
    assert_eq!(complaint.text, Language::Turkish.phrases().complaint_passed_on, "{}", complaint.agent);
    assert_eq!(complaint.agent["intent"], "complaint", "{}", complaint.agent);
    assert!(complaint.agent["handoff"].is_string(), "handed over: {}", complaint.agent);

    // An Arabic opt-out, with its hamza: confirmed in Arabic, and the consent is revoked.
    write(ARABIC_CUSTOMER_WA_ID, "إيقاف", "wamid.AR-STOP").await;
    let arabic = reply_to(&app, &shop, "wamid.AR-STOP").await;
    assert_eq!(arabic.text, format!("لن تصلك رسائل أخرى من {MERCHANT_NAME}. أرسل «ابدأ» لإعادة الاشتراك."));
    let revoked: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE whatsapp_consent = 'revoked'")
        .fetch_one(&app.admin)
        .await
        .expect("customers counted");
    assert_eq!(revoked, 2, "STOPP, then إيقاف");
}
