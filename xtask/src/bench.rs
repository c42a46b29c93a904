//! `cargo xtask bench`: resends per second against a release build, with
//! wrk as the load generator, on SQLite (default) or PostgreSQL.
//!
//! It builds the release binary, starts `beckon serve` on a fresh database
//! (cooldown and daily cap off, so every resend is a real token rotation and
//! a queued email; the worker delivers to a temporary mail folder meanwhile),
//! invites a set of users, then runs wrk against the resend endpoint.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

/// Options of one run.
struct Options {
    postgres: bool,
    users: usize,
    connections: usize,
    duration: String,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        postgres: false,
        users: 200,
        connections: 16,
        duration: "10s".into(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--postgres" => o.postgres = true,
            "--users" => o.users = value()?.parse().context("--users")?,
            "--connections" => o.connections = value()?.parse().context("--connections")?,
            "--duration" => o.duration = value()?,
            other => bail!(
                "unknown option {other} (options: --postgres, --users N, --connections N, --duration 10s)"
            ),
        }
    }
    Ok(o)
}

/// Runs the benchmark and prints its figures.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let opts = parse(args)?;
    which("wrk").context("wrk is needed (Debian package `wrk`)")?;
    which("curl").context("curl is needed")?;
    status(
        Command::new("cargo")
            .args(["build", "--release", "-q", "-p", "beckon"])
            .current_dir(root),
    )?;
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let bin = target.join("release/beckon");

    let tmp = std::env::temp_dir().join(format!("beckon-bench-{}", std::process::id()));
    std::fs::create_dir_all(tmp.join("mail"))?;
    let port = free_port()?;
    let (db_url, drop_db) = if opts.postgres {
        postgres_db()?
    } else {
        (format!("sqlite://{}/bench.db", tmp.display()), None)
    };
    let db_admin = opts.postgres.then(|| db_url.clone());
    let env: Vec<(&str, String)> = vec![
        ("BECKON_DATABASE_URL", db_url),
        ("BECKON_MAILER", format!("file://{}/mail", tmp.display())),
        ("BECKON_LISTEN", format!("127.0.0.1:{port}")),
        ("BECKON_RESEND_COOLDOWN", "0s".into()),
        ("BECKON_RESEND_DAILY_LIMIT", "0".into()),
        ("BECKON_LOG", "warn".into()),
    ];
    let cli = |args: &[&str]| -> anyhow::Result<String> {
        let out = Command::new(&bin)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .output()?;
        if !out.status.success() {
            bail!("beckon {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    cli(&["migrate"])?;
    let tenant = field(&cli(&["tenant", "create", "--name", "Bench"])?, "id")?;
    let key = field(
        &cli(&["api-key", "create", "--tenant", &tenant, "--role", "admin"])?,
        "key",
    )?;

    let server = Command::new(&bin)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::null())
        .spawn()
        .context("starting beckon serve")?;
    let server = Guard(server);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base)?;

    let started = Instant::now();
    let mut ids = String::new();
    for i in 0..opts.users {
        let body = format!("{{\"email\":\"bench{i}@example.com\"}}");
        let out = curl(
            &key,
            &tenant,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                &body,
                &format!("{base}/v1/users"),
            ],
        )?;
        ids.push_str(&field(&out, "id")?);
        ids.push('\n');
    }
    let ids_path = tmp.join("ids.txt");
    std::fs::write(&ids_path, ids)?;
    println!(
        "invited {} users in {:.1} s",
        opts.users,
        started.elapsed().as_secs_f64()
    );

    let script = root.join("xtask/bench/resend.lua");
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", opts.connections),
            &format!("-d{}", opts.duration),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(&base)
        .env("BENCH_IDS", &ids_path)
        .env("BENCH_KEY", &key)
        .env("BENCH_TENANT", &tenant)
        .output()
        .context("running wrk")?;
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{report}");
    drop(server);
    let floor = match &db_admin {
        Some(url) => Some(pgbench_floor(root, url, &tenant, &opts)?),
        None => None,
    };
    if let Some(drop_db) = drop_db {
        drop_db()?;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let rps = report
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .map(str::trim)
        .ok_or_else(|| anyhow!("wrk printed no Requests/sec"))?;
    let errors = report
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .unwrap_or("no non-2xx responses");
    println!(
        "resends/s on {}: {rps} ({} connections, {} users; {})",
        if opts.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        opts.connections,
        opts.users,
        errors.trim()
    );
    if let Some(tps) = floor {
        let app: f64 = rps.parse().unwrap_or(0.0);
        println!(
            "pgbench floor (the same SQL, {} connections): {tps:.0} tps; Beckon reaches {:.0} % of it",
            opts.connections,
            100.0 * app / tps
        );
    }
    Ok(())
}

