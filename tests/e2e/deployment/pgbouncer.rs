//! The fleet behind PgBouncer in transaction pooling mode: many client connections take turns on
//! a few server connections, so nothing may be set for a session, and a backend's process id
//! says nothing about whose transaction runs on it. Nor may a server connection the pooler shares
//! hold a `LISTEN`: its notifications would reach whichever client runs there next, whose
//! statement would then fail on a message it did not expect.

use recete_platform::config::DatabaseSettings;
use recete_platform::db;
use recete_platform::db::listening::LISTEN_APPLICATION_NAME;
use recete_platform::ids::MerchantId;
use recete_testkit::{TestDatabase, TestPgBouncer, TestRedis};
use secrecy::SecretString;
use sqlx::postgres::PgPoolOptions;

use super::serve_an_order_through_to_a_follow_up;
use crate::followups::spawn_messaging_app_on;
use crate::helpers::TestApp;

/// Server connections PgBouncer keeps per user and database: far fewer than the app's pool.
const SERVER_CONNECTIONS: u32 = 3;

#[tokio::test]
async fn the_fleet_serves_an_order_and_its_follow_up_through_pgbouncer_in_transaction_mode() {
    let bouncer = TestPgBouncer::start("127.0.0.1", 5432, SERVER_CONNECTIONS, &["recete", "recete_owner", "postgres"])
        .await
        .expect("pgbouncer");
    let db = TestDatabase::create().await.expect("database");
    let pooled_url = bouncer.url("recete", db.name());
    let direct_url = db.app_url();
    let graph = wiremock::MockServer::start().await;
    let app = spawn_messaging_app_on(&graph, db, TestRedis::new(), move |figment| {
        figment.merge(("database.url", pooled_url)).merge(("database.listen_url", direct_url))
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

    // The event streams and the relays listen on connections of their own to the server (the
    // workers have stopped; the API still serves), and no server connection behind the pooler
    // holds a LISTEN.
    let listening = listening_connections(&app).await;
    assert!(listening >= 1, "the API's event streams listen on the server itself");
    assert_eq!(channels_behind_the_pooler(&bouncer, &app, SERVER_CONNECTIONS).await, Vec::<String>::new());
}

#[tokio::test]
async fn with_listening_off_behind_pgbouncer_relays_poll_and_nothing_listens() {
    let bouncer =
        TestPgBouncer::start("127.0.0.1", 5432, 1, &["recete", "recete_owner", "postgres"]).await.expect("pgbouncer");
    let db = TestDatabase::create().await.expect("database");
    let pooled_url = bouncer.url("recete", db.name());
    let graph = wiremock::MockServer::start().await;
    let app = spawn_messaging_app_on(&graph, db, TestRedis::new(), move |figment| {
        figment.merge(("database.url", pooled_url)).merge(("database.listen_url", "off"))
    })
    .await;

    serve_an_order_through_to_a_follow_up(&app, &graph).await;

    let listening = listening_connections(&app).await;
    assert_eq!(listening, 0);
    assert_eq!(channels_behind_the_pooler(&bouncer, &app, 1).await, Vec::<String>::new());
}

/// Connections of the test database opened for `LISTEN` on their own (past the pooler).
async fn listening_connections(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
    )
    .bind(LISTEN_APPLICATION_NAME)
    .fetch_one(&app.admin)
    .await
    .expect("listening connections")
}

/// The channels listened on by every server connection PgBouncer holds for the application role:
/// `servers` client transactions open at once through the pooler each get one of them.
async fn channels_behind_the_pooler(bouncer: &TestPgBouncer, app: &TestApp, servers: u32) -> Vec<String> {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.admin).await.expect("name");
    let pool = PgPoolOptions::new()
        .max_connections(servers)
        .connect(&bouncer.url("recete", &database))
        .await
        .expect("through the pooler");
    let mut open = Vec::new();
    let mut channels = Vec::new();
    for _ in 0..servers {
        let mut tx = pool.begin().await.expect("begin");
        let listened: Vec<String> =
            sqlx::query_scalar("SELECT pg_listening_channels()").fetch_all(&mut *tx).await.expect("channels");
        channels.extend(listened);
        open.push(tx);
    }
    let pids: std::collections::HashSet<i32> = {
        let mut pids = std::collections::HashSet::new();
        for tx in &mut open {
            pids.insert(sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut **tx).await.expect("pid"));
        }
        pids
    };
    assert_eq!(pids.len(), servers as usize, "each open transaction holds a server connection of its own");
    for tx in open {
        tx.rollback().await.expect("rollback");
    }
    pool.close().await;
    channels
}

#[tokio::test]
async fn transaction_settings_never_leak_to_the_next_client_of_a_shared_server_connection() {
    let bouncer = TestPgBouncer::start("127.0.0.1", 5432, 1, &["recete", "postgres"]).await.expect("pgbouncer");
    let db = TestDatabase::create().await.expect("database");
    let settings = DatabaseSettings {
        url: SecretString::from(bouncer.url("recete", db.name())),
        migration_url: SecretString::from(String::new()),
        listen_url: SecretString::from(String::new()),
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
