//! `Idempotency-Key` for merchant API writes: the first request with a key does the work and
//! records its answer in the same transaction; a repeat gets that answer without doing the work
//! again, and the same key with another body is refused.
//!
//! A key is claimed by inserting its row. A concurrent repeat blocks on that row until the first
//! request commits (then reads its answer) or rolls back (then does the work itself), so two
//! racing retries still act once. Keys are scoped to the merchant and the route, and kept for
//! [`RETENTION_HOURS`]: the workers' housekeeping deletes older ones ([`prune_expired`]).

use serde_json::Value;

use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;

/// How long an answer is kept for repeats.
pub const RETENTION_HOURS: i32 = 24;
/// The longest key accepted.
pub const MAX_KEY_CHARS: usize = 255;

/// What to do with a request carrying a key.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// First time: do the work, then [`record`] the answer before committing.
    New,
    /// Seen before with the same body: answer this.
    Replay { status: u16, body: Value },
    /// Seen before with another body.
    Mismatch,
}

/// Whether `key` is an acceptable key: 1 to [`MAX_KEY_CHARS`] visible ASCII characters.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_CHARS && key.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn claim(
    tx: &mut Tx,
    merchant: MerchantId,
    route: &str,
    key: &str,
    request_hash: &[u8],
) -> Result<Claim, sqlx::Error> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND route = $2 AND key = $3
           AND created_at < now() - make_interval(hours => $4)",
    )
    .bind(merchant)
    .bind(route)
    .bind(key)
    .bind(RETENTION_HOURS)
    .execute(&mut **tx)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, route, key, request_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING",
    )
    .bind(merchant)
    .bind(route)
    .bind(key)
    .bind(request_hash)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let (stored_hash, status, body): (Vec<u8>, Option<i16>, Option<Value>) = sqlx::query_as(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys
         WHERE merchant_id = $1 AND route = $2 AND key = $3",
    )
    .bind(merchant)
    .bind(route)
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    if stored_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    match (status.and_then(|s| u16::try_from(s).ok()), body) {
        (Some(status), Some(body)) => Ok(Claim::Replay { status, body }),
        // The answer is written in the claiming transaction, so a committed row has one.
        _ => Ok(Claim::Mismatch),
    }
}

/// Records the answer to a claimed key; call in the transaction that did the work.
pub async fn record(
    tx: &mut Tx,
    merchant: MerchantId,
    route: &str,
    key: &str,
    status: u16,
    body: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $4, response_body = $5
         WHERE merchant_id = $1 AND route = $2 AND key = $3",
    )
    .bind(merchant)
    .bind(route)
    .bind(key)
    .bind(i16::try_from(status).unwrap_or(i16::MAX))
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes up to `batch` answers past [`RETENTION_HOURS`], across merchants; returns how many.
pub async fn prune_expired(pool: &sqlx::PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    let mut tx = recete_platform::db::system_tx(pool).await?;
    let deleted = sqlx::query(
        "DELETE FROM idempotency_keys WHERE (merchant_id, route, key) IN (
             SELECT merchant_id, route, key FROM idempotency_keys
             WHERE created_at < now() - make_interval(hours => $1)
             ORDER BY created_at LIMIT $2)",
    )
    .bind(RETENTION_HOURS)
    .bind(batch)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::is_valid_key;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(is_valid_key("3f9c1a52-7a1e-4c1e-9a57-0c7e4f0e2b11"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("has space"));
        assert!(!is_valid_key(&"k".repeat(256)));
        assert!(!is_valid_key("ключ"));
    }
}
