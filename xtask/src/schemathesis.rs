//! `cargo xtask schemathesis [--binary PATH] [--max-examples N] [--seed N]`:
//! hostile input against the real server. Starts a release `beckon` on a
//! fresh SQLite database on a free 127.0.0.1 port (file mailer into a
//! temporary folder), creates a tenant and an admin key, and runs the pinned
//! schemathesis (in `.venv-schemathesis/`, made here like `.venv-smtp/`)
//! against `/openapi.json` with every phase and every check. Fails on any
//! failure schemathesis reports, on fewer requests than [`MIN_REQUESTS`], on
//! a run longer than [`TIME_LIMIT`], and when Python or the venv is missing:
//! it never skips.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The folder, relative to the workspace root.
pub const VENV_DIR: &str = ".venv-schemathesis";

/// What is installed, pinned: schemathesis and everything it pulls in, so
/// that two CI runs generate from the same code.
const REQUIREMENTS: [&str; 27] = [
    "schemathesis==4.32.5",
    "anyio==4.16.0",
    "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3",
    "click==8.5.1",
    "graphql-core==3.3.2",
    "harfile==0.6.0",
    "hypothesis==6.170.17",
    "hypothesis-graphql==0.13.5",
    "idna==3.20",
    "iniconfig==2.3.1",
    "jsonschema_rs==0.60.3",
    "markdown-it-py==4.3.0",
    "MarkupSafe==3.0.4",
    "mdurl==0.1.2",
    "packaging==26.4",
    "pluggy==1.7.0",
    "Pygments==2.21.0",
    "pyrate-limiter==4.5.1",
    "pytest==9.2.0",
    "PyYAML==6.0.4",
    "requests==2.34.2",
    "rich==15.0.0",
    "sortedcontainers==2.4.0",
    "typing_extensions==4.16.0",
    "urllib3==2.8.0",
    "Werkzeug==3.1.9",
];

/// The Python the venv is made with.
const BASE_PYTHON: &str = "python3";

/// Test cases per operation and phase unless `--max-examples` says otherwise.
const DEFAULT_MAX_EXAMPLES: u32 = 200;

/// A run that sends fewer requests than this proves too little: it fails.
const MIN_REQUESTS: u64 = 1_000;

/// The whole schemathesis run is stopped (and fails) after this long: it
/// takes 26–46 s here (2 cores, shared), and CI keeps the step under two
/// minutes.
const TIME_LIMIT: Duration = Duration::from_secs(110);

/// How long `beckon serve` may take to answer `/healthz`.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The schemathesis configuration. Every check runs (`--checks all`); what
/// is configured here is which documented statuses are the right answer to
/// a request of the documented *form* (schemathesis's
/// `positive_data_acceptance` otherwise takes only 2xx, 3xx, 401, 403, 404,
/// 409, 429 and 5xx), each for a reason the document cannot put in a schema
/// because it is state, not form:
///
/// - an invite token of the documented form (43 base64url characters) is
///   refused when no invite has it (400 `invalid_token`) or when it has
///   expired (410 `invite_expired`): tokens travel only by email, so no
///   generated request holds a live one;
/// - an `Idempotency-Key` of the documented form is refused with 422
///   `idempotency_key_reused` when an earlier request used it with another
///   path or body, which generated requests do all the time.
const CONFIG: &str = r#"# Written by `cargo xtask schemathesis`; see xtask/src/schemathesis.rs.

[[operations]]
include-operation-id = "accept_invite"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "410", "503"]

[[operations]]
include-operation-id = ["show_invite_page", "accept_invite_page"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "410", "503"]

[[operations]]
include-operation-id = "invite_user"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "409", "422", "503"]

[[operations]]
include-operation-id = "resend_invite"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429", "503"]

[[operations]]
include-operation-id = "revoke_invite"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "503"]

[[operations]]
include-operation-id = "delete_user"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "503"]
"#;

/// The options.
struct Options {
    binary: PathBuf,
    max_examples: u32,
    /// schemathesis prints 128-bit seeds: a failure's seed replays.
    seed: Option<u128>,
}

