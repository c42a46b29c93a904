//! `cargo xtask fuzz [--seconds N]`: builds the cargo-fuzz targets in
//! `fuzz/` (Beckon's parsers of untrusted text) and runs each for N seconds
//! (default 20) with a pinned cargo-fuzz, installed with `cargo install
//! --locked` unless `cargo fuzz --version` already reports the pin.
//!
//! cargo-fuzz needs nightly features (`-Zsanitizer=address`, …); the
//! toolchain here is stable, so every cargo-fuzz command runs with
//! `RUSTC_BOOTSTRAP=1`. Fails when the install or the build fails, and when
//! any target crashes (after running the others); the crashing input is in
//! `fuzz/artifacts/<target>/`. Corpora grow in `fuzz/corpus/<target>/`
//! (ignored by git) and make later runs start further ahead.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};

/// The cargo-fuzz release the targets run with.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 20;

/// The fuzz crate, relative to the workspace root.
const FUZZ_DIR: &str = "fuzz";

/// What one target's run came to.
struct Outcome {
    target: String,
    runs: Option<u64>,
    seconds: f64,
    passed: bool,
}

/// Installs cargo-fuzz if needed, builds every target, runs each.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let seconds = parse_seconds(args)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let fuzz_dir = root.join(FUZZ_DIR);
    ensure_installed(&cargo, root)?;

    let targets = list_targets(&cargo, &fuzz_dir)?;
    println!(
        "fuzz: building {} targets: {}",
        targets.len(),
        targets.join(" ")
    );
    let start = Instant::now();
    run_command(
        fuzz_command(&cargo, &fuzz_dir).args(["fuzz", "build"]),
        "build the fuzz targets",
    )?;
    println!("fuzz: built in {:.0?}", start.elapsed());

    let mut outcomes = Vec::new();
    for target in &targets {
        println!("fuzz: running {target} for {seconds}s");
        outcomes.push(run_target(&cargo, &fuzz_dir, target, seconds)?);
    }

    println!(
        "\nfuzz: {:<16} {:>12} {:>8} {:>10}  result",
        "target", "runs", "secs", "runs/s"
    );
    for o in &outcomes {
        let runs = o.runs.map_or_else(|| "?".to_owned(), |r| r.to_string());
        let rate = o.runs.map_or_else(
            || "?".to_owned(),
            |r| format!("{:.0}", r as f64 / o.seconds.max(0.001)),
        );
        let result = if o.passed { "ok" } else { "CRASH" };
        println!(
            "fuzz: {:<16} {runs:>12} {:>8.1} {rate:>10}  {result}",
            o.target, o.seconds
        );
    }
    let crashed: Vec<&str> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(|o| o.target.as_str())
        .collect();
    if !crashed.is_empty() {
        bail!(
            "fuzz targets failed: {} (inputs in {}/artifacts/<target>/; reproduce with \
             `RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>` in {FUZZ_DIR}/)",
            crashed.join(", "),
            fuzz_dir.display()
        );
    }
    Ok(())
}

/// `--seconds N` (N ≥ 1), or the default.
fn parse_seconds(args: &[String]) -> anyhow::Result<u64> {
    match args {
        [] => Ok(DEFAULT_SECONDS),
        [flag, n] if flag == "--seconds" => n
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .with_context(|| format!("--seconds takes a whole number of at least 1, not {n:?}")),
        _ => bail!("usage: cargo xtask fuzz [--seconds N]"),
    }
}

/// A cargo command in the fuzz crate with nightly features unlocked.
fn fuzz_command(cargo: &OsString, fuzz_dir: &Path) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(fuzz_dir).env("RUSTC_BOOTSTRAP", "1");
    cmd
}

/// Whether `cargo fuzz --version` printed the pinned version.
fn reports_pinned_version(stdout: &str) -> bool {
    stdout
        .split_whitespace()
        .nth(1)
        .is_some_and(|v| v == CARGO_FUZZ_VERSION)
}

