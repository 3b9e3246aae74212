//! `recete users`: the people of a merchant who may sign in to the web console.

use std::time::Duration;

use recete_config::Settings;
use recete_console::users::{self, Role};
use recete_console::{accounts, sign_in_links};
use recete_platform::db;
use recete_platform::ids::MerchantId;

use super::admin::connect;

/// Adds a user and prints `{"user_id", "merchant_id", "email", "role", "sign_in_link",
/// "link_expires_in_secs"}`; the link is shown only here and works once.
pub async fn add(settings: &Settings, merchant: MerchantId, email: &str, role: Role) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let ttl = Duration::from_secs(settings.console.sign_in_link_ttl_secs);
    let mut tx = db::tenant_tx(&pool, merchant).await?;
    let invited = accounts::invite(&mut tx, merchant, email, role, "cli", ttl).await?;
    tx.commit().await?;
    println!(
        "{}",
        serde_json::json!({
            "user_id": invited.user.id,
            "merchant_id": invited.user.merchant_id,
            "email": invited.user.email,
            "role": invited.user.role,
            "sign_in_link": sign_in_links::url(&settings.app.public_url, &invited.link_token),
            "link_expires_in_secs": ttl.as_secs(),
        })
    );
    Ok(())
}

/// Prints `{"user_id", "email", "sign_in_link", "link_expires_in_secs"}` for an existing user.
pub async fn link(settings: &Settings, email: &str) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let user = users::find_by_email(&pool, email).await?;
    let ttl = Duration::from_secs(settings.console.sign_in_link_ttl_secs);
    let mut tx = db::tenant_tx(&pool, user.merchant_id).await?;
    let issued = accounts::fresh_link(&mut tx, user.id, "cli", ttl).await?;
    tx.commit().await?;
    println!(
        "{}",
        serde_json::json!({
            "user_id": issued.user.id,
            "email": issued.user.email,
            "sign_in_link": sign_in_links::url(&settings.app.public_url, &issued.link_token),
            "link_expires_in_secs": ttl.as_secs(),
        })
    );
    Ok(())
}

/// One JSON object per user: id, merchant_id, email, role, has_password, created_at, disabled_at.
pub async fn list(settings: &Settings, merchant: MerchantId) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let mut tx = db::tenant_tx(&pool, merchant).await?;
    let people = users::list(&mut tx, merchant).await?;
    tx.commit().await?;
    for person in people {
        println!("{}", serde_json::to_string(&person)?);
    }
    Ok(())
}

/// Disables a user and ends their sessions. From the command line the last owner may be
/// disabled too: whoever holds the database can add another.
pub async fn disable(settings: &Settings, email: &str) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let user = users::find_by_email(&pool, email).await?;
    let mut tx = db::tenant_tx(&pool, user.merchant_id).await?;
    let changed = accounts::disable(&mut tx, user.id, "cli", true).await?;
    tx.commit().await?;
    println!("{}", serde_json::json!({ "email": user.email, "disabled": true, "changed": changed }));
    Ok(())
}
