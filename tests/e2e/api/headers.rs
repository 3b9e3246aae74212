//! Security headers: `nosniff` on every response, `no-store` on authenticated ones, HSTS when the
//! public URL is https, and a content security policy that lets `/docs` load only its own files.

use recete_shared::integrations::IntegrationKind;
use recete_shared::merchants;

use crate::helpers::{TestApp, fixture, spawn_app, spawn_app_with};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A spread of responses: public, authenticated, refused, webhook, unknown path.
async fn responses(app: &TestApp) -> Vec<(&'static str, reqwest::Response, bool)> {
    let merchant = merchants::create(&app.pool, "Glow Store", "UTC").await.expect("merchant");
    let shop = app.integration(merchant.merchant_id, IntegrationKind::Shopify).await;
    let get = |path: &str| app.client.get(app.url(path)).send();
    vec![
        ("/healthz", get("/healthz").await.expect("sent"), false),
        ("/readyz", get("/readyz").await.expect("sent"), false),
        (
            "GET /api/orders with a key",
            app.client.get(app.url("/api/orders")).bearer_auth(&merchant.api_key).send().await.expect("sent"),
            true,
        ),
        ("GET /api/orders without a key", get("/api/orders").await.expect("sent"), true),
        (
            "a webhook",
            app.post_shopify(&shop, "orders/create", "hdr-1", &fixture("shopify_orders_create.json")).await,
            false,
        ),
        ("an unknown path", get("/wp-admin").await.expect("sent"), false),
        ("/openapi.json", get("/openapi.json").await.expect("sent"), false),
    ]
}

#[tokio::test]
async fn every_response_says_nosniff_and_authenticated_ones_are_never_stored() {
    let app = spawn_app().await;
    for (what, response, authenticated) in responses(&app).await {
        assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(header(&response, "x-frame-options"), Some("DENY"), "{what}");
        assert_eq!(
            header(&response, "content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{what}: data responses may load nothing"
        );
        if authenticated {
            assert_eq!(header(&response, "cache-control"), Some("no-store"), "{what}");
        }
        assert_eq!(header(&response, "strict-transport-security"), None, "{what}: the public URL is http");
    }
}

#[tokio::test]
async fn hsts_is_sent_on_every_response_when_the_public_url_is_https() {
    let app = spawn_app_with(|figment| figment.merge(("app.public_url", "https://api.glow.example"))).await;
    for (what, response, _) in responses(&app).await {
        let hsts = header(&response, "strict-transport-security").unwrap_or_default();
        assert!(hsts.starts_with("max-age=") && hsts.contains("includeSubDomains"), "{what}: {hsts:?}");
    }
}

#[tokio::test]
async fn the_docs_page_loads_only_its_own_files_and_cannot_be_framed() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/docs/")).send().await.expect("request");
    assert_eq!(page.status(), 200);
    assert!(header(&page, "content-type").is_some_and(|v| v.starts_with("text/html")));
    let policy = header(&page, "content-security-policy").expect("a policy").to_owned();
    for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("script-src 'self' 'unsafe-inline'"), "no inline scripts: {policy}");
    assert_eq!(header(&page, "x-frame-options"), Some("DENY"));
    assert_eq!(header(&page, "x-content-type-options"), Some("nosniff"));
    // Everything the page needs is served from here, so the policy does not break it.
    let html = page.text().await.expect("html");
    assert!(!html.contains("http://") && !html.contains("https://"), "no outside resource: {html}");
}
