//! Throughput limits shared by every worker through Redis: a per phone number rate (Meta's 80
//! messages per second by default, error 130429 past it) and a minimum gap between two messages
//! to one customer (Meta's pair rate limit, error 131056).

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

/// GCRA in one script, in microseconds of Redis's own clock (read once, so workers with skewed
/// clocks agree): the key holds the theoretical arrival time. Returns 0 when the message may go
/// now, else the microseconds to wait. Whole milliseconds would round 80/s (12.5 ms) to 83.3/s
/// and make every rate above 500/s the same; microseconds hold any rate up to 1,000,000/s, a
/// rate that does not divide a second within half a microsecond per interval (0.05 % at 1,000/s).
const GCRA: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - interval * burst
if allowed_at > now then return allowed_at - now end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return 0
";

/// A steady rate per second as the GCRA holds it: one message every `interval_micros`, and up to
/// one second's worth at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRate {
    per_second: u32,
}

impl SendRate {
    /// At least one message per second.
    pub fn new(per_second: u32) -> Self {
        Self { per_second: per_second.max(1) }
    }

    /// Microseconds between two messages at the steady rate, rounded to the nearest (at least 1).
    pub fn interval_micros(&self) -> u64 {
        ((1_000_000 + u64::from(self.per_second) / 2) / u64::from(self.per_second)).max(1)
    }

    /// Messages admitted at once beyond the first: a second's worth in all.
    pub fn extra_burst(&self) -> u64 {
        u64::from(self.per_second) - 1
    }

    /// The rate the interval actually gives, in messages per second.
    pub fn effective_per_second(&self) -> f64 {
        1_000_000.0 / self.interval_micros() as f64
    }
}

pub struct Limits {
    key_prefix: String,
    per_number: SendRate,
    customer_gap: Duration,
}

impl Limits {
    pub fn new(key_prefix: &str, messages_per_second: u32, customer_gap: Duration) -> Self {
        Self { key_prefix: key_prefix.to_owned(), per_number: SendRate::new(messages_per_second), customer_gap }
    }

    /// `None` when a message from `phone_number_id` may go now, else how long to wait. Allows a
    /// burst of one second's worth, then the steady rate.
    pub async fn number_wait(
        &self,
        connection: &mut ConnectionManager,
        phone_number_id: &str,
    ) -> Result<Option<Duration>, redis::RedisError> {
        let wait: u64 = Script::new(GCRA)
            .key(format!("{}:ratelimit:wa-number:{phone_number_id}", self.key_prefix))
            .arg(self.per_number.interval_micros())
            .arg(self.per_number.extra_burst())
            .invoke_async(connection)
            .await?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    /// `None` when `customer` got nothing in the last gap (and reserves the gap), else how long
    /// until they may get another message.
    pub async fn customer_wait(
        &self,
        connection: &mut ConnectionManager,
        customer: &str,
    ) -> Result<Option<Duration>, redis::RedisError> {
        if self.customer_gap.is_zero() {
            return Ok(None);
        }
        let key = format!("{}:ratelimit:wa-customer:{customer}", self.key_prefix);
        let reserved: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(self.customer_gap.as_millis() as u64)
            .query_async(connection)
            .await?;
        if reserved.is_some() {
            return Ok(None);
        }
        let remaining: i64 = redis::cmd("PTTL").arg(&key).query_async(connection).await?;
        Ok(Some(Duration::from_millis(remaining.max(1) as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_whole_microseconds_so_common_rates_are_exact() {
        for (per_second, interval) in [(80, 12_500), (1_000, 1_000), (500, 2_000), (1, 1_000_000), (250_000, 4)] {
            let rate = SendRate::new(per_second);
            assert_eq!(rate.interval_micros(), interval, "{per_second}/s");
            assert_eq!(rate.effective_per_second(), f64::from(per_second), "{per_second}/s is exact");
        }
    }

    #[test]
    fn rates_that_do_not_divide_a_second_are_off_by_at_most_half_a_microsecond_per_interval() {
        for per_second in [3, 7, 80, 333, 999, 1_001, 1_500, 4_999, 10_000] {
            let rate = SendRate::new(per_second);
            let error = (rate.effective_per_second() - f64::from(per_second)).abs() / f64::from(per_second);
            assert!(
                error <= 0.5 / rate.interval_micros() as f64 + 1e-12,
                "{per_second}/s runs at {}/s",
                rate.effective_per_second()
            );
            if per_second <= 1_000 {
                assert!(error < 0.0005, "{per_second}/s is within 0.05 %");
            }
        }
        // Whole milliseconds made these 83.3/s and 1,000/s.
        assert!((SendRate::new(80).effective_per_second() - 80.0).abs() < f64::EPSILON);
        assert_ne!(SendRate::new(600).interval_micros(), SendRate::new(1_000).interval_micros());
    }

    #[test]
    fn the_burst_is_one_second_worth_and_a_zero_rate_is_one_per_second() {
        assert_eq!(SendRate::new(80).extra_burst(), 79);
        assert_eq!(SendRate::new(0), SendRate::new(1));
        assert_eq!(SendRate::new(0).extra_burst(), 0);
        assert_eq!(SendRate::new(2_000_000).interval_micros(), 1, "never zero");
    }

    #[tokio::test]
    async fn redis_admits_a_second_worth_at_once_then_one_per_interval() {
        let url = std::env::var("RECETE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(url).expect("url");
        let mut connection = ConnectionManager::new(client).await.expect("redis reachable");
        let prefix = format!("recete-test-{}", uuid::Uuid::new_v4().simple());
        // 4/s: one message every 250 ms, slow enough that the burst is sent well within one interval.
        let limits = Limits::new(&prefix, 4, Duration::ZERO);
        for sent in 0..4 {
            assert_eq!(limits.number_wait(&mut connection, "1065").await.expect("redis"), None, "message {sent}");
        }
        let wait = limits.number_wait(&mut connection, "1065").await.expect("redis").expect("the fifth waits");
        // The next slot opens one interval after the burst began, less the time the burst took.
        assert!(wait > Duration::from_millis(150) && wait <= Duration::from_millis(250), "{wait:?}");
        tokio::time::sleep(wait).await;
        assert_eq!(limits.number_wait(&mut connection, "1065").await.expect("redis"), None, "after the wait");
        let _: () = redis::cmd("DEL")
            .arg(format!("{prefix}:ratelimit:wa-number:1065"))
            .query_async(&mut connection)
            .await
            .expect("clean up");
    }
}
