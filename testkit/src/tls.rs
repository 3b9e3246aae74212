//! A throwaway certificate authority and server certificates for TLS tests, made with the
//! `openssl` command line: a CA, and a certificate for `127.0.0.1` and `localhost` it signs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// A CA and one server certificate in a directory of their own, removed with the guard.
pub struct TestCertificates {
    dir: PathBuf,
}

impl TestCertificates {
    /// Makes a CA named `name` and a server certificate for 127.0.0.1 and localhost signed by it.
    pub fn create(name: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("recete-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let certificates = Self { dir };
        let ca_subject = format!("/CN={name} test CA");
        openssl(
            &certificates.dir,
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &ca_subject]
                .into_iter()
                .chain(["-keyout", "ca.key", "-out", "ca.pem"])
                .collect::<Vec<_>>(),
        )?;
        openssl(
            &certificates.dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        )?;
        std::fs::write(
            certificates.dir.join("server.ext"),
            "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n",
        )?;
        openssl(
            &certificates.dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        )?;
        Ok(certificates)
    }

    /// The CA certificate (PEM) clients trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server certificate (PEM), signed by the CA, for 127.0.0.1 and localhost.
    pub fn server_certificate(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    /// The server's private key (PEM, unencrypted).
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
}

impl Drop for TestCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("cannot run openssl (install the openssl package)")?;
    anyhow::ensure!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}