fn parse_args(root: &Path, args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        binary: default_binary(root),
        max_examples: DEFAULT_MAX_EXAMPLES,
        seed: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--binary" => options.binary = PathBuf::from(value("--binary")?),
            "--max-examples" => {
                options.max_examples = value("--max-examples")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .context("--max-examples takes a positive integer")?;
            }
            "--seed" => {
                options.seed = Some(
                    value("--seed")?
                        .parse()
                        .context("--seed takes a non-negative integer")?,
                );
            }
            other => bail!(
                "unknown option {other:?} (usage: cargo xtask schemathesis [--binary PATH] \
                 [--max-examples N] [--seed N])"
            ),
        }
    }
    Ok(options)
}

/// `target/release/beckon`, under `CARGO_TARGET_DIR` when that is set.
fn default_binary(root: &Path) -> PathBuf {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    };
    target.join("release").join("beckon")
}

/// The venv's `schemathesis` command.
fn schemathesis_command(root: &Path) -> PathBuf {
    root.join(VENV_DIR).join("bin").join("schemathesis")
}

fn python(root: &Path) -> PathBuf {
    root.join(VENV_DIR).join("bin").join("python")
}

/// Runs the whole check.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let options = parse_args(root, args)?;
    ensure_venv(root)?;
    let binary = if options.binary.is_absolute() {
        options.binary.clone()
    } else {
        root.join(&options.binary)
    };
    if !binary.is_file() {
        bail!(
            "{} does not exist: build it first (cargo build --release -p beckon)",
            binary.display()
        );
    }

    let work = TempDir::new()?;
    let port = free_port()?;
    let beckon = Beckon::new(&binary, work.path(), port)?;
    let (tenant, key) = beckon.setup()?;
    let mut server = beckon.serve(&work.path().join("server.log"))?;

    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).context("writing the schemathesis configuration")?;
    let report_dir = work.path().join("report");
    let mut cmd = Command::new(schemathesis_command(root));
    cmd.arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("http://127.0.0.1:{port}/openapi.json"))
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--checks", "all"])
        .args(["--max-examples", &options.max_examples.to_string()])
        .args(["--request-timeout", "10"])
        .args(["--report", "ndjson"])
        .arg("--report-dir")
        .arg(&report_dir)
        .arg("--no-color");
    if let Some(seed) = options.seed {
        cmd.args(["--seed", &seed.to_string()]);
    }
    // Shown before the credentials are added: the key stays off the log.
    println!("schemathesis: running {}", shown(&cmd));
    cmd.args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["-H", &format!("X-Tenant-ID: {tenant}")])
        .current_dir(work.path())
        .env("PYTHONDONTWRITEBYTECODE", "1");

    let started = Instant::now();
    let status = run_with_deadline(&mut cmd, TIME_LIMIT);
    let elapsed = started.elapsed();
    let server_alive = server.check_running();
    drop(server);

    let counts = count_requests(&report_dir);
    match &counts {
        Ok(c) => println!(
            "schemathesis: {} test cases, {} requests in {:.0} s",
            c.cases,
            c.requests,
            elapsed.as_secs_f64()
        ),
        Err(e) => eprintln!("schemathesis: cannot count the requests: {e:#}"),
    }
    let outcome = (|| {
        let status = status?;
        server_alive.context("beckon serve stopped during the run")?;
        if !status.success() {
            bail!("schemathesis reported failures ({status})");
        }
        let counts = counts?;
        if counts.requests < MIN_REQUESTS {
            bail!(
                "only {} requests were sent, fewer than {MIN_REQUESTS}: raise --max-examples",
                counts.requests
            );
        }
        Ok(())
    })();
    if outcome.is_err() {
        print_server_log(&work.path().join("server.log"));
        work.keep();
    }
    outcome
}

