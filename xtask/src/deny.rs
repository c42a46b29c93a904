//! `cargo xtask deny`: the supply-chain checks of `deny.toml` with a pinned
//! cargo-deny (installed with `cargo install --locked` unless `cargo deny
//! --version` already reports the pin).
//!
//! `bans`, `licenses` and `sources` need nothing but the crates.io index and
//! must pass. `advisories` needs the RustSec advisory database, which is
//! fetched from GitHub: when it cannot be fetched the step says loudly that
//! advisories were NOT checked and succeeds, unless
//! `BECKON_DENY_ADVISORIES=1` makes the check required. A stale local copy
//! of the database is never passed off as a check.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The cargo-deny release the checks run with.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// Set to `1` to fail when the advisory database cannot be fetched.
const REQUIRE_ADVISORIES: &str = "BECKON_DENY_ADVISORIES";

/// How long fetching the advisory database may take (a network that drops
/// packets rather than refusing would otherwise hang the step).
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// The checks that need no network beyond the crates.io index.
const OFFLINE_CHECKS: [&str; 3] = ["bans", "licenses", "sources"];

/// Installs cargo-deny if needed, then runs the checks.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let require_advisories = advisories_required(std::env::var(REQUIRE_ADVISORIES).ok())?;
    ensure_installed(&cargo, root)?;

    println!("deny: cargo deny check {}", OFFLINE_CHECKS.join(" "));
    run_command(
        Command::new(&cargo)
            .current_dir(root)
            .args(["deny", "check"])
            .args(OFFLINE_CHECKS),
        "check bans, licenses and sources",
    )?;

    println!("deny: fetching the RustSec advisory database");
    match fetch_advisory_db(&cargo, root) {
        Ok(()) => {
            println!("deny: cargo deny check advisories");
            run_command(
                Command::new(&cargo)
                    .current_dir(root)
                    .args(["deny", "check", "advisories"]),
                "check advisories",
            )
        }
        Err(why) if require_advisories => Err(why.context(format!(
            "advisories could not be checked and {REQUIRE_ADVISORIES}=1 requires them"
        ))),
        Err(why) => {
            println!(
                "\n\
                 deny: !!! ADVISORIES NOT CHECKED: the RustSec advisory database is unreachable\n\
                 deny: !!! ({why:#})\n\
                 deny: !!! bans, licenses and sources passed; known vulnerabilities were NOT\n\
                 deny: !!! looked for. Set {REQUIRE_ADVISORIES}=1 to make this a failure.\n"
            );
            Ok(())
        }
    }
}

/// `BECKON_DENY_ADVISORIES`: unset, empty or `0` → optional, `1` → required.
fn advisories_required(value: Option<String>) -> anyhow::Result<bool> {
    match value.as_deref().map(str::trim) {
        None | Some("" | "0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => bail!("{REQUIRE_ADVISORIES} must be 1 or 0, not {other:?}"),
    }
}

/// Whether `cargo deny --version` printed the pinned version.
fn reports_pinned_version(stdout: &str) -> bool {
    stdout
        .split_whitespace()
        .nth(1)
        .is_some_and(|v| v == CARGO_DENY_VERSION)
}

/// Installs the pinned cargo-deny unless it is already there.
fn ensure_installed(cargo: &OsString, root: &Path) -> anyhow::Result<()> {
    let installed = Command::new(cargo)
        .current_dir(root)
        .args(["deny", "--version"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    if installed.as_deref().is_some_and(reports_pinned_version) {
        println!("deny: cargo-deny {CARGO_DENY_VERSION} is installed");
        return Ok(());
    }
    let found = installed.as_deref().map_or("none", str::trim);
    println!(
        "deny: installing cargo-deny {CARGO_DENY_VERSION} (found: {found}); this compiles for several minutes"
    );
    run_command(
        Command::new(cargo).current_dir(root).args([
            "install",
            "cargo-deny",
            "--locked",
            "--version",
            CARGO_DENY_VERSION,
        ]),
        "install cargo-deny",
    )
}

/// `cargo deny fetch db`, bounded by [`FETCH_TIMEOUT`].
fn fetch_advisory_db(cargo: &OsString, root: &Path) -> anyhow::Result<()> {
    let mut child = Command::new(cargo)
        .current_dir(root)
        .args(["deny", "fetch", "db"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start `cargo deny fetch db`")?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > FETCH_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`cargo deny fetch db` took longer than {FETCH_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    // cargo-deny's last line names the cause (e.g. the host not resolving).
    let cause = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_owned();
    bail!("`cargo deny fetch db` failed ({status}): {cause}")
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
            "cargo-deny {CARGO_DENY_VERSION}\n"
        )));
        assert!(!reports_pinned_version("cargo-deny 0.14.2\n"));
        assert!(!reports_pinned_version(&format!(
            "cargo-deny {CARGO_DENY_VERSION}1\n"
        )));
        assert!(!reports_pinned_version(""));
    }

    #[test]
    fn only_1_requires_advisories() {
        assert!(!advisories_required(None).unwrap());
        assert!(!advisories_required(Some(String::new())).unwrap());
        assert!(!advisories_required(Some("0".to_owned())).unwrap());
        assert!(advisories_required(Some("1".to_owned())).unwrap());
        assert!(advisories_required(Some("yes".to_owned())).is_err());
    }
}
