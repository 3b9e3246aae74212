//! The Redis side of the limiter: one script call checks and charges every limit of a request.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

use super::{Limit, LimitStatus, Verdict};

/// Loaded once per process; `invoke_async` sends EVALSHA and falls back to EVAL after a Redis
/// restart or failover has forgotten the script.
static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("gcra.lua")));

/// Whether an evaluation charges the limits that admit a request, or only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Charge,
    Peek,
}

pub(super) async fn evaluate<C>(connection: &mut C, limits: &[Limit], mode: Mode) -> Result<Verdict, redis::RedisError>
where
    C: ConnectionLike + Send,
{
    if limits.is_empty() {
        return Ok(Verdict { statuses: Vec::new() });
    }
    let mut invocation = SCRIPT.prepare_invoke();
    for limit in limits {
        invocation.key(&limit.key).arg(limit.quota.interval_micros()).arg(limit.quota.capacity_micros());
    }
    if mode == Mode::Peek {
        invocation.arg("peek");
    }
    let rows: Vec<(u8, u64, u64)> = invocation.invoke_async(connection).await?;
    if rows.len() != limits.len() {
        return Err(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "the rate limit script answered for a different number of limits",
        )));
    }
    let statuses = limits
        .iter()
        .zip(rows)
        .map(|(limit, (refused, available, wait_micros))| LimitStatus {
            kind: limit.kind,
            quota: limit.quota,
            refused: refused == 1,
            available,
            wait: Duration::from_micros(wait_micros),
        })
        .collect();
    Ok(Verdict { statuses })
}