/// Installs the pinned cargo-fuzz unless it is already there.
fn ensure_installed(cargo: &OsString, root: &Path) -> anyhow::Result<()> {
    let installed = Command::new(cargo)
        .current_dir(root)
        .args(["fuzz", "--version"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    if installed.as_deref().is_some_and(reports_pinned_version) {
        println!("fuzz: cargo-fuzz {CARGO_FUZZ_VERSION} is installed");
        return Ok(());
    }
    let found = installed.as_deref().map_or("none", str::trim);
    println!(
        "fuzz: installing cargo-fuzz {CARGO_FUZZ_VERSION} (found: {found}); this compiles for a minute or two"
    );
    let start = Instant::now();
    run_command(
        Command::new(cargo).current_dir(root).args([
            "install",
            "cargo-fuzz",
            "--locked",
            "--version",
            CARGO_FUZZ_VERSION,
        ]),
        "install cargo-fuzz",
    )?;
    println!("fuzz: installed in {:.0?}", start.elapsed());
    Ok(())
}

/// The targets, as `cargo fuzz list` names them.
fn list_targets(cargo: &OsString, fuzz_dir: &Path) -> anyhow::Result<Vec<String>> {
    let out = fuzz_command(cargo, fuzz_dir)
        .args(["fuzz", "list"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot start `cargo fuzz list`")?;
    if !out.status.success() {
        bail!("`cargo fuzz list` failed ({})", out.status);
    }
    let targets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if targets.is_empty() {
        bail!(
            "`cargo fuzz list` found no targets in {}",
            fuzz_dir.display()
        );
    }
    Ok(targets)
}

/// Runs one target; its output is passed through, and libFuzzer's closing
/// `Done N runs in S second(s)` line is kept for the summary.
fn run_target(
    cargo: &OsString,
    fuzz_dir: &Path,
    target: &str,
    seconds: u64,
) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let mut child = fuzz_command(cargo, fuzz_dir)
        .args(["fuzz", "run", target, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `cargo fuzz run {target}`"))?;
    let mut runs = None;
    if let Some(stderr) = child.stderr.take() {
        let mut echo = std::io::stderr().lock();
        for line in BufReader::new(stderr).lines() {
            let line = line.context("cannot read the fuzzer's output")?;
            if let Some(n) = done_runs(&line) {
                runs = Some(n);
            }
            let _ = writeln!(echo, "{line}");
        }
    }
    let status = child.wait()?;
    Ok(Outcome {
        target: target.to_owned(),
        runs,
        seconds: start.elapsed().as_secs_f64(),
        passed: status.success(),
    })
}

/// `N` from libFuzzer's `Done N runs in S second(s)`.
fn done_runs(line: &str) -> Option<u64> {
    line.trim()
        .strip_prefix("Done ")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn run_command(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot {what}: cannot start {shown}"))?;
    if !status.success() {
        bail!("cannot {what}: {shown} failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_the_pinned_version_counts_as_installed() {
        assert!(reports_pinned_version(&format!(
            "cargo-fuzz {CARGO_FUZZ_VERSION}\n"
        )));
        assert!(!reports_pinned_version("cargo-fuzz 0.11.0\n"));
        assert!(!reports_pinned_version(&format!(
            "cargo-fuzz {CARGO_FUZZ_VERSION}1\n"
        )));
        assert!(!reports_pinned_version(""));
    }

    #[test]
    fn seconds_default_to_20_and_must_be_positive() {
        assert_eq!(parse_seconds(&[]).unwrap(), 20);
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_seconds(&args(&["--seconds", "5"])).unwrap(), 5);
        assert!(parse_seconds(&args(&["--seconds", "0"])).is_err());
        assert!(parse_seconds(&args(&["--seconds", "x"])).is_err());
        assert!(parse_seconds(&args(&["--seconds"])).is_err());
        assert!(parse_seconds(&args(&["5"])).is_err());
    }

    #[test]
    fn the_run_count_is_read_from_libfuzzers_last_line() {
        assert_eq!(
            done_runs("Done 4210206 runs in 16 second(s)"),
            Some(4_210_206)
        );
        assert_eq!(done_runs("#2 INITED cov: 10"), None);
        assert_eq!(done_runs("Done x runs"), None);
    }
}
