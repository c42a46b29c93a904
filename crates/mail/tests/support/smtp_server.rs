//! Starts `smtp_server.py` (a real SMTP server on aiosmtpd, beside this
//! file) with the Python named by `BECKON_TEST_SMTP_PYTHON`, and reads what
//! it received. Shared by the mail crate's tests and the binary's
//! (`#[path]`-included), so not every item is used by each.
//!
//! `cargo xtask smtp-venv` makes that Python (`.venv-smtp/bin/python`);
//! `.ci/run` sets the variable. Unset, the SMTP tests print a note and pass
//! without doing anything; set but unable to start the server, they fail.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The variable naming the Python that has aiosmtpd.
pub const PYTHON_VAR: &str = "BECKON_TEST_SMTP_PYTHON";

/// How long the server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The Python to run the server with; `None` (after printing a note) when
/// the variable is unset, which means: skip.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!(
                "{PYTHON_VAR} unset: SMTP test skipped (run `cargo xtask smtp-venv` and set \
                 {PYTHON_VAR}=$PWD/.venv-smtp/bin/python to run it)"
            );
            None
        }
    }
}

/// The server script: found from the workspace root, so it works from any
/// crate that includes this file.
pub fn script() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("Cargo.lock").exists() {
        dir = dir
            .parent()
            .expect("the workspace root (a folder with Cargo.lock)");
    }
    dir.join("crates/mail/tests/support/smtp_server.py")
}

/// How to start the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The port; 0 for any free one.
    pub port: u16,
    /// `user:pass` to require AUTH with (offered without TLS).
    pub auth: Option<(String, String)>,
    /// How many attempts of one Message-ID to `flaky@…` fail with 451
    /// before one is accepted; the server's default (2) when `None`.
    pub flaky_failures: Option<u32>,
    /// How long the server waits before it keeps and answers a message
    /// (a slow server); none when `None`.
    pub data_delay: Option<Duration>,
}

/// One delivery attempt as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The reply code the server gave (250, 451, 550).
    pub code: u16,
    /// The Message-ID header; `None` when refused before DATA.
    pub message_id: Option<String>,
    /// The envelope sender.
    pub mail_from: Option<String>,
    /// The envelope recipients (for a refused RCPT: the refused one).
    pub rcpts: Vec<String>,
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The saved file of an accepted message.
    pub file: Option<String>,
}

/// A running server; killed when dropped.
pub struct SmtpServer {
    child: Child,
    // Held open: the server exits when it closes (also if the test dies).
    _stdin: ChildStdin,
    port: u16,
    dir: TempDir,
}

impl SmtpServer {
    /// Starts a server on any free port.
    pub fn start(python: &Path) -> Self {
        Self::start_with(python, &Options::default())
    }

    /// Starts a server as `opts` say. Panics (failing the test) when it
    /// cannot start.
    pub fn start_with(python: &Path, opts: &Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the SMTP server");
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr log");
        let mut cmd = Command::new(python);
        cmd.arg(script())
            .arg("--port")
            .arg(opts.port.to_string())
            .arg("--maildir")
            .arg(dir.path().join("mail"))
            .arg("--log")
            .arg(dir.path().join("attempts.tsv"));
        if let Some((user, pass)) = &opts.auth {
            cmd.arg("--auth").arg(format!("{user}:{pass}"));
        }
        if let Some(delay) = opts.data_delay {
            cmd.arg("--data-delay").arg(delay.as_secs_f64().to_string());
        }
        if let Some(n) = opts.flaky_failures {
            cmd.arg("--flaky-failures").arg(n.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{PYTHON_VAR}={}: cannot start the test SMTP server: {e}",
                    python.display()
                )
            });
        let stdin = child.stdin.take().expect("the server's stdin");
        let stdout = child.stdout.take().expect("the server's stdout");
        // The first line is the port, printed once the server listens.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            panic!(
                "the test SMTP server ({PYTHON_VAR}={}) did not start (first line {line:?}):\n{log}",
                python.display()
            );
        };
        assert!(
            opts.port == 0 || port == opts.port,
            "asked for port {}, got {port}",
            opts.port
        );
        Self {
            child,
            _stdin: stdin,
            port,
            dir,
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT?tls=none`: the `BECKON_MAILER` value for it.
    pub fn url(&self) -> String {
        plain_url(self.port)
    }

    /// The accepted messages' raw text, in arrival order.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .expect("the server's mail folder")
            .map(|e| e.expect("a folder entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).expect("a message")).into_owned())
            .collect()
    }

    /// Every attempt so far, in order.
    pub fn attempts(&self) -> Vec<Attempt> {
        let text =
            std::fs::read_to_string(self.dir.path().join("attempts.tsv")).unwrap_or_default();
        text.lines().map(parse_attempt).collect()
    }

    /// The server's stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Waits until at least `n` messages arrived, or panics after `timeout`.
    pub async fn wait_for_messages(&self, n: usize, timeout: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                start.elapsed() < timeout,
                "{} of {n} messages arrived within {timeout:?}; attempts: {:#?}\nserver stderr:\n{}",
                messages.len(),
                self.attempts(),
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `smtp://127.0.0.1:PORT?tls=none`.
pub fn plain_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}?tls=none")
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The value of header `name` (first occurrence, unfolded) in a raw message.
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.eq_ignore_ascii_case(name) {
            let mut value = value.trim().to_owned();
            while let Some(next) = lines.next_if(|l| l.starts_with([' ', '\t'])) {
                value.push(' ');
                value.push_str(next.trim());
            }
            return Some(value);
        }
    }
    None
}

fn parse_attempt(line: &str) -> Attempt {
    let f: Vec<&str> = line.split('\t').collect();
    let opt = |i: usize| {
        f.get(i)
            .filter(|v| **v != "-" && !v.is_empty())
            .map(|v| (*v).to_owned())
    };
    Attempt {
        code: f.first().and_then(|c| c.parse().ok()).unwrap_or(0),
        message_id: opt(1),
        mail_from: opt(2),
        rcpts: opt(3)
            .map(|r| r.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        user: opt(4),
        file: opt(5),
    }
}
