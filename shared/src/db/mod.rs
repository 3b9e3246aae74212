//! PostgreSQL access: the pool, migrations and the two kinds of transaction.
//!
//! Row-level security hides every tenant row unless the transaction says whose rows it works
//! on. [`tenant_tx`] sets `recete.merchant_id` for one merchant; [`system_tx`] sets
//! `recete.scope = 'system'` for the few paths that act across merchants (webhook routing,
//! workers). Both settings are transaction-local, so a pooled connection never carries them to
//! the next user.
//!
//! Nothing is set for a whole session, because a pooler in transaction mode (PgBouncer) hands
//! one server connection to many clients: the statement timeout too is set in every transaction
//! ([`begin`]), and the role's own default (`ALTER ROLE … SET statement_timeout`, see
//! `deploy/postgres/init.sql`) covers the few single statements run outside one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres, Transaction};

use crate::config::DatabaseSettings;

pub mod privileges;
use crate::ids::MerchantId;

pub type Tx = Transaction<'static, Postgres>;

/// The migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// `database.statement_timeout_ms` of this process (one setting per process), set by
/// [`connect_lazy`]; the default until then.
static STATEMENT_TIMEOUT_MS: AtomicU64 = AtomicU64::new(5_000);

/// A lazily connecting pool: the process starts even while PostgreSQL is down, and readiness
/// and requests report it instead. TLS follows the URL's `sslmode` and `sslrootcert`.
pub fn connect_lazy(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    STATEMENT_TIMEOUT_MS.store(settings.statement_timeout_ms, Ordering::Relaxed);
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    let options =
        options.application_name("recete").log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout())
        .connect_lazy_with(options))
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// A transaction whose statements are cancelled after `database.statement_timeout_ms`. It sees
/// no tenant's rows until [`set_tenant`] or the system scope says whose.
pub async fn begin(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('statement_timeout', $1, true)")
        .bind(STATEMENT_TIMEOUT_MS.load(Ordering::Relaxed).to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A transaction that sees and writes only `merchant`'s rows.
pub async fn tenant_tx(pool: &PgPool, merchant: MerchantId) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT set_config('statement_timeout', $2, true), set_config('recete.merchant_id', $1, true),
                set_config('recete.scope', '', true)",
    )
    .bind(merchant.to_string())
    .bind(STATEMENT_TIMEOUT_MS.load(Ordering::Relaxed).to_string())
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Switches an open transaction to `merchant`'s rows (a batch writer serving several merchants
/// in one commit does this between groups).
pub async fn set_tenant(tx: &mut Tx, merchant: MerchantId) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('recete.merchant_id', $1, true), set_config('recete.scope', '', true)")
        .bind(merchant.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A transaction that acts across merchants. Use only where no single merchant is known yet
/// or where the work is the fleet's own (routing, relays, reconcilers).
pub async fn system_tx(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('statement_timeout', $1, true), set_config('recete.scope', 'system', true)")
        .bind(STATEMENT_TIMEOUT_MS.load(Ordering::Relaxed).to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// True when the error means the database could not be reached or is overloaded, as opposed to
/// a problem with the statement; such errors are worth a 503 and a retry.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            // admin shutdown, crash shutdown, cannot connect now, too many connections,
            // query canceled (statement timeout), serialization failure, deadlock
            Some("57P01" | "57P02" | "57P03" | "53300" | "57014" | "40001" | "40P01")
        ),
        _ => false,
    }
}
