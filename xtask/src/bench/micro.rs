//! The in-process figures: Cedar authorization alone, and the resend use
//! case on in-memory fakes, from the crates' criterion benches when they
//! have any (run with `cargo bench`); "not measured" otherwise.

use std::path::Path;
use std::process::{Command, Stdio};

use super::sys;

/// One in-process figure and the crates its bench may live in.
pub struct Micro {
    pub figure: &'static str,
    pub places: &'static [Place],
    /// The most each of its figures may take, in µs (issue 6's targets).
    pub target_us: Option<f64>,
}

/// A crate: its package name and folder.
pub struct Place {
    pub package: &'static str,
    dir: &'static str,
}

pub const FIGURES: [Micro; 2] = [
    Micro {
        figure: "Authorization alone (Cedar)",
        places: &[Place {
            package: "beckon-authz-cedar",
            dir: "crates/authz-cedar",
        }],
        target_us: Some(10.0),
    },
    Micro {
        figure: "Resend use case on in-memory fakes",
        // The domain crate, or the binary, which can wire the use case to
        // the memory store and Cedar.
        places: &[
            Place {
                package: "beckon-domain",
                dir: "crates/domain",
            },
            Place {
                package: "beckon",
                dir: "bins/beckon",
            },
        ],
        target_us: None,
    },
];

impl Place {
    /// The crate's bench targets: `benches/*.rs` files (cargo finds those
    /// by itself) and `[[bench]]` sections.
    pub fn targets(&self, root: &Path) -> Vec<String> {
        let dir = root.join(self.dir);
        let mut names: Vec<String> = std::fs::read_dir(dir.join("benches"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "rs"))
                    .filter_map(|p| Some(p.file_stem()?.to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok());
        if let Some(benches) = manifest
            .as_ref()
            .and_then(|t| t.get("bench"))
            .and_then(toml::Value::as_array)
        {
            names.extend(
                benches
                    .iter()
                    .filter_map(|b| b.get("name")?.as_str().map(str::to_owned)),
            );
        }
        names.sort();
        names.dedup();
        names
    }

    /// Runs the bench targets and returns each criterion result as (name,
    /// median in µs). Only the bench targets: the library's own test
    /// harness would refuse criterion's `--quick`.
    pub fn run(
        &self,
        root: &Path,
        targets: &[String],
        quick: bool,
    ) -> anyhow::Result<Vec<(String, f64)>> {
        println!("running cargo bench -p {}…", self.package);
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.args(["bench", "-q", "-p", self.package]);
        for t in targets {
            cmd.args(["--bench", t]);
        }
        if quick {
            cmd.args(["--", "--quick"]);
        }
        let out = sys::stdout(cmd.current_dir(root).stderr(Stdio::inherit()))?;
        Ok(parse_criterion(&out))
    }
}

/// Reads criterion's `name  time:   [low mid high]` lines (the name is on
/// the line before when it is long) and keeps the middle estimate.
fn parse_criterion(out: &str) -> Vec<(String, f64)> {
    let mut found = Vec::new();
    let mut previous = "";
    for line in out.lines() {
        if let Some((name, rest)) = line.split_once("time:") {
            let name = if name.trim().is_empty() {
                previous.trim()
            } else {
                name.trim()
            };
            let values: Vec<&str> = rest
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split_whitespace()
                .collect();
            if let [_, _, mid, unit, _, _] = values.as_slice()
                && let (Ok(v), Some(scale)) = (mid.parse::<f64>(), to_micros(unit))
            {
                found.push((name.to_owned(), v * scale));
            }
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    found
}

fn to_micros(unit: &str) -> Option<f64> {
    match unit {
        "ps" => Some(1e-6),
        "ns" => Some(1e-3),
        "µs" | "us" => Some(1.0),
        "ms" => Some(1e3),
        "s" => Some(1e6),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_medians() {
        let out = "authorize/admin   time:   [1.0000 µs 1.2000 µs 1.4000 µs]\n\
                   change: [-1% +0% +1%]\n\
                   resend_invite/on_fakes_with_a_long_name\n\
                   \x20                       time:   [850.00 ns 900.00 ns 950.00 ns]\n";
        let got = parse_criterion(out);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "authorize/admin");
        assert!((got[0].1 - 1.2).abs() < 1e-9);
        assert_eq!(got[1].0, "resend_invite/on_fakes_with_a_long_name");
        assert!((got[1].1 - 0.9).abs() < 1e-9);
    }
}
