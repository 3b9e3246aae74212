//! Console sessions (`merchant_user_sessions`). The cookie's value is shown to the browser only;
//! the table keeps its SHA-256, with the session's CSRF token and its idle expiry, which moves
//! forward as the user works. Looking a session up by cookie happens before any merchant is
//! known, in the system scope (as API keys are found); everything else runs in the tenant scope.

use std::time::Duration;

use chrono::{DateTime, Utc};
use recete_platform::crypto::{random_token, sha256};
use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;
use recete_shared::audit::{self, AuditEntry};
use sqlx::PgPool;
use uuid::Uuid;

use crate::users::MerchantUser;

const SESSION_ID_LEN: usize = 43;
const CSRF_TOKEN_LEN: usize = 32;
/// A session's expiry is pushed forward at most this often (or every quarter of the idle limit,
/// when that is shorter), so reading pages is not a write each.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A session just opened: the cookie value exists only here.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

/// A live session found by its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: MerchantUser,
    pub csrf_token: String,
}

/// Opens a session for `user` (enabled, password checked by the caller), recorded in the audit
/// log as `user.signed_in`.
pub async fn open(pool: &PgPool, user: &MerchantUser, idle: Duration) -> Result<NewSession, sqlx::Error> {
    let cookie_value = random_token(SESSION_ID_LEN);
    let csrf_token = random_token(CSRF_TOKEN_LEN);
    let mut tx = db::tenant_tx(pool, user.merchant_id).await?;
    // The merchant's expired sessions are swept here, where sessions are made, rather than by a loop.
    sqlx::query!(
        "DELETE FROM merchant_user_sessions WHERE merchant_id = $1 AND expires_at < now()",
        user.merchant_id.as_uuid()
    )
    .execute(&mut *tx)
    .await?;
    let id_hash = sha256(cookie_value.as_bytes());
    sqlx::query!(
        "INSERT INTO merchant_user_sessions (id_hash, merchant_id, user_id, csrf_token, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        id_hash.as_slice(),
        user.merchant_id.as_uuid(),
        user.id,
        &csrf_token,
        idle.as_secs_f64()
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor: &user.actor(),
            action: "user.signed_in",
            subject_type: "merchant_user",
            subject_id: user.id.to_string(),
            event_id: None,
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewSession { cookie_value, csrf_token })
}

fn well_formed(cookie_value: &str) -> bool {
    cookie_value.len() == SESSION_ID_LEN && cookie_value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The live session behind `cookie_value`, its idle expiry moved forward; `None` when unknown,
/// idle too long, or its user is disabled.
pub async fn find(pool: &PgPool, cookie_value: &str, idle: Duration) -> Result<Option<Session>, sqlx::Error> {
    if !well_formed(cookie_value) {
        return Ok(None);
    }
    let id_hash = sha256(cookie_value.as_bytes());
    let mut tx = db::system_tx(pool).await?;
    let row = sqlx::query_as!(
        SessionRow,
        r#"SELECT u.id, u.merchant_id AS "merchant_id: MerchantId", u.email, u.role,
                  u.password_hash IS NOT NULL AS "has_password!", u.created_at, u.disabled_at, s.csrf_token,
                  s.last_seen_at
           FROM merchant_user_sessions s JOIN merchant_users u ON u.id = s.user_id
           WHERE s.id_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL"#,
        id_hash.as_slice()
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let touch_every = TOUCH_EVERY.min(idle / 4);
    if (Utc::now() - row.last_seen_at).to_std().unwrap_or_default() >= touch_every {
        sqlx::query!(
            "UPDATE merchant_user_sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2)
             WHERE id_hash = $1",
            id_hash.as_slice(),
            idle.as_secs_f64()
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let user = MerchantUser {
        id: row.id,
        merchant_id: row.merchant_id,
        email: row.email,
        role: row.role.parse().unwrap_or(crate::users::Role::Viewer),
        has_password: row.has_password,
        created_at: row.created_at,
        disabled_at: row.disabled_at,
    };
    Ok(Some(Session { user, csrf_token: row.csrf_token }))
}

struct SessionRow {
    id: Uuid,
    merchant_id: MerchantId,
    email: String,
    role: String,
    has_password: bool,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
    csrf_token: String,
    last_seen_at: DateTime<Utc>,
}

/// Ends the session behind `cookie_value` (signing out); unknown values are ignored.
pub async fn close(pool: &PgPool, cookie_value: &str) -> Result<(), sqlx::Error> {
    if !well_formed(cookie_value) {
        return Ok(());
    }
    let mut tx = db::system_tx(pool).await?;
    let id_hash = sha256(cookie_value.as_bytes());
    sqlx::query!("DELETE FROM merchant_user_sessions WHERE id_hash = $1", id_hash.as_slice()).execute(&mut *tx).await?;
    tx.commit().await
}

/// Ends every session of user `user_id`; how many there were.
pub async fn close_all(tx: &mut Tx, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let done =
        sqlx::query!("DELETE FROM merchant_user_sessions WHERE user_id = $1", user_id).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// Ends every session of user `user_id` of `merchant` at their own request (sign out
/// everywhere), recorded as `user.signed_out_everywhere`; how many ended.
pub async fn end_everywhere(tx: &mut Tx, merchant: MerchantId, user_id: Uuid, actor: &str) -> Result<u64, sqlx::Error> {
    let ended = close_all(tx, user_id).await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant),
            actor,
            action: "user.signed_out_everywhere",
            subject_type: "merchant_user",
            subject_id: user_id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "sessions_ended": ended })),
        },
    )
    .await?;
    Ok(ended)
}

/// Ends every session of user `user_id` but the one behind `keep_cookie_value`.
pub async fn close_others(tx: &mut Tx, user_id: Uuid, keep_cookie_value: &str) -> Result<u64, sqlx::Error> {
    let keep = sha256(keep_cookie_value.as_bytes());
    let done = sqlx::query!(
        "DELETE FROM merchant_user_sessions WHERE user_id = $1 AND id_hash <> $2",
        user_id,
        keep.as_slice()
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_values_of_our_shape_are_looked_up() {
        assert!(well_formed(&random_token(SESSION_ID_LEN)));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}'", random_token(SESSION_ID_LEN - 1))));
    }
}
