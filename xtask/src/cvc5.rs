//! `cargo xtask cvc5`: the cvc5 SMT solver that `beckon policy verify` and
//! its tests start. Quick and changes nothing when it is there (`CVC5`, or
//! `cvc5` on `PATH`); otherwise installs Debian's package with apt-get (CI
//! runs as root).

use std::ffi::{OsStr, OsString};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// The program `beckon policy verify` starts: `CVC5` when set, else `cvc5`.
fn program(var: Option<OsString>) -> OsString {
    var.filter(|v| !v.is_empty())
        .unwrap_or_else(|| OsString::from("cvc5"))
}

/// Makes sure the solver runs, installing it when it is missing.
pub fn run() -> anyhow::Result<()> {
    let var = std::env::var_os("CVC5").filter(|v| !v.is_empty());
    let chosen = var.is_some();
    let program = program(var);
    if let Some(version) = version(&program) {
        println!("cvc5: {version} ({})", program.to_string_lossy());
        return Ok(());
    }
    if chosen {
        bail!(
            "CVC5={} does not run: fix the path or unset CVC5 to use (or install) cvc5 on PATH",
            program.to_string_lossy()
        );
    }
    println!("cvc5: not found; installing Debian's package (apt-get install cvc5)");
    apt_get(&["update", "-qq"])?;
    apt_get(&["install", "-y", "-qq", "cvc5"])?;
    match version(&program) {
        Some(version) => {
            println!("cvc5: {version}");
            Ok(())
        }
        None => bail!("cvc5 still does not run after apt-get install cvc5"),
    }
}

/// The first line of `program --version`, when it runs and succeeds.
fn version(program: &OsStr) -> Option<String> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().next().map(str::to_owned)
}

fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("cannot start apt-get: install cvc5 by hand (or set CVC5 to its path)")?;
    if !status.success() {
        bail!(
            "apt-get {} failed ({status}): install cvc5 by hand (or set CVC5 to its path)",
            args.join(" ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_program_is_the_variable_or_cvc5() {
        assert_eq!(program(None), "cvc5");
        assert_eq!(program(Some(OsString::new())), "cvc5");
        assert_eq!(program(Some("/opt/cvc5".into())), "/opt/cvc5");
    }

    #[test]
    fn the_version_is_the_first_line_of_a_program_that_runs() {
        let dir = tempfile_dir();
        let fake = dir.join("fake-cvc5");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'This is cvc5 version 9.9'\necho more\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(
            version(fake.as_os_str()).as_deref(),
            Some("This is cvc5 version 9.9")
        );
        let failing = dir.join("failing-cvc5");
        std::fs::write(&failing, "#!/bin/sh\necho version\nexit 3\n").unwrap();
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(version(failing.as_os_str()), None);
        assert_eq!(version(dir.join("absent").as_os_str()), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A fresh folder under the system's temporary one.
    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-cvc5-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
