//! Throughput limits shared by every worker through Redis: a per phone number rate (Meta's 80
//! messages per second by default, error 130429 past it) and a minimum gap between two messages
//! to one customer (Meta's pair rate limit, error 131056).

use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;

/// GCRA in one script: the key holds the theoretical arrival time in milliseconds. Returns 0 when
/// the message may go now, else the milliseconds to wait.
const GCRA: &str = r"
local now = tonumber(redis.call('TIME')[1]) * 1000 + math.floor(tonumber(redis.call('TIME')[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - interval * burst
if allowed_at > now then return allowed_at - now end
redis.call('SET', KEYS[1], tat + interval, 'PX', interval * (burst + 1) + 1000)
return 0
";

pub struct Limits {
    key_prefix: String,
    per_number_interval_ms: u64,
    customer_gap: Duration,
}

impl Limits {
    pub fn new(key_prefix: &str, messages_per_second: u32, customer_gap: Duration) -> Self {
        Self {
            key_prefix: key_prefix.to_owned(),
            per_number_interval_ms: (1000 / u64::from(messages_per_second.max(1))).max(1),
            customer_gap,
        }
    }

    /// `None` when a message from `phone_number_id` may go now, else how long to wait. Allows a
    /// burst of one second's worth, then the steady rate.
    pub async fn number_wait(
        &self,
        connection: &mut ConnectionManager,
        phone_number_id: &str,
    ) -> Result<Option<Duration>, redis::RedisError> {
        let burst = (1000 / self.per_number_interval_ms).max(1);
        let wait: u64 = Script::new(GCRA)
            .key(format!("{}:ratelimit:wa-number:{phone_number_id}", self.key_prefix))
            .arg(self.per_number_interval_ms)
            .arg(burst - 1)
            .invoke_async(connection)
            .await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait)))
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
