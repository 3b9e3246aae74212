//! Operators of the board, their sign-in tokens and their sessions.
//!
//! A token is shown once when the operator is added; only its SHA-256 is kept. Signing in with
//! it opens a session whose id (the cookie) is also kept only as a hash, together with the
//! session's CSRF token. A session idle longer than `ops.session_ttl_secs` is gone.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use recete_platform::crypto::{random_token, sha256};
use recete_platform::db;
use recete_shared::audit::{self, AuditEntry};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

const TOKEN_PREFIX: &str = "rop_";
const TOKEN_RANDOM_LEN: usize = 40;
const SESSION_ID_LEN: usize = 43;
const CSRF_TOKEN_LEN: usize = 32;
/// A session's expiry is pushed forward at most this often, so reading pages is not a write each.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// What an operator may do; each role may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees queues, jobs (payloads redacted), schedules and bulk actions.
    ReadOnly,
    /// Also retries, cancels and requeues jobs, acts in bulk, pauses and resumes queues.
    Operator,
    /// Also reveals payloads unredacted and adds or disables operators.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::ReadOnly, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read_only",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no role is named `{0}` (roles: admin, operator, read_only)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == name).ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// A signed-in operator, as every request handler sees them.
#[derive(Debug, Clone)]
pub struct Operator {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
}

impl Operator {
    /// The `audit_log` actor for what this operator does.
    pub fn actor(&self) -> String {
        format!("operator:{}", self.name)
    }
}

/// One operator as the list shows them.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorRecord {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("an operator name is 1 to 64 letters, digits, dots, dashes or underscores; `{0}` is not")]
    BadName(String),
    #[error("an operator named `{0}` exists already")]
    NameTaken(String),
    #[error("no operator is named `{0}`")]
    NotFound(String),
    #[error("`{0}` is the last admin still enabled; add another admin first")]
    LastAdmin(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// An operator just added: the token exists only in this value.
#[derive(Debug, Serialize)]
pub struct AddedOperator {
    pub name: String,
    pub role: Role,
    pub token: String,
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_token(TOKEN_RANDOM_LEN))
}

/// Adds an operator; `actor` is who did it (`cli` or `operator:<name>`), recorded in the audit log.
pub async fn add(pool: &PgPool, name: &str, role: Role, actor: &str) -> Result<AddedOperator, OperatorError> {
    if !valid_name(name) {
        return Err(OperatorError::BadName(name.to_owned()));
    }
    let token = new_token();
    let mut tx = db::system_tx(pool).await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO operators (name, role, token_hash) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING RETURNING id",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(sha256(token.as_bytes()).as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Err(OperatorError::NameTaken(name.to_owned()));
    };
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: None,
            actor,
            action: "operator.added",
            subject_type: "operator",
            subject_id: id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "name": name, "role": role })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(AddedOperator { name: name.to_owned(), role, token })
}

