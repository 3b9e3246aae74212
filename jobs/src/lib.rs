//! The job engine: PostgreSQL holds every job as a row, Redis (through apalis-redis) only
//! carries "work on row N". Platform parts (settings, transactions, identifiers, the Redis
//! connection) come from `recete-platform`; the handlers that do each job's work live in the
//! worker crate.
//!
//! A job's row exists before its message: an `external_events` row, later `scheduled_tasks` rows.
//! The [`relay`] hands due rows to Redis in bounded batches and, as the reconciler, hands over
//! again any row still pending long after its last hand-over (Redis lost it, a worker died, a
//! push was dropped). Handlers claim their row with `FOR UPDATE SKIP LOCKED` and commit their
//! effect together with the row's new state, so a second copy of a message changes nothing.
//!
//! apalis-redis 1.0.0 is used for transport only, because of defects measured against it:
//! - more than about 8,000 due jobs in one queue crash every worker's fetch (a Lua `unpack`
//!   limit): the relays push only what they reserved in the queue's [`budget`], one budget of
//!   `queue.max_backlog` jobs shared by the whole fleet;
//! - idle workers see new work only at their heartbeat unless polled: every backend is wrapped
//!   in `poll_with_interval`, and the relay re-pushes anything a stalled fetch left behind;
//! - idempotency keys do not deduplicate with the default config: each push carries a
//!   deterministic task id (row id and hand-over count), which does;
//! - retries ignore `RetryPolicy` (up to 25 linear retries): handlers never return an error to
//!   apalis; attempts, backoff and the dead-letter state live in the row ([`attempts`]);
//! - a stopped worker stays registered for a heartbeat, and a dead worker's jobs return only
//!   after heartbeat × missed heartbeats: worker names are unique per process start and the
//!   heartbeat is short (`queue.heartbeat_secs`);
//! - any backend error ends a worker: the worker crate supervises each pool and restarts it with
//!   backoff;
//! - finished jobs are never removed: [`backlog::prune_finished`] removes them on a schedule
//!   (never `vacuum()`, which also drops jobs waiting to retry);
//! - workers share one task unless `.parallelize(tokio::spawn)` is set: every pool sets it.
//!
//! # Layout
//! - [`jobs`]: the versioned payloads and queue names.
//! - [`backlog`]: apalis storage construction, queue depth and pruning, by Redis key;
//!   [`prune_loop`]: a queue's finished jobs pruned on a schedule.
//! - [`budget`]: the fleet's shared backlog budget, reserved in Redis before each push.
//! - [`relay`]: the relay and reconciler; [`relay_loop`]: a queue's relay passes, woken when its
//!   work commits.
//! - [`attempts`]: failure bookkeeping, backoff and dead letters.
//! - [`claims`]: a handler's claim of its row, and the row's job state as the handler leaves it.
//! - [`processes`]: each worker process's heartbeat row; [`heartbeat`]: this process's identity,
//!   its pools' busy slots, and the loop that keeps its row fresh.
//! - [`execution`]: what every job handler runs in: its claim, its time bound, the hand-back at
//!   shutdown, each attempt recorded, the job metrics.
//! - [`control`]: queues paused and resumed by operators.
//! - [`wakeups`]: waking each relay when work for its queue commits.
//! - [`stats`]: each queue at a glance, for the queue gauges and the queue board.
//! - [`admin`]: jobs as operators see them: search, counts, detail, payloads, retry, cancel and
//!   requeue (one job or a whole filter in bulk), and the fleet's periodic schedules.

#![forbid(unsafe_code)]

pub mod admin;
pub mod attempts;
pub mod backlog;
pub mod budget;
pub mod claims;
pub mod control;
pub mod execution;
pub mod heartbeat;
pub mod jobs;
pub mod processes;
pub mod prune_loop;
pub mod relay;
pub mod relay_loop;
pub mod stats;
pub mod wakeups;

pub use jobs::{EventJob, QueueName, TaskJob};
