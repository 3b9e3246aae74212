//! One-shot administration commands. Each prints one JSON object on success.

use anyhow::Context;
use recete_shared::config::Settings;
use recete_shared::crypto::Keyring;
use recete_shared::ids::{EventId, MerchantId};
use recete_shared::integrations::{self, IntegrationKind, NewIntegration};
use recete_shared::queue::attempts;
use recete_shared::{db, merchants};
use sqlx::PgPool;

pub(crate) async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    let pool = db::connect_lazy(&settings.database).context("invalid database.url")?;
    sqlx::query("SELECT 1").execute(&pool).await.context("cannot reach PostgreSQL at database.url")?;
    Ok(pool)
}

pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    db::migrate(&pool).await.context("migrations failed")?;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&pool).await?;
    println!("{}", serde_json::json!({ "migrations_applied": applied }));
    Ok(())
}

pub async fn create_merchant(settings: &Settings, name: &str, timezone: &str) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let created = merchants::create(&pool, name, timezone).await?;
    println!("{}", serde_json::to_string(&created)?);
    Ok(())
}

pub async fn create_integration(
    settings: &Settings,
    merchant: MerchantId,
    kind: IntegrationKind,
    secret: Option<&str>,
    phone_number_id: Option<&str>,
) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let keyring = Keyring::from_settings(&settings.crypto)?;
    let created =
        integrations::create(&pool, &keyring, NewIntegration { merchant_id: merchant, kind, secret, phone_number_id })
            .await?;
    let mut output = serde_json::to_value(&created)?;
    output["webhook_url"] = format!("{}{}", settings.app.public_url.trim_end_matches('/'), created.webhook_path).into();
    println!("{output}");
    Ok(())
}

pub async fn list_dead_jobs(settings: &Settings, limit: i64) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    for dead in attempts::list_dead(&pool, limit).await? {
        println!("{}", serde_json::to_string(&dead)?);
    }
    Ok(())
}

pub async fn retry_dead_jobs(settings: &Settings, id: Option<EventId>) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let replayed = attempts::retry_dead(&pool, id).await?;
    if let (Some(id), 0) = (id, replayed) {
        anyhow::bail!("job {id} is not dead-lettered");
    }
    println!("{}", serde_json::json!({ "replayed": replayed }));
    Ok(())
}

pub async fn rotate_keys(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let keyring = Keyring::from_settings(&settings.crypto)?;
    let report = recete_shared::key_rotation::rotate_all(&pool, &keyring).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Prints a fresh production `[crypto]` section; needs no configuration.
pub fn generate_keys() {
    print!("{}", recete_shared::crypto::production_crypto_section(recete_shared::crypto::today()));
}
