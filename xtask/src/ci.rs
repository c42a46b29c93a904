//! `cargo xtask ci`: what `.ci/run` runs, in the same order, stopping at the
//! first failure with that step's exit code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::{ladder, smtp_venv};

/// The database the test suite runs its PostgreSQL tests against, unless
/// `BECKON_TEST_DATABASE_URL` says otherwise (as in `.ci/run`).
const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What the steps depend on from the environment.
struct Env {
    /// The cargo to run.
    cargo: OsString,
    /// `CARGO_TARGET_DIR`, if set.
    target_dir: Option<OsString>,
    /// `BECKON_TEST_DATABASE_URL`, defaulted.
    database_url: String,
}

impl Env {
    fn from_process() -> Self {
        Self {
            // The cargo that runs us (right toolchain), else the one on PATH.
            cargo: std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")),
            target_dir: std::env::var_os("CARGO_TARGET_DIR"),
            database_url: std::env::var("BECKON_TEST_DATABASE_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| DEFAULT_TEST_DATABASE_URL.to_owned()),
        }
    }
}

/// One step.
enum Step {
    /// A program and its arguments.
    Run {
        program: OsString,
        args: Vec<OsString>,
    },
    /// `cargo xtask ladder`, run in this process.
    Ladder,
    /// `cargo xtask smtp-venv`, run in this process.
    SmtpVenv,
}

impl Step {
    fn run(program: impl Into<OsString>, args: &[&str]) -> Self {
        Self::Run {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
        }
    }

    fn arg(mut self, arg: impl Into<OsString>) -> Self {
        if let Self::Run { args, .. } = &mut self {
            args.push(arg.into());
        }
        self
    }

    fn display(&self) -> String {
        match self {
            Self::Run { program, args } => {
                let mut words = vec![program.to_string_lossy().into_owned()];
                words.extend(args.iter().map(|a| a.to_string_lossy().into_owned()));
                words.join(" ")
            }
            Self::Ladder => "cargo xtask ladder".to_owned(),
            Self::SmtpVenv => "cargo xtask smtp-venv".to_owned(),
        }
    }
}

/// The steps of `.ci/run`, for the workspace at `root`.
fn steps(root: &Path, env: &Env) -> Vec<Step> {
    let cargo = &env.cargo;
    let url = env.database_url.as_str();
    vec![
        Step::run("pg_isready", &["-d", url, "-t", "10"]),
        Step::run("psql", &[url, "-v", "ON_ERROR_STOP=1", "-qAtc", "select 1"]),
        Step::run(cargo, &["fmt", "--all", "--", "--check"]),
        Step::run(
            cargo,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        Step::Ladder,
        Step::run(cargo, &["xtask", "deny"]),
        Step::SmtpVenv,
        Step::run(cargo, &["xtask", "cvc5"]),
        Step::run(cargo, &["xtask", "chromium"]),
        Step::run(cargo, &["test", "--workspace"]),
        Step::run(cargo, &["build", "--release", "-p", "beckon"]),
        Step::run(
            cargo,
            &["run", "--release", "-p", "beckon", "--", "policy", "verify"],
        ),
        Step::run("python3", &["../shared/contract-smoke.py"])
            .arg(release_binary(root, env.target_dir.clone())),
        Step::run(cargo, &["xtask", "schemathesis"]),
        Step::run(cargo, &["xtask", "fuzz", "--seconds", "10"]),
    ]
}

/// `target/release/beckon`, or under `CARGO_TARGET_DIR` when that is set (the
/// release build above puts it there, and smoke-testing a stale binary from
/// `target/` would prove nothing).
fn release_binary(root: &Path, target_dir: Option<OsString>) -> PathBuf {
    let target = match target_dir {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => PathBuf::from("target"),
    };
    target.join("release").join("beckon")
}

/// Runs every CI step in `root`; the first failure ends the run with its code.
pub fn run(root: &Path) -> ExitCode {
    let env = Env::from_process();
    ExitCode::from(run_steps(root, &steps(root, &env), &env.database_url))
}

/// Runs `steps` in `root` in order, with `BECKON_TEST_DATABASE_URL` set and
/// `BECKON_TEST_SMTP_PYTHON` naming the venv `cargo xtask smtp-venv` makes: 0
/// when all pass, else the exit code of the first that fails (1 when it has
/// none, or one above 255).
fn run_steps(root: &Path, steps: &[Step], database_url: &str) -> u8 {
    let total = steps.len();
    for (n, step) in steps.iter().enumerate() {
        println!("==> [{}/{total}] {}", n + 1, step.display());
        let code = match step {
            Step::Ladder => exit_code(ladder::run(root)),
            Step::SmtpVenv => exit_code(smtp_venv::run(root)),
            Step::Run { program, args } => {
                let status = Command::new(program)
                    .args(args)
                    .current_dir(root)
                    .env("BECKON_TEST_DATABASE_URL", database_url)
                    .env("BECKON_TEST_SMTP_PYTHON", smtp_venv::python(root))
                    .status();
                match status {
                    Ok(s) if s.success() => 0,
                    Ok(s) => s
                        .code()
                        .and_then(|c| u8::try_from(c).ok())
                        .unwrap_or(1)
                        .max(1),
                    Err(e) => {
                        eprintln!("ci: cannot start {}: {e}", step.display());
                        1
                    }
                }
            }
        };
        if code != 0 {
            eprintln!(
                "ci: step {} failed (exit {code}): {}",
                n + 1,
                step.display()
            );
            return code;
        }
    }
    println!("ci: all {total} steps passed");
    0
}

/// The exit code of a step run in this process.
fn exit_code(result: anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

#[cfg(test)]
#[path = "ci_tests.rs"]
mod tests;