/// Runs the SQL of one resend with pgbench on the same database, for the
/// floor the HTTP numbers are compared with.
fn pgbench_floor(root: &Path, url: &str, tenant: &str, opts: &Options) -> anyhow::Result<f64> {
    which("pgbench").context("pgbench is needed for the PostgreSQL floor")?;
    let setup = "CREATE TABLE bench_users AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, tenant_id, id FROM users; \
                 CREATE UNIQUE INDEX ON bench_users (n);";
    status(Command::new("psql").args([url, "-qc", setup]))?;
    let secs = opts.duration.trim_end_matches('s');
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-j",
            "2",
            "-c",
            &opts.connections.to_string(),
            "-T",
            secs,
        ])
        .args([
            "-D",
            &format!("tenant={tenant}"),
            "-D",
            &format!("users={}", opts.users),
            "-f",
        ])
        .arg(root.join("xtask/bench/resend.pgbench.sql"))
        .arg(url)
        .output()
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            anyhow!(
                "pgbench printed no tps: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

type DropDb = Box<dyn FnOnce() -> anyhow::Result<()>>;

/// A fresh database on the PostgreSQL named by `BECKON_TEST_DATABASE_URL`
/// (default: the local one), and how to drop it.
fn postgres_db() -> anyhow::Result<(String, Option<DropDb>)> {
    let admin = std::env::var("BECKON_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("beckon_bench_{}", std::process::id());
    status(Command::new("psql").args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")]))?;
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_owned();
    let drop: DropDb = Box::new(move || {
        status(Command::new("psql").args([
            admin.as_str(),
            "-qc",
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ]))
    });
    Ok((
        format!("{base}/beckon_bench_{}", std::process::id()),
        Some(drop),
    ))
}

fn curl(key: &str, tenant: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            &format!("Authorization: Bearer {key}"),
            "-H",
            &format!("X-Tenant-ID: {tenant}"),
        ])
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!("curl {args:?} failed");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Pulls `"name":"value"` out of a flat JSON object (the CLI's and the API's
/// answers are flat where this is used).
fn field(json: &str, name: &str) -> anyhow::Result<String> {
    let pat = format!("\"{name}\":\"");
    let start = json
        .find(&pat)
        .ok_or_else(|| anyhow!("no {name} in {json}"))?
        + pat.len();
    let end = json[start..]
        .find('"')
        .ok_or_else(|| anyhow!("bad {name} in {json}"))?;
    Ok(json[start..start + end].to_owned())
}

fn wait_healthy(base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let ok = Command::new("curl")
            .args(["-sf", &format!("{base}/healthz")])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("beckon serve did not become healthy")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn which(program: &str) -> anyhow::Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()?
        .status
        .success();
    if found {
        Ok(())
    } else {
        bail!("{program} not found")
    }
}

fn status(cmd: &mut Command) -> anyhow::Result<()> {
    let s = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if s.success() {
        Ok(())
    } else {
        bail!("{cmd:?} failed with {s}")
    }
}

/// Stops the server (SIGTERM: graceful) when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}
