//! One backlog budget per queue, shared by every relay of the fleet through Redis.
//!
//! Each relay pass reserves room before it claims rows: one Lua script (one round trip, atomic
//! on the Redis server) counts the queue's depth (`:active` and `:scheduled`, the same count as
//! [`backlog::depth`](crate::backlog::depth)), the jobs workers have fetched and not finished (the
//! in-flight set of each worker registered in `:workers`), and the jobs other relays have reserved
//! and not yet given back; it grants `min(wanted, max_backlog - depth - in flight - reserved)` and
//! records the grant. The
//! pass pushes at most what it was granted, then gives the reservation back. So, whatever the
//! number of relays and worker processes, this holds at every moment:
//!
//! **depth + in flight + jobs reserved and not yet pushed ≤ `max_backlog`**, hence depth ≤
//! `max_backlog`.
//!
//! A grant keeps it (it fits beside everything counted); a push moves jobs from "reserved" to
//! "depth"; confirming or giving back a reservation only lowers the left side. apalis only moves
//! jobs between "depth" and "in flight": a fetch, and the jobs of a stopped worker or of one that
//! missed its heartbeats put back in `:active`; finishing a job lowers "in flight". Counting the
//! jobs in flight is what keeps such returns from pushing the depth past the bound. Between a
//! push and its reservation's return the pushed jobs count twice, which only makes grants smaller
//! meanwhile.
//!
//! Reservations live in one sorted set, `{<prefix>:<queue>}:budget`, under the queue's namespace
//! (same hash tag, same slot as its apalis keys, so the script is valid on a Redis Cluster too).
//! Each member is `<reservation id>:<jobs>`, scored by its expiry in milliseconds of the Redis
//! server's clock (one clock, so processes with skewed clocks agree). Every script first drops
//! expired members, so a relay killed between its reservation and its push holds its share for
//! at most the reservation's lifetime ([`RESERVATION_TTL`]) and then the budget is whole again.
//! The set itself expires with its last member, and a `FLUSHALL` (or a test wiping its prefix)
//! simply leaves no reservation behind.
//!
//! A pass that claimed its rows confirms the reservation before the push: the reservation shrinks
//! to the rows claimed and gets a fresh lifetime, but only if it is still live. A reservation that
//! expired meanwhile (the claim took longer than its lifetime) is not confirmed, and the pass gives
//! its rows back instead of pushing them unaccounted. A pass whose push failed keeps its
//! reservation until it expires rather than giving it back: a push the client gave up on (a slow
//! reply) may still land while its rows are pushed again as new jobs. What the bound assumes,
//! then, is only that a push reaches Redis within [`RESERVATION_TTL`] of its confirmation.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

/// How long a reservation holds its share unless confirmed or given back; also how long a
/// confirmed reservation may wait for its push. A relay killed mid-pass shrinks the budget at most
/// this long.
pub const RESERVATION_TTL: Duration = Duration::from_secs(30);

/// Jobs of the queue: waiting (`:active`, `:scheduled`) and fetched by a worker but not finished
/// (the in-flight set of each registered worker). KEYS: active, scheduled, workers; ARGV[1]: the
/// in-flight set prefix. Defines `waiting` and `inflight`.
const COUNT_JOBS: &str = r"
local waiting = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])
local inflight = 0
for _, worker in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  inflight = inflight + redis.call('SCARD', ARGV[1] .. ':' .. worker)
end
";

/// KEYS: active, scheduled, workers, budget. ARGV: in-flight prefix, max backlog, jobs wanted,
/// lifetime (ms), reservation id. Returns {granted, depth, in flight, reserved by others}.
const RESERVE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local reserved = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  reserved = reserved + (tonumber(string.match(member, ':(%d+)$')) or 0)
end
local grant = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - waiting - inflight - reserved)
if grant > 0 then
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[4]), ARGV[5] .. ':' .. grant)
  local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[4], last[2])
else
  grant = 0
end
return {grant, waiting, inflight, reserved}
";

/// KEYS: budget. ARGV: member as reserved, member as confirmed, lifetime (ms). Returns 1 when the
/// reservation was still live (and is now the confirmed member), else 0.
const CONFIRM: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
";

/// KEYS: active, scheduled, workers, budget. ARGV: in-flight prefix. Returns {depth, in flight,
/// live reserved jobs}; writes nothing.
const OUTSTANDING: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local reserved = 0
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. now, '+inf')) do
  reserved = reserved + (tonumber(string.match(member, ':(%d+)$')) or 0)
end
return {waiting, inflight, reserved}
";

static RESERVE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{COUNT_JOBS}{RESERVE}")));
static CONFIRM_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CONFIRM));
static OUTSTANDING_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&format!("{COUNT_JOBS}{OUTSTANDING}")));

