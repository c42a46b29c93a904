//! The release build of `beckon` under test: building it, its admin
//! commands, `beckon serve` as a guarded child process, and inviting users
//! through the API.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use super::db::Db;
use super::http::{self, Client};
use super::sys::{self, Guard};

/// How one Beckon is configured: the same environment for its admin
/// commands and its server.
pub struct Beckon {
    bin: PathBuf,
    env: Vec<(&'static str, String)>,
    pub port: u16,
}

/// A tenant with an admin key, the principal every request runs as.
pub struct Tenant {
    pub id: String,
    pub key: String,
}

impl Beckon {
    /// Cooldown and daily cap off, so that every resend is a real token
    /// rotation and a queued email rather than a cheap 429.
    pub fn new(bin: &Path, db: &Db, mailer: String) -> anyhow::Result<Self> {
        let port = sys::free_port()?;
        Ok(Self {
            bin: bin.to_path_buf(),
            port,
            env: vec![
                ("BECKON_DATABASE_URL", db.url()),
                ("BECKON_MAILER", mailer),
                ("BECKON_LISTEN", format!("127.0.0.1:{port}")),
                ("BECKON_METRICS_LISTEN", "off".into()),
                ("BECKON_RESEND_COOLDOWN", "0s".into()),
                ("BECKON_RESEND_DAILY_LIMIT", "0".into()),
                ("BECKON_LOG", "warn".into()),
            ],
        })
    }

    /// The same Beckon delivering elsewhere.
    pub fn with_mailer(&self, mailer: String) -> Self {
        let mut env = self.env.clone();
        for (k, v) in &mut env {
            if *k == "BECKON_MAILER" {
                v.clone_from(&mailer);
            }
        }
        Self {
            bin: self.bin.clone(),
            env,
            port: self.port,
        }
    }

    /// Runs an admin command and returns its JSON answer.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        sys::stdout(
            Command::new(&self.bin)
                .args(args)
                .envs(self.env.iter().map(|(k, v)| (*k, v))),
        )
    }

    /// Migrates and creates a tenant with an admin key.
    pub fn setup(&self) -> anyhow::Result<Tenant> {
        self.cli(&["migrate"])?;
        let id = http::field(&self.cli(&["tenant", "create", "--name", "Bench"])?, "id")?;
        let key = http::field(
            &self.cli(&["api-key", "create", "--tenant", &id, "--role", "admin"])?,
            "key",
        )?;
        Ok(Tenant { id, key })
    }

    /// Starts `beckon serve` and waits until it is healthy.
    pub fn serve(&self) -> anyhow::Result<Guard> {
        let child = Command::new(&self.bin)
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (*k, v)))
            .stdout(Stdio::null())
            .spawn()
            .context("starting beckon serve")?;
        let mut server = Guard::new("beckon serve", child);
        http::wait_healthy(self.port)?;
        server.check_running()?;
        Ok(server)
    }
}

/// Invites `count` users (`{prefix}{i}@example.com`) through the API, four
/// connections at a time, and returns their ids. Each invite also queues
/// its first email.
pub fn invite(port: u16, t: &Tenant, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
    const THREADS: usize = 4;
    let auth = format!("Bearer {}", t.key);
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Tenant-ID", t.id.as_str()),
        ("Content-Type", "application/json"),
    ];
    let chunks: Vec<Vec<usize>> = (0..THREADS)
        .map(|k| (k..count).step_by(THREADS).collect())
        .collect();
    let (headers, prefix) = (&headers, prefix);
    let results: Vec<anyhow::Result<Vec<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                s.spawn(move || -> anyhow::Result<Vec<String>> {
                    let mut client = Client::connect(port)?;
                    let mut ids = Vec::with_capacity(chunk.len());
                    for i in chunk {
                        let body = format!("{{\"email\":\"{prefix}{i}@example.com\"}}");
                        let (status, answer) =
                            client.request("POST", "/v1/users", headers, &body)?;
                        if status != 201 {
                            bail!("inviting a user answered {status}: {answer}");
                        }
                        ids.push(http::field(&answer, "id")?);
                    }
                    Ok(ids)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("an invite thread panicked")))
            })
            .collect()
    });
    let mut ids = Vec::with_capacity(count);
    for r in results {
        ids.extend(r?);
    }
    Ok(ids)
}
