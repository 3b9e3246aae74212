use std::time::{Duration, Instant};

use super::{ApiProcess, policy, retry_after, service_limit};
use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

/// GCRA earns one request back every window / quantity. At 100 per hour that is every 36 s, so
/// nothing is earned back while the test runs, and each count below is exact however slow the
/// machine; at 100 per minute a test taking over 0.6 s would earn one more.
const ADDRESS_QUOTA: [(&str, &str); 2] =
    [("RECETE__RATE_LIMITS__IP__QUANTITY", "100"), ("RECETE__RATE_LIMITS__IP__WINDOW_SECS", "3600")];

async fn ip_keys(app: &TestApp) -> Vec<String> {
    let mut keys: Vec<String> = app
        .redis
        .keys()
        .await
        .expect("redis keys")
        .into_iter()
        .filter(|key| key.contains(":ratelimit:http:ip:"))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_101st_request_from_one_address_is_refused_by_either_of_two_api_processes() {
    let app = spawn_app().await;
    let first = ApiProcess::spawn(&app, &ADDRESS_QUOTA);
    let second = ApiProcess::spawn(&app, &ADDRESS_QUOTA);

    let started = Instant::now();
    for n in 1..=100u64 {
        let process = if n % 2 == 1 { &first } else { &second };
        // No API key: authentication refuses it, after the address has been charged.
        let response = app.client.get(process.url("/api/conversations")).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 401, "request {n}");
        assert_eq!(policy(&response).as_deref(), Some("\"ip\";q=100;w=3600"), "request {n}");
        let limit = service_limit(&response);
        assert_eq!(
            (limit.name.as_str(), limit.available),
            ("ip", 100 - n),
            "request {n}: the two processes share one count"
        );
        assert!(limit.seconds <= 36, "{limit:?}");
    }

    let refused = app.client.get(first.url("/api/conversations")).send().await.expect("sent");
    let elapsed = started.elapsed();
    assert_eq!(refused.status().as_u16(), 429);
    // The next request is earned 36 s after the first one.
    let wait = retry_after(&refused);
    let earliest = Duration::from_secs(36).saturating_sub(elapsed).as_secs_f64().ceil() as u64;
    assert!((earliest..=36).contains(&wait), "Retry-After {wait} after {elapsed:?}");
    assert_eq!(policy(&refused).as_deref(), Some("\"ip\";q=100;w=3600"));
    let limit = service_limit(&refused);
    assert_eq!((limit.name.as_str(), limit.available, limit.seconds), ("ip", 0, wait));
    let problem = assert_problem(refused, 429).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("`ip`") && detail.contains("100 requests per 3600 seconds"), "{detail}");
    assert!(detail.contains(&format!("retry in {wait} seconds")), "{detail}");

    let also_refused = app.client.get(second.url("/api/conversations")).send().await.expect("sent");
    assert_eq!(also_refused.status().as_u16(), 429, "the other process refuses too");

    // Probes are never limited, so a replica under a flood still reports itself healthy.
    let health = app.client.get(second.url("/healthz")).send().await.expect("sent");
    assert_eq!(health.status().as_u16(), 200);
    assert!(policy(&health).is_none());
    let metrics = second.metrics_text().await;
    assert!(metrics.contains("# HELP recete_rate_limited_total"), "{metrics}");
    assert!(metrics.contains("recete_rate_limited_total{limit=\"ip\"} 1\n"), "one refusal by this process: {metrics}");

    assert_eq!(ip_keys(&app).await, vec![format!("{}:ratelimit:http:ip:127.0.0.1", app.redis.prefix)]);
}

async fn send_from(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let request = app.client.get(app.url("/api/conversations"));
    let request = match forwarded_for {
        Some(value) => request.header("x-forwarded-for", value),
        None => request,
    };
    request.send().await.expect("sent")
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_by_its_rightmost_untrusted_forwarded_address() {
    let app = spawn_app_with(|figment| {
        figment
            .merge(("rate_limits.trusted_proxies", ["127.0.0.1/32"]))
            .merge(("rate_limits.ip.quantity", 2))
            .merge(("rate_limits.ip.window_secs", 3600))
    })
    .await;

    assert_eq!(service_limit(&send_from(&app, Some("203.0.113.7")).await).available, 1);
    assert_eq!(service_limit(&send_from(&app, Some("203.0.113.7")).await).available, 0);
    // What the client wrote left of the address our proxy saw changes nothing.
    let spoofed = send_from(&app, Some("198.51.100.1, 203.0.113.7")).await;
    assert_eq!(spoofed.status().as_u16(), 429);

    let other_client = send_from(&app, Some("203.0.113.8")).await;
    assert_eq!(other_client.status().as_u16(), 401);
    assert_eq!(service_limit(&other_client).available, 1);
    let proxy_itself = send_from(&app, None).await;
    assert_eq!(service_limit(&proxy_itself).available, 1);

    let prefix = &app.redis.prefix;
    assert_eq!(
        ip_keys(&app).await,
        ["127.0.0.1", "203.0.113.7", "203.0.113.8"].map(|ip| format!("{prefix}:ratelimit:http:ip:{ip}"))
    );

    let metrics = app.metrics_text().await;
    assert!(metrics.contains("# HELP recete_rate_limited_total"), "{metrics}");
    assert!(metrics.contains("recete_rate_limited_total{limit=\"ip\"}"), "{metrics}");
}

#[tokio::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    let app = spawn_app_with(|figment| {
        figment.merge(("rate_limits.ip.quantity", 2)).merge(("rate_limits.ip.window_secs", 3600))
    })
    .await;

    assert_eq!(service_limit(&send_from(&app, Some("203.0.113.7")).await).available, 1);
    assert_eq!(service_limit(&send_from(&app, Some("203.0.113.8")).await).available, 0);
    let refused = send_from(&app, Some("203.0.113.9")).await;
    assert_eq!(refused.status().as_u16(), 429, "a new X-Forwarded-For buys nothing");
    assert_eq!(ip_keys(&app).await, vec![format!("{}:ratelimit:http:ip:127.0.0.1", app.redis.prefix)]);
}
