//! Redirects are followed by hand, counted, and every hop is checked again.

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::routing::get;
use recete_scrape::{RobotsRefusal, ScrapeError, Scraper};

use crate::support::{serve, settings};

const PAGE: &str = "<!doctype html><html><head><title>Landed</title></head><body><p>Final page.</p></body></html>";

#[tokio::test]
async fn a_redirect_loop_ends_with_too_many_redirects() {
    let router = Router::new()
        .route("/loop/a", get(|| async { (StatusCode::FOUND, [(LOCATION, "/loop/b")]) }))
        .route("/loop/b", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(LOCATION, "a")]) }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/loop/a")).await.expect_err("a loop never lands");

    assert!(matches!(error, ScrapeError::TooManyRedirects { limit: 5, .. }), "{error:?}");
    assert_eq!(error.code(), "too_many_redirects");
    assert!(!error.is_retryable());
    let hops = server.requests_to("/loop/a") + server.requests_to("/loop/b");
    assert_eq!(hops, 6, "the first request and five followed redirects, then we stop");
}

#[tokio::test]
async fn a_three_hop_chain_lands_and_reports_the_final_url() {
    let router = Router::new()
        .route("/old-product", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(LOCATION, "/hop/2")]) }))
        .route("/hop/2", get(|| async { (StatusCode::TEMPORARY_REDIRECT, [(LOCATION, "./3?ref=chain")]) }))
        .route("/hop/3", get(|| async { (StatusCode::PERMANENT_REDIRECT, [(LOCATION, "/products/final")]) }))
        .route("/products/final", get(|| async { ([(CONTENT_TYPE, "text/html")], PAGE) }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let product = scraper.scrape(&server.url("/old-product")).await.expect("the chain lands");

    assert_eq!(product.url.as_str(), server.url("/products/final"));
    assert_eq!(product.title.as_deref(), Some("Landed"));
    assert_eq!(server.requests_to("/hop/3"), 1);
}

#[tokio::test]
async fn a_redirect_into_a_private_network_is_refused() {
    let router = Router::new().route(
        "/escape",
        get(|| async { (StatusCode::FOUND, [(LOCATION, "http://169.254.169.254/latest/meta-data/")]) }),
    );
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/escape")).await.expect_err("the metadata address is private");

    match error {
        ScrapeError::ForbiddenAddress { host, address, reason } => {
            assert_eq!(host, "169.254.169.254");
            assert_eq!(address.to_string(), "169.254.169.254");
            assert_eq!(reason, "link-local");
        }
        other => panic!("expected ForbiddenAddress, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_refused() {
    let router =
        Router::new().route("/file", get(|| async { (StatusCode::FOUND, [(LOCATION, "file:///etc/passwd")]) }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/file")).await.expect_err("file URLs are never fetched");

    assert!(matches!(error, ScrapeError::InvalidUrl(_)), "{error:?}");
}

#[tokio::test]
async fn a_redirect_to_another_origin_obeys_that_origins_robots_txt() {
    let other_shop = serve(
        Router::new()
            .route("/robots.txt", get(|| async { "User-agent: ReceteBot\nDisallow: /products/\n" }))
            .route("/products/moved", get(|| async { ([(CONTENT_TYPE, "text/html")], PAGE) })),
    )
    .await;
    let target = other_shop.url("/products/moved");
    let first_shop = serve(Router::new().route(
        "/products/moved",
        get(move || {
            let target = target.clone();
            async move { (StatusCode::MOVED_PERMANENTLY, [(LOCATION, target)]) }
        }),
    ))
    .await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&first_shop.url("/products/moved")).await.expect_err("the new origin disallows it");

    assert!(
        matches!(&error, ScrapeError::RobotsDisallowed { reason: RobotsRefusal::Disallowed, url } if url.as_str() == other_shop.url("/products/moved")),
        "{error:?}"
    );
    assert_eq!(other_shop.requests_to("/robots.txt"), 1);
    assert_eq!(other_shop.requests_to("/products/moved"), 0, "a disallowed page is never requested");
}
