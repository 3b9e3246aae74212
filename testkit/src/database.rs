use std::time::Duration;

use anyhow::Context;
use recete_platform::db::MIGRATOR;
use recete_platform::db::privileges::grant_application_role;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

fn admin_url() -> String {
    std::env::var("RECETE_TEST_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub(crate) fn app_role() -> String {
    std::env::var("RECETE_TEST_APP_ROLE").unwrap_or_else(|_| "recete".into())
}

/// The role that owns the schema and runs migrations, as in production.
pub(crate) fn owner_role() -> String {
    std::env::var("RECETE_TEST_OWNER_ROLE").unwrap_or_else(|_| "recete_owner".into())
}

/// A database of its own, migrated by the owner role, with the application role granted what
/// serving needs (and owning nothing); dropped with the guard.
pub struct TestDatabase {
    name: String,
    admin: PgConnectOptions,
}

impl TestDatabase {
    pub async fn create() -> anyhow::Result<Self> {
        Self::create_in(&admin_url()).await
    }

    /// Like [`TestDatabase::create`], on the server a superuser URL names (a private cluster).
    pub async fn create_in(admin_url: &str) -> anyhow::Result<Self> {
        let admin: PgConnectOptions = admin_url.parse().context("invalid superuser URL (RECETE_TEST_ADMIN_URL)")?;
        let template = ensure_template(&admin).await?;
        let name = format!("recete_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = PgConnection::connect_with(&admin).await.context("connect as the test superuser")?;
        connection
            .execute(format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER "{}""#, owner_role()).as_str())
            .await
            .with_context(|| format!("create test database {name}"))?;
        connection.close().await?;
        Ok(Self { name, admin })
    }

    /// An empty database (pgvector installed, owned by the owner role, nothing migrated), for
    /// tests that migrate step by step as an upgrade would.
    pub async fn create_unmigrated() -> anyhow::Result<Self> {
        let admin: PgConnectOptions = admin_url().parse().context("invalid superuser URL (RECETE_TEST_ADMIN_URL)")?;
        let name = format!("recete_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = PgConnection::connect_with(&admin).await.context("connect as the test superuser")?;
        connection
            .execute(format!(r#"CREATE DATABASE "{name}" OWNER "{}""#, owner_role()).as_str())
            .await
            .with_context(|| format!("create test database {name}"))?;
        connection.close().await?;
        let mut superuser = PgConnection::connect_with(&admin.clone().database(&name)).await?;
        superuser.execute("CREATE EXTENSION IF NOT EXISTS vector").await.context("pgvector is not installed")?;
        superuser.close().await?;
        Ok(Self { name, admin })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL for the application role, the one the product connects as.
    pub fn app_url(&self) -> String {
        let host = self.admin.get_host();
        let port = self.admin.get_port();
        format!("postgres://{}@{host}:{port}/{}", app_role(), self.name)
    }

    /// URL for the owner role, the one `recete migrate` connects as.
    pub fn owner_url(&self) -> String {
        let host = self.admin.get_host();
        let port = self.admin.get_port();
        format!("postgres://{}@{host}:{port}/{}", owner_role(), self.name)
    }

    /// A pool as the application role: row-level security applies.
    pub async fn app_pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&self.app_url())
            .await?)
    }

    /// A pool as the superuser on this database, for inspection behind row-level security.
    pub async fn admin_pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new().max_connections(2).connect_with(self.admin.clone().database(&self.name)).await?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = self.admin.clone();
        // Drop runs outside any runtime guarantee, so the cleanup gets a small runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut connection = PgConnection::connect_with(&admin).await?;
                connection.execute(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str()).await?;
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("warning: could not drop test database {}: {error:#}", self.name);
        }
    }
}

/// The template's name carries a digest of every migration, so editing one makes a new template.
fn template_name() -> String {
    let mut digest = Sha256::new();
    for migration in MIGRATOR.iter() {
        digest.update(migration.version.to_le_bytes());
        digest.update(&migration.checksum);
    }
    format!("recete_template_{}", &hex::encode(digest.finalize())[..16])
}

async fn ensure_template(admin: &PgConnectOptions) -> anyhow::Result<String> {
    let template = template_name();
    let mut connection = PgConnection::connect_with(admin).await.context("connect as the test superuser")?;
    // Test processes start in parallel; one builds the template while the others wait.
    connection.execute("SELECT pg_advisory_lock(7366726)").await?;
    let result = build_template_once(admin, &mut connection, &template).await;
    connection.execute("SELECT pg_advisory_unlock(7366726)").await?;
    connection.close().await?;
    result.map(|()| template)
}

async fn build_template_once(
    admin: &PgConnectOptions,
    connection: &mut PgConnection,
    template: &str,
) -> anyhow::Result<()> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(template)
        .fetch_one(&mut *connection)
        .await?;
    if exists {
        return Ok(());
    }
    let building = format!("{template}_building");
    let owner = owner_role();
    connection.execute(format!(r#"DROP DATABASE IF EXISTS "{building}" WITH (FORCE)"#).as_str()).await?;
    connection.execute(format!(r#"CREATE DATABASE "{building}" OWNER "{owner}""#).as_str()).await?;
    {
        let mut superuser = PgConnection::connect_with(&admin.clone().database(&building)).await?;
        superuser
            .execute("CREATE EXTENSION IF NOT EXISTS vector")
            .await
            .context("pgvector is not installed (run `make services`)")?;
        superuser.close().await?;
    }
    {
        let owner_options: PgConnectOptions =
            format!("postgres://{owner}@{}:{}/{building}", admin.get_host(), admin.get_port()).parse()?;
        let mut owner_connection =
            PgConnection::connect_with(&owner_options).await.context("connect as the owner role")?;
        MIGRATOR.run(&mut owner_connection).await.context("migrate the template")?;
        grant_application_role(&mut owner_connection, &app_role())
            .await
            .context("grant the application role its privileges")?;
        owner_connection.close().await?;
    }
    connection.execute(format!(r#"ALTER DATABASE "{building}" RENAME TO "{template}""#).as_str()).await?;
    Ok(())
}
