//! The people of a merchant who sign in to the console (`merchant_users`): their roles, and
//! adding, listing, re-roling and disabling them. What spans their sessions and sign-in links
//! too (an invitation with its link, disabling with every session ended) is [`crate::accounts`]'s.
//!
//! An email address is unique across all merchants, stored lowercased: signing in then needs only
//! the email and the password, and finds its merchant from the account (a person working for two
//! stores uses two addresses). Every change writes `audit_log`. Everything here runs in a tenant
//! transaction except [`credentials_by_email`] and [`find_by_email`], which look a user up before
//! any merchant is known (sign-in, the command line), in the system scope as API keys are.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use recete_platform::db::{self, Tx};
use recete_platform::ids::MerchantId;
use recete_shared::audit::{self, AuditEntry};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::text;

/// What a console user may do; each role may do everything the one before it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads every page, changes nothing.
    Viewer,
    /// Also answers customers in the inbox.
    Agent,
    /// Everything: users, settings.
    Owner,
}

impl Role {
    /// The role as people read it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Owner => text::ROLE_OWNER,
            Self::Agent => text::ROLE_AGENT,
            Self::Viewer => text::ROLE_VIEWER,
        }
    }

    /// What the role may do, in a line.
    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => text::ROLE_OWNER_DESCRIPTION,
            Self::Agent => text::ROLE_AGENT_DESCRIPTION,
            Self::Viewer => text::ROLE_VIEWER_DESCRIPTION,
        }
    }

    pub const ALL: [Role; 3] = [Role::Owner, Role::Agent, Role::Viewer];

    /// The name stored in `merchant_users.role` and typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Agent => "agent",
            Self::Owner => "owner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{}", text::bad_role(.0))]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|role| role.as_str() == name.trim()).ok_or_else(|| UnknownRole(name.to_owned()))
    }
}

/// One console user, as pages and the command line show them (never the password hash).
#[derive(Debug, Clone, Serialize)]
pub struct MerchantUser {
    pub id: Uuid,
    pub merchant_id: MerchantId,
    pub email: String,
    pub role: Role,
    /// False until the user has chosen a password through a sign-in link.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl MerchantUser {
    /// The `audit_log` actor for what this user does.
    pub fn actor(&self) -> String {
        actor(&self.email)
    }
}

/// `user:<email>`, the `audit_log` actor of a console user.
pub fn actor(email: &str) -> String {
    format!("user:{email}")
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    merchant_id: MerchantId,
    email: String,
    role: String,
    has_password: bool,
    created_at: DateTime<Utc>,
    disabled_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str =
    "id, merchant_id, email, role, password_hash IS NOT NULL AS has_password, created_at, disabled_at";

impl From<UserRow> for MerchantUser {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            merchant_id: row.merchant_id,
            email: row.email,
            // The column's check constraint admits only the three names; the least role otherwise.
            role: row.role.parse().unwrap_or(Role::Viewer),
            has_password: row.has_password,
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{}", text::bad_email(.0))]
    BadEmail(String),
    #[error("{}", text::email_taken(.0))]
    EmailTaken(String),
    #[error("{}", text::unknown_merchant(.0))]
    UnknownMerchant(String),
    #[error("{}", text::NO_SUCH_USER)]
    NotFound,
    #[error("{}", text::unknown_user_email(.0))]
    UnknownEmail(String),
    #[error("{}", text::last_owner(.0))]
    LastOwner(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// `email` trimmed and lowercased, or why it is not an email address.
pub fn normalize_email(email: &str) -> Result<String, UserError> {
    let normalized = email.trim().to_lowercase();
    let valid = (3..=254).contains(&normalized.len())
        && !normalized.chars().any(|c| c.is_whitespace() || c.is_control())
        && normalized.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !domain.starts_with('.')
        });
    if valid { Ok(normalized) } else { Err(UserError::BadEmail(email.trim().to_owned())) }
}

/// Adds a user to `merchant` (in the caller's tenant transaction); `actor` is who did it (`cli`
/// or `user:<email>`). Their first sign-in link is [`crate::accounts::invite`]'s.
pub async fn insert(
    tx: &mut Tx,
    merchant: MerchantId,
    email: &str,
    role: Role,
    actor: &str,
) -> Result<MerchantUser, UserError> {
    let email = normalize_email(email)?;
    let inserted = sqlx::query_as::<_, UserRow>(&format!(
        "INSERT INTO merchant_users (merchant_id, email, role) VALUES ($1, $2, $3) RETURNING {USER_COLUMNS}"
    ))
    .bind(merchant)
    .bind(&email)
    .bind(role.as_str())
    .fetch_one(&mut **tx)
    .await;
    let user: MerchantUser = match inserted {
        Ok(row) => row.into(),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => return Err(UserError::EmailTaken(email)),
        Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
            return Err(UserError::UnknownMerchant(merchant.to_string()));
        }
        Err(error) => return Err(error.into()),
    };
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant),
            actor,
            action: "user.invited",
            subject_type: "merchant_user",
            subject_id: user.id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "email": user.email, "role": role })),
        },
    )
    .await?;
    Ok(user)
}

pub async fn list(tx: &mut Tx, merchant: MerchantId) -> Result<Vec<MerchantUser>, sqlx::Error> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM merchant_users WHERE merchant_id = $1 ORDER BY disabled_at IS NOT NULL, email"
    ))
    .bind(merchant)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(MerchantUser::from).collect())
}

/// The user `id` of the transaction's merchant; another merchant's user is not found.
pub async fn find(tx: &mut Tx, id: Uuid) -> Result<Option<MerchantUser>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM merchant_users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(MerchantUser::from))
}

