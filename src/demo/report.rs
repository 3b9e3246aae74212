//! What `recete all --demo` prints once the story is told: where to sign in, and what to look at
//! (the outbox log line, the API calls that show the conversations).

use std::fmt::Write as _;

use recete_config::Settings;
use secrecy::ExposeSecret;

use super::Seeded;
use super::story::{ORDER_ID, ORDER_NUMBER};

/// The closing words, as one block of text.
pub fn closing_words(settings: &Settings, base_url: &str, seeded: &Seeded) -> String {
    let console = format!("{}/console", settings.app.public_url.trim_end_matches('/'));
    let told = &seeded.told;
    let mut out = String::new();
    let _ = writeln!(out, "\ndemo: the story is ready. Merchant {}.", seeded.shop.merchant.merchant_id);
    let _ = writeln!(out, "  console:  {console}");
    sign_in_instructions(&mut out, seeded);
    let _ = writeln!(
        out,
        "\n  1. Products scraped from the demo store's own pages ({base_url}/demo/products) and embedded:"
    );
    for (title, chunks) in &told.products {
        let _ = writeln!(out, "       {title}: {chunks} chunks");
    }
    let _ = writeln!(out, "     curl -s {base_url}/api/products -H \"Authorization: Bearer $RECETE_KEY\"");
    let message_id = told.follow_up["message_id"].as_str().unwrap_or("?");
    let _ = writeln!(
        out,
        "\n  2. Order {ORDER_NUMBER} (Shopify webhooks orders/create, then fulfillments/update: delivered three days \
         ago) got its first follow-up on WhatsApp:"
    );
    if settings.whatsapp.access_token.expose_secret().is_empty() {
        let _ = writeln!(
            out,
            "     no whatsapp.access_token, so it went to the local outbox: the log line \
             \"message sent to the local outbox\" with message_id={message_id}"
        );
    } else {
        let _ = writeln!(out, "     sent through the WhatsApp Cloud API as message {message_id}");
    }
    let _ = writeln!(
        out,
        "     curl -s '{base_url}/api/messages?order_id={ORDER_ID}' -H \"Authorization: Bearer $RECETE_KEY\""
    );
    let answered = told.answered_conversation;
    let _ = writeln!(
        out,
        "\n  3. The customer asked about the serum on WhatsApp; the agent answered from the product page, with citations:"
    );
    let _ = writeln!(
        out,
        "     curl -s {base_url}/api/conversations/{answered}/messages -H \"Authorization: Bearer $RECETE_KEY\""
    );
    let waiting = told.handed_over_conversation;
    let _ = writeln!(
        out,
        "\n  4. Another customer asked a medical question; the agent declined and handed the conversation to a person:"
    );
    let _ = writeln!(
        out,
        "     curl -s '{base_url}/api/conversations?state=handed_over' -H \"Authorization: Bearer $RECETE_KEY\""
    );
    let _ = writeln!(out, "     answer as the shop, then hand it back to the agent:");
    let _ = writeln!(
        out,
        "     curl -s -X POST {base_url}/api/conversations/{waiting}/messages -H \"Authorization: Bearer $RECETE_KEY\" \
         -H 'Content-Type: application/json' -d '{{\"text\": \"Please stop using the cream; we will call you today.\"}}'"
    );
    let _ = writeln!(
        out,
        "     curl -s -X POST {base_url}/api/conversations/{waiting}/resolve -H \"Authorization: Bearer $RECETE_KEY\""
    );
    let _ = writeln!(
        out,
        "\n  Every call is described at {base_url}/docs/. Run `make run` again: the story is kept, nothing is added twice."
    );
    out
}

/// How the demo merchant signs in: the one place the demo says it. Once `recete users add
/// --merchant ID --email E --role owner` exists, the owner's one-time sign-in link for the console
/// is printed here instead; until then the merchant API key (kept in the demo file) is the way in,
/// for the console and for every API call.
fn sign_in_instructions(out: &mut String, seeded: &Seeded) {
    let _ =
        writeln!(out, "  sign in:  {} (as {}; the link works once)", seeded.sign_in_link, super::owner::OWNER_EMAIL);
    let _ =
        writeln!(out, "            a new link each run, or `recete users link --email {}`", super::owner::OWNER_EMAIL);
    let _ = writeln!(out, "  the API:  with the demo merchant's API key (kept in {}):", seeded.file.display());
    let _ = writeln!(out, "     export RECETE_KEY={}", seeded.shop.merchant.api_key);
}
