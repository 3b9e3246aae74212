//! The GCRA arithmetic against a real Redis: each test has a key prefix of its own.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::config::{PlatformSettings, QuotaSettings, RateLimitSettings, base_figment};
use crate::ids::{ApiKeyId, MerchantId};
use crate::redis_client::RedisClient;

fn redis_url() -> String {
    std::env::var("RECETE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

struct Fixture {
    limiter: RateLimiter,
    redis: redis::Client,
    prefix: String,
}

impl Fixture {
    fn new(customize: impl FnOnce(&mut RateLimitSettings)) -> Self {
        Self::with_url(&redis_url(), customize)
    }

    fn with_url(url: &str, customize: impl FnOnce(&mut RateLimitSettings)) -> Self {
        let prefix = format!("recete-test-{}", uuid::Uuid::new_v4().simple());
        let figment = base_figment(None).merge(("redis.url", url)).merge(("redis.key_prefix", prefix.clone()));
        let settings = PlatformSettings::load_from(figment).expect("settings");
        let mut limits = settings.rate_limits.clone();
        customize(&mut limits);
        let client = RedisClient::new(&settings.redis).expect("redis client");
        Self { limiter: RateLimiter::new(&limits, client), redis: redis::Client::open(url).expect("url"), prefix }
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.redis.get_multiplexed_async_connection().await.expect("redis reachable")
    }

    async fn pttl(&self, key: &str) -> i64 {
        redis::cmd("PTTL").arg(key).query_async(&mut self.connection().await).await.expect("pttl")
    }

    async fn keys(&self) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut self.connection().await)
            .await
            .expect("keys")
    }

    async fn check(&self, limits: &[Limit]) -> Verdict {
        self.limiter.try_check(limits).await.expect("Redis answers")
    }

    async fn clean(self) {
        let keys = self.keys().await;
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut self.connection().await).await.expect("del");
        }
    }
}

fn quota(quantity: u64, window_secs: u64) -> QuotaSettings {
    QuotaSettings { quantity, window_secs }
}

fn client() -> IpAddr {
    "203.0.113.9".parse().expect("address")
}

#[tokio::test]
async fn a_full_quota_may_come_at_once_and_the_next_request_waits_one_interval() {
    let fixture = Fixture::new(|limits| limits.ip = quota(5, 60));
    let limit = fixture.limiter.client_ip_limit(client());
    let started = Instant::now();
    for expected_left in (0..5).rev() {
        let verdict = fixture.check(std::slice::from_ref(&limit)).await;
        let status = verdict.statuses()[0];
        assert!(!status.refused, "request {} of the burst was refused", 5 - expected_left);
        assert_eq!(status.available, expected_left);
        assert_eq!(status.kind, LimitKind::Ip);
        assert_eq!(status.quota, Quota { quantity: 5, window: Duration::from_secs(60) });
    }
    let verdict = fixture.check(std::slice::from_ref(&limit)).await;
    let refusal = verdict.refusal().expect("the sixth request is refused");
    assert_eq!(refusal.available, 0);
    // One request comes back every 60 s / 5 = 12 s, counted from the first of the burst.
    let elapsed = started.elapsed();
    assert!(refusal.wait <= Duration::from_secs(12), "{:?}", refusal.wait);
    assert!(refusal.wait >= Duration::from_secs(12) - elapsed, "{:?} after {elapsed:?}", refusal.wait);
    assert_eq!(refusal.wait_secs(), 12);
    fixture.clean().await;
}

