//! The demo merchant's console owner: made on the first run, given a fresh one-time sign-in
//! link on every run (signing in with it sets their password).

use std::time::Duration;

use anyhow::Context;
use recete_config::Settings;
use recete_console::users::{self, Role, UserError};
use recete_console::{accounts, sign_in_links};
use recete_platform::db;
use recete_platform::ids::MerchantId;
use uuid::Uuid;

use crate::commands::admin;

/// Who signs in to the demo merchant's console.
pub const OWNER_EMAIL: &str = "owner@demo-store.example";

/// The link that signs the demo owner in, valid for `console.sign_in_link_ttl_secs`.
pub async fn sign_in_link(settings: &Settings, merchant: Uuid) -> anyhow::Result<String> {
    let merchant = MerchantId::from_uuid(merchant);
    let ttl = Duration::from_secs(settings.console.sign_in_link_ttl_secs);
    let pool = admin::connect(settings).await?;
    let existing = match users::find_by_email(&pool, OWNER_EMAIL).await {
        Ok(user) => Some(user),
        Err(UserError::UnknownEmail(_)) => None,
        Err(error) => return Err(error).context("cannot look up the demo owner"),
    };
    let mut tx = db::tenant_tx(&pool, merchant).await?;
    let issued = match existing {
        // Another demo merchant (an earlier demo file was deleted) had this owner: their user
        // is not this merchant's, so the demo cannot use the address.
        Some(user) if user.merchant_id != merchant => anyhow::bail!(
            "{OWNER_EMAIL} belongs to merchant {} (an earlier demo): disable it with \
             `recete users disable --email {OWNER_EMAIL}`, or delete the demo file to use that merchant",
            user.merchant_id
        ),
        Some(user) => accounts::fresh_link(&mut tx, user.id, "demo", ttl).await?,
        None => accounts::invite(&mut tx, merchant, OWNER_EMAIL, Role::Owner, "demo", ttl).await?,
    };
    tx.commit().await?;
    pool.close().await;
    Ok(sign_in_links::url(&settings.app.public_url, &issued.link_token))
}