/// Every operator, enabled ones first, by name.
pub async fn list(pool: &PgPool) -> Result<Vec<OperatorRecord>, sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    let rows: Vec<OperatorRow> = sqlx::query_as(
        "SELECT name, role, created_at, disabled_at FROM operators ORDER BY disabled_at IS NOT NULL, name",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|row| OperatorRecord {
            name: row.name,
            // The column's check constraint admits only the three names.
            role: row.role.parse().unwrap_or(Role::ReadOnly),
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct OperatorRow {
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

/// Disables an operator and ends their sessions; `false` when they were disabled already. The
/// last enabled admin cannot be disabled from the board (`allow_last_admin` is the command
/// line's way out).
pub async fn disable(pool: &PgPool, name: &str, actor: &str, allow_last_admin: bool) -> Result<bool, OperatorError> {
    let mut tx = db::system_tx(pool).await?;
    let found: Option<(Uuid, String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT id, role, disabled_at FROM operators WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((id, role, disabled_at)) = found else {
        return Err(OperatorError::NotFound(name.to_owned()));
    };
    if disabled_at.is_some() {
        return Ok(false);
    }
    if role == Role::Admin.as_str() && !allow_last_admin {
        let other_admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM operators WHERE role = 'admin' AND disabled_at IS NULL AND id <> $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if other_admins == 0 {
            return Err(OperatorError::LastAdmin(name.to_owned()));
        }
    }
    sqlx::query("UPDATE operators SET disabled_at = now() WHERE id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM operator_sessions WHERE operator_id = $1").bind(id).execute(&mut *tx).await?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: None,
            actor,
            action: "operator.disabled",
            subject_type: "operator",
            subject_id: id.to_string(),
            event_id: None,
            before: Some(serde_json::json!({ "name": name, "role": role })),
            after: Some(serde_json::json!({ "disabled": true })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The enabled operator holding `token`, if any.
pub async fn by_token(pool: &PgPool, token: &str) -> Result<Option<Operator>, sqlx::Error> {
    // A value that cannot be one of our tokens is refused without asking the database.
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + TOKEN_RANDOM_LEN {
        return Ok(None);
    }
    let mut tx = db::system_tx(pool).await?;
    let row: Option<(Uuid, String, String)> =
        sqlx::query_as("SELECT id, name, role FROM operators WHERE token_hash = $1 AND disabled_at IS NULL")
            .bind(sha256(token.as_bytes()).as_slice())
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(row.and_then(operator_from_row))
}

fn operator_from_row((id, name, role): (Uuid, String, String)) -> Option<Operator> {
    Some(Operator { id, name, role: role.parse().ok()? })
}

/// A session just opened: the cookie value exists only here.
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
}

/// A session found by its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub operator: Operator,
    pub csrf_token: String,
}

/// Opens a session for `operator`, recorded in the audit log.
pub async fn open_session(pool: &PgPool, operator: &Operator, ttl: Duration) -> Result<NewSession, sqlx::Error> {
    let cookie_value = random_token(SESSION_ID_LEN);
    let csrf_token = random_token(CSRF_TOKEN_LEN);
    let mut tx = db::system_tx(pool).await?;
    // Expired sessions of anyone are swept here, where sessions are made, rather than by a loop.
    sqlx::query("DELETE FROM operator_sessions WHERE expires_at < now()").execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO operator_sessions (id_hash, operator_id, csrf_token, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(sha256(cookie_value.as_bytes()).as_slice())
    .bind(operator.id)
    .bind(&csrf_token)
    .bind(ttl.as_secs_f64())
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        AuditEntry {
            merchant_id: None,
            actor: &operator.actor(),
            action: "operator.signed_in",
            subject_type: "operator",
            subject_id: operator.id.to_string(),
            event_id: None,
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewSession { cookie_value, csrf_token })
}

/// The live session behind `cookie_value`, its idle expiry moved forward; `None` when unknown,
/// expired or its operator is disabled.
pub async fn session(pool: &PgPool, cookie_value: &str, ttl: Duration) -> Result<Option<Session>, sqlx::Error> {
    if cookie_value.len() != SESSION_ID_LEN || !cookie_value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let id_hash = sha256(cookie_value.as_bytes());
    let mut tx = db::system_tx(pool).await?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT o.id, o.name, o.role, s.csrf_token, s.last_seen_at
         FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
         WHERE s.id_hash = $1 AND s.expires_at > now() AND o.disabled_at IS NULL",
    )
    .bind(id_hash.as_slice())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    if Utc::now() - row.last_seen_at > TOUCH_EVERY {
        sqlx::query(
            "UPDATE operator_sessions SET last_seen_at = now(), expires_at = now() + make_interval(secs => $2)
             WHERE id_hash = $1",
        )
        .bind(id_hash.as_slice())
        .bind(ttl.as_secs_f64())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let csrf_token = row.csrf_token;
    Ok(operator_from_row((row.id, row.name, row.role)).map(|operator| Session { operator, csrf_token }))
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    name: String,
    role: String,
    csrf_token: String,
    last_seen_at: DateTime<Utc>,
}

/// Ends the session behind `cookie_value` (signing out); unknown values are ignored.
pub async fn close_session(pool: &PgPool, cookie_value: &str) -> Result<(), sqlx::Error> {
    let mut tx = db::system_tx(pool).await?;
    sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1")
        .bind(sha256(cookie_value.as_bytes()).as_slice())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_what_they_may_do_and_named_in_errors() {
        assert!(Role::ReadOnly < Role::Operator && Role::Operator < Role::Admin);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        let error = "root".parse::<Role>().err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("no role is named `root` (roles: admin, operator, read_only)"));
    }

    #[test]
    fn names_are_short_and_plain() {
        assert!(valid_name("ada.lovelace-2_ops"));
        for bad in ["", "has space", "semi;colon", "ü", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn tokens_have_the_shape_that_lookups_accept() {
        let token = new_token();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + TOKEN_RANDOM_LEN);
        assert_ne!(token, new_token());
    }
}
