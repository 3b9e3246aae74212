//! A store to benchmark against: a fresh database (from the test template) and Redis prefix, one
//! merchant and one integration, and the `recete all` fleet serving them.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use recete_config::{Settings, base_figment};
use recete_platform::crypto::Keyring;
use recete_shared::integrations::{self, CreatedIntegration, IntegrationKind, NewIntegration};
use recete_shared::merchants::{self, CreatedMerchant};
use recete_testkit::{TestDatabase, TestRedis};
use sqlx::PgPool;

pub struct BenchStore {
    pub settings: Settings,
    /// As the application role.
    pub pool: PgPool,
    pub merchant: CreatedMerchant,
    pub integration: CreatedIntegration,
    pub redis: TestRedis,
    // Dropped last: the database outlives the pool above.
    pub database: TestDatabase,
}

impl BenchStore {
    /// A merchant "Bench Store" (UTC) with one integration of `kind`.
    pub async fn create(kind: IntegrationKind, phone_number_id: Option<&str>) -> anyhow::Result<Self> {
        let database = TestDatabase::create().await?;
        let settings = Settings::load_from(base_figment(None).merge(("database.url", database.app_url())))?;
        let pool = recete_platform::db::connect_lazy(&settings.database)?;
        let keyring = Arc::new(Keyring::from_settings(&settings.crypto)?);
        let merchant = merchants::create(&pool, "Bench Store", "UTC").await?;
        let integration = integrations::create(
            &pool,
            &keyring,
            NewIntegration { merchant_id: merchant.merchant_id, kind, secret: None, phone_number_id },
        )
        .await?;
        Ok(Self { settings, pool, merchant, integration, redis: TestRedis::new(), database })
    }

    /// Posts `body` to the API at `base` as Meta would, signed with this store's integration
    /// secret (its WhatsApp app secret).
    pub async fn post_whatsapp(
        &self,
        client: &reqwest::Client,
        base: &str,
        body: Vec<u8>,
    ) -> reqwest::Result<reqwest::Response> {
        client
            .post(format!("{base}/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", recete_testkit::signing::hub_signature(&self.integration.secret, &body))
            .body(body)
            .send()
            .await
    }

    /// `recete all` (the API on `listen` and every pool) against this store, logging warnings only.
    pub fn start_fleet(&self, recete: &Path, listen: &str) -> anyhow::Result<Child> {
        Ok(Command::new(recete)
            .args(["all", "--listen", listen])
            .env("DATABASE_URL", self.database.app_url())
            .env("REDIS_URL", &self.redis.url)
            .env("RECETE__REDIS__KEY_PREFIX", &self.redis.prefix)
            .env("RECETE__LOG__FILTER", "warn")
            .stdout(Stdio::null())
            .spawn()?)
    }
}
