//! A migrated database of its own with merchants, integrations and job rows written directly,
//! in the shapes the ingestion and planning code writes them.

use chrono::{DateTime, Utc};
use recete_platform::config::{PlatformSettings, base_figment};
use recete_platform::crypto::Keyring;
use recete_platform::ids::IntegrationId;
use recete_shared::events::store::{pack, payload_context};
use recete_testkit::TestDatabase;
use sqlx::PgPool;
use uuid::Uuid;

pub struct Fleet {
    /// As the application role: what the board connects as.
    pub pool: PgPool,
    /// As the superuser: fixtures and assertions behind row-level security.
    pub admin: PgPool,
    pub keyring: Keyring,
    pub shop: Shop,
    // Dropped last: the database outlives its pools.
    _db: TestDatabase,
}

/// A merchant with a Shopify integration.
#[derive(Debug, Clone, Copy)]
pub struct Shop {
    pub merchant: Uuid,
    pub integration: Uuid,
}

pub struct NewEvent {
    pub shop: Option<Shop>,
    pub source: &'static str,
    pub kind: &'static str,
    pub state: &'static str,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub subject_id: Option<String>,
    pub platform_event_id: Option<String>,
    pub body: Vec<u8>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

impl Default for NewEvent {
    fn default() -> Self {
        let now = Utc::now();
        Self {
            shop: None,
            source: "shopify",
            kind: "order.paid",
            state: "pending",
            created_at: now,
            next_attempt_at: now,
            subject_id: None,
            platform_event_id: None,
            body: br#"{"id": 1}"#.to_vec(),
            attempts: 0,
            last_error: None,
        }
    }
}

pub struct NewTask {
    pub shop: Option<Shop>,
    pub kind: &'static str,
    pub state: &'static str,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub order_id: Option<Uuid>,
    pub unique_key: Option<String>,
    pub payload: serde_json::Value,
    pub attempts: i32,
}

impl Default for NewTask {
    fn default() -> Self {
        let now = Utc::now();
        Self {
            shop: None,
            kind: "follow_up",
            state: "pending",
            created_at: now,
            due_at: now,
            order_id: None,
            unique_key: None,
            payload: serde_json::json!({}),
            attempts: 0,
        }
    }
}

impl Fleet {
    pub async fn new() -> Self {
        let db = TestDatabase::create().await.expect("test database");
        let pool = db.app_pool().await.expect("app pool");
        let admin = db.admin_pool().await.expect("admin pool");
        let settings = PlatformSettings::load_from(base_figment(None)).expect("default settings");
        let keyring = Keyring::from_settings(&settings.crypto).expect("keyring");
        let shop = create_shop(&admin, "Serum Shop").await;
        Self { pool, admin, keyring, shop, _db: db }
    }

    pub async fn another_shop(&self, name: &str) -> Shop {
        create_shop(&self.admin, name).await
    }

    pub async fn event(&self, event: NewEvent) -> Uuid {
        let id = Uuid::now_v7();
        let shop = event.shop.unwrap_or(self.shop);
        let dedup_key = format!("webhook:{id}");
        let context = payload_context(IntegrationId::from_uuid(shop.integration), &dedup_key, "payload");
        let sealed = self.keyring.seal(&pack(&event.body), &context);
        sqlx::query(
            "INSERT INTO external_events (id, merchant_id, integration_id, source, kind, topic, dedup_key,
                 platform_event_id, subject_id, occurred_at, key_id, payload_sealed, normalized_sealed, state,
                 attempts, next_attempt_at, last_error, created_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '\\x00', $13, $14, $15, $16, $10, $10)",
        )
        .bind(id)
        .bind(shop.merchant)
        .bind(shop.integration)
        .bind(event.source)
        .bind(event.kind)
        .bind(format!("{}/{}", event.source, event.kind))
        .bind(&dedup_key)
        .bind(event.platform_event_id)
        .bind(event.subject_id)
        .bind(event.created_at)
        .bind(&sealed.key_id)
        .bind(&sealed.bytes)
        .bind(event.state)
        .bind(event.attempts)
        .bind(event.next_attempt_at)
        .bind(event.last_error)
        .execute(&self.admin)
        .await
        .expect("event row");
        id
    }

    pub async fn task(&self, task: NewTask) -> Uuid {
        let id = Uuid::now_v7();
        let shop = task.shop.unwrap_or(self.shop);
        sqlx::query(
            "INSERT INTO scheduled_tasks (id, merchant_id, kind, order_id, unique_key, due_at, state, attempts,
                 payload, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(shop.merchant)
        .bind(task.kind)
        .bind(task.order_id)
        .bind(task.unique_key.unwrap_or_else(|| format!("task:{id}")))
        .bind(task.due_at)
        .bind(task.state)
        .bind(task.attempts)
        .bind(task.payload)
        .bind(task.created_at)
        .execute(&self.admin)
        .await
        .expect("task row");
        id
    }

    pub async fn order(&self, shop: Shop, external_order_id: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO orders (id, merchant_id, external_order_id, status) VALUES ($1, $2, $3, 'delivered')")
            .bind(id)
            .bind(shop.merchant)
            .bind(external_order_id)
            .execute(&self.admin)
            .await
            .expect("order row");
        id
    }

    /// `count` dead Shopify events of `shop`, created a second apart before `newest`.
    pub async fn many_events(&self, shop: Shop, count: i64, state: &str, newest: DateTime<Utc>) {
        sqlx::query(
            "INSERT INTO external_events (id, merchant_id, integration_id, source, kind, topic, dedup_key,
                 occurred_at, key_id, payload_sealed, normalized_sealed, state, attempts, last_error,
                 created_at, received_at)
             SELECT gen_random_uuid(), $1, $2, 'shopify', 'order.paid', 'orders/paid', 'bulk:' || gen_random_uuid(),
                    $5 - make_interval(secs => n), 'dev-1', '\\x00', '\\x00', $4, 5, 'timed out',
                    $5 - make_interval(secs => n), $5 - make_interval(secs => n)
             FROM generate_series(1, $3) AS n",
        )
        .bind(shop.merchant)
        .bind(shop.integration)
        .bind(count)
        .bind(state)
        .bind(newest)
        .execute(&self.admin)
        .await
        .expect("event rows");
    }

    pub async fn state_of(&self, table: &str, id: Uuid) -> String {
        sqlx::query_scalar(&format!("SELECT state FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.admin)
            .await
            .expect("row state")
    }
}

async fn create_shop(admin: &PgPool, name: &str) -> Shop {
    let merchant = Uuid::now_v7();
    let integration = Uuid::now_v7();
    sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, $2)")
        .bind(merchant)
        .bind(name)
        .execute(admin)
        .await
        .expect("merchant row");
    sqlx::query(
        "INSERT INTO integrations (id, merchant_id, kind, secret_key_id, secret_sealed)
         VALUES ($1, $2, 'shopify', 'dev-1', '\\x00')",
    )
    .bind(integration)
    .bind(merchant)
    .execute(admin)
    .await
    .expect("integration row");
    Shop { merchant, integration }
}

/// `seconds` before now.
pub fn ago(seconds: i64) -> DateTime<Utc> {
    Utc::now() - chrono::TimeDelta::seconds(seconds)
}
