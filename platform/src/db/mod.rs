//! PostgreSQL access: the pool, migrations and the two kinds of transaction.
//!
//! Row-level security hides every tenant row unless the transaction says whose rows it works
//! on. [`tenant_tx`] sets `recete.merchant_id` for one merchant; [`system_tx`] sets
//! `recete.scope = 'system'` for the few paths that act across merchants (webhook routing,
//! workers). Both settings are transaction-local, so a pooled connection never carries them to
//! the next user.
//!
//! Nothing is set for a whole session, because a pooler in transaction mode (PgBouncer) hands
//! one server connection to many clients: every transaction sets its own `statement_timeout`
//! (`database.statement_timeout_ms`) and `idle_in_transaction_session_timeout`
//! (`database.idle_in_transaction_timeout_ms`), so PostgreSQL cancels a runaway statement and ends
//! a transaction left idle. The role's own defaults (`deploy/postgres/roles.sql`) cover the few
//! single statements run outside a transaction.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool, Postgres, Transaction};

use crate::config::DatabaseSettings;
use crate::ids::MerchantId;

pub mod listening;
pub mod privileges;

pub type Tx = Transaction<'static, Postgres>;

/// The limits every transaction sets for itself.
#[derive(Debug, Clone, Copy)]
struct TransactionLimits {
    statement_timeout_ms: u64,
    idle_in_transaction_timeout_ms: u64,
}

/// Used for a database no [`connect_lazy`] has described (pools made by tests' own helpers).
const DEFAULT_LIMITS: TransactionLimits =
    TransactionLimits { statement_timeout_ms: 5_000, idle_in_transaction_timeout_ms: 120_000 };

/// The limits by database name, recorded by [`connect_lazy`]: a pool cannot carry them, and they
/// must be set inside every transaction to hold through a transaction-mode pooler.
static TRANSACTION_LIMITS: LazyLock<RwLock<HashMap<String, TransactionLimits>>> = LazyLock::new(Default::default);

/// `(statement_timeout, idle_in_transaction_session_timeout)` in milliseconds, as `set_config`
/// takes them.
fn limits(pool: &PgPool) -> (String, String) {
    let options = pool.connect_options();
    let database = options.get_database().unwrap_or_default();
    let limits = TRANSACTION_LIMITS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    let limits = limits.get(database).copied().unwrap_or(DEFAULT_LIMITS);
    (limits.statement_timeout_ms.to_string(), limits.idle_in_transaction_timeout_ms.to_string())
}

/// The migrations, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A lazily connecting pool: the process starts even while PostgreSQL is down, and readiness
/// and requests report it instead. TLS follows the URL's `sslmode` and `sslrootcert`.
pub fn connect_lazy(settings: &DatabaseSettings) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = settings.url.expose_secret().parse()?;
    TRANSACTION_LIMITS.write().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(
        options.get_database().unwrap_or_default().to_owned(),
        TransactionLimits {
            statement_timeout_ms: settings.statement_timeout_ms,
            idle_in_transaction_timeout_ms: settings.idle_in_transaction_timeout_ms,
        },
    );
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

/// A transaction with the limits above. It sees no tenant's rows until [`set_tenant`] or the
/// system scope says whose.
pub async fn begin(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let (statement_timeout, idle_timeout) = limits(pool);
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT set_config('statement_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)",
    )
    .bind(statement_timeout)
    .bind(idle_timeout)
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// A transaction that sees and writes only `merchant`'s rows.
pub async fn tenant_tx(pool: &PgPool, merchant: MerchantId) -> Result<Tx, sqlx::Error> {
    let (statement_timeout, idle_timeout) = limits(pool);
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT set_config('recete.merchant_id', $1, true), set_config('recete.scope', '', true),
                set_config('statement_timeout', $2, true), set_config('idle_in_transaction_session_timeout', $3, true)",
    )
    .bind(merchant.to_string())
    .bind(statement_timeout)
    .bind(idle_timeout)
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

/// Widens a transaction scoped to one merchant by [`set_tenant`] back to every merchant, for the
/// fleet's own bookkeeping after a merchant's work (a worker's batch spanning merchants).
pub async fn set_system(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('recete.scope', 'system', true)").execute(&mut **tx).await?;
    Ok(())
}

/// A transaction that acts across merchants. Use only where no single merchant is known yet
/// or where the work is the fleet's own (routing, relays, reconcilers).
pub async fn system_tx(pool: &PgPool) -> Result<Tx, sqlx::Error> {
    let (statement_timeout, idle_timeout) = limits(pool);
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT set_config('recete.scope', 'system', true), set_config('statement_timeout', $1, true),
                set_config('idle_in_transaction_session_timeout', $2, true)",
    )
    .bind(statement_timeout)
    .bind(idle_timeout)
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

/// Marks a savepoint `name` in the transaction (a name written in the code, never input).
pub async fn savepoint(tx: &mut Tx, name: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("SAVEPOINT {name}")).execute(&mut **tx).await?;
    Ok(())
}

/// Keeps what was done since the savepoint `name`, and forgets the savepoint.
pub async fn release_savepoint(tx: &mut Tx, name: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("RELEASE SAVEPOINT {name}")).execute(&mut **tx).await?;
    Ok(())
}

/// Undoes what was done since the savepoint `name`; the transaction goes on from there.
pub async fn rollback_to_savepoint(tx: &mut Tx, name: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("ROLLBACK TO SAVEPOINT {name}")).execute(&mut **tx).await?;
    Ok(())
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
