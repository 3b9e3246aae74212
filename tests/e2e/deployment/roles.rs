//! Least privilege: the role that serves traffic owns nothing, so what an attacker with its
//! connection would try first (turn row-level security off, rewrite the audit trail, drop or
//! empty tables, change the schema) fails, and leaves everything as it was.

use std::process::Command;

use recete_platform::db;
use recete_testkit::{PrivatePostgres, TestDatabase};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::helpers::{json_output as json, run_recete};

const INSUFFICIENT_PRIVILEGE: &str = "42501";

async fn refused(pool: &PgPool, statement: &str) -> String {
    let error = sqlx::query(statement).execute(pool).await.expect_err(statement);
    let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some(INSUFFICIENT_PRIVILEGE), "{statement}: {error}");
    error.to_string()
}

#[tokio::test]
async fn the_application_role_cannot_disable_security_rewrite_the_audit_trail_or_change_the_schema() {
    let db = TestDatabase::create().await.expect("database");
    let app = db.app_pool().await.expect("application role");
    let admin = db.admin_pool().await.expect("superuser");

    // What the application role may do: append to the audit trail and read it.
    let mut tx = db::system_tx(&app).await.expect("transaction");
    sqlx::query("INSERT INTO audit_log (actor, action, subject_type) VALUES ('cli', 'test.appended', 'test')")
        .execute(&mut *tx)
        .await
        .expect("the application role appends to audit_log");
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&mut *tx).await.expect("read");
    tx.commit().await.expect("commit");
    assert_eq!(seen, 1);

    for statement in [
        "ALTER TABLE customers DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE customers NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY customers_tenant_isolation ON customers",
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "TRUNCATE external_events",
        "DROP TABLE orders",
        "CREATE TABLE stash (secret text)",
        "ALTER TABLE orders ADD COLUMN note text",
        "CREATE FUNCTION leak() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "DELETE FROM _sqlx_migrations",
        "ALTER ROLE recete BYPASSRLS",
    ] {
        refused(&app, statement).await;
    }

    // Nothing changed: security is on and forced everywhere it was, the audit row is as written.
    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname IN ('customers', 'orders', 'audit_log')
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(&admin)
    .await
    .expect("tables");
    assert!(unprotected.is_empty(), "{unprotected:?}");
    let actor: String = sqlx::query_scalar("SELECT actor FROM audit_log").fetch_one(&admin).await.expect("audit row");
    assert_eq!(actor, "cli");
    let (owned, bypass): (i64, bool) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid), r.rolbypassrls FROM pg_roles r WHERE rolname = 'recete'",
    )
    .fetch_one(&admin)
    .await
    .expect("role");
    assert_eq!((owned, bypass), (0, false), "the application role owns nothing and cannot bypass row security");
}

fn psql(admin_url: &str, args: &[&str]) -> std::process::Output {
    Command::new("psql")
        .arg(admin_url)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(args)
        .output()
        .expect("psql runs")
}

fn recete(database_url: &str, migration_url: &str, args: &[&str]) -> std::process::Output {
    run_recete(&[("DATABASE_URL", database_url), ("DATABASE_MIGRATION_URL", migration_url)], args)
}

/// README, "Deploying": an administrator runs deploy/postgres/roles.sql, `recete migrate` runs as
/// the owner, and the fleet connects as the application role, under any names the operator picks.
#[tokio::test]
async fn the_deploying_steps_make_two_roles_and_migrate_grants_the_serving_one_only_rows() {
    let cluster = PrivatePostgres::start().await.expect("cluster");
    let roles_sql = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/postgres/roles.sql");
    for _ in 0..2 {
        let output = psql(
            &cluster.admin_url(),
            &[
                "-v",
                "owner=shop_owner",
                "-v",
                "owner_password=owner secret",
                "-v",
                "app=shop_app",
                "-v",
                "app_password=app secret",
                "-v",
                "db=shop",
                "-f",
                roles_sql,
            ],
        );
        assert!(output.status.success(), "roles.sql (run twice): {}", String::from_utf8_lossy(&output.stderr));
    }
    let base = format!("postgres://{{}}@127.0.0.1:{}/shop", cluster.port());
    let app_url = base.replace("{}", "shop_app");
    let owner_url = base.replace("{}", "shop_owner");

    let migrated = json(&recete(&app_url, &owner_url, &["migrate"]));
    assert_eq!(migrated["owner"], "shop_owner", "{migrated}");
    assert_eq!(migrated["application_role"], "shop_app", "{migrated}");
    assert_eq!(migrated["granted"], true, "{migrated}");
    // Migrating again changes nothing and grants again.
    assert_eq!(json(&recete(&app_url, &owner_url, &["migrate"]))["migrations_applied"], migrated["migrations_applied"]);

    // The application role serves: it creates a merchant (rows, audit trail) ...
    let merchant = json(&recete(&app_url, "", &["merchant", "create", "--name", "Roles Shop"]));
    assert!(merchant["merchant_id"].is_string(), "{merchant}");

    // ... but migrating as it fails, and it cannot touch the schema.
    let as_app = recete(&app_url, "", &["migrate"]);
    assert!(!as_app.status.success(), "the application role must not be able to migrate");

    let mut app = PgConnection::connect(&app_url).await.expect("application role");
    let defaults: (String, String) = sqlx::query_as(
        "SELECT current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')",
    )
    .fetch_one(&mut app)
    .await
    .expect("role defaults");
    assert_eq!(defaults, ("5s".to_owned(), "2min".to_owned()), "server-side limits from roles.sql");
    for statement in ["DROP TABLE orders", "ALTER TABLE customers DISABLE ROW LEVEL SECURITY", "DELETE FROM audit_log"]
    {
        let error = app.execute(statement).await.expect_err(statement);
        assert_eq!(
            error.as_database_error().and_then(|e| e.code()).as_deref(),
            Some(INSUFFICIENT_PRIVILEGE),
            "{error}"
        );
    }
    app.close().await.expect("close");
}
