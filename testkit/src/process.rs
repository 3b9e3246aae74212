//! Child processes a test starts, signalled by their own id and never outliving their guard.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Child, ChildStderr, Command, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A running child process; killed and reaped when dropped, so a failing test leaves nothing
/// behind.
pub struct ChildProcess {
    name: String,
    child: Child,
    exited: Option<ExitStatus>,
}

impl ChildProcess {
    /// Starts `command`; `name` labels every error about this process.
    pub fn spawn(name: impl Into<String>, command: &mut Command) -> anyhow::Result<Self> {
        let name = name.into();
        let child = command.spawn().with_context(|| format!("cannot start {name}"))?;
        Ok(Self { name, child, exited: None })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process's standard error, when it was piped and not taken yet.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// What the process wrote to its piped standard output and error, read to the end: for a
    /// process that has exited (or writes little).
    pub fn read_output(&mut self) -> anyhow::Result<(String, String)> {
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            pipe.read_to_string(&mut stdout).with_context(|| format!("cannot read {}'s output", self.name))?;
        }
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr).with_context(|| format!("cannot read {}'s errors", self.name))?;
        }
        Ok((stdout, stderr))
    }

    /// Sends `signal` (a name `kill -s` knows: TERM, KILL, STOP, …) to this process only.
    pub fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let status = Command::new("kill")
            .args(["-s", signal, &self.id().to_string()])
            .status()
            .with_context(|| format!("cannot run kill for {}", self.name))?;
        anyhow::ensure!(status.success(), "kill -s {signal} {} ({}) failed: {status}", self.id(), self.name);
        Ok(())
    }

    /// SIGKILL, then reaps the process.
    pub fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.exit_status()? {
            return Ok(status);
        }
        self.child.kill().with_context(|| format!("cannot kill {}", self.name))?;
        let status = self.child.wait().with_context(|| format!("cannot reap {}", self.name))?;
        self.exited = Some(status);
        Ok(status)
    }

    /// The exit status once the process has exited, without waiting.
    pub fn exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().with_context(|| format!("cannot check on {}", self.name))?;
        }
        Ok(self.exited)
    }

    pub fn is_running(&mut self) -> anyhow::Result<bool> {
        Ok(self.exit_status()?.is_none())
    }

    /// Waits for the process to exit on its own; an error names the process when it outlives
    /// `timeout`.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status()? {
                return Ok(status);
            }
            anyhow::ensure!(Instant::now() < deadline, "{} still running after {timeout:?}", self.name);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            eprintln!("warning: {error:#}");
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago, for a server started next.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a free port")?;
    Ok(listener.local_addr()?.port())
}
