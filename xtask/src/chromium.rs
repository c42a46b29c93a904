//! `cargo xtask chromium`: the headless Chromium and chromedriver that the
//! browser tests (`bins/beckon/tests/api/browser.rs`) drive. Quick and
//! changes nothing when both are there; otherwise installs Debian's
//! `chromium` and `chromium-driver` packages with apt-get (CI runs as root).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// Where Debian's packages put the browser and its driver (the paths the
/// browser tests start).
const PROGRAMS: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];

/// Makes sure both programs exist, installing them when one is missing.
pub fn run() -> anyhow::Result<()> {
    let missing = missing(&PROGRAMS);
    if missing.is_empty() {
        println!("chromium: {}", PROGRAMS.join(" and "));
        return Ok(());
    }
    println!(
        "chromium: {} not found; installing Debian's packages \
         (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    apt_get(&["update", "-qq"])?;
    apt_get(&["install", "-y", "-qq", "chromium", "chromium-driver"])?;
    let still = self::missing(&PROGRAMS);
    if !still.is_empty() {
        bail!(
            "{} still missing after apt-get install chromium chromium-driver",
            still.join(" and ")
        );
    }
    println!("chromium: installed");
    Ok(())
}

/// The paths of `programs` that do not exist.
fn missing<'a>(programs: &[&'a str]) -> Vec<&'a str> {
    programs
        .iter()
        .copied()
        .filter(|p| !Path::new(p).exists())
        .collect()
}

fn apt_get(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("cannot start apt-get: install chromium and chromium-driver by hand")?;
    if !status.success() {
        bail!(
            "apt-get {} failed ({status}): install chromium and chromium-driver by hand",
            args.join(" ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn only_the_absent_programs_are_missing() {
        let dir = std::env::temp_dir().join(format!("xtask-chromium-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let present = dir.join("present");
        std::fs::write(&present, "").unwrap();
        let absent = dir.join("absent");
        let (present, absent) = (present.to_str().unwrap(), absent.to_str().unwrap());
        assert_eq!(missing(&[present, absent]), vec![absent]);
        assert_eq!(missing(&[present]), Vec::<&str>::new());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