/// Locks the user `id` of the transaction's merchant for a change.
pub(crate) async fn lock(tx: &mut Tx, id: Uuid) -> Result<MerchantUser, UserError> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM merchant_users WHERE id = $1 FOR UPDATE"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(MerchantUser::from).ok_or(UserError::NotFound)
}

/// Refuses to take away the last active owner of `user`'s merchant. Every active owner row is
/// locked first, so two owners demoting each other at once cannot both succeed.
async fn keep_an_owner(tx: &mut Tx, user: &MerchantUser) -> Result<(), UserError> {
    if user.role != Role::Owner || user.disabled_at.is_some() {
        return Ok(());
    }
    let owners: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM merchant_users WHERE merchant_id = $1 AND role = 'owner' AND disabled_at IS NULL FOR UPDATE",
    )
    .bind(user.merchant_id)
    .fetch_all(&mut **tx)
    .await?;
    if owners.iter().all(|owner| *owner == user.id) {
        return Err(UserError::LastOwner(user.email.clone()));
    }
    Ok(())
}

/// Gives user `id` the role `role`; the last active owner keeps theirs.
pub async fn change_role(tx: &mut Tx, id: Uuid, role: Role, actor: &str) -> Result<MerchantUser, UserError> {
    let user = lock(tx, id).await?;
    if user.role == role {
        return Ok(user);
    }
    if role != Role::Owner {
        keep_an_owner(tx, &user).await?;
    }
    sqlx::query("UPDATE merchant_users SET role = $2 WHERE id = $1")
        .bind(id)
        .bind(role.as_str())
        .execute(&mut **tx)
        .await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor,
            action: "user.role_changed",
            subject_type: "merchant_user",
            subject_id: id.to_string(),
            event_id: None,
            before: Some(serde_json::json!({ "role": user.role })),
            after: Some(serde_json::json!({ "role": role })),
        },
    )
    .await?;
    Ok(MerchantUser { role, ..user })
}

/// Marks user `id` disabled; `false` when they were disabled already. The last active owner
/// stays unless `allow_last_owner` (the command line, whose holder can add another owner).
/// Ending their sessions and links with it is [`crate::accounts::disable`]'s.
pub async fn mark_disabled(tx: &mut Tx, id: Uuid, actor: &str, allow_last_owner: bool) -> Result<bool, UserError> {
    let user = lock(tx, id).await?;
    if user.disabled_at.is_some() {
        return Ok(false);
    }
    if !allow_last_owner {
        keep_an_owner(tx, &user).await?;
    }
    sqlx::query("UPDATE merchant_users SET disabled_at = now() WHERE id = $1").bind(id).execute(&mut **tx).await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor,
            action: "user.disabled",
            subject_type: "merchant_user",
            subject_id: id.to_string(),
            event_id: None,
            before: Some(serde_json::json!({ "email": user.email, "role": user.role })),
            after: Some(serde_json::json!({ "disabled": true })),
        },
    )
    .await?;
    Ok(true)
}

/// An enabled user found by email for signing in, with their stored password hash.
pub struct Credentials {
    pub user: MerchantUser,
    pub password_hash: Option<String>,
}

/// The enabled user with `email`, in any merchant (sign-in knows no merchant yet).
pub async fn credentials_by_email(pool: &PgPool, email: &str) -> Result<Option<Credentials>, sqlx::Error> {
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    let mut tx = db::system_tx(pool).await?;
    let row: Option<CredentialRow> = sqlx::query_as(&format!(
        "SELECT password_hash, {USER_COLUMNS} FROM merchant_users WHERE email = $1 AND disabled_at IS NULL"
    ))
    .bind(&email)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|row| Credentials { password_hash: row.password_hash, user: row.user.into() }))
}

#[derive(sqlx::FromRow)]
struct CredentialRow {
    password_hash: Option<String>,
    #[sqlx(flatten)]
    user: UserRow,
}

/// The user with `email` in any merchant, enabled or not (the command line's `users disable`).
pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<MerchantUser, UserError> {
    let normalized = normalize_email(email)?;
    let mut tx = db::system_tx(pool).await?;
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM merchant_users WHERE email = $1"))
        .bind(&normalized)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    row.map(MerchantUser::from).ok_or(UserError::UnknownEmail(normalized))
}

/// The stored password hash of user `id` (in the caller's tenant transaction).
pub async fn password_hash(tx: &mut Tx, id: Uuid) -> Result<Option<String>, sqlx::Error> {
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM merchant_users WHERE id = $1 AND disabled_at IS NULL FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(hash.flatten())
}

/// Stores a new password hash for user `user_id` of `merchant` and records it for `actor`
/// (`user.password_set` from a sign-in link, `user.password_changed` from the account page).
pub async fn set_password(
    tx: &mut Tx,
    merchant: MerchantId,
    user_id: Uuid,
    hash: &str,
    actor: &str,
    action: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE merchant_users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(merchant),
            actor,
            action,
            subject_type: "merchant_user",
            subject_id: user_id.to_string(),
            event_id: None,
            before: None,
            after: None,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        assert!(Role::Viewer < Role::Agent && Role::Agent < Role::Owner);
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        let error = "admin".parse::<Role>().err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("No role is named `admin` (roles: owner, agent, viewer)."));
    }

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(normalize_email("  Ada@Example.COM ").ok().as_deref(), Some("ada@example.com"));
        for bad in
            ["", "ada", "@example.com", "ada@", "a da@example.com", "a@b@c", &format!("{}@x.io", "a".repeat(250))]
        {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
