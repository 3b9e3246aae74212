//! The fleet behind PgBouncer in transaction pooling mode: many client connections take turns on
//! a few server connections, so nothing may be set for a session, and a backend's process id
//! says nothing about whose transaction runs on it.

use recete_shared::config::DatabaseSettings;
use recete_shared::db;
use recete_shared::ids::MerchantId;
use recete_testkit::{TestDatabase, TestPgBouncer, TestRedis};
use secrecy::SecretString;

use super::serve_an_order_through_to_a_follow_up;
use crate::followups::spawn_messaging_app_on;

/// Server connections PgBouncer keeps per user and database: far fewer than the app's pool.
const SERVER_CONNECTIONS: u32 = 3;

#[tokio::test]
async fn the_fleet_serves_an_order_and_its_follow_up_through_pgbouncer_in_transaction_mode() {
    let bouncer = TestPgBouncer::start("127.0.0.1", 5432, SERVER_CONNECTIONS, &["recete", "recete_owner", "postgres"])
        .await
        .expect("pgbouncer");
    let db = TestDatabase::create().await.expect("database");
    let pooled_url = bouncer.url("recete", db.name());
    let graph = wiremock::MockServer::start().await;
    let app = spawn_messaging_app_on(&graph, db, TestRedis::new(), move |figment| {
        figment.merge(("database.url", pooled_url))
    })
    .await;

    serve_an_order_through_to_a_follow_up(&app, &graph).await;

    // Through the pooler the app holds no more server connections than PgBouncer allows (the
    // product names its connections `recete`; the test's own direct pool has no name).
    let servers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE usename = 'recete' AND datname = current_database() AND application_name = 'recete'",
    )
    .fetch_one(&app.admin)
    .await
    .expect("connections");
    assert!(
        (1..=i64::from(SERVER_CONNECTIONS)).contains(&servers),
        "{servers} server connections; log: {}",
        bouncer.log()
    );
}

#[tokio::test]
async fn transaction_settings_never_leak_to_the_next_client_of_a_shared_server_connection() {
    let bouncer = TestPgBouncer::start("127.0.0.1", 5432, 1, &["recete", "postgres"]).await.expect("pgbouncer");
    let db = TestDatabase::create().await.expect("database");
    let settings = DatabaseSettings {
        url: SecretString::from(bouncer.url("recete", db.name())),
        migration_url: SecretString::from(String::new()),
        max_connections: 8,
        acquire_timeout_ms: 5000,
        statement_timeout_ms: 1234,
        idle_in_transaction_timeout_ms: 120_000,
    };
    let pool = db::connect_lazy(&settings).expect("pool");

    // Eight client connections, one server connection: every transaction below runs on it.
    let merchant = MerchantId::generate();
    let mut tasks = Vec::new();
    for round in 0..64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            if round % 2 == 0 {
                let mut tx = db::tenant_tx(&pool, merchant).await?;
                let (timeout, tenant): (String, String) = sqlx::query_as(
                    "SELECT current_setting('statement_timeout'), current_setting('recete.merchant_id', true)",
                )
                .fetch_one(&mut *tx)
                .await?;
                assert_eq!(timeout, "1234ms");
                assert_eq!(tenant, merchant.to_string());
                tx.commit().await?;
            } else {
                let mut tx = db::begin(&pool).await?;
                let (timeout, tenant, scope): (String, Option<String>, Option<String>) = sqlx::query_as(
                    "SELECT current_setting('statement_timeout'), current_setting('recete.merchant_id', true),
                            current_setting('recete.scope', true)",
                )
                .fetch_one(&mut *tx)
                .await?;
                assert_eq!(timeout, "1234ms", "the timeout is set in every transaction");
                assert!(tenant.unwrap_or_default().is_empty(), "another client's tenant leaked in");
                assert!(scope.unwrap_or_default().is_empty(), "another client's scope leaked in");
                tx.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("transaction");
    }

    // Outside a transaction the server connection carries nothing of ours: the timeout above
    // was the transaction's own, not a session setting left for the next client.
    let timeout: String =
        sqlx::query_scalar("SELECT current_setting('statement_timeout')").fetch_one(&pool).await.expect("query");
    assert_ne!(timeout, "1234ms", "statement_timeout must not be a session setting behind a pooler");
}
