//! `cargo xtask bench`: one command that measures a release build of Beckon
//! on this machine and prints one table, each figure beside its reference
//! (a database floor, a plain SMTP client, the small data set, a target)
//! with the ratio and pass/miss, then writes it into docs/benchmarks.md
//! with the machine, date and commit. docs/benchmarks.md says what each
//! figure means; everything runs on 127.0.0.1 and stops by itself.

mod db;
mod delivery;
mod floors;
mod http;
mod load;
mod micro;
mod parts;
mod report;
mod resend;
mod server;
mod sys;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use self::report::Row;
use self::resend::Ctx;

/// A part of the run, selectable with `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Postgres,
    Sqlite,
    Large,
    Delivery,
    Micro,
}

const ALL: [Part; 5] = [
    Part::Postgres,
    Part::Sqlite,
    Part::Large,
    Part::Delivery,
    Part::Micro,
];

/// Options of one run.
struct Options {
    quick: bool,
    only: Vec<Part>,
    secs: Option<u64>,
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut o = Options {
        quick: false,
        only: Vec::new(),
        secs: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--quick" => o.quick = true,
            "--duration" => {
                let secs: u64 = value()?
                    .trim_end_matches('s')
                    .parse()
                    .context("--duration takes whole seconds")?;
                if secs == 0 {
                    bail!("--duration must be at least 1 second");
                }
                o.secs = Some(secs);
            }
            "--only" => {
                for name in value()?.split(',') {
                    o.only.push(match name {
                        "postgres" => Part::Postgres,
                        "sqlite" => Part::Sqlite,
                        "large" => Part::Large,
                        "delivery" => Part::Delivery,
                        "micro" => Part::Micro,
                        other => bail!(
                            "unknown part {other} (parts: postgres, sqlite, large, delivery, micro)"
                        ),
                    });
                }
            }
            other => {
                bail!("unknown option {other} (options: --quick, --only PART, --duration SECS)")
            }
        }
    }
    Ok(o)
}

/// How big a run is.
struct Plan {
    parts: Vec<Part>,
    secs: u64,
    /// Runs of each latency measurement, reported by their median.
    rounds: usize,
    users: usize,
    deliveries: usize,
    /// Tenants and users of the large data set.
    large: (u64, u64),
}

impl Plan {
    fn new(o: &Options) -> Self {
        // --quick skips the large data set unless it is asked for by name,
        // and then builds a tenth of it.
        let parts = if o.only.is_empty() {
            ALL.into_iter()
                .filter(|p| !(o.quick && *p == Part::Large))
                .collect()
        } else {
            o.only.clone()
        };
        if o.quick {
            Self {
                parts,
                secs: o.secs.unwrap_or(3),
                rounds: 1,
                users: 200,
                deliveries: 300,
                large: (1_000, 100_000),
            }
        } else {
            Self {
                parts,
                secs: o.secs.unwrap_or(10),
                rounds: 3,
                users: 1_000,
                deliveries: 2_000,
                large: (10_000, 1_000_000),
            }
        }
    }

    fn has(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }
}

/// The connection counts of every wrk run.
const CONNECTIONS: [usize; 2] = [16, 64];

/// Runs the benchmark.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    // Internal: the SQLite floor's loop, run by a release build of this
    // xtask (see floors::sqlite).
    if let [flag, file, secs] = args
        && flag == "--sqlite-floor"
    {
        let tps = floors::sqlite_loop(Path::new(file), secs.parse().context("seconds")?)?;
        println!("tps={tps}");
        return Ok(());
    }
    let opts = parse(args)?;
    let plan = Plan::new(&opts);
    let uses_pg = plan.has(Part::Postgres) || plan.has(Part::Large) || plan.has(Part::Delivery);
    let http = plan.has(Part::Postgres) || plan.has(Part::Sqlite) || plan.has(Part::Large);
    let mut tools = Vec::new();
    if http {
        tools.extend([&sys::WRK, &sys::OHA]);
    }
    if uses_pg {
        tools.extend([&sys::PSQL, &sys::PGBENCH]);
    }
    if http || plan.has(Part::Delivery) {
        tools.push(&sys::SMTP_SINK);
    }
    if plan.has(Part::Delivery) {
        tools.push(&sys::SMTP_SOURCE);
    }
    sys::require(&tools)?;

    let mut rows: Vec<Row> = Vec::new();
    let tmp = TempDir::new()?;
    if http || plan.has(Part::Delivery) {
        let bin = sys::build_release(root, "beckon")?;
        // One sink for the whole run: the worker delivers to it during the
        // resend runs as well, as it would in production.
        let sink = delivery::Sink::start()?;
        let ctx = Ctx {
            root,
            bin: &bin,
            tmp: &tmp.0,
            mailer: sink.mailer(),
            secs: plan.secs,
            rounds: plan.rounds,
            users: plan.users,
            connections: &CONNECTIONS,
        };
        let mut small = None;
        if plan.has(Part::Postgres) {
            let (r, figures) = parts::postgres(&ctx)?;
            rows.extend(r);
            small = Some(figures);
        }
        if plan.has(Part::Sqlite) {
            rows.extend(parts::sqlite(&ctx)?);
        }
        if plan.has(Part::Large) {
            let (tenants, users) = plan.large;
            rows.extend(parts::large(&ctx, tenants, users, small.as_ref())?);
        }
        if plan.has(Part::Delivery) {
            rows.extend(parts::delivery(&ctx, &sink, plan.deliveries)?);
        }
    }
    if plan.has(Part::Micro) {
        rows.extend(parts::micro(root, opts.quick)?);
    }

    let postgres = if uses_pg {
        db::PgDb::server_version().ok()
    } else {
        None
    };
    let command = format!("cargo xtask bench {}", args.join(" "));
    let context = report::context(root, command.trim_end(), postgres);
    let table = report::render(&rows);
    println!("\n{context}\n{table}");
    // A partial run would replace the full table with part of one.
    if opts.only.is_empty() {
        report::write_docs(root, &context, &table)?;
        println!("written to docs/benchmarks.md");
    }
    Ok(())
}

/// The run's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<Self> {
        let path = std::env::temp_dir().join(format!("beckon-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
