//! One-shot administration commands. Each prints one JSON object on success.

use anyhow::Context;
use recete_config::Settings;
use recete_jobs::attempts;
use recete_platform::crypto::Keyring;
use recete_platform::db;
use recete_platform::ids::EventId;
use recete_shared::integrations::{self, Given, NewIntegration};
use recete_shared::merchants;
use sqlx::PgPool;

pub(crate) async fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    let pool = db::connect_lazy(&settings.database).context("invalid database.url")?;
    sqlx::query("SELECT 1").execute(&pool).await.context("cannot reach PostgreSQL at database.url")?;
    Ok(pool)
}

/// Migrates as the owner role (`database.migration_url`), then grants the application role (the
/// user of `database.url`) what serving needs, unless both are one role.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let owner_settings = settings.database.migration_settings();
    let pool = db::connect_lazy(&owner_settings).context("invalid database.migration_url")?;
    let mut connection = pool.acquire().await.context("cannot reach PostgreSQL at database.migration_url")?;
    db::MIGRATOR.run(&mut *connection).await.context("migrations failed")?;
    let owner: String = sqlx::query_scalar("SELECT current_user").fetch_one(&mut *connection).await?;
    let app_role = application_role(settings)?;
    let granted = app_role != owner;
    if granted {
        db::privileges::grant_application_role(&mut connection, &app_role)
            .await
            .with_context(|| format!("cannot grant the application role `{app_role}` its privileges"))?;
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations").fetch_one(&mut *connection).await?;
    println!(
        "{}",
        serde_json::json!({ "migrations_applied": applied, "owner": owner, "application_role": app_role, "granted": granted })
    );
    Ok(())
}

/// The user name in `database.url`.
fn application_role(settings: &Settings) -> anyhow::Result<String> {
    use secrecy::ExposeSecret;
    let options: sqlx::postgres::PgConnectOptions =
        settings.database.url.expose_secret().parse().context("invalid database.url")?;
    Ok(options.get_username().to_owned())
}

pub async fn create_merchant(settings: &Settings, name: &str, timezone: &str) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let created = merchants::create(&pool, name, timezone).await?;
    println!("{}", serde_json::to_string(&created)?);
    Ok(())
}

pub async fn create_integration(settings: &Settings, new: NewIntegration<'_>, given: &Given<'_>) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let keyring = Keyring::from_settings(&settings.crypto)?;
    let created = integrations::create_given(&pool, &keyring, new, given).await?;
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
    let report = recete_privacy::key_rotation::rotate_all(&pool, &keyring).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Prints a fresh production `[crypto]` section; needs no configuration.
pub fn generate_keys() {
    print!("{}", recete_platform::crypto::production_crypto_section(recete_platform::crypto::today()));
}
