//! `cargo xtask smtp-venv`: the Python virtual environment of the tests
//! that need Python (`.venv-smtp/` at the workspace root): aiosmtpd, that
//! the SMTP tests start their test server with, and prometheus_client,
//! whose parser the metrics test reads `/metrics` with. Quick and changes
//! nothing when it is already there.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The folder, relative to the workspace root.
pub const VENV_DIR: &str = ".venv-smtp";

/// What is installed, pinned (aiosmtpd and what it depends on;
/// prometheus_client and standardwebhooks, which depend on nothing).
const REQUIREMENTS: [&str; 5] = [
    "aiosmtpd==1.4.6",
    "atpublic==9.0.0",
    "attrs==26.1.0",
    "prometheus-client==0.26.0",
    "standardwebhooks==1.3.0",
];

/// The Python the venv is made with.
const BASE_PYTHON: &str = "python3";

/// The venv's interpreter: what `BECKON_TEST_SMTP_PYTHON` should name.
pub fn python(root: &Path) -> PathBuf {
    root.join(VENV_DIR).join("bin").join("python")
}

/// Creates the venv and installs the pinned packages unless they already are.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let python = python(root);
    if python.exists() && has_requirements(&python) {
        println!("smtp-venv: up to date: {}", python.display());
        return Ok(());
    }
    if !python.exists() {
        let venv = root.join(VENV_DIR);
        println!("smtp-venv: creating {}", venv.display());
        run_command(
            Command::new(BASE_PYTHON).arg("-m").arg("venv").arg(&venv),
            "create the virtual environment (is python3 with the venv module installed?)",
        )?;
    }
    println!("smtp-venv: installing {}", REQUIREMENTS.join(" "));
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
    if !has_requirements(&python) {
        bail!(
            "{} still does not import the pinned aiosmtpd, prometheus_client and standardwebhooks",
            python.display()
        );
    }
    println!("smtp-venv: ready: {}", python.display());
    Ok(())
}

/// Whether `python` has every pinned package at its pinned version, and
/// imports aiosmtpd and prometheus_client.
fn has_requirements(python: &Path) -> bool {
    let pins: Vec<String> = REQUIREMENTS
        .iter()
        .filter_map(|r| r.split_once("=="))
        .map(|(name, version)| format!("({name:?}, {version:?})"))
        .collect();
    let check = format!(
        "import sys, importlib.metadata as m, aiosmtpd, prometheus_client, standardwebhooks\n\
         sys.exit(0 if all(m.version(n) == v for n, v in [{}]) else 1)",
        pins.join(", ")
    );
    Command::new(python)
        .args([OsStr::new("-c"), OsStr::new(&check)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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