#[tokio::test]
async fn after_the_burst_requests_are_admitted_at_the_steady_rate() {
    // 10 per second: one every 100 ms once the burst is spent.
    let fixture = Fixture::new(|limits| limits.ip = quota(10, 1));
    let limit = fixture.limiter.client_ip_limit(client());
    let limits = std::slice::from_ref(&limit);
    for _ in 0..10 {
        assert!(fixture.check(limits).await.is_admitted());
    }
    let refused = fixture.check(limits).await.refusal().expect("burst spent");
    assert!(refused.wait <= Duration::from_millis(100), "{:?}", refused.wait);

    // Waiting what the refusal said earns exactly one request, not two.
    tokio::time::sleep(refused.wait + Duration::from_millis(5)).await;
    let admitted = fixture.check(limits).await;
    assert!(admitted.is_admitted(), "{admitted:?}");
    assert_eq!(admitted.statuses()[0].available, 0);
    assert!(fixture.check(limits).await.refusal().is_some());

    // Over 450 ms at 100 ms per request, four more are admitted, whatever the timing of asks.
    let until = Instant::now() + Duration::from_millis(450);
    let mut admitted = 0;
    while Instant::now() < until {
        if fixture.check(limits).await.is_admitted() {
            admitted += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!((4..=5).contains(&admitted), "{admitted} admitted in 450 ms at 10/s");
    fixture.clean().await;
}

#[tokio::test]
async fn the_wait_of_an_admitted_request_is_the_time_until_one_more_is_earned() {
    let fixture = Fixture::new(|limits| limits.ip = quota(2, 1));
    let limit = fixture.limiter.client_ip_limit(client());
    let first = fixture.check(std::slice::from_ref(&limit)).await.statuses()[0];
    assert_eq!(first.available, 1);
    // Nothing more is earned until the first request's 500 ms are repaid.
    assert!(first.wait <= Duration::from_millis(500) && first.wait > Duration::from_millis(400), "{:?}", first.wait);
    assert_eq!(first.wait_secs(), 1);
    fixture.clean().await;
}

#[tokio::test]
async fn keys_expire_when_their_state_would_read_as_new() {
    let fixture = Fixture::new(|limits| limits.ip = quota(5, 60));
    let limit = fixture.limiter.client_ip_limit(client());
    fixture.check(std::slice::from_ref(&limit)).await;
    let ttl = fixture.pttl(limit.key()).await;
    assert!((11_000..=12_001).contains(&ttl), "one request of 5 per minute is repaid in 12 s, TTL {ttl} ms");
    for _ in 0..4 {
        fixture.check(std::slice::from_ref(&limit)).await;
    }
    let ttl = fixture.pttl(limit.key()).await;
    assert!((59_000..=60_001).contains(&ttl), "a spent quota is repaid in 60 s, TTL {ttl} ms");

    // A refusal writes nothing, so it never extends the wait.
    fixture.check(std::slice::from_ref(&limit)).await;
    assert!(fixture.pttl(limit.key()).await <= ttl);
    assert_eq!(fixture.keys().await, vec![limit.key().to_owned()], "one key per client, under the prefix");
    fixture.clean().await;
}

#[tokio::test]
async fn limits_checked_together_are_charged_only_when_all_admit() {
    let fixture = Fixture::new(|limits| {
        limits.api_key = quota(1, 60);
        limits.merchant = quota(5, 60);
    });
    let merchant = MerchantId::generate();
    let limits = fixture.limiter.api_key_limits(merchant, ApiKeyId::generate());
    let first = fixture.check(&limits).await;
    assert!(first.is_admitted());
    assert_eq!(first.statuses().iter().map(|s| s.available).collect::<Vec<_>>(), vec![0, 4]);
    assert_eq!(tightest(first.statuses()).map(|s| s.kind), Some(LimitKind::ApiKey));

    let second = fixture.check(&limits).await;
    let refusal = second.refusal().expect("the key's quota of one is spent");
    assert_eq!(refusal.kind, LimitKind::ApiKey);
    assert_eq!(second.statuses()[1].available, 4, "the merchant was not charged for the refused request");

    // Another key of the same merchant draws from the same merchant quota.
    let sibling = fixture.limiter.api_key_limits(merchant, ApiKeyId::generate());
    let third = fixture.check(&sibling).await;
    assert!(third.is_admitted());
    assert_eq!(third.statuses()[1].available, 3);
    assert!(limits.iter().chain(&sibling).all(|limit| limit.key().contains(&format!("{{{merchant}}}"))));
    fixture.clean().await;
}

#[tokio::test]
async fn ipv6_clients_are_counted_per_64_block() {
    let fixture = Fixture::new(|limits| limits.ip = quota(1, 60));
    let first = fixture.limiter.client_ip_limit("2001:db8:1:2::1".parse().expect("address"));
    let same_block = fixture.limiter.client_ip_limit("2001:db8:1:2:ffff::9".parse().expect("address"));
    let mapped = fixture.limiter.client_ip_limit("::ffff:203.0.113.9".parse().expect("address"));
    assert_eq!(first.key(), same_block.key());
    assert_eq!(mapped.key(), fixture.limiter.client_ip_limit(client()).key());
    assert!(fixture.check(std::slice::from_ref(&first)).await.is_admitted());
    assert!(fixture.check(std::slice::from_ref(&same_block)).await.refusal().is_some());
    fixture.clean().await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_open() {
    let fixture = Fixture::with_url("redis://127.0.0.1:1", |limits| {
        limits.ip = quota(1, 60);
        limits.redis_timeout_ms = 200;
    });
    let limit = fixture.limiter.client_ip_limit(client());
    let started = Instant::now();
    for _ in 0..5 {
        assert_eq!(fixture.limiter.check(std::slice::from_ref(&limit)).await, None);
    }
    assert!(started.elapsed() < Duration::from_secs(1), "checks after a failure are skipped, not retried");
    assert!(fixture.limiter.try_check(std::slice::from_ref(&limit)).await.is_err());
}

#[tokio::test]
async fn a_disabled_limiter_asks_nothing() {
    let fixture = Fixture::new(|limits| {
        limits.enabled = false;
        limits.ip = quota(1, 60);
    });
    let limit = fixture.limiter.client_ip_limit(client());
    for _ in 0..3 {
        assert_eq!(fixture.limiter.check(std::slice::from_ref(&limit)).await, None);
    }
    assert!(fixture.keys().await.is_empty());
}

mod settings {
    use crate::config::{PlatformSettings, base_figment, figment_with_env};

    #[test]
    fn defaults_are_the_documented_quotas() {
        let settings = PlatformSettings::load_from(base_figment(None)).expect("defaults load");
        let limits = settings.rate_limits;
        assert!(limits.enabled);
        assert!(limits.trusted_proxies.is_empty());
        let pairs = [limits.ip, limits.api_key, limits.merchant, limits.integration, limits.whatsapp_number]
            .map(|quota| (quota.quantity, quota.window_secs));
        assert_eq!(pairs, [(100, 60), (1000, 3600), (5000, 3600), (6000, 60), (18000, 60)]);
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail fixes the closure's error type
    fn environment_variables_override_quotas_and_proxies() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("RECETE__RATE_LIMITS__IP__QUANTITY", "7");
            jail.set_env("RECETE__RATE_LIMITS__ENABLED", "false");
            jail.set_env("RECETE__RATE_LIMITS__TRUSTED_PROXIES", "[\"10.0.0.0/8\", \"2001:db8::/32\"]");
            let settings =
                PlatformSettings::load_from(figment_with_env(base_figment(None))).map_err(|e| e.to_string())?;
            assert_eq!(settings.rate_limits.ip.quantity, 7);
            assert_eq!(settings.rate_limits.ip.window_secs, 60);
            assert!(!settings.rate_limits.enabled);
            let proxies: Vec<String> = settings.rate_limits.trusted_proxies.iter().map(|c| c.to_string()).collect();
            assert_eq!(proxies, ["10.0.0.0/8", "2001:db8::/32"]);
            Ok(())
        });
    }

    #[test]
    fn bad_quotas_and_proxies_are_refused_by_name() {
        let cases = [
            (("rate_limits.api_key.quantity", 0), "rate_limits.api_key.quantity"),
            (("rate_limits.merchant.window_secs", 0), "rate_limits.merchant.window_secs"),
            (("rate_limits.ip.window_secs", 100_000), "rate_limits.ip.window_secs"),
            (("rate_limits.redis_timeout_ms", 0), "rate_limits.redis_timeout_ms"),
        ];
        for ((key, value), expected) in cases {
            let error = PlatformSettings::load_from(base_figment(None).merge((key, value))).expect_err(key);
            assert!(error.to_string().contains(expected), "{key}: {error}");
        }
        let error =
            PlatformSettings::load_from(base_figment(None).merge(("rate_limits.trusted_proxies", ["10.0.0.0/40"])))
                .expect_err("bad block");
        let message = error.to_string();
        assert!(message.contains("10.0.0.0/40") && message.contains("trusted_proxies"), "{message}");
    }
}

#[tokio::test]
async fn a_peek_answers_like_a_check_and_charges_nothing() {
    let fixture = Fixture::new(|limits| limits.webhook_auth_failures = quota(2, 3600));
    let limit = fixture.limiter.webhook_auth_failures_limit(client());
    let limits = std::slice::from_ref(&limit);
    for _ in 0..5 {
        let looked = fixture.limiter.peek(limits).await.expect("Redis answers");
        assert!(looked.is_admitted());
        assert_eq!(looked.statuses()[0].available, 2, "looking spends nothing");
    }
    assert!(fixture.keys().await.is_empty(), "a peek writes no state");
    assert!(fixture.check(limits).await.is_admitted());
    assert!(fixture.check(limits).await.is_admitted());
    let looked = fixture.limiter.peek(limits).await.expect("Redis answers");
    let refusal = looked.refusal().expect("the quota is spent, so the next one would be refused");
    assert_eq!(refusal.kind, LimitKind::WebhookAuthFailures);
    assert!(limit.key().ends_with(":ratelimit:http:webhook-auth-failures:203.0.113.9"), "{}", limit.key());
    fixture.clean().await;
}
