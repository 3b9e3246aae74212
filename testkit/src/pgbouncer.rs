//! A PgBouncer of a test's own in transaction pooling mode, in front of a PostgreSQL server, so
//! the fleet can be run the way hosted poolers (Supabase, Neon, RDS Proxy-style setups) run it:
//! many client connections taking turns on a few server connections, one transaction at a time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{Connection, PgConnection};

use crate::process::{ChildProcess, free_port};

const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Where `scripts/pgbouncer.sh` installs a PgBouncer new enough for protocol-level prepared
/// statements in transaction mode (1.21+).
const BUILT_PGBOUNCER: &str = "/usr/local/lib/recete-pgbouncer/bin/pgbouncer";
/// PgBouncer refuses to run as root.
const SERVER_USER: &str = "postgres";

pub struct TestPgBouncer {
    port: u16,
    dir: PathBuf,
    server: Option<ChildProcess>,
}

impl TestPgBouncer {
    /// Starts PgBouncer on a free port, pooling `server_pool_size` server connections per user
    /// and database to the server at `upstream_host:upstream_port`, with trust authentication
    /// for `users`. The binary comes from `RECETE_TEST_PGBOUNCER`, else the one
    /// `scripts/pgbouncer.sh` builds, else `pgbouncer` on `PATH`.
    pub async fn start(
        upstream_host: &str,
        upstream_port: u16,
        server_pool_size: u32,
        users: &[&str],
    ) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("recete-pgbouncer-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let port = free_port()?;
        let users_file: String = users.iter().map(|user| format!("\"{user}\" \"\"\n")).collect();
        std::fs::write(dir.join("users.txt"), users_file)?;
        let ini = format!(
            "[databases]\n* = host={upstream_host} port={upstream_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {users}\n\
             pool_mode = transaction\ndefault_pool_size = {server_pool_size}\nmin_pool_size = 0\n\
             max_client_conn = 1000\nmax_prepared_statements = 500\n\
             ignore_startup_parameters = extra_float_digits\n\
             server_tls_sslmode = disable\nlogfile = {log}\n",
            users = dir.join("users.txt").display(),
            log = dir.join("pgbouncer.log").display(),
        );
        std::fs::write(dir.join("pgbouncer.ini"), ini)?;
        let as_root = running_as_root();
        if as_root {
            let status = Command::new("chown").args(["-R", SERVER_USER]).arg(&dir).status()?;
            anyhow::ensure!(status.success(), "cannot chown {} to {SERVER_USER}", dir.display());
        }
        let binary = binary()?;
        let mut command = if as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVER_USER, "--"]).arg(&binary);
            command
        } else {
            Command::new(&binary)
        };
        command.arg(dir.join("pgbouncer.ini")).stdout(Stdio::null()).stderr(Stdio::null());
        let server = ChildProcess::spawn(format!("pgbouncer on port {port}"), &mut command)?;
        let mut bouncer = Self { port, dir, server: Some(server) };
        bouncer.wait_until_answering(users.first().copied().unwrap_or("postgres")).await?;
        Ok(bouncer)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL reaching `database` as `user` through the pooler.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// What PgBouncer wrote to its log, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    async fn wait_until_answering(&mut self, user: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = self.url(user, "postgres");
        loop {
            match PgConnection::connect(&url).await {
                Ok(connection) => {
                    connection.close().await?;
                    return Ok(());
                }
                Err(error) => {
                    if let Some(server) = &mut self.server {
                        anyhow::ensure!(server.is_running()?, "pgbouncer exited at start: {}", self.log());
                    }
                    anyhow::ensure!(
                        Instant::now() < deadline,
                        "pgbouncer on port {} did not answer within {START_TIMEOUT:?}: {error}; log: {}",
                        self.port,
                        self.log()
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Drop for TestPgBouncer {
    fn drop(&mut self) {
        self.server.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("RECETE_TEST_PGBOUNCER") {
        return Ok(PathBuf::from(path));
    }
    if Path::new(BUILT_PGBOUNCER).exists() {
        return Ok(PathBuf::from(BUILT_PGBOUNCER));
    }
    let found = Command::new("sh").args(["-c", "command -v pgbouncer"]).output()?;
    anyhow::ensure!(found.status.success(), "no PgBouncer found: run `make tools` (scripts/pgbouncer.sh)");
    Ok(PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
}

fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|metadata| metadata.uid() == 0).unwrap_or(false)
}
