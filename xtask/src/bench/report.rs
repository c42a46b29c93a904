//! The table: one row per figure with its reference, the ratio, the
//! target and whether it was met; the machine it ran on; printing it and
//! writing it into docs/benchmarks.md between the generated-section markers.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context;

const BEGIN: &str = "<!-- bench:begin (written by `cargo xtask bench`) -->";
const END: &str = "<!-- bench:end -->";

/// One figure.
pub struct Row {
    pub figure: String,
    pub measured: String,
    pub reference: String,
    pub ratio: Option<f64>,
    pub target: String,
    /// `None`: no target for this figure.
    pub pass: Option<bool>,
}

impl Row {
    /// A figure with no reference and no target.
    pub fn info(figure: impl Into<String>, measured: impl Into<String>) -> Self {
        Self {
            figure: figure.into(),
            measured: measured.into(),
            reference: "—".into(),
            ratio: None,
            target: "—".into(),
            pass: None,
        }
    }

    /// A figure that should be at least `factor` × the reference.
    pub fn at_least(
        figure: impl Into<String>,
        (measured, shown): (f64, String),
        (reference, label): (f64, String),
        factor: f64,
    ) -> Self {
        let ratio = (reference > 0.0).then(|| measured / reference);
        Self {
            figure: figure.into(),
            measured: shown,
            reference: label,
            ratio,
            target: format!("≥ {factor} × reference"),
            pass: ratio.map(|r| r >= factor),
        }
    }

    /// A figure that should be at most `factor` × the reference.
    pub fn at_most(
        figure: impl Into<String>,
        (measured, shown): (f64, String),
        (reference, label): (f64, String),
        factor: f64,
        target: impl Into<String>,
    ) -> Self {
        let ratio = (reference > 0.0).then(|| measured / reference);
        Self {
            figure: figure.into(),
            measured: shown,
            reference: label,
            ratio,
            target: target.into(),
            pass: ratio.map(|r| r <= factor),
        }
    }

    /// A count that should be zero.
    pub fn zero(figure: impl Into<String>, count: u64, shown: String) -> Self {
        Self {
            figure: figure.into(),
            measured: shown,
            reference: "—".into(),
            ratio: None,
            target: "none".into(),
            pass: Some(count == 0),
        }
    }
}

/// Requests (or messages) per second as shown in the table.
pub fn per_sec(v: f64) -> String {
    format!("{v:.0}/s")
}

/// Milliseconds as shown in the table.
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2} ms")
    } else {
        format!("{v:.1} ms")
    }
}

/// Bytes as MiB.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The table as Markdown, columns padded so that it also reads well in a
/// terminal.
pub fn render(rows: &[Row]) -> String {
    let header = [
        "figure",
        "measured",
        "reference",
        "ratio",
        "target",
        "result",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.measured.clone(),
                r.reference.clone(),
                r.ratio.map_or_else(|| "—".into(), |x| format!("{x:.2}")),
                r.target.clone(),
                match r.pass {
                    Some(true) => "pass".into(),
                    Some(false) => "**miss**".into(),
                    None => "".into(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| -> String {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

/// Where and when it ran: machine, date, commit, command.
pub fn context(root: &Path, command: &str, postgres: Option<String>) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".into(), |(_, m)| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"]).is_empty();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "- machine: {cores} cores ({cpu}), {:.1} GiB memory",
        mem_kb / (1024.0 * 1024.0)
    );
    let _ = writeln!(s, "- date: {date}");
    let _ = writeln!(
        s,
        "- commit: {commit}{}",
        if dirty {
            " with uncommitted changes"
        } else {
            ""
        }
    );
    if let Some(version) = postgres {
        let _ = writeln!(
            s,
            "- PostgreSQL {version}; SQLite bundled with libsqlite3-sys"
        );
    }
    let _ = writeln!(s, "- command: `{command}`");
    s
}

/// Replaces the generated section of docs/benchmarks.md (the file is
/// created with only that section if it is missing).
pub fn write_docs(root: &Path, context: &str, table: &str) -> anyhow::Result<()> {
    let path = root.join("docs/benchmarks.md");
    let section = format!("{BEGIN}\n\n{context}\n{table}\n{END}");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let new = match (text.find(BEGIN), text.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &text[..b], &text[e + END.len()..])
        }
        _ if text.is_empty() => format!("# Benchmarks\n\n{section}\n"),
        _ => format!("{}\n{section}\n", text.trim_end()),
    };
    std::fs::write(&path, new).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_ratio_and_verdict() {
        let r = Row::at_least("x", (90.0, "90/s".into()), (100.0, "100/s".into()), 0.8);
        assert_eq!((r.ratio, r.pass), (Some(0.9), Some(true)));
        let r = Row::at_most(
            "p99",
            (12.0, "12 ms".into()),
            (10.0, "10 ms".into()),
            1.0,
            "≤ 10 ms",
        );
        assert_eq!(r.pass, Some(false));
        let table = render(&[r, Row::info("authz", "not measured")]);
        assert!(table.contains("| p99 "));
        assert!(table.contains("**miss**"));
        assert_eq!(table.lines().count(), 4);
    }
}
