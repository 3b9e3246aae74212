//! Upgrading a database that already holds merchants' rows. Row-level security is forced on every
//! tenant table, even for the owner role that migrates, so a migration that rewrites rows must do
//! so in the system scope: otherwise its `UPDATE` sees no row, changes nothing, and what follows
//! (a `NOT NULL`, a backfilled column) fails or is silently wrong on every real deployment while
//! passing on the empty databases tests start from.

use std::path::{Path, PathBuf};

use recete_platform::db::MIGRATOR;
use recete_testkit::TestDatabase;
use sqlx::migrate::Migrator;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

/// The first migration that rewrites existing `messages` rows.
const HAND_OVER_REPLIES: i64 = 20261207000400;

/// A directory holding the migrations before `version`, byte for byte (same checksums), so the
/// full migrator later goes on from where they stopped.
fn migrations_before(version: i64) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let target = std::env::temp_dir().join(format!("recete-migrations-before-{version}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&target).expect("a temporary directory");
    for entry in std::fs::read_dir(&source).expect("the migrations directory") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let number = name.split('_').next().and_then(|n| n.parse::<i64>().ok());
        if number.is_some_and(|n| n < version) {
            std::fs::copy(&path, target.join(&name)).expect("copied");
        }
    }
    target
}

#[tokio::test]
async fn migrations_that_rewrite_rows_reach_every_merchants_rows_on_upgrade() {
    let db = TestDatabase::create_unmigrated().await.expect("an empty database");
    let mut owner = PgConnection::connect(&db.owner_url()).await.expect("the owner role");
    let earlier = migrations_before(HAND_OVER_REPLIES);
    Migrator::new(earlier.as_path()).await.expect("earlier migrations").run(&mut owner).await.expect("migrated");
    let _ = std::fs::remove_dir_all(&earlier);

    // Two merchants' messages as the earlier schema stored them: an inbound question, the
    // agent's answer, a follow-up delivered and then read.
    owner.execute("SELECT set_config('recete.scope', 'system', false)").await.expect("system scope");
    let mut expected = Vec::new();
    for merchant in [Uuid::now_v7(), Uuid::now_v7()] {
        sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, 'Upgraded shop')")
            .bind(merchant)
            .execute(&mut owner)
            .await
            .expect("merchant");
        for (direction, metadata, status, author) in [
            ("inbound", "{}", "received", "customer"),
            ("outbound", r#"{"agent": {"citations": []}}"#, "sent", "agent"),
            ("outbound", "{}", "read", "system"),
        ] {
            let id = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO messages (id, merchant_id, direction, kind, status, status_at, metadata)
                 VALUES ($1, $2, $3, 'text', $4, now() - interval '1 hour', $5::jsonb)",
            )
            .bind(id)
            .bind(merchant)
            .bind(direction)
            .bind(status)
            .bind(metadata)
            .execute(&mut owner)
            .await
            .expect("message");
            expected.push((id, author, status == "read"));
        }
    }
    owner.execute("SELECT set_config('recete.scope', '', false)").await.expect("scope reset");

    MIGRATOR.run(&mut owner).await.expect("the rest of the migrations apply to a database holding rows");

    owner.execute("SELECT set_config('recete.scope', 'system', false)").await.expect("system scope");
    for (id, author, delivered) in expected {
        let (stored, delivered_at): (String, Option<chrono::DateTime<chrono::Utc>>) =
            sqlx::query_as("SELECT author, delivered_at FROM messages WHERE id = $1")
                .bind(id)
                .fetch_one(&mut owner)
                .await
                .expect("the message survived");
        assert_eq!(stored, author, "message {id}");
        assert_eq!(delivered_at.is_some(), delivered, "message {id}: delivered_at backfilled for read messages only");
    }
}
