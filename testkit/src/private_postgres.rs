//! A PostgreSQL cluster of a test's own (initdb in a temporary directory, a free port), so the
//! test may stop and restart it without touching the server other tests share.
//!
//! PostgreSQL refuses to run as root; when the tests run as root, the cluster belongs to the
//! `postgres` system user and every server command runs as that user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::Context;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection};

use crate::process::free_port;

/// Ports tried before a private server is given up.
const START_ATTEMPTS: u32 = 3;

const SERVER_USER: &str = "postgres";
/// Trust authentication on a throwaway cluster; `--no-sync` because nothing must survive a crash
/// of the machine.
const INITDB_OPTIONS: &[&str] = &["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"];
/// Seconds `pg_ctl` waits for the server to start or stop.
const PG_CTL_WAIT_SECS: &str = "60";

pub struct PrivatePostgres {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    running: bool,
    tls: bool,
}

/// Client authentication of a TLS-only cluster: the server's own socket for `pg_ctl`, TLS over
/// TCP, and every plaintext TCP connection refused.
const TLS_ONLY_HBA: &str =
    "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\n";

impl PrivatePostgres {
    /// Creates and starts a cluster with trust authentication on 127.0.0.1 and the owner and
    /// application roles the tests connect as. Server binaries come from `RECETE_TEST_PG_BIN`,
    /// else the newest `/usr/lib/postgresql/*/bin`.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// Like [`PrivatePostgres::start`], but TCP connections must use TLS (`ssl = on`, a
    /// `hostssl`-only `pg_hba.conf`) with the server certificate of `certificates`.
    pub async fn start_tls(certificates: &crate::TestCertificates) -> anyhow::Result<Self> {
        Self::start_with(Some(certificates)).await
    }

    async fn start_with(certificates: Option<&crate::TestCertificates>) -> anyhow::Result<Self> {
        let bin = server_binaries()?;
        let root = std::env::temp_dir().join(format!("recete-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
        let mut cluster = Self { bin, root, port: free_port()?, running: false, tls: certificates.is_some() };
        if let Some(certificates) = certificates {
            std::fs::copy(certificates.server_certificate(), cluster.root.join("server.pem"))?;
            std::fs::copy(certificates.server_key(), cluster.root.join("server.key"))?;
            std::fs::set_permissions(cluster.root.join("server.key"), std::fs::Permissions::from_mode(0o600))?;
        }
        if running_as_root()? {
            run(Command::new("chown").args(["-R", SERVER_USER]).arg(&cluster.root))?;
        }
        let data = cluster.data_dir();
        run(cluster.server_command("initdb").arg("-D").arg(&data).args(INITDB_OPTIONS))?;
        if cluster.tls {
            let hba = data.join("pg_hba.conf");
            std::fs::write(&hba, TLS_ONLY_HBA).with_context(|| format!("cannot write {}", hba.display()))?;
        }
        // The free port is only free when it was picked: another process (a client socket of a
        // test running beside this one) may take it before the server binds it. The server then
        // fails at once; it tries again on another port.
        let mut attempt = 1;
        while let Err(error) = cluster.restart().await {
            if attempt == START_ATTEMPTS {
                return Err(error);
            }
            eprintln!(
                "warning: the private PostgreSQL could not start on port {}: {error:#}; another port",
                cluster.port
            );
            attempt += 1;
            cluster.port = free_port()?;
        }
        cluster.create_roles().await?;
        Ok(cluster)
    }

    /// A superuser URL, for `TestDatabase::create_in` (over TLS, checked against nothing, on a
    /// TLS-only cluster).
    pub fn admin_url(&self) -> String {
        let tls = if self.tls { "?sslmode=require" } else { "" };
        format!("postgres://postgres@127.0.0.1:{}/postgres{tls}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`): connections are cut as in a crash
    /// and the next start recovers from the write-ahead log.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.pg_ctl(&["stop", "-m", "immediate"]).await?;
        self.running = false;
        Ok(())
    }

    /// Starts the server (again) on the same port and data, and waits until it accepts
    /// connections.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        // The socket lives in the cluster's own directory, clear of the shared server's.
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.root.display()
        );
        if self.tls {
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                self.root.join("server.pem").display(),
                self.root.join("server.key").display()
            ));
        }
        let log = self.root.join("server.log");
        self.pg_ctl(&["start", "-o", &options, "-l", &log.to_string_lossy()]).await?;
        self.running = true;
        Ok(())
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    async fn pg_ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut command = self.server_command("pg_ctl");
        command.arg("-D").arg(self.data_dir()).args(["-w", "-t", PG_CTL_WAIT_SECS]).args(args);
        tokio::task::spawn_blocking(move || run(&mut command)).await.context("pg_ctl panicked")??;
        Ok(())
    }

    fn server_command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if running_as_root().unwrap_or(false) {
            let mut command = Command::new("runuser");
            command.args(["-u", SERVER_USER, "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// The owner role (migrations) and the application role, as `make services` makes them.
    async fn create_roles(&self) -> anyhow::Result<()> {
        let admin: PgConnectOptions = self.admin_url().parse()?;
        let mut connection = PgConnection::connect_with(&admin).await.context("connect to the private cluster")?;
        for role in [crate::database::owner_role(), crate::database::app_role()] {
            connection
                .execute(
                    format!(r#"CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"#).as_str(),
                )
                .await
                .with_context(|| format!("create role {role} in the private cluster"))?;
        }
        connection.close().await?;
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            let mut command = self.server_command("pg_ctl");
            command.arg("-D").arg(self.data_dir()).args(["-w", "-t", PG_CTL_WAIT_SECS, "stop", "-m", "immediate"]);
            if let Err(error) = run(&mut command) {
                eprintln!("warning: the private PostgreSQL on port {} did not stop: {error:#}", self.port);
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.root) {
            eprintln!("warning: cannot remove {}: {error}", self.root.display());
        }
    }
}

fn server_binaries() -> anyhow::Result<PathBuf> {
    if let Ok(bin) = std::env::var("RECETE_TEST_PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql; set RECETE_TEST_PG_BIN to the directory holding initdb")?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).context("no initdb under /usr/lib/postgresql/*/bin")
}

/// `/proc/self` belongs to the user the process runs as.
fn running_as_root() -> anyhow::Result<bool> {
    Ok(std::fs::metadata(Path::new("/proc/self")).context("cannot read /proc/self")?.uid() == 0)
}

fn run(command: &mut Command) -> anyhow::Result<Output> {
    let shown = format!("{command:?}");
    let output = command.output().with_context(|| format!("cannot run {shown}"))?;
    anyhow::ensure!(
        output.status.success(),
        "{shown} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(output)
}
