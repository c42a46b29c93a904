//! One resend measurement on one database: a fresh Beckon, a tenant with
//! its invited users, wrk at each connection count, optionally oha at half
//! the best rate, and the server's peak memory.

use std::path::{Path, PathBuf};

use super::db::Db;
use super::load::{self, Load, Target};
use super::report::{ms, per_sec};
use super::server::{self, Beckon, Tenant};
use super::sys;

/// What a run needs from the whole benchmark.
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub bin: &'a Path,
    pub tmp: &'a Path,
    /// Where the worker delivers while requests run (the SMTP sink).
    pub mailer: String,
    pub secs: u64,
    /// Invited users of the benchmarked tenant.
    pub users: usize,
    pub connections: &'a [usize],
}

/// What it measured.
pub struct Measured {
    pub tenant: Tenant,
    /// wrk, one per connection count.
    pub loads: Vec<Load>,
    /// The constant rate oha ran at, and what it saw.
    pub half: Option<(f64, Load)>,
    /// Peak resident memory of `beckon serve` over the whole run, bytes.
    pub peak_rss: u64,
}

/// Runs it. `prepare` runs after migrating and before serving (the large
/// data set is loaded there).
pub fn measure(
    ctx: &Ctx,
    db: &Db,
    label: &str,
    prepare: impl FnOnce() -> anyhow::Result<()>,
    half_rate: bool,
) -> anyhow::Result<Measured> {
    let beckon = Beckon::new(ctx.bin, db, ctx.mailer.clone())?;
    let tenant = beckon.setup()?;
    prepare()?;
    let server = beckon.serve()?;
    let started = std::time::Instant::now();
    let ids = server::invite(beckon.port, &tenant, "bench", ctx.users)?;
    println!(
        "{label}: invited {} users in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let (ids_file, urls_file) = write_targets(ctx.tmp, label, beckon.port, &ids)?;
    let target = Target {
        port: beckon.port,
        tenant: &tenant,
        ids: &ids_file,
    };

    let mut loads = Vec::new();
    for &c in ctx.connections {
        let l = load::wrk(ctx.root, &target, c, ctx.secs)?;
        println!(
            "{label}: wrk {c} connections: {} p50 {} p99 {} p99.9 {}, {} non-2xx, {} socket errors",
            per_sec(l.rps),
            ms(l.p50_ms),
            ms(l.p99_ms),
            ms(l.p999_ms),
            l.non_2xx,
            l.socket_errors
        );
        loads.push(l);
    }

    let mut half = None;
    if half_rate {
        let best = loads.iter().map(|l| l.rps).fold(0.0, f64::max);
        let rate = (best / 2.0).max(1.0);
        let c = ctx.connections.first().copied().unwrap_or(16);
        let l = load::oha(&target, &urls_file, c, rate, ctx.secs)?;
        println!(
            "{label}: oha at {rate:.0}/s: {} p50 {} p99 {} p99.9 {}, {} non-2xx, {} socket errors",
            per_sec(l.rps),
            ms(l.p50_ms),
            ms(l.p99_ms),
            ms(l.p999_ms),
            l.non_2xx,
            l.socket_errors
        );
        half = Some((rate, l));
    }

    // VmHWM: the most the process held at any time since it started.
    let peak_rss = sys::peak_rss(server.pid())?;
    server.stop();
    Ok(Measured {
        tenant,
        loads,
        half,
        peak_rss,
    })
}

/// The user ids (for wrk's script) and the resend URLs (for oha), one a
/// line.
fn write_targets(
    tmp: &Path,
    label: &str,
    port: u16,
    ids: &[String],
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let stem = label.to_ascii_lowercase().replace(' ', "-");
    let ids_file = tmp.join(format!("{stem}-ids.txt"));
    let urls_file = tmp.join(format!("{stem}-urls.txt"));
    std::fs::write(&ids_file, ids.join("\n") + "\n")?;
    let urls: String = ids
        .iter()
        .map(|id| format!("http://127.0.0.1:{port}/v1/users/{id}/resend-invite\n"))
        .collect();
    std::fs::write(&urls_file, urls)?;
    Ok((ids_file, urls_file))
}
