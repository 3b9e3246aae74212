//! Size, type, status and time limits on what a page may be.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::response::Response;
use axum::routing::get;
use futures_util::stream;
use recete_scrape::{ScrapeError, Scraper};

use crate::support::{serve, settings};

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const PAUSE_BETWEEN_CHUNKS: Duration = Duration::from_millis(10);

/// A 20 MiB HTML page sent 64 KiB every 10 ms (3.2 s in all), counting what it has sent.
fn slow_huge_page(sent: Arc<AtomicUsize>, declare_length: bool) -> Response {
    let total = 20 * MIB;
    let chunks = stream::unfold(0, move |offset| {
        let sent = Arc::clone(&sent);
        async move {
            if offset >= total {
                return None;
            }
            if offset > 0 {
                tokio::time::sleep(PAUSE_BETWEEN_CHUNKS).await;
            }
            let chunk = if offset == 0 {
                let mut first = b"<!doctype html><html><body><p>".to_vec();
                first.resize(CHUNK, b'a');
                first
            } else {
                vec![b'a'; CHUNK]
            };
            sent.fetch_add(chunk.len(), Ordering::SeqCst);
            Some((Ok::<_, Infallible>(Bytes::from(chunk)), offset + CHUNK))
        }
    });
    let mut response = Response::builder().header(CONTENT_TYPE, "text/html");
    if declare_length {
        response = response.header(CONTENT_LENGTH, total);
    }
    response.body(Body::from_stream(chunks)).expect("a valid test response")
}

#[tokio::test]
async fn a_huge_streamed_page_is_cut_off_at_the_cap() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let server = serve(Router::new().route("/huge", get(move || async move { slow_huge_page(counter, false) }))).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let started = Instant::now();
    let error = scraper.scrape(&server.url("/huge")).await.expect_err("20 MiB is over the 5 MiB cap");
    let elapsed = started.elapsed();

    assert!(matches!(error, ScrapeError::TooLarge { limit } if limit == 5 * MIB), "{error:?}");
    assert!(!error.is_retryable());
    // Sending everything takes 3.2 s; stopping at 5 MiB takes about 0.8 s.
    assert!(elapsed < Duration::from_millis(2_500), "stopped early, after {elapsed:?}");
    // Give a server that was still being read time to send much more, then check it could not.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < 9 * MIB, "the server sent {sent} bytes of 20 MiB; reading must stop near the 5 MiB cap");
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&sent);
    let server = serve(Router::new().route("/huge", get(move || async move { slow_huge_page(counter, true) }))).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/huge")).await.expect_err("the declared 20 MiB is over the cap");

    assert!(matches!(error, ScrapeError::TooLarge { .. }), "{error:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sent.load(Ordering::SeqCst);
    assert!(sent < MIB, "the server sent {sent} bytes; the body should not have been read");
}

#[tokio::test]
async fn a_pdf_is_not_html() {
    let router =
        Router::new().route("/manual.pdf", get(|| async { ([(CONTENT_TYPE, "application/pdf")], "%PDF-1.7\n") }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&server.url("/manual.pdf")).await.expect_err("a PDF is not a product page");

    assert!(matches!(&error, ScrapeError::NotHtml { content_type } if content_type == "application/pdf"), "{error:?}");
    assert_eq!(error.code(), "not_html");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_undeclared_body_is_read_only_when_it_opens_like_html() {
    let untyped = |body: &'static str| Response::new(Body::from(body));
    let router = Router::new()
        .route(
            "/html",
            get(move || async move { untyped("\n<!DOCTYPE html><html><head><title>Untyped</title></head></html>") }),
        )
        .route("/binary", get(move || async move { untyped("PK\u{3}\u{4} not a page") }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let product = scraper.scrape(&server.url("/html")).await.expect("a body that opens like HTML is read");
    assert_eq!(product.title.as_deref(), Some("Untyped"));

    let error = scraper.scrape(&server.url("/binary")).await.expect_err("an untyped non-HTML body is refused");
    assert!(matches!(error, ScrapeError::NotHtml { .. }), "{error:?}");
}

#[tokio::test]
async fn error_statuses_say_whether_to_retry() {
    let router = Router::new()
        .route("/gone", get(|| async { (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "text/html")], "<html>nope</html>") }))
        .route("/busy", get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
    let server = serve(router).await;
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let gone = scraper.scrape(&server.url("/gone")).await.expect_err("404 is an error");
    assert!(matches!(gone, ScrapeError::HttpStatus { status: 404 }), "{gone:?}");
    assert!(!gone.is_retryable());

    let busy = scraper.scrape(&server.url("/busy")).await.expect_err("503 is an error");
    assert!(matches!(busy, ScrapeError::HttpStatus { status: 503 }), "{busy:?}");
    assert!(busy.is_retryable());
}

#[tokio::test]
async fn a_page_slower_than_the_request_timeout_times_out() {
    let router = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            ([(CONTENT_TYPE, "text/html")], "<html></html>")
        }),
    );
    let server = serve(router).await;
    let mut settings = settings(true);
    settings.request_timeout_ms = 300;
    let scraper = Scraper::new(&settings).expect("test settings are valid");

    let started = Instant::now();
    let error = scraper.scrape(&server.url("/slow")).await.expect_err("the page takes 5 s");

    assert!(matches!(error, ScrapeError::Timeout), "{error:?}");
    assert!(error.is_retryable());
    assert!(started.elapsed() < Duration::from_secs(3), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn an_unreachable_shop_is_a_retryable_network_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("an ephemeral port is free");
    let port = listener.local_addr().expect("a bound listener has an address").port();
    drop(listener);
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    let error = scraper.scrape(&format!("http://127.0.0.1:{port}/products/a")).await.expect_err("nothing listens");

    assert!(matches!(error, ScrapeError::Network(_)), "{error:?}");
    assert!(error.to_string().contains(&port.to_string()), "the error names the URL: {error}");
    assert!(error.is_retryable());
}
