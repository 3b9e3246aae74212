//! `recete operators`: the people who may sign in to the queue board.

use recete_config::Settings;
use recete_ops::operators::{self, Role};

use super::admin::connect;

/// Adds an operator and prints `{"name", "role", "token"}`; the token is shown only here.
pub async fn add(settings: &Settings, name: &str, role: Role) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let added = operators::add(&pool, name, role, "cli").await?;
    println!("{}", serde_json::to_string(&added)?);
    Ok(())
}

/// One JSON object per operator: name, role, created_at, disabled_at.
pub async fn list(settings: &Settings) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    for operator in operators::list(&pool).await? {
        println!("{}", serde_json::to_string(&operator)?);
    }
    Ok(())
}

/// Disables an operator and ends their sessions. From the command line the last admin may be
/// disabled too: whoever holds the database can add another.
pub async fn disable(settings: &Settings, name: &str) -> anyhow::Result<()> {
    let pool = connect(settings).await?;
    let changed = operators::disable(&pool, name, "cli", true).await?;
    println!("{}", serde_json::json!({ "name": name, "disabled": true, "changed": changed }));
    Ok(())
}
