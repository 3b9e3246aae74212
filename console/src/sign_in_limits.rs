//! Failed sign-ins, counted per account (the email typed) and per client address within a
//! window (`console_sign_in_failures`). Past either limit, sign-in is refused before any password
//! is checked, with the time until the oldest counted failure leaves the window. Subjects are
//! stored as SHA-256 hashes only. The rows belong to no merchant (none is known yet).

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use recete_platform::crypto::sha256;
use recete_platform::db;
use sqlx::PgPool;

/// The limits, from `[console]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_account: u32,
    pub per_address: u32,
    pub window: Duration,
}

/// Which limit refused a sign-in, and how long until one more attempt is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Account { wait_secs: u64 },
    Address { wait_secs: u64 },
}

impl Refusal {
    pub fn wait_secs(self) -> u64 {
        match self {
            Self::Account { wait_secs } | Self::Address { wait_secs } => wait_secs,
        }
    }
}

fn account_subject(email: &str) -> [u8; 32] {
    sha256(format!("account:{}", email.trim().to_lowercase()).as_bytes())
}

fn address_subject(address: Option<IpAddr>) -> [u8; 32] {
    let address = address.map(|ip| ip.to_string()).unwrap_or_default();
    sha256(format!("address:{address}").as_bytes())
}

/// Seconds until a subject with these failures (newest first) may try again, if it is at its limit.
async fn wait_for(
    tx: &mut db::Tx,
    subject: &[u8; 32],
    limit: u32,
    window: Duration,
) -> Result<Option<u64>, sqlx::Error> {
    let failures: Vec<DateTime<Utc>> = sqlx::query_scalar!(
        "SELECT failed_at FROM console_sign_in_failures
         WHERE subject_hash = $1 AND failed_at > now() - make_interval(secs => $2)
         ORDER BY failed_at DESC LIMIT $3",
        subject.as_slice(),
        window.as_secs_f64(),
        i64::from(limit)
    )
    .fetch_all(&mut **tx)
    .await?;
    if failures.len() < limit as usize {
        return Ok(None);
    }
    // When the oldest of the last `limit` failures leaves the window, one more attempt is allowed.
    let Some(oldest) = failures.last() else {
        return Ok(None);
    };
    let free_at = *oldest + chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let wait = (free_at - Utc::now()).num_milliseconds().max(0) as u64;
    Ok(Some(wait.div_ceil(1000).max(1)))
}

/// `Some` when `email` or `address` has used up its failed sign-ins for now.
pub async fn check(
    pool: &PgPool,
    limits: Limits,
    email: &str,
    address: Option<IpAddr>,
) -> Result<Option<Refusal>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let refusal = if let Some(wait_secs) =
        wait_for(&mut tx, &address_subject(address), limits.per_address, limits.window).await?
    {
        Some(Refusal::Address { wait_secs })
    } else {
        wait_for(&mut tx, &account_subject(email), limits.per_account, limits.window)
            .await?
            .map(|wait_secs| Refusal::Account { wait_secs })
    };
    tx.commit().await?;
    Ok(refusal)
}

/// Counts one failed sign-in against `email` and `address`; failures older than the window are
/// swept here.
pub async fn record_failure(
    pool: &PgPool,
    limits: Limits,
    email: &str,
    address: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    sqlx::query!(
        "DELETE FROM console_sign_in_failures WHERE failed_at < now() - make_interval(secs => $1)",
        limits.window.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    let (account, address) = (account_subject(email), address_subject(address));
    sqlx::query!(
        "INSERT INTO console_sign_in_failures (subject_hash) VALUES ($1), ($2)",
        account.as_slice(),
        address.as_slice()
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Forgets the account's failures after a successful sign-in (the address's stay counted).
pub async fn clear_account(pool: &PgPool, email: &str) -> Result<(), sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let account = account_subject(email);
    sqlx::query!("DELETE FROM console_sign_in_failures WHERE subject_hash = $1", account.as_slice())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_ignore_case_and_keep_accounts_and_addresses_apart() {
        assert_eq!(account_subject(" Ada@Example.com"), account_subject("ada@example.com"));
        assert_ne!(account_subject("1.2.3.4"), address_subject("1.2.3.4".parse().ok()));
    }
}