/// The shared budget of one queue.
#[derive(Debug, Clone)]
pub struct Budget {
    active: String,
    scheduled: String,
    workers: String,
    inflight: String,
    key: String,
    max_backlog: usize,
    ttl: Duration,
}

/// What one reservation got.
#[derive(Debug)]
pub struct Grant {
    /// Jobs this pass may push (0 when the queue is at its bound).
    pub granted: usize,
    /// Jobs waiting in the queue when the reservation was made (`:active` and `:scheduled`).
    pub depth: u64,
    /// Jobs fetched by workers and not finished then.
    pub inflight: u64,
    /// Jobs other relays had reserved and not yet given back.
    pub reserved: u64,
    /// `None` when nothing was granted.
    pub reservation: Option<Reservation>,
}

/// A live share of the budget; give it back with [`Budget::release`] (or it expires).
#[derive(Debug)]
pub struct Reservation {
    id: String,
    jobs: usize,
}

impl Reservation {
    /// Jobs it holds.
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    fn member(&self) -> String {
        format!("{}:{}", self.id, self.jobs)
    }
}

impl Budget {
    /// The budget of the queue whose apalis namespace is `namespace`.
    pub fn new(namespace: &str, max_backlog: usize) -> Self {
        Self {
            active: format!("{namespace}:active"),
            scheduled: format!("{namespace}:scheduled"),
            workers: format!("{namespace}:workers"),
            inflight: format!("{namespace}:inflight"),
            key: format!("{namespace}:budget"),
            max_backlog,
            ttl: RESERVATION_TTL,
        }
    }

    /// The same budget with reservations living `ttl` (at least a millisecond).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// The Redis key holding the reservations.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Reserves room for up to `wanted` jobs.
    pub async fn reserve(
        &self,
        connection: &mut impl ConnectionLike,
        wanted: usize,
    ) -> Result<Grant, redis::RedisError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (granted, depth, inflight, reserved): (u64, u64, u64, u64) = RESERVE_SCRIPT
            .key(&self.active)
            .key(&self.scheduled)
            .key(&self.workers)
            .key(&self.key)
            .arg(&self.inflight)
            .arg(self.max_backlog)
            .arg(wanted)
            .arg(self.ttl_ms())
            .arg(&id)
            .invoke_async(connection)
            .await?;
        let granted = usize::try_from(granted).unwrap_or(0).min(wanted);
        let reservation = (granted > 0).then_some(Reservation { id, jobs: granted });
        Ok(Grant { granted, depth, inflight, reserved, reservation })
    }

    /// Shrinks a live reservation to the `jobs` about to be pushed (at most what it holds) and
    /// renews its lifetime. `false`: it had expired, and nothing may be pushed under it.
    pub async fn confirm(
        &self,
        connection: &mut impl ConnectionLike,
        reservation: &mut Reservation,
        jobs: usize,
    ) -> Result<bool, redis::RedisError> {
        let jobs = jobs.min(reservation.jobs);
        let before = reservation.member();
        let after = format!("{}:{jobs}", reservation.id);
        let live: u8 =
            CONFIRM_SCRIPT.key(&self.key).arg(before).arg(&after).arg(self.ttl_ms()).invoke_async(connection).await?;
        if live == 1 {
            reservation.jobs = jobs;
        }
        Ok(live == 1)
    }

    /// Gives a reservation back: after its jobs were pushed (they now count in the depth), or
    /// when nothing was pushed.
    pub async fn release(
        &self,
        connection: &mut impl ConnectionLike,
        reservation: Reservation,
    ) -> Result<(), redis::RedisError> {
        redis::cmd("ZREM").arg(&self.key).arg(reservation.member()).exec_async(connection).await
    }

    /// The queue's depth, its jobs in flight and the jobs reserved under live reservations, read
    /// together.
    pub async fn outstanding(&self, connection: &mut impl ConnectionLike) -> Result<Outstanding, redis::RedisError> {
        let (depth, inflight, reserved): (u64, u64, u64) = OUTSTANDING_SCRIPT
            .key(&self.active)
            .key(&self.scheduled)
            .key(&self.workers)
            .key(&self.key)
            .arg(&self.inflight)
            .invoke_async(connection)
            .await?;
        Ok(Outstanding { depth, inflight, reserved })
    }
}

