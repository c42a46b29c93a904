//! Processes and the machine: tool checks, child processes that stop when
//! dropped, free ports, a process's peak memory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A program the benchmark runs, and where to get it when it is missing.
pub struct Tool {
    pub program: &'static str,
    pub install: &'static str,
}

pub const WRK: Tool = Tool {
    program: "wrk",
    install: "apt-get install wrk",
};
pub const OHA: Tool = Tool {
    program: "oha",
    install: "cargo install oha --locked",
};
pub const PGBENCH: Tool = Tool {
    program: "pgbench",
    install: "apt-get install postgresql (pgbench comes with the server package)",
};
pub const PSQL: Tool = Tool {
    program: "psql",
    install: "apt-get install postgresql-client",
};
pub const SMTP_SINK: Tool = Tool {
    program: "smtp-sink",
    install: "apt-get install postfix (smtp-sink is in /usr/sbin)",
};
pub const SMTP_SOURCE: Tool = Tool {
    program: "smtp-source",
    install: "apt-get install postfix (smtp-source is in /usr/sbin)",
};

/// Fails naming every missing tool and how to install it, before anything
/// runs: a benchmark that stops half-way after minutes helps nobody.
pub fn require(tools: &[&Tool]) -> anyhow::Result<()> {
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| !found(t.program))
        .map(|t| format!("  {} (install: {})", t.program, t.install))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        bail!("missing tools:\n{}", missing.join("\n"))
    }
}

/// Whether `program` is on PATH or in /usr/sbin (Postfix's tools live there
/// and it is not on every user's PATH).
fn found(program: &str) -> bool {
    std::path::Path::new("/usr/sbin").join(program).exists()
        || Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success())
}

/// The path to run `program` by: /usr/sbin's copy when it is not on PATH.
pub fn program(program: &str) -> String {
    let on_path = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        program.to_owned()
    } else {
        format!("/usr/sbin/{program}")
    }
}

/// Builds `package` in release mode and returns its binary (named like the
/// package) in the shared target folder.
pub fn build_release(root: &Path, package: &str) -> anyhow::Result<PathBuf> {
    println!("building {package} (release)…");
    output(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["build", "--release", "-q", "-p", package])
            .current_dir(root)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit()),
    )?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    Ok(target.join("release").join(package))
}

/// Runs a command to completion; fails with the end of its stderr when it
/// fails.
pub fn output(cmd: &mut Command) -> anyhow::Result<Output> {
    let out = cmd
        .output()
        .with_context(|| format!("running {}", shown(cmd)))?;
    if !out.status.success() {
        // The end of stderr says why; a tool that failed on every request
        // (pgbench) would otherwise bury it under thousands of lines.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.trim().lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        bail!("{} failed with {}:\n{tail}", shown(cmd), out.status);
    }
    Ok(out)
}

/// The program and its arguments, without the environment (which holds
/// the benchmark's API key).
fn shown(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs a command to completion and returns its stdout.
pub fn stdout(cmd: &mut Command) -> anyhow::Result<String> {
    Ok(String::from_utf8_lossy(&output(cmd)?.stdout).into_owned())
}

/// A port nobody listens on right now (the listener is closed again, so a
/// connection to it is refused until someone binds it).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process that is stopped when dropped: SIGTERM (graceful for
/// `beckon serve`), then SIGKILL if it has not exited within 15 s. Every
/// long-running child goes into one, so an error anywhere leaves nothing
/// running.
pub struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    pub fn new(name: &'static str, child: Child) -> Self {
        Self { child, name }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has already exited (it should be serving).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("{} exited early with {status}", self.name),
        }
    }

    /// Stops the process now and waits for it.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The peak resident set size of a running process in bytes (`VmHWM`).
pub fn peak_rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmHWM in /proc/PID/status")?;
    Ok(kb * 1024)
}

/// Whether this process runs as root (smtp-sink then needs `-u`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
