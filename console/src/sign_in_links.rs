//! One-time sign-in links (`merchant_user_sign_in_links`): made when a user is invited, opened
//! to choose a password and sign in, once, before they expire. Only the token's SHA-256 is kept.
//! Opening a link comes before any merchant is known, so links are found in the system scope.

use std::time::Duration;

use recete_platform::crypto::{random_token, sha256};
use recete_platform::db::{self, Tx};
use sqlx::PgPool;

use crate::users::{self, MerchantUser};

const TOKEN_LEN: usize = 43;

/// The path of the page a link token opens.
pub fn path(token: &str) -> String {
    format!("/console/sign-in/link/{token}")
}

/// The full link to hand to the user: `<app.public_url>/console/sign-in/link/<token>`.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{}{}", public_url.trim_end_matches('/'), path(token))
}

fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Makes a link for `user` valid for `ttl` (in the caller's tenant transaction); the token.
pub async fn create(tx: &mut Tx, user: &MerchantUser, ttl: Duration) -> Result<String, sqlx::Error> {
    let token = random_token(TOKEN_LEN);
    let token_hash = sha256(token.as_bytes());
    sqlx::query!(
        "INSERT INTO merchant_user_sign_in_links (token_hash, merchant_id, user_id, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        token_hash.as_slice(),
        user.merchant_id.as_uuid(),
        user.id,
        ttl.as_secs_f64()
    )
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// Voids the unused links of user `user_id` (they were disabled).
pub async fn void_unused(tx: &mut Tx, user_id: uuid::Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE merchant_user_sign_in_links SET expires_at = now() WHERE user_id = $1 AND used_at IS NULL",
        user_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The enabled user a still usable link (unused, unexpired) belongs to.
pub async fn usable(pool: &PgPool, token: &str) -> Result<Option<MerchantUser>, sqlx::Error> {
    if !well_formed(token) {
        return Ok(None);
    }
    let mut tx = db::system_tx(pool).await?;
    // A usable link: unused, unexpired, its user enabled (the same condition as in `redeem`).
    let token_hash = sha256(token.as_bytes());
    let email: Option<String> = sqlx::query_scalar!(
        "SELECT u.email FROM merchant_user_sign_in_links l JOIN merchant_users u ON u.id = l.user_id
         WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now() AND u.disabled_at IS NULL",
        token_hash.as_slice()
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    match email {
        Some(email) => users::find_by_email(pool, &email).await.map(Some).or_else(|error| match error {
            users::UserError::Database(error) => Err(error),
            _ => Ok(None),
        }),
        None => Ok(None),
    }
}

/// Uses the link: marks it used and stores `password_hash` as the user's password, in one
/// transaction (`user.password_set` in the audit log). `None` when the link is not usable (a
/// second use, even a concurrent one, finds it used).
pub async fn redeem(pool: &PgPool, token: &str, password_hash: &str) -> Result<Option<MerchantUser>, sqlx::Error> {
    let Some(user) = usable(pool, token).await? else {
        return Ok(None);
    };
    let mut tx = db::tenant_tx(pool, user.merchant_id).await?;
    // Usable as in `usable`, checked again under the row's lock.
    let token_hash = sha256(token.as_bytes());
    let used = sqlx::query!(
        "UPDATE merchant_user_sign_in_links l SET used_at = now() FROM merchant_users u
         WHERE u.id = l.user_id
           AND l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now() AND u.disabled_at IS NULL",
        token_hash.as_slice()
    )
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Ok(None);
    }
    users::set_password(&mut tx, user.merchant_id, user.id, password_hash, &user.actor(), "user.password_set").await?;
    tx.commit().await?;
    Ok(Some(MerchantUser { has_password: true, ..user }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_under_the_public_url() {
        assert_eq!(url("https://shop.example/", "abc"), "https://shop.example/console/sign-in/link/abc");
        assert!(well_formed(&random_token(TOKEN_LEN)));
        assert!(!well_formed("../../etc"));
    }
}
