//! PostgreSQL and Redis over TLS only: a throwaway CA signs the servers' certificates, the
//! PostgreSQL cluster accepts `hostssl` connections alone, and Redis listens on a TLS port with
//! its plaintext port off.

use recete_platform::config::RedisSettings;
use recete_platform::redis_client::RedisClient;
use recete_testkit::{PrivatePostgres, PrivateRedis, TestCertificates, TestDatabase, TestRedis};
use secrecy::SecretString;
use sqlx::{Connection, PgConnection};

use super::serve_an_order_through_to_a_follow_up;
use crate::followups::spawn_messaging_app_on;

fn verify_full(url: &str, ca: &std::path::Path) -> String {
    format!("{url}?sslmode=verify-full&sslrootcert={}", ca.display())
}

fn redis_settings(url: &str, ca_file: &std::path::Path) -> RedisSettings {
    RedisSettings {
        url: SecretString::from(url.to_owned()),
        ca_file: ca_file.display().to_string(),
        key_prefix: "recete-tls-test".into(),
        response_timeout_ms: 2000,
    }
}

#[tokio::test]
async fn the_fleet_serves_an_order_and_its_follow_up_over_tls_postgres_and_tls_redis() {
    let certificates = TestCertificates::create("recete").expect("certificates");
    let postgres = PrivatePostgres::start_tls(&certificates).await.expect("TLS-only PostgreSQL");
    let redis = PrivateRedis::start_tls(&certificates).await.expect("TLS-only Redis");
    let db = TestDatabase::create_in(&postgres.admin_url()).await.expect("database over TLS");
    let database_url = verify_full(&db.app_url(), &certificates.ca_file());
    let ca_file = certificates.ca_file().display().to_string();
    let graph = wiremock::MockServer::start().await;
    let app = spawn_messaging_app_on(&graph, db, TestRedis::on(redis.url()), move |figment| {
        figment.merge(("database.url", database_url)).merge(("redis.ca_file", ca_file))
    })
    .await;
    assert!(app.settings.redis.url_is_tls(), "the app reaches Redis at {}", redis.url());

    serve_an_order_through_to_a_follow_up(&app, &graph).await;

    // Every connection the application role holds is encrypted (the server refuses any other).
    let (encrypted, plain): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'recete'",
    )
    .fetch_one(&app.admin)
    .await
    .expect("connections");
    assert!(encrypted > 0 && plain == 0, "encrypted {encrypted}, plain {plain}");
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused_with_a_clear_error() {
    let certificates = TestCertificates::create("recete").expect("certificates");
    let stranger = TestCertificates::create("stranger").expect("another CA");
    let postgres = PrivatePostgres::start_tls(&certificates).await.expect("TLS-only PostgreSQL");
    let redis = PrivateRedis::start_tls(&certificates).await.expect("TLS-only Redis");

    let url = format!("postgres://recete@127.0.0.1:{}/postgres", postgres.port());
    let error = PgConnection::connect(&verify_full(&url, &stranger.ca_file())).await.expect_err("wrong CA refused");
    let message = error.to_string();
    assert!(message.contains("certificate") || message.contains("UnknownIssuer"), "{message}");

    let client = RedisClient::new(&redis_settings(&redis.url(), &stranger.ca_file())).expect("client");
    let error = client.ping().await.expect_err("wrong CA refused");
    let message = format!("{error:#}");
    assert!(message.contains("certificate") || message.contains("UnknownIssuer"), "{message}");

    // The right CA gets through both, so the refusals above were about the CA alone.
    let connection =
        PgConnection::connect(&verify_full(&url, &certificates.ca_file())).await.expect("right CA accepted");
    connection.close().await.expect("close");
    RedisClient::new(&redis_settings(&redis.url(), &certificates.ca_file()))
        .expect("client")
        .ping()
        .await
        .expect("right CA accepted");

    // A CA file that does not exist is named in the error.
    let error = RedisClient::new(&redis_settings(&redis.url(), std::path::Path::new("/nonexistent/ca.pem")))
        .err()
        .expect("missing CA file refused");
    assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
}

#[tokio::test]
async fn plaintext_is_impossible_when_tls_is_required() {
    let certificates = TestCertificates::create("recete").expect("certificates");
    let tls_postgres = PrivatePostgres::start_tls(&certificates).await.expect("TLS-only PostgreSQL");
    let tls_redis = PrivateRedis::start_tls(&certificates).await.expect("TLS-only Redis");

    // The server side: a TLS-only server refuses a client that does not encrypt.
    let url = format!("postgres://recete@127.0.0.1:{}/postgres?sslmode=disable", tls_postgres.port());
    let error = PgConnection::connect(&url).await.expect_err("plaintext refused by the server");
    assert!(error.to_string().contains("no encryption") || error.to_string().contains("rejects"), "{error}");
    let plaintext =
        RedisClient::new(&redis_settings(&tls_redis.plaintext_url(), std::path::Path::new(""))).expect("client");
    plaintext.ping().await.expect_err("plaintext refused by a TLS-only Redis");

    // The client side: with sslmode=require a server that cannot encrypt is never spoken to in
    // plaintext.
    let plain_postgres = PrivatePostgres::start().await.expect("PostgreSQL without TLS");
    let url = format!("postgres://recete@127.0.0.1:{}/postgres?sslmode=require", plain_postgres.port());
    let error = PgConnection::connect(&url).await.expect_err("a server without TLS is refused");
    assert!(error.to_string().to_lowercase().contains("tls") || error.to_string().contains("SSL"), "{error}");
}