/// Creates the venv and installs the pinned packages unless they already are.
fn ensure_venv(root: &Path) -> anyhow::Result<()> {
    let python = python(root);
    if python.exists() && has_requirements(root) {
        println!("schemathesis: venv up to date: {}", python.display());
        return Ok(());
    }
    if !python.exists() {
        let venv = root.join(VENV_DIR);
        println!("schemathesis: creating {}", venv.display());
        run_command(
            Command::new(BASE_PYTHON).arg("-m").arg("venv").arg(&venv),
            "create the virtual environment (is python3 with the venv module installed?)",
        )?;
    }
    println!("schemathesis: installing {}", REQUIREMENTS[0]);
    run_command(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(REQUIREMENTS),
        "install the packages",
    )?;
    if !has_requirements(root) {
        bail!(
            "{} still does not have the pinned schemathesis",
            python.display()
        );
    }
    println!("schemathesis: venv ready: {}", python.display());
    Ok(())
}

/// Whether the venv has schemathesis at the pinned version, and its command.
fn has_requirements(root: &Path) -> bool {
    let pinned = REQUIREMENTS
        .iter()
        .find_map(|r| r.strip_prefix("schemathesis=="))
        .unwrap_or_default();
    let check = format!(
        "import sys, importlib.metadata as m; \
         sys.exit(0 if m.version('schemathesis') == {pinned:?} else 1)"
    );
    schemathesis_command(root).is_file()
        && Command::new(python(root))
            .args([OsStr::new("-c"), OsStr::new(&check)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn run_command(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let shown = shown(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("cannot {what}: cannot start {shown}"))?;
    if !status.success() {
        bail!("cannot {what}: {shown} failed ({status})");
    }
    Ok(())
}

/// The program and its arguments (never the environment).
fn shown(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd`, stopping it (and failing) when it outlives `limit`.
fn run_with_deadline(cmd: &mut Command, limit: Duration) -> anyhow::Result<ExitStatus> {
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", cmd.get_program().to_string_lossy()))?;
    let mut child = Guard::new("schemathesis", child);
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            bail!(
                "schemathesis did not finish within {} s: stopped",
                limit.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What the run did, from its ndjson event stream.
struct Counts {
    /// Test cases schemathesis generated and ran.
    cases: u64,
    /// HTTP requests sent (a stateful scenario sends several).
    requests: u64,
}

/// Counts test cases and requests in the ndjson report schemathesis wrote.
fn count_requests(report_dir: &Path) -> anyhow::Result<Counts> {
    let mut files = std::fs::read_dir(report_dir)
        .with_context(|| format!("reading {}", report_dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ndjson"));
    let path = files
        .next()
        .with_context(|| format!("no .ndjson report in {}", report_dir.display()))?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut counts = Counts {
        cases: 0,
        requests: 0,
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let event: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}: a line is not JSON", path.display()))?;
        let Some(finished) = event.get("ScenarioFinished") else {
            continue;
        };
        let Some(cases) = finished
            .pointer("/recorder/cases")
            .and_then(|c| c.as_object())
        else {
            continue;
        };
        counts.cases += cases.len() as u64;
        if let Some(interactions) = finished
            .pointer("/recorder/interactions")
            .and_then(|i| i.as_object())
        {
            counts.requests += interactions.len() as u64;
        }
    }
    Ok(counts)
}

/// Prints the end of the server's log (warnings and errors only).
fn print_server_log(path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return;
    }
    let tail = &lines[lines.len().saturating_sub(40)..];
    eprintln!("--- the end of beckon's log ({}) ---", path.display());
    for line in tail {
        eprintln!("{line}");
    }
}

/// One Beckon: the same environment for its admin commands and its server.
struct Beckon {
    bin: PathBuf,
    port: u16,
    env: Vec<(&'static str, String)>,
}

impl Beckon {
    fn new(bin: &Path, dir: &Path, port: u16) -> anyhow::Result<Self> {
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).with_context(|| format!("creating {}", mail.display()))?;
        Ok(Self {
            bin: bin.to_path_buf(),
            port,
            env: vec![
                (
                    "BECKON_DATABASE_URL",
                    format!("sqlite://{}", dir.join("beckon.db").display()),
                ),
                ("BECKON_MAILER", format!("file://{}", mail.display())),
                ("BECKON_LISTEN", format!("127.0.0.1:{port}")),
                ("BECKON_METRICS_LISTEN", "off".into()),
                (
                    "BECKON_ACCEPT_URL",
                    format!("http://127.0.0.1:{port}/invite?token={{token}}"),
                ),
                // Cooldown and daily cap off: a resend of an invited user is
                // a real token rotation and a queued email, not a cheap 429
                // (the tests cover the limits; here they would hide the rest).
                ("BECKON_RESEND_COOLDOWN", "0s".into()),
                ("BECKON_RESEND_DAILY_LIMIT", "0".into()),
                ("BECKON_LOG", "warn".into()),
            ],
        })
    }

    /// A command with this Beckon's environment and nothing else of ours.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("BECKON_") {
                cmd.env_remove(name);
            }
        }
        cmd.envs(self.env.iter().map(|(k, v)| (*k, v)));
        cmd
    }

    /// Runs an admin command and returns its JSON answer.
    fn cli(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let mut cmd = self.command();
        cmd.args(args);
        let out = cmd
            .output()
            .with_context(|| format!("cannot start {}", shown(&cmd)))?;
        if !out.status.success() {
            bail!(
                "{} failed ({}): {}",
                shown(&cmd),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("{} did not print JSON", shown(&cmd)))
    }

    /// Migrates; creates a tenant and an admin key: (tenant id, key).
    fn setup(&self) -> anyhow::Result<(String, String)> {
        self.cli(&["migrate"])?;
        let tenant = self.cli(&["tenant", "create", "--name", "Schemathesis"])?;
        let tenant = string_field(&tenant, "id")?;
        let key = self.cli(&[
            "api-key",
            "create",
            "--tenant",
            &tenant,
            "--role",
            "admin",
            "--name",
            "schemathesis",
        ])?;
        Ok((tenant, string_field(&key, "key")?))
    }

    /// Starts `beckon serve`, its log into `log`, and waits until it is healthy.
    fn serve(&self, log: &Path) -> anyhow::Result<Guard> {
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = self
            .command()
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .context("starting beckon serve")?;
        let mut server = Guard::new("beckon serve", child);
        let deadline = Instant::now() + START_LIMIT;
        while !healthy(self.port) {
            server.check_running()?;
            if Instant::now() >= deadline {
                bail!(
                    "beckon serve did not answer /healthz on 127.0.0.1:{} within {} s",
                    self.port,
                    START_LIMIT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }
}

fn string_field(value: &serde_json::Value, name: &str) -> anyhow::Result<String> {
    value
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("no string {name:?} in {value}"))
}

/// Whether `GET /healthz` answers 200.
fn healthy(port: u16) -> bool {
    let probe = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer.starts_with("HTTP/1.1 200"))
    };
    probe().unwrap_or(false)
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process that is stopped when dropped: SIGTERM, then SIGKILL if
/// it has not exited within 15 s.
struct Guard {
    child: Child,
    name: &'static str,
}

impl Guard {
    fn new(name: &'static str, child: Child) -> Self {
        Self { child, name }
    }

    /// Fails if the process has already exited.
    fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => bail!("{} exited early with {status}", self.name),
        }
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

/// A fresh folder under the system's temporary folder, removed when
/// dropped unless [`TempDir::keep`] was called (to look at after a failure).
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let mut name = String::from("beckon-schemathesis-");
        let _ = write!(name, "{}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path, keep: false })
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn keep(mut self) {
        eprintln!(
            "schemathesis: kept {} (server log, report, database)",
            self.path.display()
        );
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_seed_schemathesis_printed_replays() {
        let seed = "201929582926569537367201027218161975608";
        let options = parse_args(Path::new("/w"), &args(&["--seed", seed])).unwrap();
        assert_eq!(options.seed.map(|s| s.to_string()).as_deref(), Some(seed));
        assert_eq!(options.max_examples, DEFAULT_MAX_EXAMPLES);
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            &["--seed", "-1"][..],
            &["--seed"],
            &["--max-examples", "0"],
            &["--nope"],
        ] {
            assert!(parse_args(Path::new("/w"), &args(bad)).is_err(), "{bad:?}");
        }
    }
}