/// A queue's share of its budget at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outstanding {
    /// Jobs waiting (`:active` and `:scheduled`), as [`backlog::depth`](crate::backlog::depth)
    /// counts them.
    pub depth: u64,
    /// Jobs fetched by workers and not finished.
    pub inflight: u64,
    /// Jobs held by live reservations.
    pub reserved: u64,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use redis::aio::ConnectionManager;

    use super::*;

    async fn connection() -> ConnectionManager {
        let url = std::env::var("RECETE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        // Patient: on a busy machine a reply can take longer than the default half second.
        let config = redis::aio::ConnectionManagerConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
        ConnectionManager::new_with_config(redis::Client::open(url).expect("url"), config)
            .await
            .expect("redis reachable")
    }

    fn namespace() -> String {
        format!("{{recete-test-{}:order_events}}", uuid::Uuid::new_v4().simple())
    }

    async fn wipe(connection: &mut ConnectionManager, namespace: &str) {
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{namespace}:*")).query_async(connection).await.expect("keys");
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).exec_async(connection).await.expect("clean up");
        }
    }

    #[tokio::test]
    async fn sixteen_reservers_never_push_the_depth_and_the_reservations_past_the_bound() {
        const MAX: usize = 120;
        const RESERVERS: usize = 16;
        const ROUNDS: usize = 40;
        // Reads of depth and reservations taken while the reservers work: they keep going past
        // their rounds until the onlooker has this many, however slowly a loaded machine runs it.
        const SAMPLES: u64 = 100;
        /// Rounds past which a reserver stops whatever the onlooker saw (the check below fails).
        const MAX_ROUNDS: usize = 100_000;
        let namespace = namespace();
        let budget = Budget::new(&namespace, MAX);
        let active = format!("{namespace}:active");
        let stop = tokio_util::sync::CancellationToken::new();
        let highest = Arc::new(AtomicU64::new(0));
        let samples = Arc::new(AtomicU64::new(0));

        // Workers drain the queue meanwhile, a few jobs at a time.
        let drain = {
            let (active, stop) = (active.clone(), stop.clone());
            let mut connection = connection().await;
            tokio::spawn(async move {
                while !stop.is_cancelled() {
                    let _: Option<Vec<String>> =
                        redis::cmd("LPOP").arg(&active).arg(7).query_async(&mut connection).await.expect("drain");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        // An onlooker reads depth and reservations together, as often as it can.
        let onlooker = {
            let (budget, stop, highest, samples) = (budget.clone(), stop.clone(), highest.clone(), samples.clone());
            let mut connection = connection().await;
            tokio::spawn(async move {
                while !stop.is_cancelled() {
                    let depth = budget.outstanding(&mut connection).await.expect("outstanding").depth;
                    assert!(depth <= MAX as u64, "depth {depth} past {MAX}");
                    highest.fetch_max(depth, Ordering::Relaxed);
                    samples.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Sixteen relays, each with its own connection, each asking for more than the whole room.
        let mut reservers = Vec::new();
        for reserver in 0..RESERVERS {
            let budget = budget.clone();
            let active = active.clone();
            let samples = samples.clone();
            let mut connection = connection().await;
            reservers.push(tokio::spawn(async move {
                let mut pushed = 0usize;
                for round in 0..MAX_ROUNDS {
                    if round >= ROUNDS && samples.load(Ordering::Relaxed) >= SAMPLES {
                        break;
                    }
                    let grant = budget.reserve(&mut connection, MAX / 2).await.expect("reserve");
                    // Jobs pushed and not yet given back count twice, so only a grant is bounded.
                    assert!(
                        grant.granted == 0
                            || grant.granted as u64 + grant.depth + grant.inflight + grant.reserved <= MAX as u64,
                        "reserver {reserver} round {round}: {grant:?}"
                    );
                    let Some(mut reservation) = grant.reservation else {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        continue;
                    };
                    // Claims fewer rows than granted now and then.
                    let jobs = if round % 3 == 0 { reservation.jobs() / 2 } else { reservation.jobs() };
                    assert!(budget.confirm(&mut connection, &mut reservation, jobs).await.expect("confirm"));
                    if jobs > 0 {
                        let items: Vec<String> = (0..jobs).map(|n| format!("{reserver}-{round}-{n}")).collect();
                        redis::cmd("RPUSH").arg(&active).arg(&items).exec_async(&mut connection).await.expect("push");
                    }
                    budget.release(&mut connection, reservation).await.expect("release");
                    pushed += jobs;
                }
                pushed
            }));
        }
        let mut pushed = 0;
        for reserver in reservers {
            pushed += reserver.await.expect("reserver");
        }
        stop.cancel();
        onlooker.await.expect("no sample past the bound");
        let samples = samples.load(Ordering::Relaxed);
        drain.await.expect("drain");
        let mut connection = connection().await;
        let Outstanding { depth, reserved, .. } = budget.outstanding(&mut connection).await.expect("outstanding");
        assert_eq!(reserved, 0, "every reservation was given back");
        assert_eq!(depth, crate::backlog::depth(&mut connection, &namespace).await.expect("depth"));
        assert!(pushed > MAX * 4, "the budget was used over and over: {pushed} pushed");
        assert!(samples >= SAMPLES, "{samples} samples while the reservers worked");
        assert!(highest.load(Ordering::Relaxed) <= MAX as u64);
        wipe(&mut connection, &namespace).await;
    }

    #[tokio::test]
    async fn a_reservation_never_given_back_expires_and_its_room_comes_back() {
        let namespace = namespace();
        let budget = Budget::new(&namespace, 100).with_ttl(Duration::from_millis(300));
        let mut connection = connection().await;
        redis::cmd("ZADD")
            .arg(format!("{namespace}:scheduled"))
            .arg(1)
            .arg("job")
            .exec_async(&mut connection)
            .await
            .expect("a job");

        // A relay reserves and dies before its push: nothing is given back.
        let lost = budget.reserve(&mut connection, 60).await.expect("reserve");
        assert_eq!((lost.granted, lost.depth, lost.reserved), (60, 1, 0));
        let next = budget.reserve(&mut connection, 60).await.expect("reserve");
        assert_eq!((next.granted, next.depth, next.reserved), (39, 1, 60));
        let full = budget.reserve(&mut connection, 60).await.expect("reserve");
        assert_eq!((full.granted, full.reserved), (0, 99));
        assert!(full.reservation.is_none());
        if let Some(reservation) = next.reservation {
            budget.release(&mut connection, reservation).await.expect("release");
        }
        assert_eq!(
            budget.outstanding(&mut connection).await.expect("outstanding"),
            Outstanding { depth: 1, inflight: 0, reserved: 60 }
        );

        // Past its lifetime the lost reservation no longer counts, and cannot be confirmed.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            budget.outstanding(&mut connection).await.expect("outstanding"),
            Outstanding { depth: 1, inflight: 0, reserved: 0 }
        );
        let mut lost = lost.reservation.expect("granted");
        assert!(!budget.confirm(&mut connection, &mut lost, 60).await.expect("confirm"));
        let again = budget.reserve(&mut connection, 500).await.expect("reserve");
        assert_eq!((again.granted, again.reserved), (99, 0));

        // The set goes away by itself with its last reservation.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let exists: bool = redis::cmd("EXISTS").arg(budget.key()).query_async(&mut connection).await.expect("exists");
        assert!(!exists);
        wipe(&mut connection, &namespace).await;
    }

    #[tokio::test]
    async fn a_confirmed_reservation_shrinks_to_its_rows_and_lives_on() {
        let namespace = namespace();
        let budget = Budget::new(&namespace, 50).with_ttl(Duration::from_millis(400));
        let mut connection = connection().await;
        let mut reservation = budget.reserve(&mut connection, 40).await.expect("reserve").reservation.expect("granted");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(budget.confirm(&mut connection, &mut reservation, 15).await.expect("confirm"));
        assert_eq!(reservation.jobs(), 15);
        assert_eq!(
            budget.outstanding(&mut connection).await.expect("outstanding"),
            Outstanding { depth: 0, inflight: 0, reserved: 15 }
        );
        // Renewed: alive past the first lifetime.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            budget.outstanding(&mut connection).await.expect("outstanding"),
            Outstanding { depth: 0, inflight: 0, reserved: 15 }
        );
        assert_eq!(budget.reserve(&mut connection, 100).await.expect("reserve").granted, 35);
        budget.release(&mut connection, reservation).await.expect("release");
        wipe(&mut connection, &namespace).await;
    }

    #[tokio::test]
    async fn jobs_fetched_by_workers_count_until_they_finish() {
        // A worker's fetched jobs return to the queue if it stops or dies: they keep their share.
        let namespace = namespace();
        let budget = Budget::new(&namespace, 100);
        let mut connection = connection().await;
        redis::cmd("ZADD")
            .arg(format!("{namespace}:workers"))
            .arg(1)
            .arg("order-events-1")
            .exec_async(&mut connection)
            .await
            .expect("worker");
        redis::cmd("SADD")
            .arg(format!("{namespace}:inflight:order-events-1"))
            .arg(&["a", "b", "c"])
            .exec_async(&mut connection)
            .await
            .expect("fetched");
        redis::cmd("RPUSH")
            .arg(format!("{namespace}:active"))
            .arg(&["d", "e"])
            .exec_async(&mut connection)
            .await
            .expect("waiting");
        let grant = budget.reserve(&mut connection, 500).await.expect("reserve");
        assert_eq!((grant.granted, grant.depth, grant.inflight, grant.reserved), (95, 2, 3, 0));
        assert_eq!(
            budget.outstanding(&mut connection).await.expect("outstanding"),
            Outstanding { depth: 2, inflight: 3, reserved: 95 }
        );
        wipe(&mut connection, &namespace).await;
    }
}
