//! robots.txt is fetched per origin, obeyed, cached, and an unreadable one closes the site.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::routing::get;
use recete_scrape::{RobotsRefusal, ScrapeError, Scraper};

use crate::support::{serve, settings};

const PAGE: &str = "<!doctype html><html><head><title>Allowed product</title></head><body></body></html>";

fn html() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    ([(CONTENT_TYPE, "text/html")], PAGE)
}

#[tokio::test]
async fn a_disallowed_path_is_refused_and_an_allowed_one_on_the_same_site_works() {
    let robots = "User-agent: *\nDisallow: /\n\nUser-agent: ReceteBot\nDisallow: /private/\nAllow: /\n";
    let router = Router::new()
        .route("/robots.txt", get(move || async move { robots }))
        .route("/private/product", get(|| async { html() }))
        .route("/products/open", get(|| async { html() }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/private/product")).await.expect_err("our group disallows /private/");
    assert!(
        matches!(&error, ScrapeError::RobotsDisallowed { reason: RobotsRefusal::Disallowed, url } if url.as_str() == server.url("/private/product")),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(error.code(), "robots_disallowed");
    assert_eq!(server.requests_to("/private/product"), 0, "a disallowed page is never requested");

    let product = scraper.scrape(&server.url("/products/open")).await.expect("our group allows the rest");
    assert_eq!(product.title.as_deref(), Some("Allowed product"));

    let clone = scraper.clone();
    clone.scrape(&server.url("/products/open")).await.expect("still allowed");
    assert_eq!(server.requests_to("/robots.txt"), 1, "robots.txt is read once per origin and shared by clones");
}

#[tokio::test]
async fn a_failing_robots_txt_closes_the_site_for_now() {
    let router = Router::new()
        .route("/robots.txt", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "oops") }))
        .route("/products/a", get(|| async { html() }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/products/a")).await.expect_err("robots.txt answered 500");

    match &error {
        ScrapeError::RobotsDisallowed { reason: RobotsRefusal::Unreachable(detail), .. } => {
            assert!(detail.contains("500"), "the refusal names the status: {detail}");
        }
        other => panic!("expected an unreachable robots.txt, got {other:?}"),
    }
    assert!(error.is_retryable());
    assert_eq!(server.requests_to("/products/a"), 0);
}

#[tokio::test]
async fn a_missing_robots_txt_allows_everything() {
    let router = Router::new()
        .route("/robots.txt", get(|| async { StatusCode::NOT_FOUND }))
        .route("/products/a", get(|| async { html() }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    scraper.scrape(&server.url("/products/a")).await.expect("no robots.txt means no rules");
    assert_eq!(server.requests_to("/robots.txt"), 1);
}

#[tokio::test]
async fn robots_txt_redirects_are_followed() {
    let router = Router::new()
        .route("/robots.txt", get(|| async { (StatusCode::MOVED_PERMANENTLY, [(LOCATION, "/rules/robots.txt")]) }))
        .route("/rules/robots.txt", get(|| async { "User-agent: receteBOT\nDisallow: /products/\n" }))
        .route("/products/a", get(|| async { html() }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/products/a")).await.expect_err("the redirected rules disallow it");

    assert!(matches!(error, ScrapeError::RobotsDisallowed { reason: RobotsRefusal::Disallowed, .. }), "{error:?}");
    assert_eq!(server.requests_to("/rules/robots.txt"), 1);
}

#[tokio::test]
async fn crawl_delay_spaces_requests_to_one_site() {
    let router = Router::new()
        .route("/robots.txt", get(|| async { "User-agent: *\nCrawl-delay: 1\n" }))
        .route("/products/a", get(|| async { html() }))
        .route("/products/b", get(|| async { html() }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let (url_a, url_b) = (server.url("/products/a"), server.url("/products/b"));
    let (first, second) = tokio::join!(scraper.scrape(&url_a), scraper.scrape(&url_b));
    first.expect("first page scrapes");
    second.expect("second page scrapes");

    let pages: Vec<_> = server.requests().into_iter().filter(|seen| seen.path.starts_with("/products/")).collect();
    assert_eq!(pages.len(), 2);
    let gap = pages[1].at.duration_since(pages[0].at);
    assert!(gap >= Duration::from_millis(900), "requests were {gap:?} apart; the site asked for 1 s");
}
