//! One resend measurement on one database: a fresh Beckon, a tenant with
//! its invited users, wrk at each connection count, optionally oha at half
//! the best rate, and the server's peak memory.
//!
//! The database floors do a resend's durable work and nothing else, so the
//! runs set beside them are made with delivery paused (the worker's mailer
//! points at a closed port: it probes it now and then and claims nothing);
//! the emails they queue stay queued. One run before them, at the first
//! connection count, has the worker delivering every email to the SMTP
//! sink meanwhile, as in production: the same requests plus the delivery
//! of each, on the same two cores. Each server gets a short warm-up run,
//! not reported, before its measured ones.

use std::path::{Path, PathBuf};

use super::db::Db;
use super::load::{self, Load, Target};
use super::report::{ms, per_sec};
use super::server::{self, Beckon, Tenant};
use super::sys;

/// Seconds of the unreported run that warms a new server up.
const WARM_UP_SECS: u64 = 2;

/// What a run needs from the whole benchmark.
pub struct Ctx<'a> {
    pub root: &'a Path,
    pub bin: &'a Path,
    pub tmp: &'a Path,
    /// Where the worker delivers while requests run (the SMTP sink).
    pub mailer: String,
    pub secs: u64,
    /// Runs of each measured load; each figure is their median.
    pub rounds: usize,
    /// Invited users of the benchmarked tenant.
    pub users: usize,
    pub connections: &'a [usize],
}

/// Which runs to make besides wrk at each connection count.
pub struct Runs {
    /// wrk at the first connection count while the worker delivers.
    pub delivering: bool,
    /// oha at half the best wrk rate.
    pub half_rate: bool,
}

impl Runs {
    pub fn all() -> Self {
        Self {
            delivering: true,
            half_rate: true,
        }
    }

    pub fn loads_only() -> Self {
        Self {
            delivering: false,
            half_rate: false,
        }
    }
}

/// What it measured.
pub struct Measured {
    pub tenant: Tenant,
    /// wrk, one per connection count, delivery paused.
    pub loads: Vec<Load>,
    /// wrk at the first connection count while the worker delivers.
    pub delivering: Option<Load>,
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
    runs: Runs,
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
    // Statistics for the tables the invites filled, as autovacuum would
    // gather on a live database (it may be off, as on the benchmark
    // machine). Without them, the foreign-key checks keep the plans made
    // while `users` was empty: those walk the tenant's users through the
    // email index, about 700 buffer reads per resend at 1,000 users, where
    // the primary key needs about 60. ANALYZE makes every connection plan
    // them again.
    if let Some(pg) = db.pg() {
        pg.psql("ANALYZE")?;
    }
    let (ids_file, urls_file) = write_targets(ctx.tmp, label, beckon.port, &ids)?;
    let target = Target {
        port: beckon.port,
        tenant: &tenant,
        ids: &ids_file,
    };

    let mut delivering = None;
    if let Some(&c) = ctx.connections.first().filter(|_| runs.delivering) {
        load::wrk(ctx.root, &target, c, WARM_UP_SECS)?;
        let l = load::wrk(ctx.root, &target, c, ctx.secs)?;
        print_load(&format!("{label}: wrk {c} connections, delivering"), &l);
        delivering = Some(l);
    }
    let mut peak_rss = sys::peak_rss(server.pid())?;
    server.stop();

    let closed = sys::free_port()?;
    let paused = beckon.with_mailer(format!("smtp://127.0.0.1:{closed}?tls=none"));
    let server = paused.serve()?;
    // A short run first, not reported: the new process opens its
    // connections and prepares its statements, and the database brings
    // the pages these users live on into its cache.
    load::wrk(
        ctx.root,
        &target,
        ctx.connections.first().copied().unwrap_or(16),
        WARM_UP_SECS,
    )?;
    // Each connection count `rounds` times, the counts taking turns, so
    // that a slow spell of the machine spreads over all of them; a figure
    // is the median of its runs.
    let mut by_count: Vec<Vec<Load>> = vec![Vec::new(); ctx.connections.len()];
    for round in 1..=ctx.rounds {
        for (&c, runs) in ctx.connections.iter().zip(&mut by_count) {
            let l = load::wrk(ctx.root, &target, c, ctx.secs)?;
            print_load(&format!("{label}: wrk {c} connections, round {round}"), &l);
            runs.push(l);
        }
    }
    let loads: Vec<Load> = by_count.iter().map(|runs| Load::median(runs)).collect();
    for l in &loads {
        print_load(
            &format!("{label}: wrk {} connections, median", l.connections),
            l,
        );
    }

    let mut half = None;
    if runs.half_rate {
        let best = loads.iter().map(|l| l.rps).fold(0.0, f64::max);
        let rate = (best / 2.0).max(1.0);
        let c = ctx.connections.first().copied().unwrap_or(16);
        // Unreported: the rounds measure the server settled at this rate,
        // not the minute after the full-load runs, when the disk is still
        // writing their data back and each commit's sync waits behind it
        // (PostgreSQL's COMMITs took up to 53 ms there, against 7 ms at
        // most on a quiet database).
        load::oha(&target, &urls_file, c, rate, (3 * ctx.secs).min(30))?;
        let mut runs = Vec::new();
        for round in 1..=ctx.rounds {
            let l = load::oha(&target, &urls_file, c, rate, ctx.secs)?;
            print_load(&format!("{label}: oha at {rate:.0}/s, round {round}"), &l);
            runs.push(l);
        }
        let l = Load::median(&runs);
        print_load(&format!("{label}: oha at {rate:.0}/s, median"), &l);
        half = Some((rate, l));
    }

    // VmHWM: the most each process held at any time since it started.
    peak_rss = peak_rss.max(sys::peak_rss(server.pid())?);
    server.stop();
    Ok(Measured {
        tenant,
        loads,
        delivering,
        half,
        peak_rss,
    })
}

fn print_load(what: &str, l: &Load) {
    println!(
        "{what}: {} p50 {} p99 {} p99.9 {}, {} non-2xx, {} socket errors",
        per_sec(l.rps),
        ms(l.p50_ms),
        ms(l.p99_ms),
        ms(l.p999_ms),
        l.non_2xx,
        l.socket_errors
    );
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
