//! Load against the resend endpoint: wrk for the most a server does
//! (closed loop: each connection sends its next request when the last one
//! answered) and oha for the latency at a fixed rate (open loop, corrected
//! for coordinated omission).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::server::Tenant;
use super::sys;

/// What one load run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Load {
    pub connections: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Answers other than 2xx.
    pub non_2xx: u64,
    /// Connect, read and write errors and timeouts.
    pub socket_errors: u64,
}

impl Load {
    /// The median of each figure over `runs` of the same load (the upper
    /// one of an even count), with their errors added up: one slow or fast
    /// spell of a shared machine does not make the figure.
    pub fn median(runs: &[Load]) -> Load {
        let of = |field: fn(&Load) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(field).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        Load {
            connections: runs.first().map_or(0, |l| l.connections),
            rps: of(|l| l.rps),
            p50_ms: of(|l| l.p50_ms),
            p99_ms: of(|l| l.p99_ms),
            p999_ms: of(|l| l.p999_ms),
            non_2xx: runs.iter().map(|l| l.non_2xx).sum(),
            socket_errors: runs.iter().map(|l| l.socket_errors).sum(),
        }
    }
}

/// Where and what the load goes to.
pub struct Target<'a> {
    pub port: u16,
    pub tenant: &'a Tenant,
    /// A file with one user id a line.
    pub ids: &'a Path,
}

/// Runs wrk with `xtask/bench/resend.lua` for `secs` seconds. One wrk
/// thread: on two cores every thread wrk takes is one the server lacks,
/// and one thread drives far more requests per second than Beckon answers.
pub fn wrk(root: &Path, t: &Target, connections: usize, secs: u64) -> anyhow::Result<Load> {
    let out = sys::stdout(
        Command::new("wrk")
            .args([
                "-t1".to_owned(),
                format!("-c{connections}"),
                format!("-d{secs}s"),
                "-s".to_owned(),
            ])
            .arg(root.join("xtask/bench/resend.lua"))
            .arg(format!("http://127.0.0.1:{}", t.port))
            .env("BENCH_IDS", t.ids)
            .env("BENCH_KEY", &t.tenant.key)
            .env("BENCH_TENANT", &t.tenant.id),
    )?;
    parse_wrk(&out, connections)
}

/// Reads the `BENCH …` line resend.lua's `done()` prints.
fn parse_wrk(out: &str, connections: usize) -> anyhow::Result<Load> {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .with_context(|| format!("wrk printed no BENCH line:\n{out}"))?;
    let get = |name: &str| -> anyhow::Result<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in {line}"))
    };
    let secs = get("duration_us")? / 1e6;
    if secs <= 0.0 {
        bail!("wrk ran for no time: {line}");
    }
    let socket = get("connect")? + get("read")? + get("write")? + get("timeout")?;
    Ok(Load {
        connections,
        rps: get("requests")? / secs,
        p50_ms: get("p50_us")? / 1e3,
        p99_ms: get("p99_us")? / 1e3,
        p999_ms: get("p999_us")? / 1e3,
        non_2xx: get("status")? as u64,
        socket_errors: socket as u64,
    })
}

/// Runs oha at a constant `rate` for `secs` seconds over the same users
/// (one URL a line, taken in turn), with latency correction so that a
/// stall counts against every request that should have been sent during
/// it rather than only the one that was waiting.
pub fn oha(
    t: &Target,
    urls: &Path,
    connections: usize,
    rate: f64,
    secs: u64,
) -> anyhow::Result<Load> {
    let out = sys::stdout(
        Command::new("oha")
            .args([
                "--no-tui",
                "--output-format",
                "json",
                "--latency-correction",
                "--wait-ongoing-requests-after-deadline",
                "-m",
                "POST",
                "-c",
                &connections.to_string(),
                "-q",
                &format!("{rate:.0}"),
                "-z",
                &format!("{secs}s"),
                "-H",
                &format!("Authorization: Bearer {}", t.tenant.key),
                "-H",
                &format!("X-Tenant-ID: {}", t.tenant.id),
                "--urls-from-file",
            ])
            .arg(urls),
    )?;
    parse_oha(&out, connections)
}

/// Reads oha's JSON summary (latencies in seconds).
fn parse_oha(out: &str, connections: usize) -> anyhow::Result<Load> {
    let v: serde_json::Value =
        serde_json::from_str(out).with_context(|| format!("oha printed no JSON:\n{out}"))?;
    let num = |ptr: &str| -> anyhow::Result<f64> {
        v.pointer(ptr)
            .and_then(serde_json::Value::as_f64)
            .with_context(|| format!("no {ptr} in oha's output"))
    };
    let count = |ptr: &str, keep: &dyn Fn(&str) -> bool| -> u64 {
        v.pointer(ptr)
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| keep(k))
                    .filter_map(|(_, n)| n.as_u64())
                    .sum()
            })
            .unwrap_or(0)
    };
    Ok(Load {
        connections,
        rps: num("/summary/requestsPerSec")?,
        p50_ms: num("/latencyPercentiles/p50")? * 1e3,
        p99_ms: num("/latencyPercentiles/p99")? * 1e3,
        p999_ms: num("/latencyPercentiles/p99.9")? * 1e3,
        non_2xx: count("/statusCodeDistribution", &|k| !k.starts_with('2')),
        socket_errors: count("/errorDistribution", &|_| true),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_wrk_line() {
        let out = "Running 1s test\nBENCH requests=2000 duration_us=2000000 p50_us=1500 \
                   p99_us=9000 p999_us=20000 connect=0 read=1 write=0 timeout=2 status=3\n";
        let l = parse_wrk(out, 16).unwrap();
        assert_eq!(l.rps, 1000.0);
        assert_eq!((l.p50_ms, l.p99_ms, l.p999_ms), (1.5, 9.0, 20.0));
        assert_eq!((l.non_2xx, l.socket_errors), (3, 3));
    }

    #[test]
    fn reads_oha_json() {
        let out = r#"{"summary": {"requestsPerSec": 250.5},
            "latencyPercentiles": {"p50": 0.001, "p99": 0.004, "p99.9": 0.01},
            "statusCodeDistribution": {"202": 2500, "500": 2},
            "errorDistribution": {"connection reset": 1}}"#;
        let l = parse_oha(out, 16).unwrap();
        assert_eq!(l.rps, 250.5);
        assert_eq!((l.p50_ms, l.p99_ms, l.p999_ms), (1.0, 4.0, 10.0));
        assert_eq!((l.non_2xx, l.socket_errors), (2, 1));
    }

    #[test]
    fn the_median_takes_each_figure_apart_and_adds_the_errors() {
        let run = |rps, p99_ms, non_2xx| Load {
            connections: 16,
            rps,
            p50_ms: 1.0,
            p99_ms,
            p999_ms: 2.0 * p99_ms,
            non_2xx,
            socket_errors: 1,
        };
        let m = Load::median(&[
            run(900.0, 30.0, 0),
            run(1000.0, 8.0, 2),
            run(1100.0, 9.0, 0),
        ]);
        assert_eq!(
            (m.connections, m.rps, m.p99_ms, m.p999_ms),
            (16, 1000.0, 9.0, 18.0)
        );
        assert_eq!((m.non_2xx, m.socket_errors), (2, 3));
        let one = Load::median(&[run(500.0, 7.0, 0)]);
        assert_eq!((one.rps, one.p99_ms), (500.0, 7.0));
    }
}
