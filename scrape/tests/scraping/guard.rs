//! With the address guard on, loopback, private and metadata addresses are refused before any
//! connection is made.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use recete_scrape::{ScrapeError, Scraper};
use tokio::net::TcpListener;

use crate::support::settings;

/// A bare listener that only counts the connections it accepts.
async fn counting_listener(address: &str) -> Option<(u16, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind(address).await.ok()?;
    let port = listener.local_addr().ok()?.port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(connection);
        }
    });
    Some((port, accepted))
}

fn assert_forbidden(error: &ScrapeError, expected_host: &str) -> IpAddr {
    match error {
        ScrapeError::ForbiddenAddress { host, address, .. } => {
            assert_eq!(host, expected_host);
            // Merchants see the host they gave, never the internal address a name resolved to.
            let message = error.to_string();
            let names_the_address = message.contains(&address.to_string());
            assert!(message.contains(expected_host), "{message}");
            let literal = expected_host.trim_start_matches('[').trim_end_matches(']');
            assert!(!names_the_address || literal == address.to_string(), "{message}");
            *address
        }
        other => panic!("expected ForbiddenAddress for {expected_host}, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_and_private_addresses_are_refused_without_connecting() {
    let (port, accepted_v4) = counting_listener("127.0.0.1:0").await.expect("IPv4 loopback is available");
    let accepted_v6 = counting_listener(&format!("[::1]:{port}")).await.map(|(_, accepted)| accepted);
    let scraper = Scraper::new(&settings(false)).expect("production settings are valid");

    let by_name = scraper.scrape(&format!("http://localhost:{port}/products/a")).await.expect_err("localhost");
    assert!(assert_forbidden(&by_name, "localhost").is_loopback());
    assert!(!by_name.is_retryable());
    assert_eq!(by_name.code(), "forbidden_address");

    let literal = scraper.scrape(&format!("http://127.0.0.1:{port}/products/a")).await.expect_err("127.0.0.1");
    assert_eq!(assert_forbidden(&literal, "127.0.0.1").to_string(), "127.0.0.1");

    for (url, host) in [
        ("http://10.0.0.1/products/a".to_owned(), "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/".to_owned(), "169.254.169.254"),
        (format!("http://[::1]:{port}/"), "[::1]"),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "[::ffff:7f00:1]"),
    ] {
        let error = scraper.scrape(&url).await.expect_err("a non-public address");
        assert_forbidden(&error, host);
    }

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(accepted_v4.load(Ordering::SeqCst), 0, "no connection may reach the IPv4 listener");
    if let Some(accepted_v6) = accepted_v6 {
        assert_eq!(accepted_v6.load(Ordering::SeqCst), 0, "no connection may reach the IPv6 listener");
    }
}

#[tokio::test]
async fn allowing_loopback_really_connects_so_the_guard_is_what_refused() {
    let (port, accepted) = counting_listener("127.0.0.1:0").await.expect("IPv4 loopback is available");
    let scraper = Scraper::new(&settings(true)).expect("test settings are valid");

    // The listener hangs up without answering, so the scrape fails, but only after connecting.
    let error =
        scraper.scrape(&format!("http://127.0.0.1:{port}/")).await.expect_err("the listener does not speak HTTP");
    assert!(!matches!(error, ScrapeError::ForbiddenAddress { .. }), "{error:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 1, "with loopback allowed the listener is reached");

    let still_private = scraper.scrape("http://10.0.0.1/").await.expect_err("only loopback is allowed");
    assert_forbidden(&still_private, "10.0.0.1");
}
