//! What happens to a person's access as a whole, in the caller's tenant transaction: invited
//! with a one-time sign-in link, given a fresh link, disabled with every session ended and every
//! unused link voided, a password changed with their other sessions ended. Each spans the users,
//! their sessions and their sign-in links, whose rows and SQL stay in [`crate::users`],
//! [`crate::sessions`] and [`crate::sign_in_links`].

use recete_platform::db::Tx;
use recete_platform::ids::MerchantId;
use recete_shared::audit::{self, AuditEntry};
use uuid::Uuid;

use crate::users::{self, MerchantUser, Role, UserError};
use crate::{sessions, sign_in_links};

/// A user just added, with the token of their one-time sign-in link (shown once).
#[derive(Debug)]
pub struct Invited {
    pub user: MerchantUser,
    pub link_token: String,
}

/// Adds a user to `merchant` with a one-time sign-in link valid for `link_ttl`; `actor` is who
/// did it (`cli` or `user:<email>`).
pub async fn invite(
    tx: &mut Tx,
    merchant: MerchantId,
    email: &str,
    role: Role,
    actor: &str,
    link_ttl: std::time::Duration,
) -> Result<Invited, UserError> {
    let user = users::insert(tx, merchant, email, role, actor).await?;
    let link_token = sign_in_links::create(tx, &user, link_ttl).await?;
    Ok(Invited { user, link_token })
}

/// A new one-time sign-in link for the existing user `id` (in the caller's tenant transaction),
/// valid for `link_ttl`; their unused links stop working. Signing in with it sets a new password,
/// so it is also how a forgotten password is replaced.
pub async fn fresh_link(
    tx: &mut Tx,
    id: Uuid,
    actor: &str,
    link_ttl: std::time::Duration,
) -> Result<Invited, UserError> {
    let user = users::lock(tx, id).await?;
    if user.disabled_at.is_some() {
        return Err(UserError::NotFound);
    }
    sign_in_links::void_unused(tx, user.id).await?;
    let link_token = sign_in_links::create(tx, &user, link_ttl).await?;
    audit::record(
        tx,
        AuditEntry {
            merchant_id: Some(user.merchant_id),
            actor,
            action: "user.sign_in_link_issued",
            subject_type: "merchant_user",
            subject_id: user.id.to_string(),
            event_id: None,
            before: None,
            after: Some(serde_json::json!({ "email": user.email })),
        },
    )
    .await?;
    Ok(Invited { user, link_token })
}

/// Every user of `merchant`: active ones first, then by email.
/// Disables user `id`, ends their sessions and voids their unused links; `false` when they were
/// disabled already. The last active owner stays unless `allow_last_owner` (the command line,
/// whose holder can add another owner).
pub async fn disable(tx: &mut Tx, id: Uuid, actor: &str, allow_last_owner: bool) -> Result<bool, UserError> {
    if !users::mark_disabled(tx, id, actor, allow_last_owner).await? {
        return Ok(false);
    }
    sessions::close_all(tx, id).await?;
    sign_in_links::void_unused(tx, id).await?;
    Ok(true)
}

/// Changes the password of user `user_id` (its current one already checked) and ends their
/// other sessions, all but `keep_cookie_value`; how many ended.
pub async fn change_password(
    tx: &mut Tx,
    merchant: MerchantId,
    user_id: Uuid,
    hash: &str,
    actor: &str,
    keep_cookie_value: &str,
) -> Result<u64, sqlx::Error> {
    users::set_password(tx, merchant, user_id, hash, actor, "user.password_changed").await?;
    sessions::close_others(tx, user_id, keep_cookie_value).await
}
